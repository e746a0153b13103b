package slackbot

import (
	"strings"

	"github.com/waddle/waddle/router"
)

// mrkdwnEscaper escapes the three characters Slack reads as markup in
// message text: & starts an entity, < and > enclose mentions (<!channel>,
// <@U123>), channel links and URLs.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s shown as written: no mention, link or entity in s takes
// effect.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

// replyText is r.Reply as Slack mrkdwn. Text that came from users (a
// variable's value in a response template, any reply without Parts: built-in
// answers, sent messages, moderation reasons) is escaped, so no chat user
// can make the bot mention @channel, @here or @everyone. A manager's own
// template text keeps its whole <…> tokens (<!here>, <@U123>, <url|label>);
// its other &, < and > are escaped, so a token cannot be completed by a
// variable's value ("<!{args}>" stays text).
func replyText(r router.Response) string {
	if len(r.Parts) == 0 {
		return escape(r.Reply)
	}
	var b strings.Builder
	n := 0
	for _, p := range r.Parts {
		n += len(p.Text)
		if p.Template {
			b.WriteString(templateMarkup(p.Text))
		} else {
			b.WriteString(escape(p.Text))
		}
	}
	if n != len(r.Reply) {
		return escape(r.Reply) // parts that are not the reply: trust neither
	}
	return b.String()
}

// templateMarkup keeps each complete <…> token of s, a manager's template
// text, and escapes every other &, < and >.
func templateMarkup(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexAny(s, "&<>")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		if s[i] == '<' {
			if j := strings.IndexAny(s[i+1:], "<>"); j > 0 && s[i+1+j] == '>' {
				b.WriteString(s[i : i+2+j])
				s = s[i+2+j:]
				continue
			}
		}
		b.WriteString(escape(s[i : i+1]))
		s = s[i+1:]
	}
	return b.String()
}
