package twitchtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The API server's application credentials.
const (
	ClientID     = "cid"
	ClientSecret = "csecret"
)

// Call is one request the API server received.
type Call struct {
	Method, Path, Auth, ClientID string
	Query                        map[string]string
	Body                         map[string]any // the JSON body, if any
}

// API is a local id.twitch.tv (under /oauth2) and Helix (under /helix).
// It starts with these accounts:
//
//   - access token bot-1 (refresh token bot-r1) for user 100, duckbot, with
//     BotScopes; refreshing bot-r1 gives bot-2 and bot-r2;
//   - access token caster-1 for user 200, duckchan, with BroadcasterScopes;
//   - the app token app-1, from the client credentials grant.
//
// GET /users knows duckbot (100), duckchan (200) and gooschan (300), and
// those added with AddToken or AddUser; other logins are left out of its
// answer, as Twitch leaves them. Helix refuses what Twitch refuses: the
// wrong kind of token for an endpoint, a missing scope, a moderator_id or
// from_user_id that is not the token's user, and bodies out of the
// reference's bounds (see endpoints). Its methods are safe for concurrent
// use.
type API struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []Call
	valid    map[string]bool           // access tokens Helix accepts
	users    map[string][2]string      // access token → user id, login (for /validate)
	refresh  map[string][2]string      // refresh token → new access, new refresh
	owner    map[string]string         // refresh token → the access token it came with
	scopes   map[string][]string       // access token → its scopes
	logins   map[string]string         // login → user id, for Get Users
	revoked  map[string]bool           // access tokens /oauth2/validate refuses
	apps     map[string]bool           // app access tokens
	subs     map[string]map[string]any // EventSub subscriptions by id
	nextSub  int
	hideSubs bool            // the subscription list answers no subscriptions
	limitOne bool            // answer the next moderation call with 429
	limitWhi int             // answer the next so many whispers with 429
	noWhispr map[string]bool // recipients whose settings refuse whispers from strangers
	appGate  chan struct{}   // app token requests wait until it is closed; nil: none wait
	appHeld  int             // app token requests waiting on appGate
	ws       *EventSubWS     // takes websocket transports; nil: refused (websocket.go)

	viewers viewerState // chat presence and streams (chatters.go), under mu
	chat    chatState   // chat over EventSub and Helix (chat_eventsub.go)
}

// StartAPI starts the API server and stops it when the test ends.
func StartAPI(t testing.TB) *API {
	t.Helper()
	f := &API{
		valid:   map[string]bool{"bot-1": true, "caster-1": true, "app-1": true},
		users:   map[string][2]string{"bot-1": {"100", "duckbot"}, "bot-2": {"100", "duckbot"}, "caster-1": {"200", "duckchan"}},
		refresh: map[string][2]string{"bot-r1": {"bot-2", "bot-r2"}},
		owner:   map[string]string{"bot-r1": "bot-1"},
		scopes:  map[string][]string{"bot-1": BotScopes, "bot-2": BotScopes, "caster-1": BroadcasterScopes},
		logins:  map[string]string{"duckbot": "100", "duckchan": "200", "gooschan": "300"},
		revoked: map[string]bool{},
		apps:    map[string]bool{"app-1": true},
		subs:    map[string]map[string]any{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.releaseAppTokens()
		f.srv.Close()
	})
	return f
}

// HoldAppTokens makes app token requests (the client credentials grant)
// wait until the returned release is called, or the test ends.
func (f *API) HoldAppTokens() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appGate == nil {
		f.appGate = make(chan struct{})
	}
	return f.releaseAppTokens
}

// HeldAppTokens returns how many app token requests are waiting.
func (f *API) HeldAppTokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.appHeld
}

func (f *API) releaseAppTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appGate != nil {
		close(f.appGate)
		f.appGate = nil
	}
}

// AuthURL is a TWITCH_AUTH_URL for the server.
func (f *API) AuthURL() string { return f.srv.URL + "/oauth2" }

// HelixURL is a TWITCH_API_URL for the server.
func (f *API) HelixURL() string { return f.srv.URL + "/helix" }

// SetValid makes Helix accept or refuse (401) an access token.
func (f *API) SetValid(token string, ok bool) {
	f.mu.Lock()
	f.valid[token] = ok
	f.mu.Unlock()
}

