package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/platform/oauthtest"
	"github.com/waddle/waddle/problem"
)

// linkedCount counts the accounts in the user's identity.
func (e *env) linkedCount(userID int64) int {
	e.t.Helper()
	return e.count(`SELECT count(*) FROM identity_accounts a JOIN identities i ON i.id = a.identity_id WHERE i.user_id = $1`, userID)
}

func TestAccountLinkStateIsSingleUseAndBound(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	duck := e.user("duck@example.com", false)
	goose := e.user("goose@example.com", false)
	hub := e.signedIn(duck.Email)
	f.twitch.SignIn(duckTwitch)
	f.discord.SignIn(duckDiscord)
	refused := "was not started from your account page in this browser, or was already used"

	// A tampered state is refused, and the flow it belonged to is spent.
	back := platformAuthorize(t, startLink(t, hub, "twitch"))
	good := *back
	q := back.Query()
	q.Set("state", q.Get("state")+"x")
	back.RawQuery = q.Encode()
	if msg := callback(t, hub, back); !strings.Contains(msg, refused) {
		t.Errorf("tampered state: flash %q", msg)
	}
	if msg := callback(t, hub, &good); !strings.Contains(msg, refused) {
		t.Errorf("the right state after a tampered one: flash %q", msg)
	}

	// No state at all, or no flow started.
	q = good.Query()
	q.Del("state")
	noState := good
	noState.RawQuery = q.Encode()
	for name, u := range map[string]*url.URL{"no state": &noState, "no flow started": &good} {
		if msg := callback(t, hub, u); !strings.Contains(msg, refused) {
			t.Errorf("%s: flash %q", name, msg)
		}
	}

	// A Twitch state delivered to the Discord callback.
	back = platformAuthorize(t, startLink(t, hub, "twitch"))
	cross := *back
	cross.Path = "/account/links/discord/callback"
	if msg := callback(t, hub, &cross); !strings.Contains(msg, "Discord sign-in was not started") {
		t.Errorf("cross-platform state: flash %q", msg)
	}

	// Another browser (another user's session) cannot finish my flow.
	back = platformAuthorize(t, startLink(t, hub, "twitch"))
	if msg := callback(t, e.signedIn(goose.Email), back); !strings.Contains(msg, refused) {
		t.Errorf("another session: flash %q", msg)
	}

	// A finished flow replayed: refused, and the code is not sent again.
	back = platformAuthorize(t, startLink(t, hub, "twitch"))
	if msg := callback(t, hub, back); !strings.Contains(msg, "is linked") {
		t.Fatalf("link: flash %q", msg)
	}
	issued := len(f.twitch.Issued())
	if msg := callback(t, hub, back); !strings.Contains(msg, refused) {
		t.Errorf("replay: flash %q", msg)
	}
	if got := len(f.twitch.Issued()); got != issued {
		t.Errorf("the replayed code was exchanged again (%d tokens, was %d)", got, issued)
	}
	if n := e.linkedCount(duck.ID); n != 1 {
		t.Errorf("%d accounts linked, want 1", n)
	}
	if n := e.linkedCount(goose.ID); n != 0 {
		t.Errorf("goose has %d accounts linked", n)
	}
}

func TestAccountLinkPlatformRefusals(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	duck := e.user("duck@example.com", false)
	hub := e.signedIn(duck.Email)

	cases := []struct {
		name, plat string
		setup      func()
		want       string
	}{
		{"user cancels", "discord", func() { f.discord.Deny("access_denied") },
			"You did not allow Waddle to see your Discord account (access_denied), so nothing was linked."},
		{"platform error", "slack", func() { f.slack.Deny("server_error") }, "Slack did not sign you in (server_error: The user denied you access)"},
		{"code expired", "twitch", func() { f.twitch.SignIn(duckTwitch); f.twitch.CodeTTL = -1 }, "Twitch refused the authorization code (Invalid authorization code)"},
		{"scope not granted", "discord", func() { f.discord.SignIn(duckDiscord); f.discord.GrantScopes([]string{"email"}) }, "Discord did not grant the identify scope"},
		{"openid not granted", "slack", func() { f.slack.SignIn(duckSlack); f.slack.GrantScopes([]string{"profile"}) }, "Slack would not say who signed in (invalid_auth)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.setup()
			back := platformAuthorize(t, startLink(t, hub, c.plat))
			if msg := callback(t, hub, back); !strings.Contains(msg, c.want) {
				t.Errorf("flash %q, want %q", msg, c.want)
			}
			if n := e.linkedCount(duck.ID); n != 0 {
				t.Errorf("%d accounts linked after a refusal", n)
			}
		})
	}

	// An error sent with a forged state is not shown: the state is checked first.
	q := url.Values{"error": {"access_denied"}, "error_description": {"Visit evil.example"}, "state": {"forged"}}
	res := hub.get("/account/links/twitch/callback?"+q.Encode(), nil)
	if msg := flash(t, hub, "/account"); res.StatusCode != http.StatusSeeOther || strings.Contains(msg, "evil") {
		t.Errorf("forged error: %d, flash %q", res.StatusCode, msg)
	}
}

