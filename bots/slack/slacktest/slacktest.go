// Package slacktest is a local Slack for tests: a Web API under /api/ that
// records the calls slack-go makes (auth.test, chat.postMessage,
// chat.postEphemeral, chat.delete, views.open, users.info), a host for
// response URLs under /hooks/, and a Socket Mode server:
// apps.connections.open hands out a websocket that says hello, carries the
// envelopes a test sends and records the acknowledgements. Everything stops
// when the test that started it ends.
package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Call is one request the Web API or a response URL received.
type Call struct {
	Method string // Web API method, or "response_url"
	Token  string // from Authorization: Bearer, or the token form field
	Form   url.Values
	JSON   map[string]any // the body, when it was JSON
}

// Server is a running local Slack. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu      sync.Mutex
	calls   []Call   // without apps.connections.open and users.info
	order   []string // every method called but apps.connections.open, users.info included
	limit   map[string]int
	users   int
	openErr string
	refused map[string]bool // tokens every method refuses with invalid_auth
	held    chan struct{}   // while open, users.info waits for it to close
	sockets map[*socket]bool
	hellos  int
	acks    []string
	onAck   func(envelopeID string)
	errs    []error
	changed chan struct{} // closed and replaced when acks or hellos grow
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
	s := &Server{limit: map[string]int{}, sockets: map[*socket]bool{}, changed: make(chan struct{})}
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

// Calls returns the recorded calls of method, oldest first.
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
	body, _ := io.ReadAll(r.Body)
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
	if c.Method == "users.info" {
		s.users++
	} else if c.Method != "apps.connections.open" {
		s.calls = append(s.calls, c)
	}
	openErr, refused, held := s.openErr, s.refused[c.Token], s.held
	s.mu.Unlock()
	if c.Method == "users.info" && held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	ok := func(v map[string]any) {
		v["ok"] = true
		json.NewEncoder(w).Encode(v)
	}
	if refused && c.Method != "response_url" {
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch c.Method {
	case "response_url":
		io.WriteString(w, "ok")
	case "auth.test":
		ok(map[string]any{"url": "https://ducks.slack.com/", "team": "Ducks", "user": "waddle", "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"})
	case "chat.postMessage":
		ok(map[string]any{"channel": c.Form.Get("channel"), "ts": "99.1"})
	case "chat.postEphemeral":
		ok(map[string]any{"message_ts": "99.2"})
	case "chat.delete":
		ok(map[string]any{"channel": c.Form.Get("channel"), "ts": c.Form.Get("ts")})
	case "views.open":
		ok(map[string]any{"view": map[string]any{"id": "V1"}})
	case "users.info":
		ok(map[string]any{"user": map[string]any{"id": c.Form.Get("user"), "name": "duckling", "real_name": "Duck Ling",
			"is_admin": true, "profile": map[string]any{"display_name": "Ducky"}}})
	case "apps.connections.open":
		if openErr != "" {
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": openErr})
			return
		}
		ok(map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket"})
	default:
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
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
