package slackbot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
)

func TestSlackOAuthAuthorizeURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, apiURL, wantBase string
	}{
		{"slack", "", "https://slack.com/oauth/v2/authorize"},
		{"local api", "http://127.0.0.1:9/api/", "http://127.0.0.1:9/oauth/v2/authorize"},
		{"local api without slash", "http://127.0.0.1:9/api", "http://127.0.0.1:9/oauth/v2/authorize"},
	}
	for _, c := range cases {
		o := &slackbot.OAuth{ClientID: "123.456", ClientSecret: "s", APIURL: c.apiURL}
		u, err := url.Parse(o.AuthorizeURL("https://hub.example/slack/callback", "st&ate"))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if base := u.Scheme + "://" + u.Host + u.Path; base != c.wantBase {
			t.Errorf("%s: base %q, want %q", c.name, base, c.wantBase)
		}
		q := u.Query()
		if q.Get("client_id") != "123.456" || q.Get("redirect_uri") != "https://hub.example/slack/callback" || q.Get("state") != "st&ate" {
			t.Errorf("%s: query %v", c.name, q)
		}
		if !strings.Contains(q.Get("scope"), "chat:write") || !strings.Contains(q.Get("scope"), "commands") {
			t.Errorf("%s: scope %q lacks chat:write or commands", c.name, q.Get("scope"))
		}
	}
}

func TestSlackOAuthExchange(t *testing.T) {
	t.Parallel()
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/oauth.v2.access" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		got = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("code") == "no-refresh-code" {
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "access_token": "xoxe.xoxb-1", "token_type": "bot",
				"team": map[string]any{"id": "T1"}, "expires_in": 43200})
			return
		}
		if r.PostForm.Get("code") != "good-code" {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_code"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ok": true, "access_token": "xoxb-17", "token_type": "bot", "scope": "chat:write,commands",
			"bot_user_id": "UBOT", "app_id": "A1", "team": map[string]any{"id": "T1", "name": "Duck workspace"},
			"refresh_token": "xoxe-1", "expires_in": 43200,
		})
	}))
	t.Cleanup(srv.Close)
	o := &slackbot.OAuth{ClientID: "123.456", ClientSecret: "shh", APIURL: srv.URL + "/api/"}
	ctx := context.Background()

	inst, err := o.Exchange(ctx, "good-code", "https://hub.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	want := platform.Install{Server: "T1", Name: "Duck workspace", BotUserID: "UBOT",
		Token: platform.Token{Access: "xoxb-17", Refresh: "xoxe-1", Scopes: []string{"chat:write", "commands"}, AccountID: "UBOT",
			Expires: time.Now().Add(12 * time.Hour)}}
	if diff := cmp.Diff(want, inst, cmpopts.EquateApproxTime(time.Minute), cmpopts.IgnoreUnexported(platform.Token{})); diff != "" {
		t.Errorf("install (-want +got):\n%s", diff)
	}
	if got.Get("client_id") != "123.456" || got.Get("client_secret") != "shh" || got.Get("redirect_uri") != "https://hub.example/cb" {
		t.Errorf("oauth.v2.access form: %v", got)
	}

	_, err = o.Exchange(ctx, "used-code", "https://hub.example/cb")
	if p := problem.As(err); p == nil || p.Code != problem.Invalid || !strings.Contains(p.Message, "invalid_code") {
		t.Errorf("bad code: %v, want an invalid problem naming invalid_code", err)
	}
	if _, err := o.Exchange(ctx, "", "https://hub.example/cb"); !problem.Is(err, problem.Invalid) {
		t.Errorf("no code: %v, want an invalid problem", err)
	}
	// An expiring token the bot could not refresh is refused at install.
	_, err = o.Exchange(ctx, "no-refresh-code", "https://hub.example/cb")
	if p := problem.As(err); p == nil || p.Code != problem.Invalid || !strings.Contains(p.Message, "without a refresh token") {
		t.Errorf("expiring token without a refresh token: %v, want an invalid problem saying so", err)
	}
	down := &slackbot.OAuth{ClientID: "1", APIURL: srv.URL + "/nowhere/"}
	if _, err := down.Exchange(ctx, "good-code", "https://hub.example/cb"); err == nil || problem.As(err) != nil {
		t.Errorf("API answering 404: %v, want an internal error", err)
	}
}

func TestSlackOAuthRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fs := slacktest.Start(t)
	fs.SetOAuthClient("123.456", "shh")
	_, refresh := fs.RotatingToken("T1", 12*time.Hour)
	o := &slackbot.OAuth{ClientID: "123.456", ClientSecret: "shh", APIURL: fs.APIURL()}
	tok, err := o.Refresh(ctx, refresh)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Access, "xoxe.xoxb-") || tok.Refresh == "" || tok.Refresh == refresh || tok.AccountID != "UBOT" ||
		tok.Expires.Before(time.Now().Add(11*time.Hour)) {
		t.Errorf("refreshed token %+v, want a new pair good for 12 hours", tok)
	}
	if calls := fs.Calls("oauth.v2.access"); len(calls) != 1 || calls[0].Form.Get("grant_type") != "refresh_token" {
		t.Errorf("oauth.v2.access calls %+v, want one refresh_token grant", calls)
	}
	// Slack revoked the refresh token it was given.
	_, err = o.Refresh(ctx, refresh)
	if p := problem.As(err); p == nil || p.Code != problem.Unauthorized || !strings.Contains(p.Message, "invalid_refresh_token") {
		t.Errorf("used refresh token: %v, want an unauthorized problem naming invalid_refresh_token", err)
	}
	wrong := &slackbot.OAuth{ClientID: "123.456", ClientSecret: "nope", APIURL: fs.APIURL()}
	if _, err := wrong.Refresh(ctx, tok.Refresh); !problem.Is(err, problem.Unauthorized) {
		t.Errorf("wrong client secret: %v, want unauthorized", err)
	}
}
