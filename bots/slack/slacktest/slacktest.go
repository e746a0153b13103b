// Package slacktest is a local Slack for tests, as strict as Slack where
// the bot could get it wrong: a Web API under /api/ that records the calls
// slack-go makes (auth.test, chat.postMessage, chat.postEphemeral,
// chat.delete, views.open, users.info, oauth.v2.access), response URLs
// under /hooks/, and a Socket Mode server: apps.connections.open hands out
// a websocket that says hello, carries the envelopes a test sends, records
// the acknowledgements and can ask the client to reconnect (disconnect).
//
// It refuses what Slack refuses: a response URL takes 5 posts within 30
// minutes of its issue (then 404 used_url or expired_url); a trigger id
// opens one view within 3 seconds (expired_trigger_id); the bot posts only
// in channels it is a member of (not_in_channel) and deletes only its own
// messages; Block Kit over Slack's limits is invalid_blocks; users are not
// workspace admins unless a test says so; and a rotating token is refused
// with token_expired once it expired, its refresh token good for one
// refresh. The fake's clock is the real one plus what Advance added.
// Everything stops when the test that started it ends.
package slacktest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Slack's limits the fake enforces.
const (
	ResponseURLPosts = 5                // posts a response URL takes
	ResponseURLLife  = 30 * time.Minute // how long it takes them
	TriggerLife      = 3 * time.Second  // how long a trigger id opens a view
)

// Call is one request the Web API or a response URL received.
type Call struct {
	Method  string // Web API method, or "response_url"
	Token   string // from Authorization: Bearer, or the token form field
	Form    url.Values
	JSON    map[string]any // the body, when it was JSON
	Refused string         // the error the fake answered; "" when it accepted the call
	Why     string         // what the fake found wrong, for invalid_blocks and invalid_arguments
}

// Server is a running local Slack. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	offset   time.Duration // added to the real clock
	calls    []Call        // without apps.connections.open and users.info
	order    []string      // every method called but apps.connections.open, users.info included
	limit    map[string]int
	users    int
	openErr  string
	refused  map[string]bool // tokens every method refuses with invalid_auth
	held     chan struct{}   // while open, users.info waits for it to close
	seq      int
	hooks    map[string]*hook    // response URL path → its uses
	triggers map[string]*trigger // issued trigger ids
	members  map[string]bool     // channels the bot is a member of
	admins   map[string]bool     // users who are workspace admins
	own      map[string]bool     // "channel/ts" of the bot's own messages
	rotating map[string]time.Time
	refresh  map[string]refreshGrant
	client   [2]string // OAuth client id and secret; "" accepts any
	grants   int       // refresh tokens exchanged
	sockets  map[*socket]bool
	hellos   int
	acks     []string
	onAck    func(envelopeID string)
	errs     []error
	changed  chan struct{} // closed and replaced when acks or hellos grow
	groups   *userGroups   // usergroups.go
}

type hook struct {
	issued time.Time
	posts  int
}

type trigger struct {
	issued time.Time
	used   bool
}

type refreshGrant struct {
	team string
	ttl  time.Duration
}

type socket struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (s *socket) write(kind int, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.c.WriteMessage(kind, msg)
}

// Start starts the server on 127.0.0.1 and stops it when the test ends;
// then it fails the test if a Socket Mode client could not connect.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{limit: map[string]int{}, sockets: map[*socket]bool{}, changed: make(chan struct{}),
		hooks: map[string]*hook{}, triggers: map[string]*trigger{}, members: map[string]bool{}, admins: map[string]bool{},
		own: map[string]bool{}, rotating: map[string]time.Time{}, refresh: map[string]refreshGrant{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.mu.Lock()
		for c := range s.sockets {
			c.c.Close()
		}
		errs := errors.Join(s.errs...)
		s.mu.Unlock()
		s.srv.Close()
		if errs != nil {
			t.Errorf("slacktest: %v", errs)
		}
	})
	return s
}

// URL is the server's base URL; response URLs go under URL()+"/hooks/".
func (s *Server) URL() string { return s.srv.URL }

// APIURL is a SLACK_API_URL for the server.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Now is the fake's clock: the real time plus what Advance added.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time { return time.Now().Add(s.offset) }

