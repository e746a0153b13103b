package discord

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestSendWithoutEvent: a message sent through the router, with no
// Discord event to answer, is posted in a channel of the linked guild and
// sent as a DM to one of its members; a channel of another guild, a user
// who is not a member and an unlinked guild are refused, and nothing is
// posted for them.
func TestSendWithoutEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.rest.SetChannels(guild, "50")
	e.rest.SetChannels("4000", "60") // another guild the bot is in
	e.rest.SetMembers(guild, discordtest.Member{ID: "42", Username: "bob"})
	rt := router.New(router.Config{Modules: modules.All(), Pool: e.pool, Logger: slog.New(slog.DiscardHandler), Sender: e.bot})
	ctx := context.Background()
	content := func(r discordtest.Request) string {
		var m struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			t.Fatalf("message %s: %v", r.Body, err)
		}
		return m.Content
	}

	if _, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: guild, Channel: "50", Text: "Stream starts in 5 minutes! @everyone"}, router.Options{}); err != nil {
		t.Fatalf("send to the channel: %v", err)
	}
	r := e.waitBody("POST", "/channels/50/messages", "Stream starts")
	if got := content(r); got != "Stream starts in 5 minutes! @everyone" {
		t.Errorf("posted %q", got)
	}
	if !strings.Contains(r.Body, `"allowed_mentions":{"parse":["users"],`) {
		t.Errorf("message %s may mention @everyone", r.Body)
	}

	if _, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: guild, User: "42", Text: "Your code is 123456."}, router.Options{}); err != nil {
		t.Fatalf("send to a user: %v", err)
	}
	if got := content(e.waitBody("POST", "/channels/dm-1/messages", "Your code")); got != "Your code is 123456." {
		t.Errorf("DM %q", got)
	}
	if n := len(e.rest.Find("POST", "/users/@me/channels")); n != 1 {
		t.Errorf("%d DM channels opened, want 1", n)
	}

	_, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: guild, Channel: "60", Text: "hi"}, router.Options{})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("send to another guild's channel: %v, want invalid", err)
	}
	_, err = rt.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: guild, Channel: "61", Text: "hi"}, router.Options{})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("send to an unknown channel: %v, want invalid", err)
	}
	_, err = rt.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: guild, User: "43", Text: "hi"}, router.Options{})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("send to a user outside the guild: %v, want invalid", err)
	}
	_, err = rt.Send(ctx, e.cid, router.Message{Platform: router.Discord, Server: "4000", Channel: "60", Text: "hi"}, router.Options{})
	if !errors.Is(err, router.ErrNotLinked) {
		t.Errorf("send to an unlinked guild: %v, want not linked", err)
	}
	if n := len(e.rest.Find("POST", "/channels/60/messages")) + len(e.rest.Find("POST", "/channels/61/messages")); n != 0 {
		t.Errorf("%d messages posted to refused channels", n)
	}
	if n := len(e.rest.Find("POST", "/users/@me/channels")); n != 1 {
		t.Errorf("%d DM channels opened, want only bob's", n)
	}
}
