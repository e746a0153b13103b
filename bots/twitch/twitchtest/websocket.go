package twitchtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// MaxWSSubscriptions is how many enabled subscriptions one EventSub
// WebSocket session may hold.
const MaxWSSubscriptions = 300

// EventSub WebSocket close codes, as Twitch sends them.
const (
	CloseInternalError    = 4000
	CloseClientSent       = 4001
	CloseUnused           = 4003
	CloseReconnectExpired = 4004
	CloseInvalidReconnect = 4007
)

// EventSubWS is a local EventSub WebSocket server (eventsub.wss.twitch.tv)
// whose sessions the API's create-subscription endpoint knows: Helix takes a
// websocket transport only with a user token and the id of a session that
// is connected, as Twitch does. It speaks Twitch's protocol: a welcome with
// keepalive_timeout_seconds, keepalives while silent, notifications and
// revocations, session_reconnect with a reconnect_url whose connection is
// welcomed before the old one is closed, and the close codes 4001 (the
// client sent a message), 4003 (no subscription in time), 4004 (the
// reconnect grace expired) and 4007 (an invalid reconnect URL).
type EventSubWS struct {
	api  *API
	srv  *httptest.Server
	up   websocket.Upgrader
	wait sync.WaitGroup

	mu        sync.Mutex
	keepalive int           // seconds, announced in the welcome
	unused    time.Duration // a session without a subscription this long after its welcome is closed with 4003
	grace     time.Duration // a reconnect not made within this closes the old connection with 4004
	sessions  map[string]*wsSession
	subs      map[string]map[string]any // subscriptions by id, as Helix lists them
	owners    map[string]string         // the user whose token made each subscription
	next      int
	dials     int
	closed    bool
	gate      chan struct{} // reconnects wait for it before their welcome; nil: none wait
}

type wsSession struct {
	id        string
	conn      *wsServerConn // the connection that gets messages
	reconnect string        // the token of a reconnect URL handed out, "" when none
	created   time.Time
	silent    bool // keepalives paused
	ended     bool
	user      string // whose token made its first subscription: all of them must be that user's
}

// wsServerConn is one client connection; writes are serialized.
type wsServerConn struct {
	c       *websocket.Conn
	mu      sync.Mutex
	lastOut time.Time
	done    chan struct{}
}

func (c *wsServerConn) send(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastOut = time.Now()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.c.WriteMessage(websocket.TextMessage, data)
}

func (c *wsServerConn) closeWith(code int, text string) {
	c.mu.Lock()
	c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.mu.Unlock()
	c.c.Close()
}

// StartEventSubWS starts the server, makes api's create-subscription
// endpoint accept websocket transports for its sessions, and stops it when
// the test ends. Sessions announce a keepalive of keepaliveSeconds (Twitch:
// 10 to 600) and are closed with 4003 when they have no subscription after
// as long.
func StartEventSubWS(t testing.TB, api *API, keepaliveSeconds int) *EventSubWS {
	t.Helper()
	f := &EventSubWS{api: api, keepalive: keepaliveSeconds, unused: time.Duration(keepaliveSeconds) * time.Second, grace: 30 * time.Second,
		sessions: map[string]*wsSession{}, subs: map[string]map[string]any{}, owners: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	api.mu.Lock()
	api.ws = f
	api.mu.Unlock()
	t.Cleanup(func() {
		f.mu.Lock()
		f.closed = true
		conns := []*wsServerConn{}
		for _, s := range f.sessions {
			if s.conn != nil {
				conns = append(conns, s.conn)
			}
		}
		f.mu.Unlock()
		for _, c := range conns {
			c.c.Close()
		}
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.wait.Wait()
	})
	return f
}

// URL is the server's WebSocket URL (Twitch's wss://eventsub.wss.twitch.tv/ws).
func (f *EventSubWS) URL() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws" }

// SetUnused sets how long a session may go without a subscription after its
// welcome before it is closed with 4003 (Twitch: the keepalive time, 10 s by default).
func (f *EventSubWS) SetUnused(d time.Duration) {
	f.mu.Lock()
	f.unused = d
	f.mu.Unlock()
}

// HoldReconnects makes connections to a reconnect URL wait, before their
// welcome, until release is called: until then the old connection gets the
// session's messages.
func (f *EventSubWS) HoldReconnects() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	gate := make(chan struct{})
	f.gate = gate
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.gate = nil
			f.mu.Unlock()
			close(gate)
		})
	}
}

