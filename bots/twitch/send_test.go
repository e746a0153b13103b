package twitch

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// senderRouter is a router on e's database that sends through b.
func (e *env) senderRouter(b *Bot) *router.Router {
	return router.New(router.Config{Modules: modules.All(), Pool: e.pool, Logger: slog.New(slog.DiscardHandler), Sender: b})
}

// TestSendWithoutEvent: a message sent through the router, with no chat
// message to answer, is said in the linked channel and whispered to a user;
// a channel that is not the linked one and an unlinked channel are refused.
func TestSendWithoutEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")
	eventually(t, "logged in", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.up && b.botID == "100"
	})
	rt := e.senderRouter(b.Bot)
	ctx := context.Background()

	if _, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Twitch, Server: "DuckChan", Channel: "duckchan", Text: "Stream starts in 5 minutes!\nPRIVMSG #x :pwned"}, router.Options{}); err != nil {
		t.Fatalf("send to the channel: %v", err)
	}
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Stream starts in 5 minutes! PRIVMSG #x :pwned" || got[0].ReplyTo != "" {
		t.Errorf("chat line %q in thread %q, want the message on one line, not threaded", got[0].Text, got[0].ReplyTo)
	}

	if _, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Twitch, Server: "duckchan", User: "300", Text: "Your code is 123456."}, router.Options{}); err != nil {
		t.Fatalf("send to a user: %v", err)
	}
	eventually(t, "the whisper", func() bool { return len(e.api.Find("POST", "/helix/whispers")) == 1 })
	w := e.api.Find("POST", "/helix/whispers")[0]
	if diff := cmp.Diff(map[string]string{"from_user_id": "100", "to_user_id": "300"}, w.Query); diff != "" || w.Body["message"] != "Your code is 123456." {
		t.Errorf("whisper %q (-want +got):\n%s", w.Body["message"], diff)
	}

	_, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Twitch, Server: "duckchan", Channel: "otherchan", Text: "hi"}, router.Options{})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("send to another channel through duckchan: %v, want invalid", err)
	}
	_, err = rt.Send(ctx, e.cid, router.Message{Platform: router.Twitch, Server: "otherchan", Channel: "otherchan", Text: "hi"}, router.Options{})
	if !errors.Is(err, router.ErrNotLinked) {
		t.Errorf("send to an unlinked channel: %v, want not linked", err)
	}
	if n := len(e.irc.Lines("duckchan")) + len(e.irc.Lines("otherchan")); n != 1 {
		t.Errorf("%d chat lines, want only the first message's", n)
	}
}
