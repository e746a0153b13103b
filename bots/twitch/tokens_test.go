package twitch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// validations counts the validate calls made with access token tok.
func (e *env) validations(tok string) int {
	n := 0
	for _, c := range e.api.Find("GET", "/oauth2/validate") {
		if c.Auth == "OAuth "+tok {
			n++
		}
	}
	return n
}

// helixCallsWith lists the Helix calls made with access token tok.
func (e *env) helixCallsWith(tok string) []twitchtest.Call {
	var out []twitchtest.Call
	for _, c := range e.api.Calls() {
		if strings.HasPrefix(c.Path, "/helix/") && c.Auth == "Bearer "+tok {
			out = append(out, c)
		}
	}
	return out
}

func (e *env) check(subject string) platform.TokenCheck {
	e.t.Helper()
	checks, err := e.tokens.Checks(context.Background(), Platform)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range checks {
		if c.Subject == subject {
			return c
		}
	}
	return platform.TokenCheck{}
}

func TestValidatesTokensOnStartAndEveryInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"})
	cfg := e.config("a")
	cfg.ValidateEvery = 300 * time.Millisecond
	e.start(cfg)

	eventually(t, "both tokens validated on start", func() bool { return e.validations("bot-1") >= 1 && e.validations("caster-1") >= 1 })
	for _, s := range []string{platform.BotSubject, "duckchan"} {
		if c := e.check(s); c.CheckedAt.IsZero() || c.NeedsReconnect != "" || len(c.MissingScopes) != 0 {
			t.Errorf("check of %s: %+v, want validated with every scope", s, c)
		}
	}
	tok, err := e.tokens.Get(context.Background(), Platform, "duckchan")
	if err != nil || !slices.Equal(tok.Scopes, twitchtest.BroadcasterScopes) || tok.Expires.IsZero() {
		t.Errorf("stored token after validation: scopes %v, expires %v, %v; want Twitch's answer recorded", tok.Scopes, tok.Expires, err)
	}
	eventually(t, "validated again after the interval", func() bool { return e.validations("bot-1") >= 3 && e.validations("caster-1") >= 3 })
}

// TestRevokedChannelTokenNeedsReconnect: a broadcaster revokes Waddle. On
// start the bot finds out, marks the channel as needing a reconnect and
// stops using the token; connecting again clears it.
func TestRevokedChannelTokenNeedsReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.saveToken("duckchan", platform.Token{Access: "caster-1", Refresh: "caster-r1", AccountID: "200", AccountLogin: "duckchan"})
	e.api.Revoke("caster-1")
	e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
	b := e.start(e.config("a")) // the bot is no moderator: it deletes with the broadcaster's token
	e.irc.WaitJoined(t, "duckchan")

	eventually(t, "the token marked", func() bool { return e.check("duckchan").NeedsReconnect != "" })
	if got := e.check("duckchan").NeedsReconnect; !strings.Contains(got, "revoked") {
		t.Errorf("reason %q does not say why", got)
	}
	before := len(e.helixCallsWith("caster-1"))
	e.irc.Chat("duckchan", "300", "alice", "", "you badword")
	eventually(t, "the delete given up", func() bool { return b.SendQueue().Stats().Failed == 1 })
	if n := len(e.helixCallsWith("caster-1")); n != before {
		t.Errorf("%d Helix calls with the revoked token after it was marked", n-before)
	}
	if n := e.validations("caster-1"); n != 1 {
		t.Errorf("%d validations of the revoked token, want 1", n)
	}

	// The owner connects again: a new token, the mark gone, the bot uses it.
	e.api.AddToken("caster-2", "caster-r2", "200", "duckchan", twitchtest.BroadcasterScopes...)
	e.saveToken("duckchan", platform.Token{Access: "caster-2", Refresh: "caster-r2", AccountID: "200", AccountLogin: "duckchan"})
	if c := e.check("duckchan"); c.NeedsReconnect != "" {
		t.Errorf("still marked after reconnecting: %q", c.NeedsReconnect)
	}
	e.irc.Chat("duckchan", "300", "alice", "", "you badword again")
	eventually(t, "a delete with the new token", func() bool { return len(e.helixCallsWith("caster-2")) == 1 })
}

// TestRefusedTokenIsRefreshedAtValidation: a token Twitch refuses at
// validation is refreshed and kept when the refresh works.
func TestRefusedTokenIsRefreshedAtValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.AddToken("caster-5", "caster-r5", "200", "duckchan", twitchtest.BroadcasterScopes...)
	e.api.Revoke("caster-5")
	e.api.AddRefresh("caster-r5", "caster-6", "caster-r6")
	e.saveToken("duckchan", platform.Token{Access: "caster-5", Refresh: "caster-r5", AccountID: "200", AccountLogin: "duckchan"})
	e.start(e.config("a"))

	eventually(t, "the refreshed token validated", func() bool { return e.validations("caster-6") >= 1 && !e.check("duckchan").CheckedAt.IsZero() })
	tok, err := e.tokens.Get(context.Background(), Platform, "duckchan")
	if err != nil || tok.Access != "caster-6" || tok.Refresh != "caster-r6" || tok.NeedsReconnect != "" {
		t.Errorf("stored %q/%q marked %q, %v; want the refreshed token in use", tok.Access, tok.Refresh, tok.NeedsReconnect, err)
	}
}

