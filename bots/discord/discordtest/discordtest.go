// Package discordtest is a local Discord for tests: a REST API that records
// every request and answers with plausible defaults, and a gateway that
// speaks enough of the websocket protocol for discordgo (HELLO, IDENTIFY,
// READY, RESUME and heartbeats, under Discord's session rules: see
// gateway.go) and then sends the dispatches a test pushes. Both stop when
// the test that started them ends.
package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BotID is the user id of the bot in the gateway's READY.
const BotID = "1000"

// Request is one call the REST API received.
type Request struct {
	Method, Path string // Path is escaped, as sent
	Query        string // the raw query, without "?"
	Body         string
}

// Member is a guild member the member search can find.
type Member struct {
	ID, Username, Nick string
}

// REST is a local Discord REST API that records every call. Its methods are
// safe for concurrent use.
type REST struct {
	srv      *httptest.Server
	cmd      commandRules // commands.go
	mu       sync.Mutex
	requests []Request
	members  map[string][]Member // by guild
	channels map[string]string   // channel id → guild id
	override func(w http.ResponseWriter, r Request) bool
	ixs      map[string]*ixState // interaction state by token
	views    []View
	nextID   int
	gw       *Gateway // answers GET /gateway/bot (gateway.go)
}

// ixState is what Discord knows of an interaction's original message.
type ixState struct {
	private bool // the original's visibility, fixed by the first callback
	loading bool // deferred, not yet edited: the first followup edits it
}

// View is one state of an interaction's message as Discord shows it: each
// callback, edit, followup and delete of it adds one.
type View struct {
	Token   string
	Message string // "@original" or the followup's id
	Content string
	Private bool // seen only by the user who interacted (ephemeral)
	Deleted bool
}

// StartREST starts the REST API and stops it when the test ends. It answers
// interaction callbacks, edits, followups and deletes as Discord does (see
// interaction), 204 to other deletes, [] to command lists, the
// members set with SetMembers whose username or nick starts with the query
// (ignoring case, at most limit) to member searches, a member set with
// SetMembers (else 404 Unknown Member) to GET /guilds/{guild}/members/{user},
// a channel set with SetChannels (else 404 Unknown Channel) to
// GET /channels/{id}, a DM channel dm-1 to POST /users/@me/channels, and a
// message {"id":"900","channel_id":"1"} to everything else.
func StartREST(t testing.TB) *REST {
	t.Helper()
	f := &REST{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(body)}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		override := f.override
		f.mu.Unlock()
		if override != nil && override(w, req) {
			return
		}
		if f.refuse(w, r, req) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if f.gatewayBot(w, r) {
			return
		}
		if f.interaction(w, req) {
			return
		}
		switch {
		case strings.HasSuffix(req.Path, "/callback"), r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(req.Path, "/commands"):
			io.WriteString(w, "[]")
		case strings.HasPrefix(req.Path, "/guilds/") && strings.HasSuffix(req.Path, "/members/search"):
			g := strings.TrimSuffix(strings.TrimPrefix(req.Path, "/guilds/"), "/members/search")
			json.NewEncoder(w).Encode(f.search(g, r.URL.Query().Get("query"), r.URL.Query().Get("limit")))
		case r.Method == http.MethodGet && strings.HasPrefix(req.Path, "/guilds/") && strings.Contains(req.Path, "/members/"):
			g, u, _ := strings.Cut(strings.TrimPrefix(req.Path, "/guilds/"), "/members/")
			f.member(w, g, u)
		case r.Method == http.MethodGet && strings.HasPrefix(req.Path, "/channels/") && strings.Count(req.Path, "/") == 2:
			f.channel(w, strings.TrimPrefix(req.Path, "/channels/"))
		case req.Path == "/users/@me/channels":
			io.WriteString(w, `{"id":"dm-1","type":1}`)
		default:
			io.WriteString(w, `{"id":"900","channel_id":"1"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// interaction answers the calls that show an interaction's messages with
// Discord's semantics, and records what they show: the first callback
// (POST /interactions/{id}/{token}/callback) fixes the original message's
// visibility — a deferred one (type 5) by its flags; a second callback is
// refused (40060). PATCH and DELETE /webhooks/{app}/{token}/messages/@original
// edit and delete the original. A followup (POST /webhooks/{app}/{token})
// sent while a deferred original is still loading edits the original,
// ignoring its own ephemeral flag; later ones are new messages, ephemeral
// by flag 64. It reports whether it answered.
func (f *REST) interaction(w http.ResponseWriter, r Request) bool {
	var body struct {
		Type    int    `json:"type"`
		Content string `json:"content"`
		Flags   int    `json:"flags"`
		Data    struct {
			Content string `json:"content"`
			Flags   int    `json:"flags"`
		} `json:"data"`
	}
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ixs == nil {
		f.ixs = map[string]*ixState{}
	}
	switch {
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "interactions" && parts[3] == "callback":
		token := parts[2]
		if _, done := f.ixs[token]; done {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"message":"Interaction has already been acknowledged.","code":40060}`)
			return true
		}
		json.Unmarshal([]byte(r.Body), &body)
		switch body.Type {
		case 4:
			f.ixs[token] = &ixState{private: body.Data.Flags&64 != 0}
			f.views = append(f.views, View{Token: token, Message: "@original", Content: body.Data.Content, Private: body.Data.Flags&64 != 0})
		case 5:
			f.ixs[token] = &ixState{private: body.Data.Flags&64 != 0, loading: true}
		default:
			f.ixs[token] = &ixState{}
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	case len(parts) >= 3 && parts[0] == "webhooks":
		token := parts[2]
		ix, ok := f.ixs[token]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Unknown Webhook","code":10015}`)
			return true
		}
		json.Unmarshal([]byte(r.Body), &body)
		msg := ""
		if len(parts) == 5 && parts[3] == "messages" {
			msg = parts[4]
		}
		switch {
		case r.Method == http.MethodPost && len(parts) == 3:
			v := View{Token: token, Message: "@original", Content: body.Content, Private: ix.private}
			if ix.loading {
				ix.loading = false
			} else {
				f.nextID++
				v.Message, v.Private = strconv.Itoa(5000+f.nextID), body.Flags&64 != 0
			}
			f.views = append(f.views, v)
			json.NewEncoder(w).Encode(map[string]any{"id": v.Message, "channel_id": "1", "content": v.Content})
		case r.Method == http.MethodPatch && msg != "":
			if msg == "@original" {
				ix.loading = false
			}
			f.views = append(f.views, View{Token: token, Message: msg, Content: body.Content, Private: f.private(token, msg)})
			json.NewEncoder(w).Encode(map[string]any{"id": msg, "channel_id": "1", "content": body.Content})
		case r.Method == http.MethodDelete && msg != "":
			if msg == "@original" {
				ix.loading = false
			}
			f.views = append(f.views, View{Token: token, Message: msg, Private: f.private(token, msg), Deleted: true})
			w.WriteHeader(http.StatusNoContent)
		default:
			return false
		}
		return true
	}
	return false
}

