package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/discord"
	"github.com/waddle/waddle/bots/discord/discordtest"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/platform/oauthtest"
)

// accountFakes are local Twitch, Discord and Slack OAuth servers.
type accountFakes struct {
	twitch  *twitchtest.OAuthServer
	discord *discordtest.OAuthServer
	slack   *slacktest.OpenIDServer
	clients map[string]handlers.AccountOAuth
}

// fake is one platform's server.
func (f *accountFakes) fake(plat string) *oauthtest.Server {
	switch plat {
	case identity.Twitch:
		return f.twitch.Server
	case identity.Discord:
		return f.discord.Server
	}
	return f.slack.Server
}

// accountOpts changes what withAccountOAuth sets up.
type accountOpts struct {
	noDiscord    bool   // DISCORD_CLIENT_SECRET unset
	twitchSecret string // the hub's Twitch client secret; "": the right one
}

// withAccountOAuth turns the account page's platform sign-ins on against
// local OAuth servers, with the hub's callbacks registered there.
func withAccountOAuth(t *testing.T, f *accountFakes, o accountOpts) envOption {
	t.Helper()
	f.twitch, f.discord, f.slack = twitchtest.StartOAuth(t), discordtest.StartOAuth(t), slacktest.StartOpenID(t)
	return func(c *handlers.Config) {
		for plat, s := range map[string]*oauthtest.Server{identity.Twitch: f.twitch.Server, identity.Discord: f.discord.Server, identity.Slack: f.slack.Server} {
			s.Redirects = []string{c.BaseURL + "/account/links/" + plat + "/callback"}
		}
		secret := twitchtest.ClientSecret
		if o.twitchSecret != "" {
			secret = o.twitchSecret
		}
		f.clients = map[string]handlers.AccountOAuth{
			identity.Twitch: &twitch.OAuth{ClientID: twitchtest.ClientID, ClientSecret: secret, AuthURL: f.twitch.AuthURL()},
			identity.Slack:  &slackbot.OAuth{ClientID: slacktest.OpenIDClientID, ClientSecret: slacktest.OpenIDClientSecret, APIURL: f.slack.APIURL()},
		}
		if !o.noDiscord {
			f.clients[identity.Discord] = &discord.OAuth{ClientID: discordtest.OAuthClientID, ClientSecret: discordtest.OAuthClientSecret, APIURL: f.discord.APIURL()}
		}
		c.AccountOAuth = f.clients
	}
}

// platformAuthorize follows the platform's authorize page (where the user
// consents) and returns where it sends the browser back to.
func platformAuthorize(t *testing.T, to string) *url.URL {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize page %s: status %d, want 302 back to the hub", to, res.StatusCode)
	}
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// startLink clicks "Link <platform>" and returns the platform's authorize URL.
func startLink(t *testing.T, c *client, plat string) string {
	t.Helper()
	res := c.get("/account/links/"+plat+"/start", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start %s: status %d: %s", plat, res.StatusCode, res.body)
	}
	return res.Header.Get("Location")
}

// callback delivers the platform's redirect to the hub and returns the flash
// the account page shows.
func callback(t *testing.T, c *client, back *url.URL) string {
	t.Helper()
	res := c.get(back.RequestURI(), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("callback %s: %d to %q, want 303 to /account", back, res.StatusCode, res.Header.Get("Location"))
	}
	return flash(t, c, "/account")
}

// linkAs links the platform account u for the signed-in client and returns
// the flash.
func linkAs(t *testing.T, c *client, f *accountFakes, plat string, u oauthtest.User) string {
	t.Helper()
	f.fake(plat).SignIn(u)
	return callback(t, c, platformAuthorize(t, startLink(t, c, plat)))
}

