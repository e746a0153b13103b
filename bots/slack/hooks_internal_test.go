package slackbot

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// quickBot is a test bot whose send queue spends no channel budget.
func quickBot(t *testing.T) (*Bot, *slacktest.Server) {
	t.Helper()
	fs := slacktest.Start(t)
	b, _ := newTestBot(t, fs, nil, platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Slack}))
	return b, fs
}

func answers(n int, private bool) router.Result {
	var res router.Result
	for i := range n {
		res.Responses = append(res.Responses, router.Response{Reply: fmt.Sprint("answer ", i), Private: private})
	}
	return res
}

// TestResponseURLWithinSlacksLimits: a response URL takes five posts; the
// rest of the answers go through the Web API, privately to the user when
// they are private, and the command is answered without an error to retry.
func TestResponseURLWithinSlacksLimits(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, private := range []bool{false, true} {
		b, fs := quickBot(t)
		from := origin("slack:cmd:limits")
		from.ResponseURL, from.TriggerID, from.At = fs.ResponseURL("T1"), fs.Trigger(), time.Now()
		if err := b.Respond(ctx, from, answers(7, private)); err != nil {
			t.Fatalf("private %v: respond: %v, want all seven answers delivered", private, err)
		}
		hooks := fs.Calls("response_url")
		if len(hooks) != 5 || len(fs.Accepted("response_url")) != 5 {
			t.Errorf("private %v: %d posts to the response URL (%d accepted), want 5, all accepted", private, len(hooks), len(fs.Accepted("response_url")))
		}
		method, kind := "chat.postMessage", "in_channel"
		if private {
			method, kind = "chat.postEphemeral", "ephemeral"
		}
		for _, h := range hooks {
			if h.JSON["response_type"] != kind {
				t.Errorf("private %v: response_url post %v, want response_type %s", private, h.JSON, kind)
			}
		}
		rest := fs.Accepted(method)
		if len(rest) != 2 || rest[0].Form.Get("text") != "answer 5" || rest[1].Form.Get("text") != "answer 6" {
			t.Fatalf("private %v: %s calls %+v, want answers 5 and 6", private, method, fs.All())
		}
		if private && rest[0].Form.Get("user") != "U1" {
			t.Errorf("private answer to %q, want U1", rest[0].Form.Get("user"))
		}
	}
}

// TestDeadResponseURLFallsBackAtOnce: a response URL Slack calls expired
// is not tried again: the answer goes through the Web API now, not as a
// job retried for a day against a dead address.
func TestDeadResponseURLFallsBackAtOnce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, fs := quickBot(t)
	from := origin("slack:cmd:dead")
	from.ResponseURL, from.At = fs.ResponseURL("T1"), time.Now()
	fs.Advance(31 * time.Minute) // Slack's clock: the URL is past its 30 minutes
	if err := b.Respond(ctx, from, answers(1, false)); err != nil {
		t.Fatalf("respond: %v, want the answer through the Web API", err)
	}
	if h := fs.Calls("response_url"); len(h) != 1 || h[0].Refused != "expired_url" {
		t.Errorf("response_url posts %+v, want one refused as expired_url", h)
	}
	if p := fs.Accepted("chat.postMessage"); len(p) != 1 || p[0].Form.Get("channel") != "C1" || p[0].Form.Get("text") != "answer 0" {
		t.Errorf("chat.postMessage %+v, want the answer in C1", p)
	}
	// The next answer to the same command skips the dead URL.
	from.Event.ID = "slack:cmd:dead-2"
	if err := b.Respond(ctx, from, answers(1, false)); err != nil {
		t.Fatal(err)
	}
	if h := fs.Calls("response_url"); len(h) != 1 {
		t.Errorf("%d posts to the dead response URL, want still 1", len(h))
	}
	if p := fs.Accepted("chat.postMessage"); len(p) != 2 {
		t.Errorf("%d answers through chat.postMessage, want 2", len(p))
	}

	// A delivery retried after 30 minutes does not try its response URL at all.
	late := origin("slack:cmd:late")
	late.ResponseURL, late.At = fs.ResponseURL("T1"), time.Now().Add(-31*time.Minute)
	if err := b.Respond(ctx, late, answers(1, true)); err != nil {
		t.Fatal(err)
	}
	if h := fs.Calls("response_url"); len(h) != 1 {
		t.Errorf("%d response_url posts, want still 1: the late answer skips it", len(h))
	}
	if p := fs.Accepted("chat.postEphemeral"); len(p) != 1 || p[0].Form.Get("user") != "U1" {
		t.Errorf("chat.postEphemeral %+v, want the private answer to U1", p)
	}
}

