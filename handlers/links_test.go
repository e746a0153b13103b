package handlers_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/auth"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// platformFakes are local Twitch OAuth and Slack Web API servers.
type platformFakes struct {
	twitch, slack *httptest.Server
	exchanges     atomic.Int32
	tokens        *platform.Tokens
	links         *platform.Links
}

// withPlatforms turns on the Twitch, Slack and Discord install flows against local servers.
func withPlatforms(t *testing.T, f *platformFakes) envOption {
	t.Helper()
	logins := map[string]string{"chan-code": "DuckChan", "bot-code": "DuckBot", "other-code": "someoneelse", "goose-code": "goosechan"}
	f.twitch = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/oauth2/token":
			r.ParseForm()
			f.exchanges.Add(1)
			code := r.PostForm.Get("code")
			if _, ok := logins[code]; !ok || r.PostForm.Get("client_secret") != "twitch-secret" || r.PostForm.Get("grant_type") != "authorization_code" {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"status":400,"message":"Invalid authorization code"}`))
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + code, "refresh_token": "rt-" + code, "expires_in": 14000, "scope": []string{"chat:read"}, "token_type": "bearer"})
		case "/oauth2/validate":
			code := strings.TrimPrefix(r.Header.Get("Authorization"), "OAuth at-")
			json.NewEncoder(w).Encode(map[string]any{"client_id": "twitch-client", "login": logins[code], "user_id": "id-" + code, "scopes": []string{"chat:read"}, "expires_in": 14000})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.twitch.Close)
	f.slack = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		r.ParseForm()
		if r.URL.Path != "/api/oauth.v2.access" {
			http.NotFound(w, r)
			return
		}
		f.exchanges.Add(1)
		if r.PostForm.Get("code") != "slack-code" {
			w.Write([]byte(`{"ok":false,"error":"invalid_code"}`))
			return
		}
		w.Write([]byte(`{"ok":true,"access_token":"xoxb-duck","token_type":"bot","scope":"chat:write,commands","bot_user_id":"UBOT","app_id":"A1","team":{"id":"T123","name":"Duck Team"}}`))
	}))
	t.Cleanup(f.slack.Close)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *handlers.Config) {
		f.tokens = platform.NewTokens(c.Health.Primary, box)
		f.links = platform.NewLinks(c.Health.Primary)
		c.Tokens, c.Links = f.tokens, f.links
		c.TwitchOAuth = &twitch.OAuth{ClientID: "twitch-client", ClientSecret: "twitch-secret", AuthURL: f.twitch.URL + "/oauth2", APIURL: f.twitch.URL + "/helix"}
		c.SlackOAuth = &slackbot.OAuth{ClientID: "slack-client", ClientSecret: "slack-secret", APIURL: f.slack.URL + "/api/"}
		c.TwitchBotLogin = "duckbot"
		c.DiscordAppID = "1234567890"
	}
}

// startFlow follows the start of a flow and returns the query the hub sent
// the browser to the platform with.
func startFlow(t *testing.T, c *client, path, wantPrefix string) url.Values {
	t.Helper()
	res := c.get(path, nil)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, wantPrefix) {
		t.Fatalf("GET %s: %d to %q, want 303 to %s…", path, res.StatusCode, loc, wantPrefix)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("state") == "" {
		t.Fatalf("no state in %s", loc)
	}
	return u.Query()
}

func flash(t *testing.T, c *client, path string) string {
	t.Helper()
	return strings.TrimSpace(c.get(path, nil).doc(t).Find(`[data-testid="flash"]`).Text())
}

func TestLinkTwitchChannelThroughOAuth(t *testing.T) {
	t.Parallel()
	var f platformFakes
	e := newEnv(t, withPlatforms(t, &f))
	owner := e.user("owner@example.com", true)
	member := e.user("member@example.com", false)
	a := e.community(owner, "ducks", map[auth.User]community.Role{member: community.Member})
	b := e.community(owner, "geese", nil)
	hub := e.signedIn(owner.Email)
	servers := fmt.Sprintf("/c/%d/servers", a.ID)

	// The servers page offers the flows.
	d := hub.get(servers, nil).doc(t)
	for _, id := range []string{"connect-twitch", "install-slack", "discord-install"} {
		if d.Find(`[data-testid="`+id+`"]`).Length() != 1 {
			t.Errorf("servers page lacks %s", id)
		}
	}

	q := startFlow(t, hub, servers+"/twitch/connect", f.twitch.URL+"/oauth2/authorize?")
	if q.Get("redirect_uri") != e.srv.URL+"/oauth/twitch/callback" || !strings.Contains(q.Get("scope"), "moderator:read:followers") || q.Get("client_id") != "twitch-client" {
		t.Errorf("authorize query %v", q)
	}
	cb := "/oauth/twitch/callback?code=chan-code&state=" + url.QueryEscape(q.Get("state"))
	res := hub.get(cb, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != servers {
		t.Fatalf("callback: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if msg := flash(t, hub, servers); !strings.Contains(msg, "duckchan is linked") {
		t.Errorf("flash %q", msg)
	}
	es, _ := e.settings.Entities(context.Background(), a.ID)
	if len(es) != 1 || es[0].Platform != "twitch" || es[0].Server != "duckchan" {
		t.Fatalf("linked %+v, want twitch duckchan", es)
	}
	tok, err := f.tokens.Get(context.Background(), "twitch", "duckchan")
	if err != nil || tok.Access != "at-chan-code" || tok.Refresh != "rt-chan-code" || tok.AccountID != "id-chan-code" {
		t.Fatalf("stored token %+v, %v", tok, err)
	}

	// The same callback again: a state works once.
	n := f.exchanges.Load()
	hub.get(cb, nil)
	if msg := flash(t, hub, servers); !strings.Contains(msg, "not started from this browser session") {
		t.Errorf("replayed callback: flash %q", msg)
	}
	if f.exchanges.Load() != n {
		t.Error("a replayed callback exchanged its code again")
	}

	// A state from another browser session is refused.
	other := e.signedIn(owner.Email)
	q2 := startFlow(t, other, servers+"/twitch/connect", f.twitch.URL)
	hub.get("/oauth/twitch/callback?code=goose-code&state="+url.QueryEscape(q2.Get("state")), nil)
	if msg := flash(t, hub, servers); !strings.Contains(msg, "not started from this browser session") {
		t.Errorf("foreign state: flash %q", msg)
	}

	// The owner refuses on Twitch's page.
	q = startFlow(t, hub, servers+"/twitch/connect", f.twitch.URL)
	hub.get("/oauth/twitch/callback?error=access_denied&error_description=The+user+denied+you+access&state="+url.QueryEscape(q.Get("state")), nil)
	if msg := flash(t, hub, servers); !strings.Contains(msg, "did not grant access (access_denied)") {
		t.Errorf("denied: flash %q", msg)
	}

	// Twitch refuses the code.
	q = startFlow(t, hub, servers+"/twitch/connect", f.twitch.URL)
	hub.get("/oauth/twitch/callback?code=forged&state="+url.QueryEscape(q.Get("state")), nil)
	if msg := flash(t, hub, servers); !strings.Contains(msg, "Invalid authorization code") {
		t.Errorf("refused code: flash %q", msg)
	}

	// A channel linked elsewhere is not taken over.
	geese := fmt.Sprintf("/c/%d/servers", b.ID)
	q = startFlow(t, hub, geese+"/twitch/connect", f.twitch.URL)
	hub.get("/oauth/twitch/callback?code=chan-code&state="+url.QueryEscape(q.Get("state")), nil)
	if msg := flash(t, hub, geese); !strings.Contains(msg, "already linked") {
		t.Errorf("channel of another community: flash %q", msg)
	}
	if es, _ := e.settings.Entities(context.Background(), b.ID); len(es) != 0 {
		t.Errorf("geese got %+v", es)
	}

	// Another site cannot start a flow for the signed-in admin.
	if res := hub.get(servers+"/twitch/connect", http.Header{"Sec-Fetch-Site": {"cross-site"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site start: %d, want 403", res.StatusCode)
	}
	if q := startFlow(t, hub, servers+"/twitch/connect", f.twitch.URL); q.Get("force_verify") != "true" {
		t.Errorf("Twitch is not told to ask every time: %v", q)
	}

	// Members cannot start a flow.
	if res := e.signedIn(member.Email).get(servers+"/twitch/connect", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("member starting a link: %d, want 403", res.StatusCode)
	}
}

func TestConnectTwitchBotAccount(t *testing.T) {
	t.Parallel()
	var f platformFakes
	e := newEnv(t, withPlatforms(t, &f))
	admin := e.user("admin@example.com", true)
	plain := e.user("plain@example.com", false)
	hub := e.signedIn(admin.Email)

	if got := hub.get("/health", nil).doc(t).Find(`[data-testid="twitch-bot-account"]`).Text(); !strings.Contains(got, "is not connected") {
		t.Errorf("health page before connecting: %q", got)
	}
	// Signed in to Twitch as the wrong account.
	q := startFlow(t, hub, "/health/twitch/bot/connect", f.twitch.URL+"/oauth2/authorize?")
	if !strings.Contains(q.Get("scope"), "chat:edit") || !strings.Contains(q.Get("scope"), "user:manage:whispers") {
		t.Errorf("bot scopes %q", q.Get("scope"))
	}
	hub.get("/oauth/twitch/callback?code=other-code&state="+url.QueryEscape(q.Get("state")), nil)
	if msg := flash(t, hub, "/health"); !strings.Contains(msg, "as someoneelse, but the bot account is duckbot") {
		t.Errorf("wrong account: flash %q", msg)
	}
	if _, err := f.tokens.Get(context.Background(), "twitch", platform.BotSubject); !errors.Is(err, platform.ErrNoToken) {
		t.Errorf("a wrong account's token was stored: %v", err)
	}
	q = startFlow(t, hub, "/health/twitch/bot/connect", f.twitch.URL)
	hub.get("/oauth/twitch/callback?code=bot-code&state="+url.QueryEscape(q.Get("state")), nil)
	if got := hub.get("/health", nil).doc(t).Find(`[data-testid="twitch-bot-login"]`).Text(); got != "duckbot" {
		t.Errorf("health page shows the bot as %q, want duckbot", got)
	}
	if tok, err := f.tokens.Get(context.Background(), "twitch", platform.BotSubject); err != nil || tok.Access != "at-bot-code" {
		t.Errorf("bot token %+v, %v", tok, err)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = 'bot_account_connected' AND actor_email = 'admin@example.com' AND target = 'twitch duckbot'"); n != 1 {
		t.Errorf("%d bot_account_connected audit entries, want 1", n)
	}
	// Only global admins.
	if res := e.signedIn(plain.Email).get("/health/twitch/bot/connect", nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
		t.Errorf("non-admin: %d", res.StatusCode)
	}
}

func TestInstallSlackAndLinkDiscordGuild(t *testing.T) {
	t.Parallel()
	var f platformFakes
	e := newEnv(t, withPlatforms(t, &f))
	owner := e.user("owner@example.com", true)
	a := e.community(owner, "ducks", nil)
	hub := e.signedIn(owner.Email)
	servers := fmt.Sprintf("/c/%d/servers", a.ID)

	q := startFlow(t, hub, servers+"/slack/install", f.slack.URL+"/oauth/v2/authorize?")
	if !strings.Contains(q.Get("scope"), "chat:write") || q.Get("redirect_uri") != e.srv.URL+"/oauth/slack/callback" {
		t.Errorf("authorize query %v", q)
	}
	hub.get("/oauth/slack/callback?code=bad&state="+url.QueryEscape(q.Get("state")), nil)
	if msg := flash(t, hub, servers); !strings.Contains(msg, "invalid_code") {
		t.Errorf("refused code: flash %q", msg)
	}
	q = startFlow(t, hub, servers+"/slack/install", f.slack.URL)
	hub.get("/oauth/slack/callback?code=slack-code&state="+url.QueryEscape(q.Get("state")), nil)
	if msg := flash(t, hub, servers); !strings.Contains(msg, "Duck Team is linked") {
		t.Errorf("flash %q", msg)
	}
	es, _ := e.settings.Entities(context.Background(), a.ID)
	if len(es) != 1 || es[0].Platform != "slack" || es[0].Server != "T123" || es[0].Name != "Duck Team" {
		t.Fatalf("linked %+v", es)
	}
	if tok, err := f.tokens.Get(context.Background(), "slack", "T123"); err != nil || tok.Access != "xoxb-duck" {
		t.Errorf("slack token %+v, %v", tok, err)
	}

	// The Discord bot reports a guild it was added to: it is offered for linking.
	d := hub.get(servers, nil).doc(t)
	if href, _ := d.Find(`[data-testid="discord-install"]`).Attr("href"); !strings.Contains(href, "client_id=1234567890") || !strings.Contains(href, "applications.commands") {
		t.Errorf("install link %q", href)
	}
	if d.Find(`[data-testid="no-available"]`).Length() != 1 {
		t.Error("a guild is offered before the bot saw one")
	}
	if err := f.links.Seen(context.Background(), router.Discord, "998877", "Duck Pond"); err != nil {
		t.Fatal(err)
	}
	if got := hub.get(servers, nil).doc(t).Find(`[data-testid="available"]`).Text(); !strings.Contains(got, "Duck Pond") {
		t.Fatalf("offered %q, want Duck Pond", got)
	}
	if res := hub.post(servers, url.Values{"platform": {"discord"}, "server": {"998877"}, "name": {"Duck Pond"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d", res.StatusCode)
	}
	if hub.get(servers, nil).doc(t).Find(`[data-testid="available"]`).Length() != 0 {
		t.Error("a linked guild is still offered")
	}
	// The workspace of a single-workspace SLACK_BOT_TOKEN is offered the same way.
	if err := f.links.Seen(context.Background(), router.Slack, "T9", "Goose Team"); err != nil {
		t.Fatal(err)
	}
	if got := hub.get(servers, nil).doc(t).Find(`[data-testid="available-row"]`).Text(); !strings.Contains(got, "slack") || !strings.Contains(got, "Goose Team") {
		t.Errorf("offered %q, want the Slack workspace", got)
	}
}

func TestHealthPageShowsBots(t *testing.T) {
	t.Parallel()
	tw := platform.NewStatus(router.Twitch)
	tw.Set(platform.StateConnected, "Connected to 2 channels as duckbot.")
	tw.SetServers(2)
	tw.SetChannels([]platform.ChannelStatus{{Name: "ducks", Transport: "EventSub + Helix"},
		{Name: "geese", Transport: "IRC", Note: "not EventSub: the broadcaster has not granted channel:bot: link the channel again"}})
	out := platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Twitch})
	out.Send("#ducks", platform.High, func(context.Context) error { return nil })
	tw.Attach(out)
	e := newEnv(t, func(c *handlers.Config) {
		c.Health.Bots = []*platform.Status{tw, platform.NewStatus(router.Discord), platform.NewStatus(router.Slack)}
		// This instance serves #ducks; another one holds Discord's shard 0.
		here := platform.NewLeases(c.Health.Primary, "instance-here", 0)
		if _, err := here.Sync(context.Background(), platform.TwitchChannelLeases, []string{"ducks"}); err != nil {
			t.Fatal(err)
		}
		if _, err := platform.NewLeases(c.Health.Primary, "instance-there", 0).Sync(context.Background(), platform.DiscordShardLeases, []string{"0"}); err != nil {
			t.Fatal(err)
		}
		c.Health.Leases = here
	})
	admin := e.user("admin@example.com", true)
	d := e.signedIn(admin.Email).get("/health", nil).doc(t)
	row := d.Find(`[data-testid="bot-twitch"]`)
	if row.Find(`[data-testid="bot-state"]`).Text() != "connected" || !strings.Contains(row.Text(), "2 channels as duckbot") ||
		row.Find(`[data-testid="bot-servers"]`).Text() != "2" || row.Find(`[data-testid="bot-depth"]`).Text() != "1" {
		t.Errorf("twitch row %q", row.Text())
	}
	var chans []string
	row.Find(`[data-testid="bot-channel"]`).Each(func(_ int, s *goquery.Selection) {
		chans = append(chans, s.Find("code").Text()+" "+s.Find(`[data-testid="bot-channel-transport"]`).Text()+" "+s.Find(`[data-testid="bot-channel-note"]`).Text())
	})
	if want := []string{"ducks EventSub + Helix ", "geese IRC (not EventSub: the broadcaster has not granted channel:bot: link the channel again)"}; !slices.Equal(chans, want) {
		t.Errorf("twitch channels %q, want %q", chans, want)
	}
	if st := d.Find(`[data-testid="bot-discord"] [data-testid="bot-state"]`).Text(); st != "off" {
		t.Errorf("discord state %q, want off", st)
	}
	if got := d.Find(`[data-testid="instance"] code`).Text(); got != "instance-here" {
		t.Errorf("instance %q, want instance-here", got)
	}
	rows := d.Find(`[data-testid="lease-row"]`)
	if rows.Length() != 2 || !strings.Contains(rows.Eq(0).Text(), "ducks") || !strings.Contains(rows.Eq(0).Text(), "this instance") ||
		!strings.Contains(rows.Eq(1).Text(), "instance-there") || strings.Contains(rows.Eq(1).Text(), "this instance") {
		t.Errorf("lease rows %q", rows.Text())
	}
}