// private is the visibility of an interaction's message; f.mu is held.
func (f *REST) private(token, msg string) bool {
	if msg == "@original" {
		return f.ixs[token].private
	}
	for _, v := range f.views {
		if v.Token == token && v.Message == msg {
			return v.Private
		}
	}
	return false
}

// Views returns what the messages of the interaction with token showed,
// oldest first.
func (f *REST) Views(token string) []View {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []View
	for _, v := range f.views {
		if v.Token == token {
			out = append(out, v)
		}
	}
	return out
}

// SetMembers sets the members of a guild that member searches find.
func (f *REST) SetMembers(guild string, members ...Member) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.members == nil {
		f.members = map[string][]Member{}
	}
	f.members[guild] = append([]Member(nil), members...)
}

// SetChannels puts the channels ids in guild, for GET /channels/{id}.
func (f *REST) SetChannels(guild string, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.channels == nil {
		f.channels = map[string]string{}
	}
	for _, id := range ids {
		f.channels[id] = guild
	}
}

// channel answers GET /channels/{id}: a text channel of its guild.
func (f *REST) channel(w http.ResponseWriter, id string) {
	f.mu.Lock()
	guild, ok := f.channels[id]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Unknown Channel","code":10003}`)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"id": id, "guild_id": guild, "type": 0, "name": "general"})
}

// member answers GET /guilds/{guild}/members/{user} from SetMembers.
func (f *REST) member(w http.ResponseWriter, guild, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.members[guild] {
		if m.ID == user {
			json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"id": m.ID, "username": m.Username}, "roles": []string{}})
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, `{"message":"Unknown Member","code":10007}`)
}

// search is Discord's member search: members whose username or nick starts
// with query, ignoring case; limit defaults to 1 and is at most 1000.
func (f *REST) search(guild, query, limit string) []any {
	n, err := strconv.Atoi(limit)
	if err != nil || n < 1 {
		n = 1
	}
	n = min(n, 1000)
	query = strings.ToLower(query)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	for _, m := range f.members[guild] {
		if len(out) == n {
			break
		}
		if strings.HasPrefix(strings.ToLower(m.Username), query) || m.Nick != "" && strings.HasPrefix(strings.ToLower(m.Nick), query) {
			member := map[string]any{"user": map[string]any{"id": m.ID, "username": m.Username}, "roles": []string{}}
			if m.Nick != "" {
				member["nick"] = m.Nick
			}
			out = append(out, member)
		}
	}
	return out
}

