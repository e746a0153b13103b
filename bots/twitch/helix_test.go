package twitch

import (
	"context"
	"testing"
	"time"

	"github.com/waddle/waddle/platform"
)

func TestAppTokenFetchHoldsUpNoUserToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, err := New(e.config("a"))
	if err != nil {
		t.Fatal(err)
	}
	release := e.api.HoldAppTokens()
	ctx := context.Background()
	type result struct {
		token string
		err   error
	}
	apps := make(chan result, 2)
	for range 2 {
		go func() {
			tok, err := b.helix.appToken(ctx, "")
			apps <- result{tok, err}
		}()
	}
	eventually(t, "an app token request in flight", func() bool { return e.api.HeldAppTokens() == 1 })

	users := make(chan result, 1)
	go func() {
		tok, err := b.helix.userToken(ctx, platform.BotSubject)
		users <- result{tok.Access, err}
	}()
	select {
	case r := <-users:
		if r.err != nil || r.token != "bot-1" {
			t.Errorf("bot token %q, %v", r.token, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("loading the bot's token waited for the app token's fetch")
	}
	if n := e.api.HeldAppTokens(); n != 1 {
		t.Errorf("%d app token requests at once, want 1", n)
	}
	release()
	for range 2 {
		select {
		case r := <-apps:
			if r.err != nil || r.token != "app-1" {
				t.Errorf("app token %q, %v", r.token, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no app token after the release")
		}
	}
	if n := len(e.api.Find("POST", "/oauth2/token")); n != 1 {
		t.Errorf("%d token requests, want the app token fetched once", n)
	}
}