func TestAccountLinkWrongClientSecret(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{twitchSecret: "not-the-secret"}))
	duck := e.user("duck@example.com", false)
	hub := e.signedIn(duck.Email)
	if msg := linkAs(t, hub, &f, "twitch", duckTwitch); !strings.Contains(msg, "Twitch refused the authorization code (invalid client secret)") {
		t.Errorf("flash %q", msg)
	}
	if n := e.linkedCount(duck.ID); n != 0 {
		t.Errorf("%d accounts linked", n)
	}
}

func TestAccountLinkStartRules(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{noDiscord: true}))
	duck := e.user("duck@example.com", false)
	hub := e.signedIn(duck.Email)

	// Without DISCORD_CLIENT_SECRET, Discord is not offered and its routes are off.
	d := hub.get("/account", nil).doc(t)
	if d.Find(`[data-testid="link-discord"]`).Length() != 0 {
		t.Error("Link Discord is offered without DISCORD_CLIENT_SECRET")
	}
	if d.Find(`[data-testid="link-twitch"]`).Length() != 1 || d.Find(`[data-testid="link-slack"]`).Length() != 1 {
		t.Error("Twitch or Slack is not offered")
	}
	cases := []struct {
		name       string
		as         *client
		path       string
		hdr        http.Header
		wantStatus int
		wantTo     string // the Location's start
	}{
		{"discord off", hub, "/account/links/discord/start", nil, http.StatusNotFound, ""},
		{"discord callback off", hub, "/account/links/discord/callback?code=x&state=y", nil, http.StatusNotFound, ""},
		{"unknown platform", hub, "/account/links/irc/start", nil, http.StatusNotFound, ""},
		{"started by another site", hub, "/account/links/twitch/start", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, ""},
		{"signed out", e.client(), "/account/links/twitch/start", nil, http.StatusSeeOther, "/signin"},
		{"from the page", hub, "/account/links/slack/start", http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther, f.slack.APIURL()[:len(f.slack.APIURL())-len("api/")] + "openid/connect/authorize?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := c.as.get(c.path, c.hdr)
			if res.StatusCode != c.wantStatus || !strings.HasPrefix(res.Header.Get("Location"), c.wantTo) {
				t.Fatalf("status %d to %q, want %d to %s…", res.StatusCode, res.Header.Get("Location"), c.wantStatus, c.wantTo)
			}
		})
	}
}

// TestAccountOAuthClientsRefuse drives each platform's client against its
// local server directly: what the platform refuses ends in a problem the
// user can read, never in a linked account.
func TestAccountOAuthClientsRefuse(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	ctx := context.Background()
	users := map[string]oauthtest.User{identity.Twitch: duckTwitch, identity.Discord: duckDiscord, identity.Slack: duckSlack}
	for _, plat := range []string{identity.Twitch, identity.Discord, identity.Slack} {
		t.Run(plat, func(t *testing.T) {
			client := f.clients[plat]
			fake := f.fake(plat)
			redirect := e.srv.URL + "/account/links/" + plat + "/callback"
			fake.SignIn(users[plat])
			code := func() string {
				t.Helper()
				return platformAuthorize(t, client.IdentifyURL(redirect, "st")).Query().Get("code")
			}
			invalid := func(what string, err error) {
				t.Helper()
				if p := problem.As(err); p == nil || p.Code != problem.Invalid {
					t.Errorf("%s: %v, want an Invalid problem", what, err)
				}
			}

			// A redirect URI that is not registered: the platform sends the browser nowhere.
			res, err := http.Get(client.IdentifyURL(redirect+"/elsewhere", "st"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("unregistered redirect_uri: status %d, want 400", res.StatusCode)
			}

			c := code()
			_, err = client.Identify(ctx, c, redirect+"?other")
			invalid("another redirect_uri at the exchange", err)
			_, err = client.Identify(ctx, "made-up", redirect)
			invalid("a made-up code", err)
			_, err = client.Identify(ctx, "", redirect)
			invalid("no code", err)

			c = code()
			acc, err := client.Identify(ctx, c, redirect)
			if err != nil || acc.Platform != plat || acc.ID != users[plat].ID {
				t.Fatalf("identify: %+v, %v", acc, err)
			}
			_, err = client.Identify(ctx, c, redirect)
			invalid("a used code", err)
			if n := fake.Live(); n != 0 {
				t.Errorf("%d tokens alive after use, want the one used revoked", n)
			}
		})
	}
}