// award gives an account points in a community, as chat does.
func (e *env) award(cid int64, acc identity.Account, n int64) {
	e.t.Helper()
	if _, err := db.New(e.pool).PointsAdd(context.Background(), db.PointsAddParams{Platform: acc.Platform, UserID: acc.ID, UserName: acc.Name,
		CommunityID: cid, Delta: n, Reason: "chat"}); err != nil {
		e.t.Fatal(err)
	}
}

var (
	duckTwitch  = oauthtest.User{ID: "200", Name: "DuckChan"}
	duckDiscord = oauthtest.User{ID: "80351110224678912", Name: "duck"}
	duckSlack   = oauthtest.User{ID: "U0DUCK", Name: "Duck Person"}
)

func TestLinkOwnAccountsOnEveryPlatform(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	owner := e.user("owner@example.com", true)
	duck := e.user("duck@example.com", false)
	a := e.community(owner, "ducks", nil)
	b := e.community(owner, "geese", nil)
	hub := e.signedIn(duck.Email)

	// Points earned in chat before linking.
	e.award(a.ID, identity.Account{Platform: identity.Twitch, ID: duckTwitch.ID, Name: "duckchan"}, 30)
	e.award(a.ID, identity.Account{Platform: identity.Discord, ID: duckDiscord.ID, Name: "duck"}, 12)
	e.award(b.ID, identity.Account{Platform: identity.Slack, ID: duckSlack.ID, Name: "duck"}, 4)

	d := hub.get("/account", nil).doc(t)
	if d.Find(`[data-testid="linked-accounts-none"]`).Length() != 1 {
		t.Error("the section does not say there are no links yet")
	}
	for _, p := range []string{"twitch", "discord", "slack"} {
		if d.Find(`[data-testid="link-`+p+`"]`).Length() != 1 {
			t.Errorf("no Link %s button", p)
		}
	}

	// The authorize requests ask for what each platform needs to say who you are, and no more.
	for plat, want := range map[string]string{"twitch": "", "discord": "identify", "slack": "openid profile"} {
		u, _ := url.Parse(startLink(t, hub, plat))
		if got := u.Query().Get("scope"); got != want {
			t.Errorf("%s asks for scope %q, want %q", plat, got, want)
		}
		if got := u.Query().Get("redirect_uri"); got != e.srv.URL+"/account/links/"+plat+"/callback" {
			t.Errorf("%s redirect_uri %q", plat, got)
		}
	}

	for plat, u := range map[string]oauthtest.User{"twitch": duckTwitch, "discord": duckDiscord, "slack": duckSlack} {
		if msg := linkAs(t, hub, &f, plat, u); !strings.Contains(msg, "is linked") {
			t.Errorf("link %s: flash %q", plat, msg)
		}
	}

	d = hub.get("/account", nil).doc(t)
	rows := d.Find(`[data-testid="linked-account"]`)
	if rows.Length() != 3 {
		t.Fatalf("%d linked accounts shown, want 3", rows.Length())
	}
	for plat, name := range map[string]string{"twitch": "duckchan", "discord": "duck", "slack": "Duck Person"} {
		row := d.Find(`[data-testid="linked-account"][data-platform="` + plat + `"]`)
		if !strings.Contains(row.Find(`[data-testid="linked-account-name"]`).Text(), name) {
			t.Errorf("%s row %q lacks %q", plat, row.Text(), name)
		}
		if got := strings.TrimSpace(row.Find(`[data-testid="linked-account-how"]`).Text()); got != "signed in (OAuth)" {
			t.Errorf("%s linked how %q", plat, got)
		}
		if row.Find(`[data-testid="unlink-`+plat+`"]`).Length() != 1 {
			t.Errorf("%s row has no Remove button", plat)
		}
		if d.Find(`[data-testid="link-`+plat+`"]`).Length() != 0 {
			t.Errorf("Link %s still offered when linked", plat)
		}
	}

	// One identity, the user's; one balance per community, nothing lost.
	if n := e.count(`SELECT count(DISTINCT a.identity_id) FROM identity_accounts a JOIN identities i ON i.id = a.identity_id WHERE i.user_id = $1`, duck.ID); n != 1 {
		t.Errorf("the accounts are in %d identities of the user, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM identity_accounts a JOIN identities i ON i.id = a.identity_id WHERE i.user_id = $1 AND a.linked_by = 'oauth'`, duck.ID); n != 3 {
		t.Errorf("%d accounts linked by oauth, want 3", n)
	}
	if n := e.count(`SELECT balance FROM points_balances b JOIN identities i ON i.id = b.identity_id WHERE i.user_id = $1 AND b.community_id = $2`, duck.ID, a.ID); n != 42 {
		t.Errorf("balance in ducks %d, want 30 + 12", n)
	}
	if n := e.count(`SELECT count(*) FROM points_balances WHERE community_id = $1`, a.ID); n != 1 {
		t.Errorf("%d balance rows in ducks, want 1", n)
	}
	if n := e.count(`SELECT balance FROM points_balances b JOIN identities i ON i.id = b.identity_id WHERE i.user_id = $1 AND b.community_id = $2`, duck.ID, b.ID); n != 4 {
		t.Errorf("balance in geese %d, want 4", n)
	}
	// The hub's points page has one row for the person.
	pts := e.signedIn(owner.Email).get(fmt.Sprintf("/c/%d/points", a.ID), nil)
	board := pts.doc(t).Find(`[data-testid="leaderboard-row"]`)
	if got := strings.TrimSpace(board.Find(`[data-testid="leaderboard-points"]`).Text()); board.Length() != 1 || got != "42" {
		t.Errorf("the leaderboard has %d rows with points %q, want one row of 42", board.Length(), got)
	}

	// Tokens were used once: none is left alive on any platform.
	for _, plat := range []string{"twitch", "discord", "slack"} {
		if n := f.fake(plat).Live(); n != 0 {
			t.Errorf("%s: %d tokens still alive, want all revoked", plat, n)
		}
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2`, audit.AccountLinked, duck.ID); n != 3 {
		t.Errorf("%d link audit entries, want 3", n)
	}
	// Linking again says so and changes nothing.
	if msg := linkAs(t, hub, &f, "twitch", duckTwitch); !strings.Contains(msg, "already linked to you") {
		t.Errorf("linking again: flash %q", msg)
	}
}

func TestLinkAccountOfAnotherHubUserIsRefused(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	alice := e.user("alice@example.com", false)
	bob := e.user("bob@example.com", false)
	if msg := linkAs(t, e.signedIn(alice.Email), &f, "discord", duckDiscord); !strings.Contains(msg, "is linked") {
		t.Fatalf("alice links: %q", msg)
	}
	hub := e.signedIn(bob.Email)
	msg := linkAs(t, hub, &f, "discord", duckDiscord)
	if msg != "That account is already linked to someone else." {
		t.Errorf("bob's flash %q", msg)
	}
	page := hub.get("/account", nil)
	for _, leak := range []string{"alice", alice.Email} {
		if strings.Contains(strings.ToLower(page.body), leak) {
			t.Errorf("bob's account page shows %q", leak)
		}
	}
	if n := page.doc(t).Find(`[data-testid="linked-account"]`).Length(); n != 0 {
		t.Errorf("bob has %d linked accounts", n)
	}
	if n := e.count(`SELECT count(*) FROM identity_accounts a JOIN identities i ON i.id = a.identity_id WHERE i.user_id = $1 AND a.account_id = $2`, alice.ID, duckDiscord.ID); n != 1 {
		t.Error("the account left alice's identity")
	}
}

func TestRemoveLinkedAccount(t *testing.T) {
	t.Parallel()
	var f accountFakes
	e := newEnv(t, withAccountOAuth(t, &f, accountOpts{}))
	owner := e.user("owner@example.com", true)
	duck := e.user("duck@example.com", false)
	goose := e.user("goose@example.com", false)
	a := e.community(owner, "ducks", nil)
	e.award(a.ID, identity.Account{Platform: identity.Twitch, ID: duckTwitch.ID, Name: "duckchan"}, 10)
	hub := e.signedIn(duck.Email)
	linkAs(t, hub, &f, "twitch", duckTwitch)
	linkAs(t, hub, &f, "slack", duckSlack)

	cases := []struct {
		name       string
		as         *client
		path       string
		form       url.Values
		hdr        http.Header
		wantStatus int
	}{
		{"another user", e.signedIn(goose.Email), "/account/links/twitch/remove", url.Values{"account": {duckTwitch.ID}}, nil, http.StatusNotFound},
		{"cross-site form", hub, "/account/links/twitch/remove", url.Values{"account": {duckTwitch.ID}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"no account", hub, "/account/links/twitch/remove", url.Values{}, nil, http.StatusBadRequest},
		{"account too long", hub, "/account/links/twitch/remove", url.Values{"account": {strings.Repeat("1", 101)}}, nil, http.StatusBadRequest},
		{"wrong platform for the id", hub, "/account/links/discord/remove", url.Values{"account": {duckTwitch.ID}}, nil, http.StatusNotFound},
		{"unknown platform", hub, "/account/links/irc/remove", url.Values{"account": {duckTwitch.ID}}, nil, http.StatusNotFound},
		{"signed out", e.client(), "/account/links/twitch/remove", url.Values{"account": {duckTwitch.ID}}, nil, http.StatusSeeOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if res := c.as.post(c.path, c.form, c.hdr); res.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.wantStatus, res.body)
			}
			if n := hub.get("/account", nil).doc(t).Find(`[data-testid="linked-account"]`).Length(); n != 2 {
				t.Fatalf("%d links left, want 2", n)
			}
		})
	}

	// The HTMX Remove button (with its confirmation) sends the page back.
	d := hub.get("/account", nil).doc(t)
	form := d.Find(`[data-testid="unlink-twitch"]`).Closest("form")
	if confirm, _ := form.Attr("hx-confirm"); !strings.Contains(confirm, "duckchan") {
		t.Errorf("the Remove button asks %q", confirm)
	}
	res := hub.post("/account/links/twitch/remove", url.Values{"account": {duckTwitch.ID}}, http.Header{"Hx-Request": {"true"}})
	if res.StatusCode != http.StatusNoContent || res.Header.Get("HX-Redirect") != "/account" {
		t.Fatalf("remove: %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	if msg := flash(t, hub, "/account"); !strings.Contains(msg, "duckchan is no longer linked") {
		t.Errorf("flash %q", msg)
	}
	d = hub.get("/account", nil).doc(t)
	if d.Find(`[data-testid="linked-account"][data-platform="twitch"]`).Length() != 0 || d.Find(`[data-testid="link-twitch"]`).Length() != 1 {
		t.Error("twitch is still shown linked, or not offered again")
	}
	// The points stay with the user; the account starts afresh.
	if n := e.count(`SELECT balance FROM points_balances b JOIN identities i ON i.id = b.identity_id WHERE i.user_id = $1 AND b.community_id = $2`, duck.ID, a.ID); n != 10 {
		t.Errorf("the user's balance %d, want 10 kept", n)
	}
	if n := e.count(`SELECT count(*) FROM points_balances b JOIN identity_accounts a ON a.identity_id = b.identity_id WHERE a.account_id = $1`, duckTwitch.ID); n != 0 {
		t.Errorf("the unlinked account has %d balances, want none", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2`, audit.AccountUnlinked, duck.ID); n != 1 {
		t.Errorf("%d unlink audit entries, want 1", n)
	}
	// Removed twice: not linked any more.
	if res := hub.post("/account/links/twitch/remove", url.Values{"account": {duckTwitch.ID}}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("second remove: %d, want 404", res.StatusCode)
	}
}