// TestRevokedBotTokenReadsAnonymously: the bot account's token revoked, the
// bot reads chat anonymously, says so, and uses the account again once it
// is connected again.
func TestRevokedBotTokenReadsAnonymously(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.api.Revoke("bot-1")
	b := e.start(e.config("a"))

	eventually(t, "the bot token marked", func() bool { return e.check(platform.BotSubject).NeedsReconnect != "" })
	eventually(t, "an anonymous session", func() bool {
		l := e.irc.Live("duckchan")
		return len(l) == 1 && strings.HasPrefix(l[0].Nick(), "justinfan")
	})
	eventually(t, "the status says to reconnect", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "no longer accepts the bot account's token") &&
			strings.Contains(s.Detail, "Connect the bot account again on the health page")
	})
	err := b.Send(context.Background(), e.cid, router.Message{Platform: router.Twitch, Server: "duckchan", User: "300", Text: "psst"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	eventually(t, "the whisper given up", func() bool { return b.SendQueue().Stats().Failed >= 1 })
	if calls := e.helixCallsWith("bot-1"); len(calls) != 0 {
		t.Errorf("Helix calls with the revoked bot token: %+v", calls)
	}

	e.api.AddToken("bot-3", "bot-r3", "100", "duckbot", twitchtest.BotScopes...)
	e.saveToken(platform.BotSubject, platform.Token{Access: "bot-3", Refresh: "bot-r3", AccountID: "100", AccountLogin: "duckbot"})
	eventually(t, "a login with the new token", func() bool {
		l := e.irc.Live("duckchan")
		return len(l) == 1 && l[0].Nick() == "duckbot" && l[0].Pass() == "oauth:bot-3"
	})
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply %q", got[0].Text)
	}
}

func TestMissingScopesAreRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.AddToken("caster-9", "", "200", "duckchan", "bits:read", "channel:moderate")
	e.saveToken("duckchan", platform.Token{Access: "caster-9", AccountID: "200", AccountLogin: "duckchan"})
	e.start(e.config("a"))

	eventually(t, "the channel's token validated", func() bool { return !e.check("duckchan").CheckedAt.IsZero() })
	want := []string{"moderator:read:followers", "channel:read:subscriptions", "moderator:manage:banned_users", "moderator:manage:chat_messages", "moderator:read:chatters", "channel:bot"}
	if diff := cmp.Diff(want, e.check("duckchan").MissingScopes); diff != "" {
		t.Errorf("missing scopes (-want +got):\n%s", diff)
	}
	if c := e.check(platform.BotSubject); len(c.MissingScopes) != 0 {
		t.Errorf("the bot token lacks %v", c.MissingScopes)
	}
}

// TestMissingScopeIsNotRefreshed: a 401 for a missing scope is not a stale
// token: no refresh, and the call is given up.
func TestMissingScopeIsNotRefreshed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.irc.SetMod("duckchan", true)
	e.api.SetScopes("bot-1", "chat:read", "chat:edit")
	e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")

	e.irc.Chat("duckchan", "300", "alice", "", "badword")
	eventually(t, "the delete given up", func() bool { return b.SendQueue().Stats().Failed == 1 })
	if n := len(e.api.Find("DELETE", "/helix/moderation/chat")); n != 1 {
		t.Errorf("%d delete calls, want 1", n)
	}
	if n := len(e.api.Find("POST", "/oauth2/token")); n != 0 {
		t.Errorf("%d refreshes for a missing scope, want none", n)
	}
	if c := e.check(platform.BotSubject); c.NeedsReconnect != "" {
		t.Errorf("a missing scope marked the token: %q", c.NeedsReconnect)
	}
}

func TestStaleTokenReadsTwitch401s(t *testing.T) {
	cases := []struct {
		body string
		want bool
	}{
		{`{"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}`, true},
		{`{"error":"Unauthorized","status":401,"message":"invalid access token"}`, true},
		{``, true},
		{`not json`, true},
		{`{"error":"Unauthorized","status":401,"message":"Missing scope: moderator:manage:banned_users"}`, false},
		{`{"error":"Unauthorized","status":401,"message":"The ID in moderator_id must match the user ID in the user access token."}`, false},
		{`{"error":"Unauthorized","status":401,"message":"The Authorization header must contain a user access token."}`, false},
	}
	for _, c := range cases {
		if got := staleToken([]byte(c.body)); got != c.want {
			t.Errorf("staleToken(%s) = %v, want %v", c.body, got, c.want)
		}
	}
}

// TestChannelTokenOfAnotherAccountNeedsReconnect: a grant stored for a
// channel whose token Twitch says is another account's would make the bot
// subscribe to and moderate that other account's channel; it is marked as
// needing its owner to connect instead, and the bot does not use it.
func TestChannelTokenOfAnotherAccountNeedsReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.AddToken("mallory-1", "", "900", "mallory", twitchtest.BroadcasterScopes...)
	e.saveToken("duckchan", platform.Token{Access: "mallory-1", AccountID: "200", AccountLogin: "duckchan"})
	e.start(e.config("a"))

	eventually(t, "the token marked", func() bool { return e.check("duckchan").NeedsReconnect != "" })
	if got := e.check("duckchan").NeedsReconnect; !strings.Contains(got, "mallory") || !strings.Contains(got, "duckchan") {
		t.Errorf("reason %q does not name whose token it is and whose it should be", got)
	}
	if c := e.check(platform.BotSubject); c.NeedsReconnect != "" {
		t.Errorf("the bot account's own token marked: %q", c.NeedsReconnect)
	}
}