// TestPrivateAnswerWhereTheAppIsNotAMember: a slash command works in a
// channel the app was never invited to; once its response URL is used up,
// a private answer reaches the user in their DM with the app.
func TestPrivateAnswerWhereTheAppIsNotAMember(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, fs := quickBot(t)
	from := origin("slack:cmd:outside")
	from.Event.Channel = "C9" // the app is not a member
	from.ResponseURL, from.At = fs.ResponseURL("T1"), time.Now()
	if err := b.Respond(ctx, from, answers(6, true)); err != nil {
		t.Fatal(err)
	}
	if n := len(fs.Accepted("response_url")); n != 5 {
		t.Errorf("%d response_url posts accepted, want 5", n)
	}
	if e := fs.Calls("chat.postEphemeral"); len(e) != 1 || e[0].Refused != "not_in_channel" {
		t.Errorf("chat.postEphemeral %+v, want one refused: the app is not in C9", e)
	}
	if p := fs.Accepted("chat.postMessage"); len(p) != 1 || p[0].Form.Get("channel") != "U1" || p[0].Form.Get("text") != "answer 5" {
		t.Errorf("chat.postMessage %+v, want answer 5 in U1's DM with the app", p)
	}
}

func TestResponseURLsCountPerURLAndStayBounded(t *testing.T) {
	t.Parallel()
	r := newResponseURLs(2)
	now := time.Now()
	for i := range responseURLPosts {
		if !r.take("https://hooks.slack.com/a", now, now) {
			t.Fatalf("post %d refused, want %d allowed", i+1, responseURLPosts)
		}
	}
	if r.take("https://hooks.slack.com/a", now, now) {
		t.Error("a sixth post allowed")
	}
	if !r.take("https://hooks.slack.com/b", time.Time{}, now) {
		t.Error("another URL refused")
	}
	if r.take("https://hooks.slack.com/b", time.Time{}, now.Add(30*time.Minute)) {
		t.Error("a URL first used 30 minutes ago allowed")
	}
	r.kill("https://hooks.slack.com/b")
	if r.take("https://hooks.slack.com/b", time.Time{}, now) {
		t.Error("a dead URL allowed")
	}
	r.take("https://hooks.slack.com/c", now, now)
	if len(r.m) > 2 {
		t.Errorf("%d URLs remembered, want at most 2", len(r.m))
	}
}

// TestLongAnswersPassBlockKitValidation: the longest answers the router can
// give (a long reply, an embed with many long fields, many buttons, a form
// with many fields and long labels) stay within Slack's Block Kit limits,
// which the fake enforces.
func TestLongAnswersPassBlockKitValidation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, fs := quickBot(t)
	long := func(n int) string {
		s := make([]rune, n)
		for i := range s {
			s[i] = 'ü'
		}
		return string(s)
	}
	var fields []router.EmbedField
	var buttons []router.Button
	var inputs []router.FormField
	for i := range 30 {
		fields = append(fields, router.EmbedField{Name: long(300), Value: long(2500)})
		buttons = append(buttons, router.Button{ID: fmt.Sprintf("!vote %d %s", i, long(300)), Label: long(100)})
	}
	// Two ids alike in their first 255 characters would repeat an action_id.
	buttons = append(buttons[:3], append([]router.Button{{ID: long(300) + "a"}, {ID: long(300) + "b"}}, buttons[3:]...)...)
	for i := range 120 {
		inputs = append(inputs, router.FormField{ID: fmt.Sprintf("f%d", i), Label: long(2500)})
	}
	from := origin("slack:long")
	from.TriggerID, from.At = fs.Trigger(), time.Now()
	res := router.Result{Responses: []router.Response{
		{Reply: long(5000), Embed: &router.Embed{Title: long(500), Description: long(5000), URL: "https://example.com/" + long(100), Fields: fields}, Buttons: buttons},
		{Form: &router.Form{ID: "!long", Title: long(100), Fields: inputs}},
	}}
	if err := b.Respond(ctx, from, res); err != nil {
		t.Fatal(err)
	}
	for _, c := range fs.All() {
		if c.Refused != "" {
			t.Errorf("%s refused: %s %v", c.Method, c.Refused, c.Why)
		}
	}
	if len(fs.Accepted("chat.postMessage")) != 1 || len(fs.Accepted("views.open")) != 1 {
		t.Errorf("calls %+v, want the message and the form accepted", fs.Sequence())
	}
}

// TestExpiredFormAndPrivateReplyBothReachTheUser: a response with a form
// whose trigger expired and a private reply sends both notices.
func TestExpiredFormAndPrivateReplyBothReachTheUser(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, fs := quickBot(t)
	from := origin("slack:int:late")
	from.TriggerID, from.At = fs.Trigger(), time.Now().Add(-4*time.Second)
	res := router.Result{Responses: []router.Response{{Reply: "psst", Private: true,
		Form: &router.Form{ID: "!suggest", Title: "Suggest", Fields: []router.FormField{{ID: "idea"}}}}}}
	if err := b.Respond(ctx, from, res); err != nil {
		t.Fatal(err)
	}
	if n := len(fs.Calls("views.open")); n != 0 {
		t.Errorf("views.open called %d times with an expired trigger, want none", n)
	}
	eph := fs.Accepted("chat.postEphemeral")
	if len(eph) != 2 || eph[0].Form.Get("text") != "The form could not open in time: please try again." || eph[1].Form.Get("text") != "psst" {
		t.Errorf("chat.postEphemeral %+v, want the form notice and the reply", eph)
	}
}