// RevokeRefresh makes a refresh token fail with 400.
func (f *API) RevokeRefresh(token string) {
	f.mu.Lock()
	delete(f.refresh, token)
	f.mu.Unlock()
}

// LimitNextModeration answers the next moderation call (delete, ban) with
// 429 and a Ratelimit-Reset a second away.
func (f *API) LimitNextModeration() {
	f.mu.Lock()
	f.limitOne = true
	f.mu.Unlock()
}

// AddSubscription adds an EventSub webhook subscription and returns its id.
// Its condition is listed as Twitch lists it: every condition key of the
// type, those not given as "".
func (f *API) AddSubscription(typ, version, status string, cond map[string]string, callback string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := map[string]any{}
	for k, v := range cond {
		c[k] = v
	}
	return f.addSubLocked(typ, version, status, c, callback)
}

func (f *API) addSubLocked(typ, version, status string, cond map[string]any, callback string) string {
	f.nextSub++
	id := fmt.Sprintf("f1c2a387-161a-49f9-a165-%012d", f.nextSub)
	c := map[string]any{}
	for _, k := range subTypes[typ+" v"+version] {
		c[k] = ""
	}
	maps.Copy(c, cond)
	f.subs[id] = map[string]any{"id": id, "type": typ, "version": version, "status": status, "condition": c, "cost": 0,
		"created_at": time.Now().UTC().Format(time.RFC3339Nano), "transport": map[string]any{"method": "webhook", "callback": callback}}
	return id
}

// HideSubscriptions makes the subscription list answer no subscriptions
// while hidden is true, as it may while another instance's creation has not
// reached it yet.
func (f *API) HideSubscriptions(hidden bool) {
	f.mu.Lock()
	f.hideSubs = hidden
	f.mu.Unlock()
}

// subTypes are the condition keys of each EventSub type (and version) the
// server knows, as Twitch lists them.
var subTypes = map[string][]string{
	"channel.follow v2":            {"broadcaster_user_id", "moderator_user_id"},
	"channel.subscribe v1":         {"broadcaster_user_id"},
	"channel.subscription.gift v1": {"broadcaster_user_id"},
	"channel.cheer v1":             {"broadcaster_user_id"},
	"channel.raid v1":              {"from_broadcaster_user_id", "to_broadcaster_user_id"},
	"stream.online v1":             {"broadcaster_user_id"},
	"stream.offline v1":            {"broadcaster_user_id"},
	"channel.ban v1":               {"broadcaster_user_id"},
	"channel.chat.message v1":      {"broadcaster_user_id", "user_id"},
}

// createSub answers POST /eventsub/subscriptions as Twitch does: 400 for a
// type, condition or transport it refuses, 409 for a subscription that
// exists (same type, version, condition and transport), else 202.
func (f *API) createSub(body map[string]any) (int, any) {
	bad := func(msg string) (int, any) {
		return 400, map[string]any{"error": "Bad Request", "status": 400, "message": msg}
	}
	typ, _ := body["type"].(string)
	version, _ := body["version"].(string)
	keys, ok := subTypes[typ+" v"+version]
	if !ok {
		return bad("invalid subscription type or version")
	}
	cond, _ := body["condition"].(map[string]any)
	full := map[string]any{}
	for _, k := range keys {
		full[k] = ""
	}
	for k, v := range cond {
		s, isStr := v.(string)
		if _, known := full[k]; !known || !isStr {
			return bad("invalid condition key " + k)
		}
		full[k] = s
	}
	if typ == "channel.raid" {
		if (full["from_broadcaster_user_id"] == "") == (full["to_broadcaster_user_id"] == "") {
			return bad("exactly one of from_broadcaster_user_id and to_broadcaster_user_id is required")
		}
	} else {
		for _, k := range keys {
			if full[k] == "" {
				return bad("missing condition " + k)
			}
		}
	}
	tr, _ := body["transport"].(map[string]any)
	method, _ := tr["method"].(string)
	callback, _ := tr["callback"].(string)
	secret, _ := tr["secret"].(string)
	if method != "webhook" {
		return bad("the app access token can only create webhook subscriptions")
	}
	if u, err := url.Parse(callback); err != nil || u.Scheme != "https" || u.Host == "" || (u.Port() != "" && u.Port() != "443") {
		return bad("the callback must use https on port 443")
	}
	if len(secret) < 10 || len(secret) > 100 {
		return bad("the secret must be 10 to 100 characters")
	}
	if msg := f.chatSubRefusal(typ, full); msg != "" {
		return 403, map[string]any{"error": "Forbidden", "status": 403, "message": msg}
	}
	for _, s := range f.subs {
		t, _ := s["transport"].(map[string]any)
		if s["type"] == typ && s["version"] == version && maps.Equal(s["condition"].(map[string]any), full) &&
			t["method"] == method && t["callback"] == callback {
			return 409, map[string]any{"error": "Conflict", "status": 409, "message": "subscription already exists"}
		}
	}
	id := f.addSubLocked(typ, version, "webhook_callback_verification_pending", full, callback)
	f.rememberSecret(id, secret)
	return 202, map[string]any{"data": []any{f.subs[id]}, "total": len(f.subs), "total_cost": 0, "max_total_cost": 10000}
}