// Dials returns how many connections were made, reconnects included.
func (f *EventSubWS) Dials() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials
}

// Sessions returns the ids of the sessions with a live connection.
func (f *EventSubWS) Sessions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, s := range f.sessions {
		if !s.ended {
			out = append(out, id)
		}
	}
	return out
}

// SessionSubscriptions returns the enabled subscriptions of a session, by type.
func (f *EventSubWS) SessionSubscriptions(session string) map[string]map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]map[string]any{}
	for _, s := range f.subs {
		if tr := s["transport"].(map[string]any); tr["session_id"] == session && s["status"] == "enabled" {
			out[s["type"].(string)] = cloneSub(s)
		}
	}
	return out
}

// PauseKeepalives stops (or resumes) the keepalives of a session, as a
// connection that died silently would.
func (f *EventSubWS) PauseKeepalives(session string, paused bool) {
	f.mu.Lock()
	if s := f.sessions[session]; s != nil {
		s.silent = paused
	}
	f.mu.Unlock()
}

// Notify sends a notification of the session's enabled subscription of
// type typ carrying event, and returns its message id.
func (f *EventSubWS) Notify(session, typ string, event map[string]any) (string, error) {
	f.mu.Lock()
	f.next++
	id := fmt.Sprintf("befa7b53-d79d-478f-86b9-%012d", f.next)
	f.mu.Unlock()
	return id, f.NotifyAs(session, id, typ, event)
}

// NotifyAs sends a notification with the given message id (Twitch sends a
// message again, with the same id, when unsure it arrived).
func (f *EventSubWS) NotifyAs(session, messageID, typ string, event map[string]any) error {
	f.mu.Lock()
	var conn *wsServerConn
	if s := f.sessions[session]; s != nil {
		conn = s.conn
	}
	var sub map[string]any
	for _, x := range f.subs {
		if tr := x["transport"].(map[string]any); tr["session_id"] == session && x["type"] == typ && x["status"] == "enabled" {
			sub = cloneSub(x)
		}
	}
	f.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("no session %s", session)
	}
	if sub == nil {
		return fmt.Errorf("session %s has no enabled %s subscription", session, typ)
	}
	return conn.send(f.message(messageID, "notification", sub, map[string]any{"subscription": sub, "event": event}))
}

// Revoke revokes the session's subscription of type typ with a status
// such as authorization_revoked, and sends the revocation message.
func (f *EventSubWS) Revoke(session, typ, status string) error {
	f.mu.Lock()
	var conn *wsServerConn
	if s := f.sessions[session]; s != nil {
		conn = s.conn
	}
	var sub map[string]any
	for _, x := range f.subs {
		if tr := x["transport"].(map[string]any); tr["session_id"] == session && x["type"] == typ && x["status"] == "enabled" {
			x["status"] = status
			sub = cloneSub(x)
		}
	}
	f.next++
	id := fmt.Sprintf("84c1e79a-2a4b-4c13-ba0b-%012d", f.next)
	f.mu.Unlock()
	if conn == nil || sub == nil {
		return fmt.Errorf("session %s has no enabled %s subscription", session, typ)
	}
	return conn.send(f.message(id, "revocation", sub, map[string]any{"subscription": sub}))
}

