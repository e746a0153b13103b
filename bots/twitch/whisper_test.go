package twitch

import (
	"context"
	"testing"
	"time"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestWhisperBudgetSpent: with the day's whisper recipients spent, a
// whisper to someone new is refused at once with a sentence a person can
// read, and nothing goes to Twitch; people already whispered today still
// get theirs, and a chat command answered privately says why in chat.
func TestWhisperBudgetSpent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config("a")
	cfg.Whispers = platform.NewRecipientBudget(e.pool, Platform, 2, 24*time.Hour) // 40 in production
	at := time.Date(2026, 12, 6, 17, 5, 0, 0, time.UTC)
	cfg.Whispers.SetClock(func() time.Time { return at })
	b := e.start(cfg)
	e.irc.WaitJoined(t, "duckchan")
	eventually(t, "logged in", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.up && b.botID == "100"
	})
	rt := e.senderRouter(b.Bot)
	ctx := context.Background()
	send := func(user string) error {
		_, err := rt.Send(ctx, e.cid, router.Message{Platform: router.Twitch, Server: "duckchan", User: user, Text: "Your code is 1."}, router.Options{})
		return err
	}
	for _, u := range []string{"301", "302", "301"} {
		if err := send(u); err != nil {
			t.Fatalf("whisper to %s: %v", u, err)
		}
	}
	err := send("303")
	p := problem.As(err)
	want := "Twitch allows whispers to 2 different people a day from this account; try again after 17:05 UTC."
	if p == nil || p.Code != problem.TooMany || p.Message != want {
		t.Fatalf("whisper to a third person: %v, want %q", err, want)
	}
	eventually(t, "three whispers sent", func() bool { return b.SendQueue().Stats().Sent == 3 })
	for _, c := range e.api.Find("POST", "/helix/whispers") {
		if c.Query["to_user_id"] == "303" {
			t.Errorf("a whisper past the budget reached Twitch")
		}
	}
	if st := b.SendQueue().Stats(); st.RateLimited != 0 || st.Failed != 0 {
		t.Errorf("queue stats %+v: the refused whisper was tried", st)
	}

	// A private answer to someone new is explained in chat instead.
	ev := router.Event{ID: "twitch:m1", Platform: Platform, Kind: router.ChatMessage, Server: "duckchan", Channel: "duckchan",
		User: router.User{ID: "304", Name: "dora"}}
	b.respond(ctx, ev, router.Response{Reply: "your balance is 5", Private: true}, platform.High, TransportIRC)
	got := e.irc.WaitLines(t, "duckchan", 1)
	if got[0].Text != "@dora I cannot whisper you: "+want {
		t.Errorf("chat line %q", got[0].Text)
	}
	if n := len(e.api.Find("POST", "/helix/whispers")); n != 3 {
		t.Errorf("%d whisper calls, want 3", n)
	}
}

// TestWhisper429IsNotRetriedOnAndOn: Twitch answering a whisper with 429
// twice (its own count says the account is over its limits) gives the
// whisper up instead of retrying it into more 429s.
func TestWhisper429IsNotRetriedOnAndOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.LimitWhispers(5)
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")
	eventually(t, "logged in", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.up && b.botID == "100"
	})
	if err := b.Send(context.Background(), e.cid, router.Message{Platform: router.Twitch, Server: "duckchan", User: "301", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the whisper given up", func() bool { return b.SendQueue().Stats().Failed == 1 })
	if n := len(e.api.Find("POST", "/helix/whispers")); n != 2 {
		t.Errorf("%d whisper calls, want 2 (one retry after the first 429)", n)
	}
}
