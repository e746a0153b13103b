package slackbot_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/waddle/waddle/audit"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// senderRouter is a router on e's database that sends through e's bot.
func (e *env) senderRouter() *router.Router {
	return router.New(router.Config{Modules: modules.All(), Pool: e.pool, Logger: slog.New(slog.DiscardHandler), Sender: e.bot})
}

// TestSendWithoutEvent: a message sent through the router, with no Slack
// event to answer, is posted in a channel of the linked workspace with its
// token, and as a DM to a user; an unlinked workspace is refused, and
// Slack's refusal is an error, not a message reported sent.
func TestSendWithoutEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rt := e.senderRouter()
	ctx := context.Background()

	if _, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Slack, Server: "T1", Channel: "C1", Text: "Stream starts in 5 minutes!"}, router.Options{}); err != nil {
		t.Fatalf("send to the channel: %v", err)
	}
	if _, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Slack, Server: "T1", User: "U7", Text: "Your code is 123456."}, router.Options{}); err != nil {
		t.Fatalf("send to a user: %v", err)
	}
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("chat.postMessage calls: %+v, want 2", posts)
	}
	for i, want := range []struct{ channel, text string }{{"C1", "Stream starts in 5 minutes!"}, {"U7", "Your code is 123456."}} {
		if p := posts[i]; p.Form.Get("channel") != want.channel || p.Form.Get("text") != want.text || p.Token != "xoxb-T1" {
			t.Errorf("post %d: %q to %q with %q, want %q to %q with the workspace's token", i, p.Form.Get("text"), p.Form.Get("channel"), p.Token, want.text, want.channel)
		}
	}

	_, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Slack, Server: "T9", Channel: "C1", Text: "hi"}, router.Options{})
	if !errors.Is(err, router.ErrNotLinked) {
		t.Errorf("send to an unlinked workspace: %v, want not linked", err)
	}

	e.slack.RefuseToken("xoxb-T1")
	_, err = rt.Send(ctx, e.cid, router.Message{Platform: router.Slack, Server: "T1", Channel: "C1", Text: "hi"}, router.Options{})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("send Slack refuses: %v, want invalid", err)
	}
}

// TestSendNeedsTheWorkspacesOwnToken: a linked workspace without its own
// install is not reached through SLACK_BOT_TOKEN, which is another
// workspace's.
func TestSendNeedsTheWorkspacesOwnToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackbot.Config, _ *slacktest.Server) { c.BotToken = "xoxb-single" })
	if _, err := router.NewSettings(e.senderRouter()).LinkEntity(context.Background(), audit.Actor{}, e.cid, router.Slack, "T2", "Goose workspace"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "auth.test with SLACK_BOT_TOKEN", func() bool { return len(e.slack.Calls("auth.test")) == 1 })
	_, err := e.senderRouter().Send(context.Background(), e.cid, router.Message{Platform: router.Slack, Server: "T2", Channel: "C1", Text: "hi"}, router.Options{})
	if !problem.Is(err, problem.Conflict) {
		t.Errorf("send to T2 with T1's SLACK_BOT_TOKEN: %v, want a conflict", err)
	}
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 0 {
		t.Errorf("chat.postMessage: %+v, want none", posts)
	}
}
