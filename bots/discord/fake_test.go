package discord

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// eventually polls cond until it holds or 10 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// request is one call the fake REST API received.
type request struct {
	Method, Path string
	Body         string
}

// fakeREST is a local Discord REST API that records every call.
type fakeREST struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	// override answers a request instead of the default when it returns true.
	override func(w http.ResponseWriter, r request) bool
}

func newFakeREST(t *testing.T) *fakeREST {
	f := &fakeREST{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.EscapedPath(), Body: string(body)}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		override := f.override
		f.mu.Unlock()
		if override != nil && override(w, req) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(req.Path, "/callback"), r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(req.Path, "/commands") || strings.Contains(req.Path, "/members/search"):
			io.WriteString(w, "[]")
		case req.Path == "/users/@me/channels":
			io.WriteString(w, `{"id":"dm-1","type":1}`)
		default:
			io.WriteString(w, `{"id":"900","channel_id":"1"}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeREST) setOverride(o func(w http.ResponseWriter, r request) bool) {
	f.mu.Lock()
	f.override = o
	f.mu.Unlock()
}

// find returns the requests matching method and path (a prefix when it ends with "*").
func (f *fakeREST) find(method, path string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.requests {
		if r.Method != method {
			continue
		}
		if p, ok := strings.CutSuffix(path, "*"); ok && strings.HasPrefix(r.Path, p) || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// index is the position of the first request matching method and path, or -1.
func (f *fakeREST) index(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.requests {
		if r.Method == method && r.Path == path {
			return i
		}
	}
	return -1
}

// fakeGateway is a local Discord gateway: HELLO, IDENTIFY, READY and
// heartbeats, then the dispatches a test sends.
type fakeGateway struct {
	*httptest.Server
	t         *testing.T
	mu        sync.Mutex
	conns     []*gwConn
	identify  []json.RawMessage
	seq       int64
	heartbeat int
}

type gwConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (c *gwConn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteJSON(v)
}

func newFakeGateway(t *testing.T) *fakeGateway {
	g := &fakeGateway{t: t}
	up := websocket.Upgrader{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &gwConn{c: ws}
		defer ws.Close()
		if c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 30000}}) != nil {
			return
		}
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var p struct {
				Op int             `json:"op"`
				D  json.RawMessage `json:"d"`
			}
			if json.Unmarshal(msg, &p) != nil {
				continue
			}
			switch p.Op {
			case 1:
				g.mu.Lock()
				g.heartbeat++
				g.mu.Unlock()
				c.write(map[string]any{"op": 11})
			case 2:
				g.mu.Lock()
				g.identify = append(g.identify, p.D)
				g.seq++
				seq := g.seq
				g.mu.Unlock()
				c.write(map[string]any{"op": 0, "t": "READY", "s": seq, "d": map[string]any{"v": 10, "session_id": "session-1",
					"user": map[string]any{"id": botID, "username": "waddle", "bot": true}, "guilds": []any{}}})
				g.mu.Lock()
				g.conns = append(g.conns, c)
				g.mu.Unlock()
			}
		}
	}))
	t.Cleanup(func() {
		g.mu.Lock()
		for _, c := range g.conns {
			c.c.Close()
		}
		g.mu.Unlock()
		g.Close()
	})
	return g
}

func (g *fakeGateway) url() string { return "ws" + strings.TrimPrefix(g.URL, "http") + "/" }

func (g *fakeGateway) connected() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns) > 0
}

// dispatch sends an event to every identified connection; d is marshalled
// unless it is a json.RawMessage.
func (g *fakeGateway) dispatch(typ string, d any) {
	g.t.Helper()
	raw, ok := d.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(d); err != nil {
			g.t.Fatal(err)
		}
	}
	g.mu.Lock()
	g.seq++
	seq := g.seq
	conns := append([]*gwConn(nil), g.conns...)
	g.mu.Unlock()
	for _, c := range conns {
		if err := c.write(map[string]any{"op": 0, "t": typ, "s": seq, "d": raw}); err != nil {
			g.t.Errorf("dispatch %s: %v", typ, err)
		}
	}
}

// raw sends a frame as is.
func (g *fakeGateway) raw(frame string) {
	g.mu.Lock()
	conns := append([]*gwConn(nil), g.conns...)
	g.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.c.WriteMessage(websocket.TextMessage, []byte(frame))
		c.mu.Unlock()
	}
}