// Reconnect sends session_reconnect with a reconnect_url (one the server
// refuses with 4007 when bad is true). The old connection keeps getting
// messages until the new one is welcomed; it is closed then, or with 4004
// when the grace passes first.
func (f *EventSubWS) Reconnect(session string, bad bool) error {
	f.mu.Lock()
	s := f.sessions[session]
	if s == nil || s.conn == nil || s.ended {
		f.mu.Unlock()
		return fmt.Errorf("no session %s", session)
	}
	f.next++
	token := fmt.Sprintf("r%d", f.next)
	s.reconnect = token
	if bad {
		token = "expired-" + token
	}
	old, grace := s.conn, f.grace
	f.mu.Unlock()
	u := f.URL() + "?reconnect=" + token
	err := old.send(map[string]any{"metadata": f.meta(fmt.Sprintf("reconnect-%s", token), "session_reconnect"),
		"payload": map[string]any{"session": map[string]any{"id": session, "status": "reconnecting", "keepalive_timeout_seconds": nil,
			"reconnect_url": u, "connected_at": s.created.UTC().Format(time.RFC3339Nano)}}})
	if err != nil {
		return err
	}
	time.AfterFunc(grace, func() {
		f.mu.Lock()
		still := s.conn == old && !s.ended
		f.mu.Unlock()
		if still {
			old.closeWith(CloseReconnectExpired, "client failed to reconnect")
		}
	})
	return nil
}

// Close closes the session's connection with code (such as 4000 for an
// internal server error).
func (f *EventSubWS) Close(session string, code int) {
	if conn := f.connOf(session); conn != nil {
		conn.closeWith(code, "closed by the test")
	}
}

// cloneSub copies a subscription deep enough that it can be encoded while
// the server changes the original.
func cloneSub(x map[string]any) map[string]any {
	c := maps.Clone(x)
	c["condition"] = maps.Clone(x["condition"].(map[string]any))
	c["transport"] = maps.Clone(x["transport"].(map[string]any))
	return c
}

// connOf is the session's current connection, nil when none.
func (f *EventSubWS) connOf(session string) *wsServerConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sessions[session]; s != nil {
		return s.conn
	}
	return nil
}

// Drop ends the session's connection without a close frame, as a network
// failure would.
func (f *EventSubWS) Drop(session string) {
	if conn := f.connOf(session); conn != nil {
		conn.c.Close()
	}
}

func (f *EventSubWS) meta(id, typ string) map[string]any {
	return map[string]any{"message_id": id, "message_type": typ, "message_timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
}

func (f *EventSubWS) message(id, typ string, sub map[string]any, payload map[string]any) map[string]any {
	m := f.meta(id, typ)
	m["subscription_type"], m["subscription_version"] = sub["type"], sub["version"]
	return map[string]any{"metadata": m, "payload": payload}
}

func (f *EventSubWS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" {
		http.NotFound(w, r)
		return
	}
	c, err := f.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn := &wsServerConn{c: c, done: make(chan struct{})}
	f.mu.Lock()
	if gate := f.gate; gate != nil && r.URL.Query().Get("reconnect") != "" {
		f.mu.Unlock()
		<-gate
		f.mu.Lock()
	}
	if f.closed {
		f.mu.Unlock()
		c.Close()
		return
	}
	f.dials++
	f.wait.Add(1)
	defer f.wait.Done()
	var s *wsSession
	var old *wsServerConn
	if token := r.URL.Query().Get("reconnect"); token != "" {
		for _, x := range f.sessions {
			if x.reconnect == token && !x.ended {
				s = x
			}
		}
		if s == nil {
			f.mu.Unlock()
			conn.closeWith(CloseInvalidReconnect, "invalid reconnect")
			return
		}
		old, s.conn, s.reconnect = s.conn, conn, ""
	} else {
		f.next++
		s = &wsSession{id: fmt.Sprintf("AgoQ%08dEhAGdGVzdA", f.next), conn: conn, created: time.Now()}
		f.sessions[s.id] = s
	}
	keepalive, unused := f.keepalive, f.unused
	f.mu.Unlock()

	err = conn.send(map[string]any{"metadata": f.meta(fmt.Sprintf("welcome-%p", conn), "session_welcome"),
		"payload": map[string]any{"session": map[string]any{"id": s.id, "status": "connected", "keepalive_timeout_seconds": keepalive,
			"reconnect_url": nil, "connected_at": time.Now().UTC().Format(time.RFC3339Nano)}}})
	if old != nil {
		old.closeWith(websocket.CloseNormalClosure, "")
	}
	if err != nil {
		f.end(s, conn)
		return
	}
	if old == nil {
		time.AfterFunc(unused, func() {
			f.mu.Lock()
			n := 0
			for _, x := range f.subs {
				if x["transport"].(map[string]any)["session_id"] == s.id {
					n++
				}
			}
			f.mu.Unlock()
			if n == 0 {
				conn.closeWith(CloseUnused, "connection unused")
			}
		})
	}
	go f.keepalives(s, conn, time.Duration(keepalive)*time.Second)
	// The client may send nothing but control frames (pongs, close).
	for {
		typ, _, err := c.ReadMessage()
		if err != nil {
			break
		}
		if typ == websocket.TextMessage || typ == websocket.BinaryMessage {
			conn.closeWith(CloseClientSent, "client sent inbound traffic")
			break
		}
	}
	f.end(s, conn)
}