// Advance moves the fake's clock forward by d: response URLs, trigger ids
// and rotating tokens age by d at once.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.offset += d
	s.mu.Unlock()
}

// ResponseURL issues a response URL for team, as Slack does with each slash
// command and interaction: it takes ResponseURLPosts posts within
// ResponseURLLife.
func (s *Server) ResponseURL(team string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	path := fmt.Sprintf("/hooks/commands/%s/%d/%s", team, s.seq, randomHex(12))
	s.hooks[path] = &hook{issued: s.now()}
	return s.srv.URL + path
}

// Trigger issues a trigger id, as Slack does with each slash command and
// interaction: views.open takes it once, within TriggerLife.
func (s *Server) Trigger() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", 1000+s.seq, s.now().Unix(), randomHex(8))
	s.triggers[id] = &trigger{issued: s.now()}
	return id
}

// Join makes the bot a member of channels (IDs starting with C or G): it
// may post there. Users (U…) and DMs (D…) are always reachable.
func (s *Server) Join(channels ...string) {
	s.mu.Lock()
	for _, c := range channels {
		s.members[c] = true
	}
	s.mu.Unlock()
}

// SetAdmin makes users workspace admins in users.info (no one is by default).
func (s *Server) SetAdmin(users ...string) {
	s.mu.Lock()
	for _, u := range users {
		s.admins[u] = true
	}
	s.mu.Unlock()
}

// SetOAuthClient makes oauth.v2.access require this client id and secret.
func (s *Server) SetOAuthClient(id, secret string) {
	s.mu.Lock()
	s.client = [2]string{id, secret}
	s.mu.Unlock()
}

// RotatingToken issues, as an install with token rotation on does, a bot
// access token for team that expires after ttl (Slack: 12 hours) and its
// refresh token, good for one exchange that gives a new pair with the same
// ttl.
func (s *Server) RotatingToken(team string, ttl time.Duration) (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueRotating(team, ttl)
}

func (s *Server) issueRotating(team string, ttl time.Duration) (access, refresh string) {
	access, refresh = "xoxe.xoxb-"+team+"-"+randomHex(8), "xoxe-1-"+randomHex(16)
	s.rotating[access] = s.now().Add(ttl)
	s.refresh[refresh] = refreshGrant{team: team, ttl: ttl}
	return access, refresh
}

// Refreshes is the number of refresh tokens exchanged for new tokens.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants
}

// LimitNext answers the next n calls of method with 429 and Retry-After: 1.
func (s *Server) LimitNext(method string, n int) {
	s.mu.Lock()
	s.limit[method] = n
	s.mu.Unlock()
}

// SetOpenError makes apps.connections.open fail with err, such as
// "invalid_auth"; "" lets it succeed again.
func (s *Server) SetOpenError(err string) {
	s.mu.Lock()
	s.openErr = err
	s.mu.Unlock()
}

// HoldUsers makes users.info wait until release is called (or the caller
// gives up), to stand for a slow Slack.
func (s *Server) HoldUsers() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.held = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.held = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

// RefuseToken makes every Web API method answer invalid_auth to token.
func (s *Server) RefuseToken(token string) {
	s.mu.Lock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	s.refused[token] = true
	s.mu.Unlock()
}

// Calls returns the recorded calls of method, oldest first, refused ones
// included.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Accepted returns the recorded calls of method that the fake accepted.
func (s *Server) Accepted(method string) []Call {
	var out []Call
	for _, c := range s.Calls(method) {
		if c.Refused == "" {
			out = append(out, c)
		}
	}
	return out
}

// All returns every recorded call, oldest first. apps.connections.open and
// users.info are not recorded; UserLookups counts the latter.
func (s *Server) All() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Sequence returns the methods called, users.info included, oldest first
// (not apps.connections.open): what came before what.
func (s *Server) Sequence() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// UserLookups is the number of users.info calls.
func (s *Server) UserLookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users
}

