package slacktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/platform/oauthtest"
)

// The OpenID server's application credentials.
const (
	OpenIDClientID     = "1111.2222"
	OpenIDClientSecret = "slack-client-secret"
)

// OpenIDServer is a local slack.com for Sign in with Slack: the authorize
// page /openid/connect/authorize (which consents as the signed-in user at
// once), /api/openid.connect.token, /api/openid.connect.userInfo and
// /api/auth.revoke, in Slack's shapes ({"ok":false,"error":…} with status
// 200). It refuses what Slack refuses: an authorization request without the
// openid scope, a wrong client (invalid_client_id, bad_client_secret), an
// unknown, used or expired code (invalid_code) or another redirect_uri
// (bad_redirect_uri), and userInfo without a live token (invalid_auth).
type OpenIDServer struct {
	*oauthtest.Server
	srv *httptest.Server
	// TeamID is the workspace the users sign in to.
	TeamID string
}

// StartOpenID starts the server; register redirect URIs in Redirects and
// sign a user in before a flow.
func StartOpenID(t testing.TB) *OpenIDServer {
	t.Helper()
	f := &OpenIDServer{Server: &oauthtest.Server{ClientID: OpenIDClientID, ClientSecret: OpenIDClientSecret}, TeamID: "T0DUCKS"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// APIURL is a SLACK_API_URL for the server.
func (f *OpenIDServer) APIURL() string { return f.srv.URL + "/api/" }

func (f *OpenIDServer) serve(w http.ResponseWriter, r *http.Request) {
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	fail := func(e string) { reply(map[string]any{"ok": false, "error": e}) }
	r.ParseForm()
	token := r.PostForm.Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	switch r.URL.Path {
	case "/openid/connect/authorize":
		scopes := strings.Fields(r.URL.Query().Get("scope"))
		if !slices.Contains(scopes, "openid") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("invalid_scope: openid is required"))
			return
		}
		to, why, ok := f.Authorize(r.URL.Query(), scopes)
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(why))
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	case "/api/openid.connect.token":
		if r.Method != http.MethodPost {
			fail("invalid_request")
			return
		}
		if r.PostForm.Get("client_id") != f.ClientID {
			fail("invalid_client_id")
			return
		}
		tok, _, e, why := f.Exchange(r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"))
		switch {
		case e == oauthtest.InvalidClient:
			fail("bad_client_secret")
			return
		case why == oauthtest.OtherRedirect:
			fail("bad_redirect_uri")
			return
		case e != "":
			fail("invalid_code")
			return
		}
		reply(map[string]any{"ok": true, "access_token": "xoxp-" + tok, "token_type": "Bearer", "id_token": "eyJ.fake.jwt"})
	case "/api/openid.connect.userInfo":
		g, ok := f.Token(strings.TrimPrefix(token, "xoxp-"))
		if !ok || !slices.Contains(g.Scopes, "openid") {
			fail("invalid_auth")
			return
		}
		out := map[string]any{"ok": true, "sub": g.User.ID, "https://slack.com/user_id": g.User.ID, "https://slack.com/team_id": f.TeamID}
		if slices.Contains(g.Scopes, "profile") {
			out["name"] = g.User.Name
		}
		reply(out)
	case "/api/auth.revoke":
		if _, ok := f.Token(strings.TrimPrefix(token, "xoxp-")); !ok {
			fail("invalid_auth")
			return
		}
		f.Revoke(strings.TrimPrefix(token, "xoxp-"))
		reply(map[string]any{"ok": true, "revoked": true})
	default:
		w.WriteHeader(http.StatusNotFound)
		fail("unknown_method")
	}
}
