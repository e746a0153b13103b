package slackbot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/waddle/waddle/audit"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// No chat user can make the bot mention the whole channel: what users wrote
// reaches Slack escaped, through templates and built-in commands alike,
// while a manager's own <!here> still pings.
func TestUsersCannotMakeTheBotPingTheChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.slack.SetAdmin("U1") // !so is for moderators
	ctx := context.Background()
	for _, c := range []router.CommandInput{
		{Name: "hug", Response: "{user} hugs {touser}: {args}", Permission: router.Everyone, Enabled: true},
		{Name: "live", Response: "<!here> we are live & <https://example.com/x|watching>, says {user} <!{1}>", Permission: router.Everyone, Enabled: true},
	} {
		if _, err := e.settings.CreateCommand(ctx, audit.Actor{}, e.cid, c); err != nil {
			t.Fatal(err)
		}
	}
	msg := func(id, text string) {
		e.work(e.inbox.Event(ctx, envelope(id, `{"type":"message","channel":"C1","user":"U1","text":`+quote(text)+`,"ts":"1.`+id[2:]+`"}`)))
	}
	msg("Ev1", "!so <!channel>")
	msg("Ev2", "!hug <!channel> <!everyone> & <@U999|boss>")
	msg("Ev3", "!live channel")
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 3 {
		t.Fatalf("chat.postMessage calls: %+v, want 3", e.slack.All())
	}
	want := []string{
		"Shout-out to &lt;!channel&gt;! :tada:",
		"Ducky hugs &lt;!channel&gt;: &lt;!channel&gt; &lt;!everyone&gt; &amp; &lt;@U999|boss&gt;",
		"<!here> we are live &amp; <https://example.com/x|watching>, says Ducky &lt;!channel&gt;",
	}
	for i, p := range posts {
		if got := p.Form.Get("text"); got != want[i] {
			t.Errorf("post %d: Slack received %q, want %q", i+1, got, want[i])
		}
	}
	for _, c := range e.slack.All() {
		for _, s := range []string{c.Form.Get("text"), unJSON.Replace(c.Form.Get("blocks")), unJSON.Replace(jsonText(c.JSON))} {
			if strings.Contains(s, "<!channel>") || strings.Contains(s, "<!everyone>") {
				t.Errorf("%s carries a mass mention a user wrote: %q", c.Method, s)
			}
		}
	}

	// A slash command answered through response_url is escaped the same way.
	cmd := slack.SlashCommand{TeamID: "T1", ChannelID: "C1", UserID: "U1", UserName: "duckling", Command: "/waddlebot",
		Text: "hug <!channel>", ResponseURL: e.slack.ResponseURL("T1"), TriggerID: e.slack.Trigger()}
	e.work(e.inbox.Command(ctx, cmd))
	got := e.slack.Calls("response_url")
	if len(got) != 1 || got[0].JSON["text"] != "Ducky hugs &lt;!channel&gt;: &lt;!channel&gt;" {
		t.Errorf("response_url posts: %+v, want the escaped hug", got)
	}
}

// Embeds (leaderboards, built-in answers) and messages sent from the hub
// carry user text too: escaped, in the fallback text and in the blocks.
func TestEmbedsAndSentMessagesAreEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.rec.add = []router.Response{{Embed: &router.Embed{Title: "Top <!here>", Description: "1. <!channel>",
		Fields: []router.EmbedField{{Name: "<!everyone>", Value: "a & b"}}}}}
	e.work(e.inbox.Event(ctx, envelope("Ev1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.5"}`)))
	if err := e.bot.Send(ctx, e.cid, router.Message{Platform: router.Slack, Server: "T1", Channel: "C1", Text: "<!channel> from the hub"}); err != nil {
		t.Fatal(err)
	}
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 3 {
		t.Fatalf("chat.postMessage calls: %+v, want 3", posts)
	}
	// Block Kit JSON as Slack reads it: \u0026 is &.
	embed := posts[1].Form.Get("text") + unJSON.Replace(posts[1].Form.Get("blocks"))
	for _, bad := range []string{"<!here>", "<!channel>", "<!everyone>", "a & b"} {
		if strings.Contains(embed, bad) {
			t.Errorf("the embed's post carries %q unescaped: %s", bad, embed)
		}
	}
	if !strings.Contains(embed, "&lt;!everyone&gt;") || !strings.Contains(embed, "a &amp; b") {
		t.Errorf("the embed's post %s, want its fields escaped", embed)
	}
	if got := posts[2].Form.Get("text"); got != "&lt;!channel&gt; from the hub" {
		t.Errorf("sent message = %q, want it escaped", got)
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func jsonText(v map[string]any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var unJSON = strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">")

// An event type the library cannot parse is acknowledged (Slack disables
// the subscriptions of an app that fails most deliveries) and logged; a body
// that is not an envelope is still refused.
func TestUnparsableEventIsAcknowledgedAndLogged(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	inbox := slackbot.NewInbox(nil, slog.New(slog.NewTextHandler(&logs, nil))) // nothing may be stored
	ctx := context.Background()
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"new event type", envelope("Ev1", `{"type":"function_executed_v9","channel":{"id":"C1"}}`)},
		{"new request type", []byte(`{"type":"app_deleted_everywhere","team_id":"T1"}`)},
	} {
		name, body := c.name, c.body
		logs.Reset()
		ack, err := inbox.Event(ctx, body)
		if err != nil || ack.DeliveryID != 0 || ack.Challenge != "" {
			t.Errorf("%s: ack %+v, err %v; want a plain acknowledgement", name, ack, err)
		}
		if !strings.Contains(logs.String(), "acknowledged and dropped") {
			t.Errorf("%s: logged %q, want a line saying it was dropped", name, logs.String())
		}
	}
	if strings.Contains(logs.String(), "function_executed_v9") {
		t.Error("logs were not reset between cases")
	}
	logs.Reset()
	inbox.Event(ctx, envelope("Ev2", `{"type":"function_executed_v9"}`))
	if !strings.Contains(logs.String(), "event_type=function_executed_v9") || !strings.Contains(logs.String(), "event=Ev2") {
		t.Errorf("logged %q, want the event type and id", logs.String())
	}
	if _, err := inbox.Event(ctx, []byte(`{"type":"event_callback",`)); problem.As(err) == nil || problem.As(err).Code != problem.Invalid {
		t.Errorf("malformed body: err %v, want an invalid-input problem (400)", err)
	}
}