// WaitCall waits up to timeout for a call of method for which match
// reports true and returns it; it fails the test if none arrives.
func (s *Server) WaitCall(t testing.TB, method string, match func(Call) bool, timeout time.Duration) Call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range s.Calls(method) {
			if match(c) {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slacktest: no matching %s call within %v; calls: %+v", method, timeout, s.All())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/socket" {
		s.socket(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c := Call{Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(body, &c.JSON)
	} else {
		c.Form, _ = url.ParseQuery(string(body))
		if q := r.URL.Query(); len(q) > 0 {
			c.Form = q
		}
		if tok := c.Form.Get("token"); tok != "" {
			c.Token = tok
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/hooks/"):
		c.Method = "response_url"
	case strings.HasPrefix(r.URL.Path, "/api/"):
		c.Method = strings.TrimPrefix(r.URL.Path, "/api/")
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	if s.limit[c.Method] > 0 {
		s.limit[c.Method]--
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if c.Method != "apps.connections.open" {
		s.order = append(s.order, c.Method)
	}
	held := s.held
	if c.Method == "users.info" {
		s.users++
	}
	s.mu.Unlock()
	if c.Method == "users.info" && held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	if c.Method == "response_url" {
		s.mu.Lock()
		status, answer, why := s.hook(r.URL.Path, c.JSON)
		if status != http.StatusOK {
			c.Refused, c.Why = answer, why
		}
		s.calls = append(s.calls, c)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		io.WriteString(w, answer)
		return
	}
	s.mu.Lock()
	answer := s.api(&c)
	if ok, _ := answer["ok"].(bool); !ok {
		c.Refused, _ = answer["error"].(string)
		if m, _ := answer["response_metadata"].(map[string]any); m != nil {
			c.Why = fmt.Sprint(m["messages"])
		}
	}
	if c.Method != "users.info" && c.Method != "apps.connections.open" {
		s.calls = append(s.calls, c)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

// hook answers a post to a response URL; s.mu is held.
func (s *Server) hook(path string, body map[string]any) (status int, answer, why string) {
	h := s.hooks[path]
	switch {
	case h == nil:
		return http.StatusNotFound, "no_service", ""
	case s.now().Sub(h.issued) >= ResponseURLLife:
		return http.StatusNotFound, "expired_url", ""
	case h.posts >= ResponseURLPosts:
		return http.StatusNotFound, "used_url", ""
	}
	if body == nil {
		return http.StatusBadRequest, "invalid_payload", ""
	}
	text, _ := body["text"].(string)
	if msg := checkMessage(text, body["blocks"]); msg != "" {
		return http.StatusBadRequest, "invalid_blocks", msg
	}
	h.posts++
	return http.StatusOK, "ok", ""
}

// api answers a Web API call; s.mu is held.
func (s *Server) api(c *Call) map[string]any {
	fail := func(e string, detail ...string) map[string]any {
		v := map[string]any{"ok": false, "error": e}
		if len(detail) > 0 {
			v["response_metadata"] = map[string]any{"messages": detail}
		}
		return v
	}
	ok := func(v map[string]any) map[string]any {
		v["ok"] = true
		return v
	}
	switch c.Method {
	case "apps.connections.open":
		if s.openErr != "" {
			return fail(s.openErr)
		}
		return ok(map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket"})
	case "oauth.v2.access":
		return s.oauth(c.Form)
	}
	if s.refused[c.Token] {
		return fail("invalid_auth")
	}
	if exp, rotating := s.rotating[c.Token]; rotating && !s.now().Before(exp) {
		return fail("token_expired")
	}
	if c.Token == "" {
		return fail("not_authed")
	}
	form := c.Form
	switch c.Method {
	case "auth.test":
		return ok(map[string]any{"url": "https://ducks.slack.com/", "team": "Ducks", "user": "waddle", "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"})
	case "chat.postMessage", "chat.postEphemeral":
		ch := form.Get("channel")
		if ch == "" {
			return fail("channel_not_found")
		}
		if !s.reachable(ch) {
			return fail("not_in_channel")
		}
		if c.Method == "chat.postEphemeral" && form.Get("user") == "" {
			return fail("user_not_in_channel")
		}
		var blocks any
		if raw := form.Get("blocks"); raw != "" {
			if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
				return fail("invalid_blocks_format")
			}
		}
		if msg := checkMessage(form.Get("text"), blocks); msg != "" {
			if msg == "no_text" || msg == "msg_too_long" {
				return fail(msg)
			}
			return fail("invalid_blocks", msg)
		}
		s.seq++
		ts := fmt.Sprintf("%d.%06d", s.now().Unix(), s.seq)
		if c.Method == "chat.postEphemeral" {
			return ok(map[string]any{"message_ts": ts})
		}
		s.own[ch+"/"+ts] = true
		return ok(map[string]any{"channel": ch, "ts": ts})
	case "chat.delete":
		ch, ts := form.Get("channel"), form.Get("ts")
		if !s.reachable(ch) {
			return fail("not_in_channel")
		}
		if !s.own[ch+"/"+ts] {
			return fail("cant_delete_message") // a bot token deletes only the bot's messages
		}
		delete(s.own, ch+"/"+ts)
		return ok(map[string]any{"channel": ch, "ts": ts})
	case "views.open":
		id, _ := c.JSON["trigger_id"].(string)
		tr := s.triggers[id]
		switch {
		case tr == nil:
			return fail("invalid_trigger_id")
		case tr.used:
			return fail("exchanged_trigger_id")
		case s.now().Sub(tr.issued) >= TriggerLife:
			return fail("expired_trigger_id")
		}
		if msg := checkView(c.JSON["view"]); msg != "" {
			return fail("invalid_arguments", msg)
		}
		tr.used = true
		return ok(map[string]any{"view": map[string]any{"id": "V" + strconv.Itoa(s.seq)}})
	case "users.info":
		u := form.Get("user")
		return ok(map[string]any{"user": map[string]any{"id": u, "name": "duckling", "real_name": "Duck Ling",
			"is_admin": s.admins[u], "is_owner": false, "profile": map[string]any{"display_name": "Ducky"}}})
	default:
		if v := s.usergroupsAPI(c, fail, ok); v != nil {
			return v
		}
		return fail("unknown_method")
	}
}

// reachable reports whether the bot may post to ch: a channel it is a
// member of, a user (its DM with the app) or a DM; s.mu is held.
func (s *Server) reachable(ch string) bool {
	if strings.HasPrefix(ch, "U") || strings.HasPrefix(ch, "W") || strings.HasPrefix(ch, "D") {
		return true
	}
	return s.members[ch]
}

// oauth answers oauth.v2.access; only the refresh grant is served here (a
// code exchange is the hub's install, tested against its own server).
func (s *Server) oauth(form url.Values) map[string]any {
	fail := func(e string) map[string]any { return map[string]any{"ok": false, "error": e} }
	if s.client[0] != "" && form.Get("client_id") != s.client[0] {
		return fail("invalid_client_id")
	}
	if s.client[1] != "" && form.Get("client_secret") != s.client[1] {
		return fail("bad_client_secret")
	}
	if form.Get("grant_type") != "refresh_token" {
		return fail("invalid_grant_type")
	}
	g, found := s.refresh[form.Get("refresh_token")]
	if !found {
		return fail("invalid_refresh_token")
	}
	delete(s.refresh, form.Get("refresh_token")) // a refresh token is good once
	s.grants++
	access, refresh := s.issueRotating(g.team, g.ttl)
	return map[string]any{"ok": true, "access_token": access, "token_type": "bot", "scope": "chat:write,commands",
		"bot_user_id": "UBOT", "app_id": "A1", "team": map[string]any{"id": g.team, "name": "Ducks"},
		"refresh_token": refresh, "expires_in": int(g.ttl / time.Second)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// OnAck sets a func called with each acknowledged envelope id as the ack
// arrives, before Acks and WaitAck see it: a test can check what the app
// stored before acknowledging. It runs on the connection's goroutine.
func (s *Server) OnAck(f func(envelopeID string)) {
	s.mu.Lock()
	s.onAck = f
	s.mu.Unlock()
}

// socket serves one Socket Mode connection: hello, then envelopes from
// Send, acknowledgements read back, and a ping every 10 s as Slack sends.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	// Slack's server takes the Origin slack-go sends.
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.fail(fmt.Errorf("socket mode upgrade: %w", err))
		return
	}
	sock := &socket{c: c}
	defer c.Close()
	s.mu.Lock()
	s.sockets[sock] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sockets, sock)
		s.mu.Unlock()
	}()
	if sock.write(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1,"connection_info":{"app_id":"A1"}}`)) != nil {
		return
	}
	s.mu.Lock()
	s.hellos++
	s.notify()
	s.mu.Unlock()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if sock.write(websocket.PingMessage, nil) != nil {
					return
				}
			}
		}
	}()
	for {
		var a struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := c.ReadJSON(&a); err != nil {
			return
		}
		s.mu.Lock()
		onAck := s.onAck
		s.mu.Unlock()
		if onAck != nil {
			onAck(a.EnvelopeID)
		}
		s.mu.Lock()
		s.acks = append(s.acks, a.EnvelopeID)
		s.notify()
		s.mu.Unlock()
	}
}

// notify wakes the waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

// Hellos is the number of Socket Mode connections that were sent hello.
func (s *Server) Hellos() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hellos
}

// Sockets is the number of open Socket Mode connections.
func (s *Server) Sockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sockets)
}

// WaitSocket waits up to timeout until at least n Socket Mode connections
// were sent hello; it fails the test otherwise.
func (s *Server) WaitSocket(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	s.wait(t, timeout, func() bool { return s.hellos >= n }, fmt.Sprintf("%d socket mode connections", n))
}

// Send writes an envelope (a Socket Mode message, JSON) to every open
// Socket Mode connection and reports how many it reached.
func (s *Server) Send(envelope string) int {
	s.mu.Lock()
	socks := make([]*socket, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range socks {
		if c.write(websocket.TextMessage, []byte(envelope)) == nil {
			n++
		}
	}
	return n
}

// Acks returns the acknowledged envelope ids, oldest first.
func (s *Server) Acks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.acks...)
}

// WaitAck waits up to timeout for the acknowledgement of envelopeID; it
// fails the test otherwise.
func (s *Server) WaitAck(t testing.TB, envelopeID string, timeout time.Duration) {
	t.Helper()
	s.wait(t, timeout, func() bool {
		for _, a := range s.acks {
			if a == envelopeID {
				return true
			}
		}
		return false
	}, "the ack of envelope "+envelopeID)
}

// wait waits until cond, called with s.mu held, holds.
func (s *Server) wait(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("slacktest: no %s within %v (acks %v)", what, timeout, s.Acks())
		}
	}
}

// EventCallback is an Events API payload (type event_callback) for team,
// authorized for the bot user botUser, carrying event (JSON).
func EventCallback(team, botUser, eventID, event string) []byte {
	return []byte(fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A1","type":"event_callback","event_id":%q,`+
		`"event_time":1700000000,"authorizations":[{"team_id":%q,"user_id":%q,"is_bot":true}],"event":%s}`, team, eventID, team, botUser, event))
}

// EventsAPIEnvelope is a Socket Mode envelope of type events_api carrying
// payload, for Send.
func EventsAPIEnvelope(envelopeID string, retry int, payload []byte) string {
	return fmt.Sprintf(`{"envelope_id":%q,"type":"events_api","accepts_response_payload":false,"retry_attempt":%d,"payload":%s}`, envelopeID, retry, payload)
}

// Disconnect sends every open Socket Mode connection Slack's disconnect
// message (reason: "refresh_requested", "warning", "link_disabled"…) and
// closes it a second later, as Slack does when it moves a connection; it
// reports how many it reached. A client must open a new connection.
func (s *Server) Disconnect(reason string) int {
	s.mu.Lock()
	socks := make([]*socket, 0, len(s.sockets))
	for c := range s.sockets {
		socks = append(socks, c)
	}
	s.mu.Unlock()
	msg := fmt.Sprintf(`{"type":"disconnect","reason":%q,"debug_info":{"host":"applink-1"}}`, reason)
	n := 0
	for _, c := range socks {
		if c.write(websocket.TextMessage, []byte(msg)) == nil {
			n++
		}
		time.AfterFunc(time.Second, func() { c.c.Close() })
	}
	return n
}
