package twitchtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waddle/waddle/platform/oauthtest"
)

// OAuthServer is a local id.twitch.tv for the authorization-code flow: the
// authorize page (which consents as the signed-in user at once), /token,
// /validate and /revoke, in Twitch's shapes. It refuses what Twitch
// refuses: a wrong client secret (403), an unknown, used or expired code or
// another redirect_uri (400 "Invalid authorization code"), and a token it
// did not give or revoked (401 on /validate).
type OAuthServer struct {
	*oauthtest.Server
	srv *httptest.Server
}

// StartOAuth starts the server for the application ClientID/ClientSecret;
// register redirect URIs in Redirects and sign a user in before a flow.
func StartOAuth(t testing.TB) *OAuthServer {
	t.Helper()
	f := &OAuthServer{Server: &oauthtest.Server{ClientID: ClientID, ClientSecret: ClientSecret}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// AuthURL is a TWITCH_AUTH_URL for the server.
func (f *OAuthServer) AuthURL() string { return f.srv.URL + "/oauth2" }

func (f *OAuthServer) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /oauth2/authorize":
		scopes := strings.Fields(r.URL.Query().Get("scope"))
		to, why, ok := f.Authorize(r.URL.Query(), scopes)
		if !ok {
			reply(400, map[string]any{"status": 400, "message": why})
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	case "POST /oauth2/token":
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "authorization_code" {
			reply(400, map[string]any{"status": 400, "message": "Invalid grant type"})
			return
		}
		tok, g, e, _ := f.Exchange(r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"))
		switch e {
		case oauthtest.InvalidClient:
			reply(403, map[string]any{"status": 403, "message": "invalid client secret"})
			return
		case oauthtest.InvalidGrant:
			reply(400, map[string]any{"status": 400, "message": "Invalid authorization code"})
			return
		}
		scopes := g.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		reply(200, map[string]any{"access_token": tok, "refresh_token": "r-" + tok, "expires_in": 14000, "scope": scopes, "token_type": "bearer"})
	case "GET /oauth2/validate":
		g, ok := f.Token(strings.TrimPrefix(r.Header.Get("Authorization"), "OAuth "))
		if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "OAuth ") {
			reply(401, map[string]any{"status": 401, "message": "invalid access token"})
			return
		}
		scopes := g.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		reply(200, map[string]any{"client_id": ClientID, "login": strings.ToLower(g.User.Name), "scopes": scopes, "user_id": g.User.ID, "expires_in": 14000})
	case "POST /oauth2/revoke":
		r.ParseForm()
		if r.PostForm.Get("client_id") != ClientID {
			reply(400, map[string]any{"status": 400, "message": "Invalid client"})
			return
		}
		f.Revoke(r.PostForm.Get("token"))
		w.WriteHeader(200)
	default:
		reply(404, map[string]any{"status": 404, "message": "not found"})
	}
}