// URL is a DISCORD_API_URL for the server, ending in a slash.
func (f *REST) URL() string { return f.srv.URL + "/" }

// SetOverride lets o answer a request instead of the default when it
// returns true (a 429, a 403…). nil removes it.
func (f *REST) SetOverride(o func(w http.ResponseWriter, r Request) bool) {
	f.mu.Lock()
	f.override = o
	f.mu.Unlock()
}

// Requests returns every request received, oldest first.
func (f *REST) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Find returns the requests matching method and path (a prefix when it ends with "*").
func (f *REST) Find(method, path string) []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Request
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

// Index is the position of the first request matching method and path, or -1.
func (f *REST) Index(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.requests {
		if r.Method == method && r.Path == path {
			return i
		}
	}
	return -1
}

// WaitBody waits up to timeout for a request matching method and path (as
// in Find) whose body contains want, and returns it; it fails the test if
// none arrives.
func (f *REST) WaitBody(t testing.TB, method, path, want string, timeout time.Duration) Request {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range f.Find(method, path) {
			if strings.Contains(r.Body, want) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("discordtest: no %s %s with %q within %v", method, path, want, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Gateway is a local Discord gateway: HELLO, IDENTIFY, READY (as BotID)
// and heartbeat acks, then the dispatches a test sends. Its methods are
// safe for concurrent use.
type Gateway struct {
	srv       *httptest.Server
	t         testing.TB
	mu        sync.Mutex
	conns     []*gwConn
	hung      []*gwConn // silent connections
	identify  []json.RawMessage
	seq       int64
	heartbeat int
	live      int   // websocket connections open
	silent    bool  // new connections get nothing, not even HELLO
	rules     rules // Discord's session rules (gateway.go)
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

// StartGateway starts the gateway and stops it when the test ends.
func StartGateway(t testing.TB) *Gateway {
	t.Helper()
	g := &Gateway{t: t, rules: defaultRules()}
	up := websocket.Upgrader{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &gwConn{c: ws}
		defer ws.Close()
		g.mu.Lock()
		g.live++
		silent := g.silent
		if silent {
			g.hung = append(g.hung, c) // closed when the test ends
		}
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.live--
			g.mu.Unlock()
			g.drop(c)
		}()
		if silent {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}
		if c.write(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 30000}}) != nil {
			return
		}
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				g.gone(c, err)
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
				if !g.identified(c, p.D) {
					return
				}
			case 6:
				if !g.resumed(c, p.D, r.Host) {
					return
				}
			}
		}
	})
	g.srv = httptest.NewServer(h)
	g.rules.resume = httptest.NewServer(h)
	t.Cleanup(func() {
		g.mu.Lock()
		for _, c := range append(g.conns, g.hung...) {
			c.c.Close()
		}
		g.mu.Unlock()
		g.srv.Close()
		g.rules.resume.Close()
	})
	return g
}

// URL is a DISCORD_GATEWAY_URL for the gateway.
func (g *Gateway) URL() string { return "ws" + strings.TrimPrefix(g.srv.URL, "http") + "/" }

// Connected reports whether an identified (or resumed) connection is open.
func (g *Gateway) Connected() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns) > 0
}

// Live is the number of websocket connections open now.
func (g *Gateway) Live() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live
}

// SetSilent makes the connections that open from now on hang: the
// websocket upgrade succeeds, then the gateway sends nothing.
func (g *Gateway) SetSilent(silent bool) {
	g.mu.Lock()
	g.silent = silent
	g.mu.Unlock()
}

// Identifies returns the d of every IDENTIFY received, oldest first.
func (g *Gateway) Identifies() []json.RawMessage {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]json.RawMessage(nil), g.identify...)
}

// Heartbeats is the number of heartbeats received.
func (g *Gateway) Heartbeats() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.heartbeat
}

// Dispatch sends an event to every identified connection; d is marshalled
// unless it is a json.RawMessage. Call it from the test's goroutine.
func (g *Gateway) Dispatch(typ string, d any) {
	g.t.Helper()
	raw, ok := d.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(d); err != nil {
			g.t.Fatal(fmt.Errorf("discordtest: dispatch %s: %w", typ, err))
		}
	}
	g.mu.Lock()
	g.seq++
	seq := g.seq
	conns := append([]*gwConn(nil), g.conns...)
	g.mu.Unlock()
	for _, c := range conns {
		if err := c.write(map[string]any{"op": 0, "t": typ, "s": seq, "d": raw}); err != nil {
			g.t.Errorf("discordtest: dispatch %s: %v", typ, err)
		}
	}
}

// Raw sends a frame as is to every identified connection.
func (g *Gateway) Raw(frame string) {
	g.mu.Lock()
	conns := append([]*gwConn(nil), g.conns...)
	g.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.c.WriteMessage(websocket.TextMessage, []byte(frame))
		c.mu.Unlock()
	}
}