// end records that conn is gone; the session ends with it unless it moved
// to a new connection, and its subscriptions are then disconnected.
func (f *EventSubWS) end(s *wsSession, conn *wsServerConn) {
	close(conn.done)
	conn.c.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.conn != conn {
		return
	}
	s.ended = true
	for _, x := range f.subs {
		if x["transport"].(map[string]any)["session_id"] == s.id && x["status"] == "enabled" {
			x["status"] = "websocket_disconnected"
			x["transport"].(map[string]any)["disconnected_at"] = time.Now().UTC().Format(time.RFC3339Nano)
		}
	}
}

// keepalives sends session_keepalive after every silent stretch of a little
// less than the keepalive time, unless paused.
func (f *EventSubWS) keepalives(s *wsSession, conn *wsServerConn, every time.Duration) {
	tick := every * 3 / 5
	t := time.NewTicker(tick / 4)
	defer t.Stop()
	for {
		select {
		case <-conn.done:
			return
		case <-t.C:
		}
		f.mu.Lock()
		silent := s.silent
		f.mu.Unlock()
		conn.mu.Lock()
		quiet := time.Since(conn.lastOut) >= tick
		conn.mu.Unlock()
		if !silent && quiet {
			conn.send(map[string]any{"metadata": f.meta(fmt.Sprintf("keepalive-%d", time.Now().UnixNano()), "session_keepalive"), "payload": map[string]any{}})
		}
	}
}

// wsScopes is the scope each subscription type needs in the user token.
var wsScopes = map[string]string{
	"channel.follow":            "moderator:read:followers",
	"channel.subscribe":         "channel:read:subscriptions",
	"channel.subscription.gift": "channel:read:subscriptions",
	"channel.cheer":             "bits:read",
	"channel.ban":               "channel:moderate",
}

// MaxWSConnections is how many WebSocket sessions with enabled
// subscriptions one user's tokens (of one client id) may have at once.
const MaxWSConnections = 3

