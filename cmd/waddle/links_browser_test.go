package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/platform"
)

// fakeConsentPage is a platform's "authorize this app" page: approving sends
// the browser back to the hub with a code and the state it came with.
var fakeConsentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><title>{{.Platform}}</title><link rel="icon" href="data:,"></head>
<body><h1>Authorize Waddle on {{.Platform}}</h1><p>Scopes: {{.Scope}}</p>
<a id="approve" href="{{.Back}}">Authorize</a></body></html>`))

// fakeOAuthPlatforms is Twitch's OAuth server and Helix, and Slack's OAuth
// page and Web API, as far as linking needs them.
func fakeOAuthPlatforms(t *testing.T) *httptest.Server {
	t.Helper()
	consent := func(w http.ResponseWriter, r *http.Request, platform, code string) {
		q := r.URL.Query()
		back := q.Get("redirect_uri") + "?code=" + code + "&state=" + q.Get("state")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fakeConsentPage.Execute(w, map[string]string{"Platform": platform, "Scope": q.Get("scope"), "Back": back})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/twitch/oauth2/authorize":
			consent(w, r, "Twitch", "chan-code")
		case "/twitch/oauth2/token":
			if r.PostForm.Get("grant_type") == "client_credentials" {
				json.NewEncoder(w).Encode(map[string]any{"access_token": "app-token", "expires_in": 3600, "token_type": "bearer"})
				return
			}
			if r.PostForm.Get("code") != "chan-code" {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"status":400,"message":"Invalid authorization code"}`))
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-chan", "refresh_token": "rt-chan", "expires_in": 14000, "token_type": "bearer"})
		case "/twitch/oauth2/validate":
			json.NewEncoder(w).Encode(map[string]any{"client_id": "twitch-client", "login": "DuckChan", "user_id": "4242", "expires_in": 14000})
		case "/slack/oauth/v2/authorize":
			consent(w, r, "Slack", "slack-code")
		case "/slack/api/oauth.v2.access":
			if r.PostForm.Get("code") != "slack-code" {
				w.Write([]byte(`{"ok":false,"error":"invalid_code"}`))
				return
			}
			w.Write([]byte(`{"ok":true,"access_token":"xoxb-duck","token_type":"bot","scope":"chat:write","bot_user_id":"UBOT","team":{"id":"T0DUCK","name":"Duck Team"}}`))
		default:
			if strings.HasPrefix(r.URL.Path, "/slack/api/") {
				w.Write([]byte(`{"ok":true}`))
				return
			}
			w.Write([]byte(`{"data":[],"total":0}`)) // Helix lists
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLinkPlatformsBrowser connects a Twitch channel and installs Slack from
// a community's Linked servers page in headless Chromium, through the
// platforms' consent pages, as a community admin would.
func TestLinkPlatformsBrowser(t *testing.T) {
	t.Parallel()
	fake := fakeOAuthPlatforms(t)
	_, prefix := dbtest.Redis(t)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"TOKEN_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"TWITCH_CLIENT_ID", "twitch-client", "TWITCH_CLIENT_SECRET", "twitch-secret", "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_EVENTSUB_SECRET", "eventsub-secret-123", "TWITCH_AUTH_URL", fake.URL+"/twitch/oauth2", "TWITCH_API_URL", fake.URL+"/twitch/helix",
		"TWITCH_IRC_ADDR", "irc://127.0.0.1:1", // no chat server: the bot keeps reconnecting, linking does not need it
		"SLACK_SIGNING_SECRET", "slack-signing-secret", "SLACK_CLIENT_ID", "slack-client", "SLACK_CLIENT_SECRET", "slack-secret",
		"SLACK_API_URL", fake.URL+"/slack/api/")
	base, _ := startServe(t, vars)
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	mustRunWaddle(t, setVars(vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, vars)
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(t.Context(), ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: base}
	defer func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(email, password)
	servers := fmt.Sprintf("/c/%d/servers", c.ID)
	b.open(servers)
	b.wantText(tid("no-servers"), "No server is linked yet")

	b.submit("connect a Twitch channel", tid("connect-twitch"))
	b.wantText(chromedp.CSS("h1"), "Authorize Waddle on Twitch")
	b.wantText(chromedp.CSS("p"), "moderator:read:followers")
	b.submit("authorize on Twitch", chromedp.CSS("#approve"))
	b.wantPath(servers)
	b.wantText(tid("flash"), "Twitch channel duckchan is linked to this community")
	b.wantText(tid("servers"), "duckchan")

	b.submit("add to Slack", tid("install-slack"))
	b.wantText(chromedp.CSS("h1"), "Authorize Waddle on Slack")
	b.submit("authorize on Slack", chromedp.CSS("#approve"))
	b.wantPath(servers)
	b.wantText(tid("flash"), "Slack workspace Duck Team is linked to this community")
	b.wantText(tid("servers"), "T0DUCK")

	// The tokens are stored sealed, for the bots.
	for _, sub := range []string{"twitch/duckchan", "slack/T0DUCK"} {
		plat, subject, _ := strings.Cut(sub, "/")
		tok, err := platform.NewTokens(a.pool, a.secrets).Get(t.Context(), plat, subject)
		if err != nil || tok.Access == "" {
			t.Errorf("%s token: %+v, %v", sub, tok, err)
		}
	}
}
