// Package importtest holds local fakes of the bots' APIs the importer
// reads (Nightbot, StreamElements), speaking their paths, answer shapes
// and refusals, for tests.
package importtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/waddle/waddle/platform/oauthtest"
)

// The Nightbot application the fake knows.
const (
	NightbotClientID     = "nb-client-id"
	NightbotClientSecret = "nb-client-secret"
)

// Nightbot is a local api.nightbot.tv: the OAuth 2 authorization-code
// endpoints (/oauth2/authorize consents at once as the signed-in user,
// /oauth2/token) and GET /1/commands, /1/timers, /1/regulars (paged,
// limit ≤ 100) and /1/spam_protection, in Nightbot's shapes. It refuses a
// wrong client secret, an unknown, used or expired code, another
// redirect_uri, a token it did not give (401) and a token without the
// endpoint's scope (403).
type Nightbot struct {
	*oauthtest.Server
	srv *httptest.Server

	mu sync.Mutex
	// The fixtures, as Nightbot's JSON objects.
	commands, timers, regulars, filters []json.RawMessage
	junk                                map[string]string
	requests                            []string
}

// StartNightbot starts the fake with no commands, timers, regulars or
// filters and the user "streamer" signed in.
func StartNightbot(t testing.TB) *Nightbot {
	t.Helper()
	f := &Nightbot{Server: &oauthtest.Server{ClientID: NightbotClientID, ClientSecret: NightbotClientSecret}, junk: map[string]string{}}
	f.SignIn(oauthtest.User{ID: "567224fe9511a38f5114cae0", Name: "streamer"})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API's base (NightbotAPI.BaseURL).
func (f *Nightbot) URL() string { return f.srv.URL }

// AuthURL is the OAuth endpoints' base (NightbotAPI.AuthURL).
func (f *Nightbot) AuthURL() string { return f.srv.URL + "/oauth2" }

// SetCommands replaces what GET /1/commands serves: each item one JSON
// object as Nightbot writes it. SetTimers, SetRegulars and SetFilters do
// the same for their lists.
func (f *Nightbot) SetCommands(items ...string) { f.set(&f.commands, items) }

// SetTimers replaces what GET /1/timers serves.
func (f *Nightbot) SetTimers(items ...string) { f.set(&f.timers, items) }

// SetRegulars replaces what GET /1/regulars serves, page by page.
func (f *Nightbot) SetRegulars(items ...string) { f.set(&f.regulars, items) }

// SetFilters replaces what GET /1/spam_protection serves.
func (f *Nightbot) SetFilters(items ...string) { f.set(&f.filters, items) }

func (f *Nightbot) set(list *[]json.RawMessage, items []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*list = raws(items)
}

func raws(items []string) []json.RawMessage {
	raw := make([]json.RawMessage, len(items))
	for i, s := range items {
		raw[i] = json.RawMessage(s)
	}
	return raw
}

// Junk makes path answer 200 with body instead of its JSON.
func (f *Nightbot) Junk(path, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.junk[path] = body
}

// Requests lists the API requests served, as "GET /1/regulars?limit=…".
func (f *Nightbot) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func nbReply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *Nightbot) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "GET /oauth2/authorize":
		to, why, ok := f.Authorize(r.URL.Query(), strings.Fields(r.URL.Query().Get("scope")))
		if !ok {
			nbReply(w, 400, map[string]any{"status": 400, "message": why})
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
		return
	case "POST /oauth2/token":
		r.ParseForm()
		if r.PostForm.Get("grant_type") != "authorization_code" {
			nbReply(w, 400, map[string]any{"error": "unsupported_grant_type", "error_description": "Unsupported grant type"})
			return
		}
		tok, _, e, why := f.Exchange(r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"))
		switch e {
		case oauthtest.InvalidClient:
			nbReply(w, 401, map[string]any{"error": "invalid_client", "error_description": why})
			return
		case oauthtest.InvalidGrant:
			nbReply(w, 400, map[string]any{"error": "invalid_grant", "error_description": "Invalid authorization code"})
			return
		}
		nbReply(w, 200, map[string]any{"access_token": tok, "refresh_token": "r-" + tok, "token_type": "bearer", "expires_in": 2592000})
		return
	}
	if r.Method != http.MethodGet {
		nbReply(w, 404, map[string]any{"status": 404, "message": "Not Found"})
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	junk, isJunk := f.junk[r.URL.Path]
	f.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g, live := f.Token(tok)
	if !ok || !live {
		nbReply(w, 401, map[string]any{"status": 401, "message": "Unauthorized"})
		return
	}
	need := map[string][]string{
		"/1/commands": {"commands"}, "/1/timers": {"timers"},
		"/1/regulars": {"regulars", "commands"}, "/1/spam_protection": {"spam_protection"},
	}[r.URL.Path]
	if need == nil {
		nbReply(w, 404, map[string]any{"status": 404, "message": "Not Found"})
		return
	}
	if !slices.ContainsFunc(need, func(s string) bool { return slices.Contains(g.Scopes, s) }) {
		nbReply(w, 403, map[string]any{"status": 403, "message": "Forbidden: insufficient scope"})
		return
	}
	if isJunk {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(junk))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/1/commands":
		nbReply(w, 200, map[string]any{"_total": len(f.commands), "status": 200, "commands": nonNil(f.commands)})
	case "/1/timers":
		nbReply(w, 200, map[string]any{"_total": len(f.timers), "status": 200, "timers": nonNil(f.timers)})
	case "/1/regulars":
		limit, offset, ok := page(r, 25, 100)
		if !ok {
			nbReply(w, 400, map[string]any{"status": 400, "message": "limit must be between 1 and 100"})
			return
		}
		from, to := min(offset, len(f.regulars)), min(offset+limit, len(f.regulars))
		nbReply(w, 200, map[string]any{"_total": len(f.regulars), "status": 200, "regulars": nonNil(f.regulars[from:to])})
	case "/1/spam_protection":
		nbReply(w, 200, map[string]any{"status": 200, "filters": nonNil(f.filters)})
	}
}

func nonNil(s []json.RawMessage) []json.RawMessage {
	if s == nil {
		return []json.RawMessage{}
	}
	return s
}

// page reads limit and offset, refusing a limit above max.
func page(r *http.Request, def, max int) (limit, offset int, ok bool) {
	limit, offset = def, 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return 0, 0, false
		}
		limit = n
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}