// createSub answers POST /eventsub/subscriptions for a websocket transport
// as Twitch does: 400 without a user token, for a session that is not
// connected, or for a session whose subscriptions another user's token
// made; 403 when the token's user may not read the condition's channel
// (a channel.chat.message user_id that is not the token's user, or what
// refusal says) or lacks the type's scope; 409 for a subscription the
// session has; 429 past MaxWSSubscriptions on the session or for a
// session that would be the user's MaxWSConnections+1st with
// subscriptions; else 202 with the subscription enabled. user is the
// token's user id, "" for an app token.
func (f *EventSubWS) createSub(user string, scopes []string, body map[string]any, refusal func(typ string, cond map[string]any) string) (int, any) {
	bad := func(status int, msg string) (int, any) {
		return status, map[string]any{"error": http.StatusText(status), "status": status, "message": msg}
	}
	if user == "" {
		return bad(400, "invalid transport and auth combination")
	}
	typ, _ := body["type"].(string)
	version, _ := body["version"].(string)
	keys, ok := subTypes[typ+" v"+version]
	if !ok {
		return bad(400, "invalid subscription type or version")
	}
	full := map[string]any{}
	for _, k := range keys {
		full[k] = ""
	}
	cond, _ := body["condition"].(map[string]any)
	for k, v := range cond {
		s, isStr := v.(string)
		if _, known := full[k]; !known || !isStr {
			return bad(400, "invalid condition key "+k)
		}
		full[k] = s
	}
	if typ == "channel.raid" {
		if (full["from_broadcaster_user_id"] == "") == (full["to_broadcaster_user_id"] == "") {
			return bad(400, "exactly one of from_broadcaster_user_id and to_broadcaster_user_id is required")
		}
	} else {
		for _, k := range keys {
			if full[k] == "" {
				return bad(400, "missing condition "+k)
			}
		}
	}
	// The types that need the broadcaster's (or, for follows, a moderator's) grant.
	switch typ {
	case "channel.follow":
		if full["moderator_user_id"] != user {
			return bad(403, "subscription missing proper authorization")
		}
	case "channel.subscribe", "channel.subscription.gift", "channel.cheer", "channel.ban":
		if full["broadcaster_user_id"] != user {
			return bad(403, "subscription missing proper authorization")
		}
	}
	if need := wsScopes[typ]; need != "" && !slices.Contains(scopes, need) {
		return bad(403, "subscription missing proper authorization")
	}
	if typ == "channel.chat.message" && full["user_id"] != user {
		return bad(403, "subscription missing proper authorization")
	}
	if refusal != nil {
		if msg := refusal(typ, full); msg != "" {
			return bad(403, msg)
		}
	}
	tr, _ := body["transport"].(map[string]any)
	session, _ := tr["session_id"].(string)
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[session]
	if s == nil || s.ended || s.conn == nil {
		return bad(400, "websocket transport session does not exist or has already disconnected")
	}
	n := 0
	for _, x := range f.subs {
		xt := x["transport"].(map[string]any)
		if xt["session_id"] != session || x["status"] != "enabled" {
			continue
		}
		n++
		if x["type"] == typ && x["version"] == version && maps.Equal(x["condition"].(map[string]any), full) {
			return bad(409, "subscription already exists")
		}
	}
	if n >= MaxWSSubscriptions {
		return bad(429, "websocket transport session subscription limit exceeded")
	}
	if s.user != "" && s.user != user {
		return bad(400, "websocket transport session subscriptions must all be created with the same user's token")
	}
	if n == 0 {
		conns := 0
		for _, x := range f.sessions {
			if x != s && !x.ended && x.user == user && f.enabledLocked(x.id) > 0 {
				conns++
			}
		}
		if conns >= MaxWSConnections {
			return bad(429, "websocket transport connection limit exceeded")
		}
	}
	s.user = user
	f.next++
	id := fmt.Sprintf("7b1c9d5e-3f0a-4e8b-9c2d-%012d", f.next)
	sub := map[string]any{"id": id, "type": typ, "version": version, "status": "enabled", "condition": full, "cost": 0,
		"created_at": time.Now().UTC().Format(time.RFC3339Nano),
		"transport":  map[string]any{"method": "websocket", "session_id": session, "connected_at": s.created.UTC().Format(time.RFC3339Nano)}}
	f.subs[id] = sub
	f.owners[id] = user
	return 202, map[string]any{"data": []any{cloneSub(sub)}, "total": n + 1, "total_cost": 0, "max_total_cost": 10}
}

