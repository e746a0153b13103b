package discordtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/platform/oauthtest"
)

// The OAuth server's application credentials.
const (
	OAuthClientID     = "1234567890"
	OAuthClientSecret = "discord-client-secret"
)

// OAuthServer is a local discord.com for OAuth2's authorization-code flow:
// the authorize page /oauth2/authorize (which consents as the signed-in
// user at once), /api/v10/oauth2/token, /api/v10/oauth2/token/revoke and
// /api/v10/users/@me, in Discord's shapes. It refuses what Discord refuses:
// an authorization request without a scope, wrong client credentials (401
// invalid_client), an unknown, used or expired code or another redirect_uri
// (400 invalid_grant), and /users/@me without a live token with the
// identify scope (401).
type OAuthServer struct {
	*oauthtest.Server
	srv *httptest.Server
}

// StartOAuth starts the server; register redirect URIs in Redirects and
// sign a user in before a flow.
func StartOAuth(t testing.TB) *OAuthServer {
	t.Helper()
	f := &OAuthServer{Server: &oauthtest.Server{ClientID: OAuthClientID, ClientSecret: OAuthClientSecret}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// APIURL is a DISCORD_API_URL for the server.
func (f *OAuthServer) APIURL() string { return f.srv.URL + "/api/v10/" }

func (f *OAuthServer) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	client := func() (string, string) {
		if id, secret, ok := r.BasicAuth(); ok {
			return id, secret
		}
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /oauth2/authorize":
		scopes := strings.Fields(r.URL.Query().Get("scope"))
		if len(scopes) == 0 {
			reply(400, map[string]any{"message": "Invalid OAuth2 request: scope is required", "code": 50035})
			return
		}
		to, why, ok := f.Authorize(r.URL.Query(), scopes)
		if !ok {
			reply(400, map[string]any{"message": "Invalid OAuth2 " + why, "code": 50035})
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	case "POST /api/v10/oauth2/token":
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "authorization_code" {
			reply(400, map[string]any{"error": "unsupported_grant_type"})
			return
		}
		id, secret := client()
		tok, g, e, _ := f.Exchange(id, secret, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"))
		switch e {
		case oauthtest.InvalidClient:
			reply(401, map[string]any{"error": "invalid_client"})
			return
		case oauthtest.InvalidGrant:
			reply(400, map[string]any{"error": "invalid_grant", "error_description": `Invalid "code" in request.`})
			return
		}
		reply(200, map[string]any{"token_type": "Bearer", "access_token": tok, "expires_in": 604800, "refresh_token": "r-" + tok, "scope": strings.Join(g.Scopes, " ")})
	case "POST /api/v10/oauth2/token/revoke":
		r.ParseForm()
		if id, secret := client(); id != OAuthClientID || secret != OAuthClientSecret {
			reply(401, map[string]any{"error": "invalid_client"})
			return
		}
		f.Revoke(r.PostForm.Get("token"))
		reply(200, map[string]any{})
	case "GET /api/v10/users/@me":
		g, ok := f.Token(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || !slices.Contains(g.Scopes, "identify") {
			reply(401, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		reply(200, map[string]any{"id": g.User.ID, "username": g.User.Name, "global_name": g.User.Name, "discriminator": "0", "avatar": nil})
	default:
		reply(404, map[string]any{"message": "404: Not Found", "code": 0})
	}
}
