package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// target is where an event happened, so responses go back there.
type target struct {
	guild, channel, message, user string
}

// part is one rendered message.
type part struct {
	content    string
	embeds     []*discordgo.MessageEmbed
	components []discordgo.MessageComponent
	private    bool
}

func (p part) empty() bool { return p.content == "" && len(p.embeds) == 0 && len(p.components) == 0 }

// maxEmbedChars is Discord's limit on the characters of a message's embeds.
const maxEmbedChars = 6000

// formPrefix marks the button that opens a form Discord could not show at
// once (a modal must be the first answer to an interaction).
const formPrefix = "waddle:form:"

// render turns a response into a message; a form becomes a button that opens it.
func (b *Bot) render(ctx context.Context, r router.Response) part {
	p := part{content: runes.Truncate(r.Reply, 2000, ""), private: r.Private}
	if e := r.Embed; e != nil {
		// Discord refuses a message whose embeds hold over 6,000 characters
		// in all: fields that do not fit are cut short or left out.
		left := maxEmbedChars
		take := func(s string, n int) string {
			s = runes.Truncate(s, min(n, left), "")
			left -= utf8.RuneCountInString(s)
			return s
		}
		me := &discordgo.MessageEmbed{Title: take(e.Title, 256), Description: take(e.Description, 4096), URL: e.URL}
		for i, f := range e.Fields {
			if i == 25 || left < 2 {
				break
			}
			name := take(f.Name, min(256, left-1)) // leaving room for a value
			value := take(f.Value, 1024)
			me.Fields = append(me.Fields, &discordgo.MessageEmbedField{Name: name, Value: value, Inline: true})
		}
		p.embeds = []*discordgo.MessageEmbed{me}
	}
	var buttons []discordgo.MessageComponent
	seen := map[string]bool{}
	for _, btn := range r.Buttons {
		if btn.ID == "" || len(btn.ID) > 100 || strings.HasPrefix(btn.ID, formPrefix) {
			b.log.WarnContext(ctx, "button left out: its id is empty or longer than Discord's 100 characters", "id", runes.TruncateBytes(btn.ID, 120))
			continue
		}
		if seen[btn.ID] {
			b.log.WarnContext(ctx, "button left out: another button of the message has its id", "id", btn.ID)
			continue
		}
		seen[btn.ID] = true
		label := btn.Label
		if label == "" {
			label = btn.ID
		}
		buttons = append(buttons, discordgo.Button{Label: runes.Truncate(label, 80, ""), Style: discordgo.PrimaryButton, CustomID: btn.ID})
	}
	if r.Form != nil {
		if _, err := modal(*r.Form); err != nil {
			b.log.WarnContext(ctx, "form left out", "err", err, "form", runes.TruncateBytes(r.Form.ID, 120))
		} else if key, err := b.saveForm(ctx, *r.Form); err != nil {
			b.log.WarnContext(ctx, "form left out", "err", err)
		} else {
			label := r.Form.Title
			if label == "" {
				label = "Open the form"
			}
			buttons = append(buttons, discordgo.Button{Label: runes.Truncate(label, 80, ""), Style: discordgo.SecondaryButton, CustomID: formPrefix + key})
		}
	}
	for i := 0; i < len(buttons) && i < 25; i += 5 {
		p.components = append(p.components, discordgo.ActionsRow{Components: buttons[i:min(i+5, len(buttons))]})
	}
	return p
}

func (b *Bot) saveForm(ctx context.Context, f router.Form) (string, error) {
	if f.ID == "" || len(f.ID) > 100 {
		return "", errors.New("a form id has 1 to 100 characters")
	}
	k := make([]byte, 12)
	rand.Read(k)
	key := hex.EncodeToString(k)
	if _, err := b.store.put(ctx, "form:"+key, f, ixTTL, true); err != nil {
		return "", err
	}
	return key, nil
}

// priority: answers to commands first, other chatter may be dropped.
func priority(res router.Result) platform.Priority {
	if strings.HasPrefix(res.HandledBy, "command") || strings.HasPrefix(res.HandledBy, "module") {
		return platform.High
	}
	return platform.Low
}

// mentions allowed in the bot's messages: users only, never @everyone or roles.
var noMassMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}}