// enabledLocked counts the enabled subscriptions of a session. f.mu is held.
func (f *EventSubWS) enabledLocked(session string) int {
	n := 0
	for _, x := range f.subs {
		if x["transport"].(map[string]any)["session_id"] == session && x["status"] == "enabled" {
			n++
		}
	}
	return n
}

// hasSub reports whether id is a websocket subscription.
func (f *EventSubWS) hasSub(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.subs[id]
	return ok
}

// deleteSub answers DELETE /eventsub/subscriptions?id= for a websocket
// subscription as Twitch does: 401 with an app token, 404 when the token's
// user did not make it, else 204.
func (f *EventSubWS) deleteSub(user, id string) (int, any) {
	if user == "" {
		return 401, map[string]any{"error": "Unauthorized", "status": 401, "message": "a user access token is required to delete a websocket subscription"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[id]; !ok || f.owners[id] != user {
		return 404, map[string]any{"error": "Not Found", "status": 404, "message": "subscription not found"}
	}
	delete(f.subs, id)
	delete(f.owners, id)
	return 204, nil
}

// InjectChat sends m as a channel.chat.message notification on each live
// session with an enabled chat subscription for m.BroadcasterID, as Twitch
// does. It fails the test when there is none, and returns the chat
// message's id.
func (f *EventSubWS) InjectChat(t testing.TB, m ChatMessage) string {
	t.Helper()
	id := newMessageID()
	f.api.mu.Lock()
	f.api.chat.init()
	f.api.chat.known[id] = m.BroadcasterID
	if m.BroadcasterLogin == "" {
		m.BroadcasterLogin = f.api.loginLocked(m.BroadcasterID)
	}
	f.api.mu.Unlock()
	if m.ChatterName == "" {
		m.ChatterName = m.ChatterLogin
	}
	type target struct {
		conn *wsServerConn
		sub  map[string]any
	}
	var out []target
	f.mu.Lock()
	for _, sid := range slices.Sorted(maps.Keys(f.subs)) {
		x := f.subs[sid]
		s := f.sessions[x["transport"].(map[string]any)["session_id"].(string)]
		if x["type"] != "channel.chat.message" || x["status"] != "enabled" || x["condition"].(map[string]any)["broadcaster_user_id"] != m.BroadcasterID ||
			s == nil || s.ended || s.conn == nil {
			continue
		}
		out = append(out, target{s.conn, cloneSub(x)})
	}
	f.next++
	n := f.next
	f.mu.Unlock()
	if len(out) == 0 {
		t.Fatalf("twitchtest: no websocket channel.chat.message subscription for broadcaster %s", m.BroadcasterID)
	}
	for i, o := range out {
		mid := fmt.Sprintf("c4a7e0d2-1b3f-4e5a-8c9d-%06d%06d", n, i)
		if err := o.conn.send(f.message(mid, "notification", o.sub, map[string]any{"subscription": o.sub, "event": chatEvent(id, m)})); err != nil {
			t.Fatalf("twitchtest: send the chat notification: %v", err)
		}
	}
	return id
}

// ChatSubscribers returns the sessions with an enabled chat subscription
// for broadcaster id, and the user whose token made each.
func (f *EventSubWS) ChatSubscribers(broadcasterID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for id, x := range f.subs {
		session := x["transport"].(map[string]any)["session_id"].(string)
		if s := f.sessions[session]; x["type"] == "channel.chat.message" && x["status"] == "enabled" && s != nil && !s.ended &&
			x["condition"].(map[string]any)["broadcaster_user_id"] == broadcasterID {
			out[session] = f.owners[id]
		}
	}
	return out
}

// HasSubscription reports whether the websocket subscription id exists.
func (f *EventSubWS) HasSubscription(id string) bool { return f.hasSub(id) }
