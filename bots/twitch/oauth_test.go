package twitch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/problem"
)

// twitchOAuthServer is a local id.twitch.tv: it accepts code "good" and
// refresh token "r1", and the client credentials id/secret.
func twitchOAuthServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Form.Get("client_id") != "id" || r.Form.Get("client_secret") != "secret" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"status":403,"message":"invalid client secret"}`))
			return
		}
		switch r.Form.Get("grant_type") {
		case "authorization_code":
			if r.Form.Get("code") != "good" || r.Form.Get("redirect_uri") != "https://hub.example/cb" {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"status":400,"message":"Invalid authorization code"}`))
				return
			}
			w.Write([]byte(`{"access_token":"user-access","refresh_token":"r1","expires_in":14000,"scope":["chat:read"],"token_type":"bearer"}`))
		case "refresh_token":
			if r.Form.Get("refresh_token") != "r1" {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"status":400,"message":"Invalid refresh token"}`))
				return
			}
			w.Write([]byte(`{"access_token":"user-access-2","refresh_token":"r2","expires_in":14000,"scope":["chat:read"],"token_type":"bearer"}`))
		case "client_credentials":
			w.Write([]byte(`{"access_token":"app-access","expires_in":5000000,"token_type":"bearer"}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"status":400,"message":"unsupported grant_type"}`))
		}
	})
	mux.HandleFunc("GET /validate", func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "OAuth user-access", "OAuth user-access-2":
			w.Write([]byte(`{"client_id":"id","login":"DuckBot","scopes":["chat:read","chat:edit"],"user_id":"4242","expires_in":13990}`))
		default:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"status":401,"message":"invalid access token"}`))
		}
	})
	mux.HandleFunc("POST /huge/token", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"` + strings.Repeat("a", 100<<10) + `"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestTwitchOAuthAuthorizeURL(t *testing.T) {
	t.Parallel()
	o := &twitch.OAuth{ClientID: "id"}
	u, err := url.Parse(o.AuthorizeURL("https://hub.example/cb", "st&ate", []string{"chat:read", "chat:edit"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://id.twitch.tv/oauth2/authorize" {
		t.Errorf("authorize endpoint %q", got)
	}
	want := url.Values{"force_verify": {"true"}, "response_type": {"code"}, "client_id": {"id"}, "redirect_uri": {"https://hub.example/cb"},
		"scope": {"chat:read chat:edit"}, "state": {"st&ate"}}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}

func TestTwitchOAuthExchange(t *testing.T) {
	t.Parallel()
	srv := twitchOAuthServer(t)
	o := &twitch.OAuth{ClientID: "id", ClientSecret: "secret", AuthURL: srv.URL}
	ctx := context.Background()

	tok, err := o.Exchange(ctx, "good", "https://hub.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Access != "user-access" || tok.Refresh != "r1" || tok.AccountID != "4242" || tok.AccountLogin != "duckbot" {
		t.Errorf("token %+v", tok)
	}
	if diff := cmp.Diff([]string{"chat:read", "chat:edit"}, tok.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if !tok.Expiring(time.Now(), 4*time.Hour) || tok.Expiring(time.Now(), time.Hour) {
		t.Errorf("expires %v, want in about 13990 s", tok.Expires)
	}

	_, err = o.Exchange(ctx, "bad", "https://hub.example/cb")
	if e := problem.As(err); e == nil || e.Code != problem.Invalid || e.Field != "code" || !strings.Contains(e.Message, "Invalid authorization code") {
		t.Errorf("refused code: %v", err)
	}
	if _, err := o.Exchange(ctx, "", "https://hub.example/cb"); !problem.Is(err, problem.Invalid) {
		t.Errorf("empty code: %v", err)
	}
}

func TestTwitchOAuthRefreshAndAppToken(t *testing.T) {
	t.Parallel()
	srv := twitchOAuthServer(t)
	o := &twitch.OAuth{ClientID: "id", ClientSecret: "secret", AuthURL: srv.URL + "/"}
	ctx := context.Background()

	tok, err := o.Refresh(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Access != "user-access-2" || tok.Refresh != "r2" || tok.AccountID != "4242" {
		t.Errorf("refreshed %+v", tok)
	}
	if _, err := o.Refresh(ctx, "revoked"); !problem.Is(err, problem.Unauthorized) || !strings.Contains(err.Error(), "Invalid refresh token") {
		t.Errorf("refused refresh: %v", err)
	}

	app, err := o.AppToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if app.Access != "app-access" || app.Expires.IsZero() {
		t.Errorf("app token %+v", app)
	}
	wrong := &twitch.OAuth{ClientID: "id", ClientSecret: "nope", AuthURL: srv.URL}
	if _, err := wrong.AppToken(ctx); !problem.Is(err, problem.Unauthorized) || !strings.Contains(err.Error(), "TWITCH_CLIENT_SECRET") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestTwitchOAuthBadAnswers(t *testing.T) {
	t.Parallel()
	srv := twitchOAuthServer(t)
	ctx := context.Background()
	huge := &twitch.OAuth{ClientID: "id", ClientSecret: "secret", AuthURL: srv.URL + "/huge"}
	if _, err := huge.AppToken(ctx); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversize answer: %v", err)
	}
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Write([]byte(`{not json`))
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(broken.Close)
	o := &twitch.OAuth{ClientID: "id", ClientSecret: "secret", AuthURL: broken.URL}
	if _, err := o.AppToken(ctx); err == nil || problem.As(err) != nil {
		t.Errorf("malformed JSON: %v, want an internal error", err)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	o = &twitch.OAuth{ClientID: "id", ClientSecret: "secret", AuthURL: down.URL}
	if _, err := o.Refresh(ctx, "r1"); err == nil || problem.As(err) != nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("outage: %v, want an internal error naming the status", err)
	}
}