// deliver sends the responses to an event outside an interaction: replies
// in its channel (or as DMs when private) and moderation actions.
func (b *Bot) deliver(ctx context.Context, t target, res router.Result) {
	prio := priority(res)
	for _, r := range res.Responses {
		p := b.act(ctx, t, r)
		if p.empty() {
			continue
		}
		msg := &discordgo.MessageSend{Content: p.content, Embeds: p.embeds, Components: p.components, AllowedMentions: noMassMentions}
		if p.private {
			if t.user == "" {
				continue
			}
			b.send("dm:"+t.user, prio, b.dm(t.user, msg))
			continue
		}
		if t.channel == "" {
			b.log.DebugContext(ctx, "reply dropped: the event has no channel", "guild", t.guild)
			continue
		}
		if t.message != "" {
			msg.Reference = &discordgo.MessageReference{MessageID: t.message, ChannelID: t.channel, GuildID: t.guild, FailIfNotExists: new(bool)}
		}
		if !b.mayPost(ctx, t.guild, t.channel) {
			continue
		}
		b.send(t.channel, prio, b.post(t.guild, t.channel, msg))
	}
}

// post is the call that posts msg in channel of guild.
func (b *Bot) post(guild, channel string, msg *discordgo.MessageSend) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := b.api.ChannelMessageSendComplex(channel, msg, discordgo.WithContext(ctx))
		if err != nil {
			b.refusedIn(guild, channel, err)
		}
		return err
	}
}

// dm is the call that opens the bot's DM with user and posts msg there.
func (b *Bot) dm(user string, msg *discordgo.MessageSend) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		ch, err := b.api.UserChannelCreate(user, discordgo.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("open a DM with %s: %w", user, err)
		}
		_, err = b.api.ChannelMessageSendComplex(ch.ID, msg, discordgo.WithContext(ctx))
		return err
	}
}

// act carries out a response's moderation action and renders its message;
// a warning with text becomes that text addressed to the user.
func (b *Bot) act(ctx context.Context, t target, r router.Response) part {
	if m := r.Moderation; m != nil {
		if m.Action == router.ActionWarn && r.Reply != "" && t.user != "" {
			r.Reply = "<@" + t.user + "> " + r.Reply
		} else {
			b.moderate(ctx, t, *m)
		}
	}
	return b.render(ctx, r)
}

// moderate carries out a moderation action on the event's message or author.
func (b *Bot) moderate(ctx context.Context, t target, m router.Moderation) {
	reason := m.Reason
	key := t.channel
	if key == "" {
		key = "guild:" + t.guild
	}
	opts := func(ctx context.Context) []discordgo.RequestOption {
		o := []discordgo.RequestOption{discordgo.WithContext(ctx)}
		if r := auditReason(reason); r != "" {
			o = append(o, discordgo.WithAuditLogReason(r))
		}
		return o
	}
	switch m.Action {
	case router.ActionDelete:
		if t.message == "" || t.channel == "" {
			return
		}
		b.send(key, platform.High, func(ctx context.Context) error {
			return b.api.ChannelMessageDelete(t.channel, t.message, opts(ctx)...)
		})
	case router.ActionTimeout:
		secs := min(max(m.Seconds, 1), 28*24*3600)
		b.send(key, platform.High, func(ctx context.Context) error {
			until := time.Now().Add(time.Duration(secs) * time.Second)
			return b.api.GuildMemberTimeout(t.guild, t.user, &until, opts(ctx)...)
		})
	case router.ActionBan:
		// The reason goes in the header: API v10 has no reason parameter.
		b.send(key, platform.High, func(ctx context.Context) error {
			return b.api.GuildBanCreate(t.guild, t.user, 0, opts(ctx)...)
		})
	case router.ActionWarn:
		if t.channel == "" {
			return
		}
		text := reason
		if text == "" {
			text = "please follow the rules."
		}
		msg := &discordgo.MessageSend{Content: runes.Truncate("<@"+t.user+"> "+text, 2000, ""), AllowedMentions: noMassMentions}
		if b.mayPost(ctx, t.guild, t.channel) {
			b.send(t.channel, platform.High, b.post(t.guild, t.channel, msg))
		}
	}
}

// maxAuditReason is how many characters Discord keeps of an audit-log reason.
const maxAuditReason = 512

// auditReason is reason as Discord's X-Audit-Log-Reason header takes it:
// at most 512 characters, cut on a character boundary, then URL-encoded;
// "" (no header) when there is no reason.
func auditReason(reason string) string {
	reason = strings.TrimSpace(strings.ToValidUTF8(reason, "\uFFFD"))
	if reason == "" {
		return ""
	}
	return url.PathEscape(runes.Truncate(reason, maxAuditReason, ""))
}

// send queues one REST call on the send queue, within the invalid-request
// guard; what the queue refuses is logged.
func (b *Bot) send(channel string, p platform.Priority, fn func(ctx context.Context) error) {
	if err := b.enqueueCall(channel, p, fn); err != nil {
		b.log.Warn("message not queued", "channel", channel, "err", err)
	}
}