// Subscriptions returns the EventSub subscriptions by id, each as Helix
// lists it (id, type, version, status, condition, transport).
func (f *API) Subscriptions() map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	for id, s := range f.subs {
		out[id] = maps.Clone(s)
	}
	return out
}

// Calls returns every request received, oldest first.
func (f *API) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Find returns the calls to method path.
func (f *API) Find(method, path string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (f *API) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	call := Call{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), ClientID: r.Header.Get("Client-Id"), Query: map[string]string{}}
	for k := range r.URL.Query() {
		call.Query[k] = r.URL.Query().Get(k)
	}
	json.Unmarshal(body, &call.Body)
	f.mu.Lock()
	if gate := f.appGate; gate != nil && call.Path == "/oauth2/token" && form.Get("grant_type") == "client_credentials" {
		f.appHeld++
		f.mu.Unlock()
		<-gate
		f.mu.Lock()
		f.appHeld--
	}
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		if v != nil {
			json.NewEncoder(w).Encode(v)
		}
	}
	switch call.Path {
	case "/oauth2/token":
		switch form.Get("grant_type") {
		case "client_credentials":
			reply(200, map[string]any{"access_token": "app-1", "expires_in": 3600, "token_type": "bearer"})
		case "refresh_token":
			next, ok := f.refresh[form.Get("refresh_token")]
			if !ok {
				reply(400, map[string]any{"status": 400, "message": "Invalid refresh token"})
				return
			}
			if old, ok := f.owner[form.Get("refresh_token")]; ok {
				if u, ok := f.users[old]; ok {
					f.users[next[0]] = u
				}
				if _, ok := f.scopes[next[0]]; !ok {
					f.scopes[next[0]] = f.scopes[old]
				}
			}
			f.owner[next[1]] = next[0]
			f.valid[next[0]] = true
			scopes := f.scopes[next[0]]
			if scopes == nil {
				scopes = []string{}
			}
			reply(200, map[string]any{"access_token": next[0], "refresh_token": next[1], "expires_in": 14000, "scope": scopes, "token_type": "bearer"})
		default:
			reply(400, map[string]any{"status": 400, "message": "bad grant"})
		}
		return
	case "/oauth2/validate":
		token, scheme := strings.TrimPrefix(call.Auth, "OAuth "), strings.HasPrefix(call.Auth, "OAuth ")
		u, ok := f.users[token]
		switch {
		case call.Method != http.MethodGet:
			reply(404, map[string]any{"status": 404, "message": "not found"})
		case scheme && f.apps[token] && !f.revoked[token]:
			reply(200, map[string]any{"client_id": ClientID, "scopes": []string{}, "expires_in": 3600})
		case !scheme || !ok || f.revoked[token]:
			reply(401, map[string]any{"status": 401, "message": "invalid access token"})
		default:
			scopes := f.scopes[token]
			if scopes == nil {
				scopes = []string{}
			}
			reply(200, map[string]any{"client_id": ClientID, "login": u[1], "scopes": scopes, "user_id": u[0], "expires_in": 14000})
		}
		return
	}
	if !strings.HasPrefix(call.Path, "/helix/") {
		reply(404, nil)
		return
	}
	token := strings.TrimPrefix(call.Auth, "Bearer ")
	if call.ClientID != ClientID || !strings.HasPrefix(call.Auth, "Bearer ") || !f.valid[token] {
		reply(401, map[string]any{"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"})
		return
	}
	route := call.Method + " " + strings.TrimPrefix(call.Path, "/helix")
	if status, body, ok := f.authorize(route, token, r.URL.Query()); !ok {
		reply(status, body)
		return
	}
	switch route {
	case "DELETE /moderation/chat", "POST /moderation/bans":
		if f.limitOne {
			f.limitOne = false
			w.Header().Set("Ratelimit-Reset", fmt.Sprint(time.Now().Add(time.Second).Unix()))
			reply(429, map[string]any{"status": 429, "message": "Too Many Requests"})
			return
		}
		if call.Method == "DELETE" {
			if call.Query["broadcaster_id"] == "" {
				reply(helixError(400, "Missing required parameter \"broadcaster_id\""))
				return
			}
			reply(204, nil)
			return
		}
		if status, body, ok := checkBan(call.Body, r.URL.Query()); !ok {
			reply(status, body)
			return
		}
		data, _ := call.Body["data"].(map[string]any)
		ban := map[string]any{"broadcaster_id": call.Query["broadcaster_id"], "moderator_id": call.Query["moderator_id"], "user_id": data["user_id"],
			"created_at": time.Now().UTC().Format(time.RFC3339), "end_time": nil}
		if d, ok := data["duration"].(float64); ok {
			ban["end_time"] = time.Now().Add(time.Duration(d) * time.Second).UTC().Format(time.RFC3339)
		}
		reply(200, map[string]any{"data": []any{ban}})
	case "GET /chat/chatters", "GET /streams":
		reply(f.serveViewers(call, r.URL.Query())) // chatters.go
	case "POST /chat/messages":
		reply(f.sendChat(strings.TrimPrefix(call.Auth, "Bearer "), call.Body))
	case "POST /whispers":
		if status, body, ok := checkWhisper(call.Body, r.URL.Query()); !ok {
			reply(status, body)
			return
		}
		if f.noWhispr[r.URL.Query().Get("to_user_id")] {
			reply(helixError(403, "The recipient's settings prevent this sender from whispering them."))
			return
		}
		if f.limitWhi > 0 {
			f.limitWhi--
			w.Header().Set("Ratelimit-Reset", fmt.Sprint(time.Now().Add(time.Second).Unix()))
			reply(helixError(429, "The sender has exceeded the number of whispers they may send."))
			return
		}
		reply(204, nil)
	case "GET /users":
		reply(f.getUsers(token, r.URL.Query()))
	case "GET /eventsub/subscriptions":
		data := []any{}
		for _, s := range f.subs {
			c, _ := s["condition"].(map[string]any)
			if user := call.Query["user_id"]; f.hideSubs || (user != "" && !slices.Contains(slices.Collect(maps.Values(c)), any(user))) ||
				(call.Query["type"] != "" && s["type"] != call.Query["type"]) || (call.Query["status"] != "" && s["status"] != call.Query["status"]) {
				continue
			}
			data = append(data, s)
		}
		reply(200, map[string]any{"data": data, "total": len(data), "total_cost": 0, "max_total_cost": 10000, "pagination": map[string]any{}})
	case "POST /eventsub/subscriptions":
		if tr, _ := call.Body["transport"].(map[string]any); f.ws != nil && tr["method"] == "websocket" {
			tok := strings.TrimPrefix(call.Auth, "Bearer ")
			user := ""
			if u := f.users[tok]; len(u) > 0 {
				user = u[0]
			}
			reply(f.ws.createSub(user, f.scopes[tok], call.Body, f.chatSubRefusal))
			return
		}
		if tr, _ := call.Body["transport"].(map[string]any); tr["method"] == "webhook" && !f.apps[token] {
			reply(helixError(401, "The Authorization header must contain an app access token to subscribe with the webhook transport."))
			return
		}
		reply(f.createSub(call.Body))
	case "DELETE /eventsub/subscriptions":
		if f.ws != nil && f.ws.hasSub(call.Query["id"]) {
			user := ""
			if u := f.users[strings.TrimPrefix(call.Auth, "Bearer ")]; len(u) > 0 && !f.apps[token] {
				user = u[0]
			}
			reply(f.ws.deleteSub(user, call.Query["id"]))
			return
		}
		if _, ok := f.subs[call.Query["id"]]; !ok {
			reply(404, map[string]any{"error": "Not Found", "status": 404, "message": "subscription not found"})
			return
		}
		delete(f.subs, call.Query["id"])
		reply(204, nil)
	default:
		reply(404, map[string]any{"status": 404, "message": "not found"})
	}
}