// enqueueCall is send, returning what the queue refused.
func (b *Bot) enqueueCall(channel string, p platform.Priority, fn func(ctx context.Context) error) error {
	return b.queue.Send(channel, p, b.gated(fn))
}

// gated is fn as the send queue runs it: refused while the bot may not
// call Discord, its errors counted and a 429 turned into a RetryAfter.
func (b *Bot) gated(fn func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := b.gate(); err != nil {
			return err
		}
		return b.check(fn(ctx))
	}
}

// tokenInURL finds the secret in an interaction callback or webhook URL
// (/interactions/{id}/{token}/…, /webhooks/{app}/{token}/…), which
// discordgo's rate limit and transport errors quote.
var tokenInURL = regexp.MustCompile(`((?:interactions|webhooks)/[^/\s"]+/)[^/\s"?]+`)

// redactedError is an error whose message lost its interaction tokens.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact hides interaction tokens from err's message, so logs and
// statuses never hold one.
func redact(err error) error {
	msg := err.Error()
	clean := tokenInURL.ReplaceAllString(msg, "${1}[token]")
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// check counts refused requests and turns a 429 into platform.RetryAfter.
// (discordgo's own limiter already waits out X-RateLimit-* headers; with
// ShouldRetryOnRateLimit off a 429 comes back here instead of sleeping.)
func (b *Bot) check(err error) error {
	if err == nil {
		return nil
	}
	err = redact(err)
	var rl *discordgo.RateLimitError
	var re *discordgo.RESTError
	switch {
	case errors.As(err, &rl):
		b.refused()
		wait := time.Second
		if rl.RateLimit != nil && rl.TooManyRequests != nil && rl.RetryAfter > 0 {
			wait = rl.RetryAfter
		}
		return fmt.Errorf("%w: %w", &platform.RetryAfter{Wait: wait}, err)
	case errors.As(err, &re) && re.Response != nil:
		switch re.Response.StatusCode {
		case http.StatusTooManyRequests:
			b.refused()
			wait := time.Second
			if s, err := strconv.ParseFloat(re.Response.Header.Get("Retry-After"), 64); err == nil && s > 0 && s < 3600 {
				wait = time.Duration(s * float64(time.Second))
			}
			return fmt.Errorf("%w: %w", &platform.RetryAfter{Wait: wait, Global: re.Response.Header.Get("X-RateLimit-Global") != ""}, err)
		case http.StatusUnauthorized, http.StatusForbidden:
			b.refused()
		}
	}
	return err
}

// Discord bans a bot for 10,000 invalid requests (401, 403, 429) in 10
// minutes; the bot stops sending well before.
const invalidWindow = 10 * time.Minute

func (b *Bot) refused() {
	if n := b.bad.add(time.Now()); n >= b.cfg.InvalidLimit {
		b.mu.Lock()
		was := b.degraded
		b.degraded = true
		b.mu.Unlock()
		if !was {
			b.log.Error("too many refused requests: sending paused", "refused_10min", n)
			b.cfg.Status.Set(platform.StateDegraded, fmt.Sprintf("Sending paused: Discord refused %d requests in 10 minutes (bad token, missing permissions or rate limits). Check the bot's permissions.", n))
		}
	}
}

// gate holds every send while too many requests were refused lately.
func (b *Bot) gate() error {
	n := b.bad.total(time.Now())
	b.mu.Lock()
	was := b.degraded
	b.degraded = n >= b.cfg.InvalidLimit
	now := b.degraded
	b.mu.Unlock()
	if now {
		return &platform.RetryAfter{Wait: time.Minute, Global: true}
	}
	if was {
		b.log.Info("refused requests back under the limit: sending again")
		b.refreshStatus()
	}
	return nil
}

// invalidCounter counts refused requests per minute over the last 10 minutes.
type invalidCounter struct {
	mu      sync.Mutex
	minutes [10]int64
	counts  [10]int
}

func (c *invalidCounter) add(now time.Time) int {
	m := now.Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	i := m % 10
	if c.minutes[i] != m {
		c.minutes[i], c.counts[i] = m, 0
	}
	c.counts[i]++
	return c.sum(m)
}

func (c *invalidCounter) total(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum(now.Unix() / 60)
}

func (c *invalidCounter) sum(m int64) int {
	n := 0
	for i := range c.minutes {
		if m-c.minutes[i] < int64(invalidWindow/time.Minute) {
			n += c.counts[i]
		}
	}
	return n
}
