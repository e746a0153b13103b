package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/platform"
)

// wsEnv is an env whose channel owner connected their account, with an
// EventSub WebSocket server and the job queue that hands stored deliveries
// to the router, as serve runs it.
type wsEnv struct {
	*env
	ws    *twitchtest.EventSubWS
	es    *EventSub
	relay *chatRelay // the job worker's chat answers go to the bots started with startChat
}

func newWSEnv(t *testing.T, keepaliveSeconds int) *wsEnv {
	t.Helper()
	e := newEnv(t)
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Expires: time.Now().Add(4 * time.Hour)})
	jobs, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	logger := testLogger(t)
	w := &wsEnv{env: e, ws: twitchtest.StartEventSubWS(t, e.api, keepaliveSeconds), es: NewEventSub(platform.NewDeliveries(e.pool, jobs), logger), relay: &chatRelay{}}

	workers := river.NewWorkers()
	river.AddWorker(workers, &EventSubWorker{Deliveries: platform.NewDeliveries(e.pool, nil), Router: e.rt, Chat: w.relay, Logger: logger})
	runner, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}, Workers: workers,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
	return w
}

// wsConfig is a bot on the WebSocket transport, reconnecting fast, with
// chat on IRC: only the channels' sessions are opened (wsChatConfig adds
// the bot's chat session).
func (w *wsEnv) wsConfig(holder string) Config {
	cfg := w.config(holder)
	cfg.Transport, cfg.EventSubWSURL, cfg.EventSub, cfg.ReconnectBackoff = TransportWebSocket, w.ws.URL(), w.es, 50*time.Millisecond
	cfg.ChatTransport = TransportIRC
	return cfg
}

// wsChatConfig is wsConfig with chat over EventSub where it can go.
func (w *wsEnv) wsChatConfig(holder string) Config {
	cfg := w.wsConfig(holder)
	cfg.ChatTransport = TransportEventSub
	return cfg
}

// subscribedSession waits for a connected session other than those in not
// to have duckchan's 8 subscriptions, and returns its id.
func (w *wsEnv) subscribedSession(t *testing.T, not ...string) string {
	t.Helper()
	var id string
	eventually(t, "a session with 8 subscriptions", func() bool {
		for _, s := range w.ws.Sessions() {
			if !slices.Contains(not, s) && len(w.ws.SessionSubscriptions(s)) == 8 {
				id = s
				return true
			}
		}
		return false
	})
	return id
}

func (w *wsEnv) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// processed waits until the delivery of message id is processed, and
// returns its error text.
func (w *wsEnv) processed(t *testing.T, id string) string {
	t.Helper()
	var d db.PlatformDelivery
	eventually(t, "delivery "+id+" processed", func() bool {
		var did int64
		if err := w.pool.QueryRow(context.Background(), "SELECT id FROM platform_deliveries WHERE message_id = $1", id).Scan(&did); err != nil {
			return false
		}
		var err error
		d, err = db.New(w.pool).DeliveryGet(context.Background(), did)
		return err == nil && d.ProcessedAt != nil
	})
	return d.Error
}

func raidEvent(from string, viewers int) map[string]any {
	return map[string]any{"from_broadcaster_user_id": "1234", "from_broadcaster_user_login": from, "from_broadcaster_user_name": strings.ToUpper(from[:1]) + from[1:],
		"to_broadcaster_user_id": "200", "to_broadcaster_user_login": "duckchan", "to_broadcaster_user_name": "DuckChan", "viewers": viewers}
}

// A hub without a public URL (BASE_URL=http://127.0.0.1:8080) has no
// webhook: the raid arrives over the WebSocket and earns points as a
// webhook raid does.
func TestEventSubWebSocketRaid(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	b := w.start(w.wsConfig("a"))
	sid := w.subscribedSession(t)

	for _, c := range w.api.Find("POST", "/helix/eventsub/subscriptions") {
		tr, _ := c.Body["transport"].(map[string]any)
		if c.Auth != "Bearer caster-1" || tr["method"] != "websocket" || tr["session_id"] != sid || len(tr) != 2 {
			t.Errorf("%v subscription with %q, transport %v: want the channel owner's token and the session", c.Body["type"], c.Auth, tr)
		}
	}
	if n := len(w.api.Subscriptions()); n != 0 {
		t.Errorf("%d webhook subscriptions, want none", n)
	}
	eventually(t, "the status naming the WebSocket", func() bool {
		return strings.Contains(b.cfg.Status.Snapshot().Detail, "EventSub over WebSocket: 1 of 1 channel subscribed.")
	})

	id, err := w.ws.Notify(sid, "channel.raid", raidEvent("cool_user", 42))
	if err != nil {
		t.Fatal(err)
	}
	if reason := w.processed(t, id); reason != "" {
		t.Fatalf("raid processed with %q", reason)
	}
	if n := w.count(t, "SELECT count(*) FROM points_ledger WHERE community_id = $1 AND user_id = '1234' AND reason = 'raid' AND delta > 0", w.cid); n != 1 {
		t.Errorf("%d raid awards for the raider, want 1", n)
	}
	if n := w.count(t, "SELECT count(*) FROM river_job WHERE kind = 'platform.eventsub'"); n != 1 {
		t.Errorf("%d eventsub jobs, want 1", n)
	}
}

// A session_reconnect moves to the new connection without creating the
// subscriptions again, and an event sent around it is stored once.
func TestEventSubWebSocketReconnect(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.start(w.wsConfig("a"))
	sid := w.subscribedSession(t)
	posts := len(w.api.Find("POST", "/helix/eventsub/subscriptions"))

	release := w.ws.HoldReconnects()
	defer release()
	if err := w.ws.Reconnect(sid, false); err != nil {
		t.Fatal(err)
	}
	// Sent on the old connection while the new one waits for its welcome:
	// the client reads it after the welcome, before it closes the old one.
	first, err := w.ws.Notify(sid, "channel.raid", raidEvent("first_raider", 5))
	if err != nil {
		t.Fatal(err)
	}
	release()
	eventually(t, "the reconnect", func() bool { return w.ws.Dials() == 2 })
	second, err := w.ws.Notify(sid, "channel.raid", raidEvent("second_raider", 6))
	if err != nil {
		t.Fatal(err)
	}
	// Twitch sends again what it is unsure arrived, with the same id.
	if err := w.ws.NotifyAs(sid, second, "channel.raid", raidEvent("second_raider", 6)); err != nil {
		t.Fatal(err)
	}
	w.processed(t, first)
	w.processed(t, second)
	if n := w.count(t, "SELECT count(*) FROM platform_deliveries WHERE platform = 'twitch'"); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
	if n := w.count(t, "SELECT count(*) FROM points_ledger WHERE community_id = $1 AND reason = 'raid'", w.cid); n != 2 {
		t.Errorf("%d raid awards, want 2", n)
	}
	if n := len(w.api.Find("POST", "/helix/eventsub/subscriptions")); n != posts {
		t.Errorf("%d subscription requests after the reconnect, want %d: they carry over", n, posts)
	}
	if s := w.ws.Sessions(); len(s) != 1 || s[0] != sid || len(w.ws.SessionSubscriptions(sid)) != 8 {
		t.Errorf("sessions %v after the reconnect, want %s with its 8 subscriptions", s, sid)
	}
}

// A session silent past its keepalive timeout is given up for a fresh one,
// whose subscriptions are created again.
func TestEventSubWebSocketKeepaliveTimeout(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 1)
	w.start(w.wsConfig("a"))
	sid := w.subscribedSession(t)
	w.ws.PauseKeepalives(sid, true)
	fresh := w.subscribedSession(t, sid)
	eventually(t, "the silent session closed", func() bool { return !slices.Contains(w.ws.Sessions(), sid) })

	id, err := w.ws.Notify(fresh, "channel.raid", raidEvent("cool_user", 7))
	if err != nil {
		t.Fatal(err)
	}
	if reason := w.processed(t, id); reason != "" {
		t.Errorf("raid on the fresh session processed with %q", reason)
	}
}

// Close codes: 4000 and a reconnect grace that expired (4004) start a fresh
// session; a reconnect URL the server refuses (4007) does too.
func TestEventSubWebSocketCloseCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		close func(w *wsEnv, sid string) error
	}{
		{"4000 internal server error", func(w *wsEnv, sid string) error { w.ws.Close(sid, twitchtest.CloseInternalError); return nil }},
		{"4007 invalid reconnect", func(w *wsEnv, sid string) error { return w.ws.Reconnect(sid, true) }},
		{"4004 reconnect grace expired", func(w *wsEnv, sid string) error { w.ws.Close(sid, twitchtest.CloseReconnectExpired); return nil }},
		{"dropped without a close frame", func(w *wsEnv, sid string) error { w.ws.Drop(sid); return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWSEnv(t, 10)
			w.start(w.wsConfig("a"))
			sid := w.subscribedSession(t)
			if err := tc.close(w, sid); err != nil {
				t.Fatal(err)
			}
			fresh := w.subscribedSession(t, sid)
			if _, err := w.ws.Notify(fresh, "stream.online", map[string]any{"id": "9001", "broadcaster_user_id": "200",
				"broadcaster_user_login": "duckchan", "broadcaster_user_name": "DuckChan", "type": "live", "started_at": "2026-01-01T10:11:12Z"}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the event stored", func() bool {
				return w.count(t, "SELECT count(*) FROM platform_deliveries WHERE kind = 'stream.online'") == 1
			})
		})
	}
}

// A revocation is recorded as the webhook's is, naming the channel.
func TestEventSubWebSocketRevocation(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.start(w.wsConfig("a"))
	sid := w.subscribedSession(t)
	if err := w.ws.Revoke(sid, "channel.cheer", "authorization_revoked"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the revocation recorded", func() bool {
		list, err := db.New(w.pool).RevocationList(context.Background(), 10)
		return err == nil && len(list) == 1 && list[0].Kind == "channel.cheer" && list[0].Reason == "authorization_revoked" && list[0].Server == "duckchan"
	})
}

// Without the channel owner's grant there is nothing to subscribe with: no
// connection is held open (Twitch would close it unused), and the status
// says what to do.
func TestEventSubWebSocketWaitsForTheOwnersGrant(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	if err := w.tokens.Delete(context.Background(), Platform, "duckchan"); err != nil {
		t.Fatal(err)
	}
	b := w.start(w.wsConfig("a"))
	eventually(t, "the status asking for the grant", func() bool {
		return strings.Contains(b.cfg.Status.Snapshot().Detail, "duckchan: waiting for the channel owner to connect their Twitch account")
	})
	if n := w.ws.Dials(); n != 0 {
		t.Errorf("%d connections without a grant, want none", n)
	}
	w.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Expires: time.Now().Add(4 * time.Hour)})
	w.subscribedSession(t)
}

// One instance holds the channel's WebSocket; when it stops, the other
// takes the channel over with a session of its own.
func TestEventSubWebSocketLeaseHandOver(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	cfgA, cfgB := w.wsConfig("instance-a"), w.wsConfig("instance-b")
	cfgA.Leases = platform.NewLeases(w.pool, "instance-a", time.Minute)
	cfgB.Leases = platform.NewLeases(w.pool, "instance-b", time.Minute)
	cfgA.LeaseTTL, cfgB.LeaseTTL = time.Minute, time.Minute
	a := w.start(cfgA)
	sidA := w.subscribedSession(t)
	w.start(cfgB)
	time.Sleep(500 * time.Millisecond) // several of b's lease syncs
	if s, d := w.ws.Sessions(), w.ws.Dials(); len(s) != 1 || d != 1 {
		t.Fatalf("sessions %v after %d connections, want only a's", s, d)
	}
	first, err := w.ws.Notify(sidA, "channel.raid", raidEvent("first_raider", 3))
	if err != nil {
		t.Fatal(err)
	}
	w.processed(t, first)

	a.stop()
	sidB := w.subscribedSession(t, sidA)
	eventually(t, "a's session closed", func() bool { return !slices.Contains(w.ws.Sessions(), sidA) })
	second, err := w.ws.Notify(sidB, "channel.raid", raidEvent("second_raider", 4))
	if err != nil {
		t.Fatal(err)
	}
	if reason := w.processed(t, second); reason != "" {
		t.Errorf("raid on b's session processed with %q", reason)
	}
	holders, err := cfgB.Leases.Holders(context.Background(), leasePrefix)
	if err != nil || len(holders) != 1 || holders[0].Holder != "instance-b" {
		t.Errorf("holders %+v, %v; want instance-b", holders, err)
	}
}

// Losing the lease (its renewal overdue) closes the WebSocket at once, so
// the instance that takes the channel over is its only reader.
func TestEventSubWebSocketClosedOnLeaseLoss(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	b := w.start(w.wsConfig("a"))
	sid := w.subscribedSession(t)
	b.mu.Lock()
	b.leaseUntil = time.Now().Add(-time.Second)
	b.mu.Unlock()
	b.lapse(context.Background())
	eventually(t, "the session closed", func() bool { return !slices.Contains(w.ws.Sessions(), sid) })
}

func TestNewChecksTheEventSubTransport(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"unknown transport", func(c *Config) { c.Transport = "carrier-pigeon" }, "TWITCH_EVENTSUB_TRANSPORT"},
		{"websocket without the delivery store", func(c *Config) { c.EventSub = nil }, "Config.EventSub"},
		{"websocket URL not ws", func(c *Config) { c.EventSubWSURL = "https://eventsub.example/ws" }, "ws(s)://"},
	}
	for _, tc := range cases {
		cfg := w.wsConfig("a")
		tc.edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}

// The fake refuses what Twitch refuses.
func TestFakeEventSubWSRefuses(t *testing.T) {
	t.Parallel()
	api := twitchtest.StartAPI(t)
	ws := twitchtest.StartEventSubWS(t, api, 10)
	c := dialFake(t, ws.URL())
	sid := c.welcome(t)

	create := func(token, typ string, cond map[string]string, session string) int {
		t.Helper()
		status, _ := createWSSub(t, api, token, typ, cond, session)
		return status
	}
	caster := map[string]string{"broadcaster_user_id": "200"}
	for _, tc := range []struct {
		name, token, typ string
		cond             map[string]string
		session          string
		want             int
	}{
		{"app token", "app-1", "stream.online", caster, sid, 400},
		{"session not connected", "caster-1", "stream.online", caster, "no-such-session", 400},
		{"another user's channel", "bot-1", "channel.cheer", caster, sid, 403},
		{"the owner's token", "caster-1", "channel.cheer", caster, sid, 202},
		{"a duplicate", "caster-1", "channel.cheer", caster, sid, 409},
		{"another user's token on the session", "bot-1", "stream.online", caster, sid, 400},
		{"no authorization needed", "caster-1", "stream.online", caster, sid, 202},
	} {
		if got := create(tc.token, tc.typ, tc.cond, tc.session); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
	for i := len(ws.SessionSubscriptions(sid)); i < twitchtest.MaxWSSubscriptions; i++ {
		// Raids from distinct channels: distinct conditions.
		if got := create("caster-1", "channel.raid", map[string]string{"from_broadcaster_user_id": fmt.Sprint(1000 + i)}, sid); got != 202 {
			t.Fatalf("subscription %d: HTTP %d", i+1, got)
		}
	}
	if got := create("caster-1", "stream.offline", caster, sid); got != 429 {
		t.Errorf("subscription %d: HTTP %d, want 429", twitchtest.MaxWSSubscriptions+1, got)
	}

	// Chat: read as the token's user only, and on at most 3 of its sessions.
	chatAs := func(user string) map[string]string {
		return map[string]string{"broadcaster_user_id": "100", "user_id": user}
	}
	var chatIDs []string
	for i := range twitchtest.MaxWSConnections + 1 {
		s := dialFake(t, ws.URL()).welcome(t)
		if got := create("bot-1", "channel.chat.message", chatAs("200"), s); got != 403 {
			t.Errorf("chat read as another user: HTTP %d, want 403", got)
		}
		got, id := createWSSub(t, api, "bot-1", "channel.chat.message", chatAs("100"), s)
		if want := map[bool]int{true: 202, false: 429}[i < twitchtest.MaxWSConnections]; got != want {
			t.Errorf("chat on the bot's session %d: HTTP %d, want %d", i+1, got, want)
		}
		if id != "" {
			chatIDs = append(chatIDs, id)
		}
	}
	del := func(token, id string) int {
		t.Helper()
		req, _ := http.NewRequest("DELETE", api.HelixURL()+"/eventsub/subscriptions?id="+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Client-Id", twitchtest.ClientID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{{"app token", "app-1", 401}, {"another user", "caster-1", 404}, {"the user who made it", "bot-1", 204}, {"again", "bot-1", 404}} {
		if got := del(tc.token, chatIDs[0]); got != tc.want {
			t.Errorf("delete with %s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}

	// A client that sends a message is closed with 4001.
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"hello":1}`)); err != nil {
		t.Fatal(err)
	}
	if code := c.closeCode(t); code != twitchtest.CloseClientSent {
		t.Errorf("after a client message: close %d, want 4001", code)
	}
	// A session with no subscription in time is closed with 4003.
	ws.SetUnused(50 * time.Millisecond)
	c = dialFake(t, ws.URL())
	c.welcome(t)
	if code := c.closeCode(t); code != twitchtest.CloseUnused {
		t.Errorf("unused session: close %d, want 4003", code)
	}
	// A reconnect URL that is not the one handed out is closed with 4007.
	c = dialFake(t, ws.URL()+"?reconnect=made-up")
	if code := c.closeCode(t); code != twitchtest.CloseInvalidReconnect {
		t.Errorf("invalid reconnect: close %d, want 4007", code)
	}
}

// fakeClient is a bare WebSocket client of the fake.
type fakeClient struct{ conn *websocket.Conn }

func dialFake(t *testing.T, u string) *fakeClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &fakeClient{conn: c}
}

// welcome reads the welcome and returns the session id.
func (c *fakeClient) welcome(t *testing.T) string {
	t.Helper()
	var m struct {
		Metadata struct {
			MessageType string `json:"message_type"`
		} `json:"metadata"`
		Payload wsSessionPayload `json:"payload"`
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.conn.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	if m.Metadata.MessageType != "session_welcome" || m.Payload.Session.ID == "" || m.Payload.Session.KeepaliveTimeoutSeconds != 10 {
		t.Fatalf("first message %+v, want a welcome with a session id and the keepalive", m)
	}
	return m.Payload.Session.ID
}

// closeCode reads until the server closes the connection and returns its code.
func (c *fakeClient) closeCode(t *testing.T) int {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzEventSubWSMessage: no message panics the client's parsing, and what
// it accepts is usable: a session id of at most 200 bytes with a keepalive
// Twitch allows, a reconnect URL that is a ws(s):// URL.
func FuzzEventSubWSMessage(f *testing.F) {
	f.Add([]byte(`{"metadata":{"message_type":"session_welcome"},"payload":{"session":{"id":"AQoQ","keepalive_timeout_seconds":10}}}`))
	f.Add([]byte(`{"metadata":{"message_type":"session_welcome"},"payload":{"session":{"id":"AQoQ","keepalive_timeout_seconds":-1}}}`))
	f.Add([]byte(`{"metadata":{"message_type":"session_reconnect"},"payload":{"session":{"reconnect_url":"wss://eventsub.wss.twitch.tv/ws?x"}}}`))
	f.Add([]byte(`{"metadata":{"message_type":"notification"},"payload":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseWSMessage(data)
		if err != nil {
			return
		}
		if id, keepalive, err := welcomeOf(m); err == nil && (id == "" || len(id) > 200 || keepalive <= 0 || keepalive > 600*time.Second) {
			t.Errorf("welcome %q accepted with session %q and keepalive %v", data, id, keepalive)
		}
		if u, err := reconnectURL(m); err == nil && !strings.HasPrefix(strings.ToLower(u), "ws://") && !strings.HasPrefix(strings.ToLower(u), "wss://") {
			t.Errorf("reconnect URL %q accepted", u)
		}
	})
}

// Subscriptions Twitch refuses (the owner's grant lacks their scopes) leave
// the others working, and the status says how many were refused.
func TestEventSubWebSocketRefusedTypesShown(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	// duckchan's own grant, made before subs and cheers were asked for.
	w.api.AddToken("caster-old", "", "200", "duckchan", "moderator:read:followers", "channel:moderate")
	w.saveToken("duckchan", platform.Token{Access: "caster-old", AccountID: "200", AccountLogin: "duckchan", Expires: time.Now().Add(4 * time.Hour)})
	b := w.start(w.wsConfig("a"))
	eventually(t, "the status naming the refused types", func() bool {
		return strings.Contains(b.cfg.Status.Snapshot().Detail, "duckchan: 3 of 8 event types refused")
	})
	var sid string
	for _, s := range w.ws.Sessions() {
		sid = s
	}
	subs := w.ws.SessionSubscriptions(sid)
	if len(subs) != 5 || subs["channel.subscribe"] != nil || subs["channel.subscription.gift"] != nil || subs["channel.cheer"] != nil {
		t.Errorf("subscriptions %v, want all but subscribe, gift and cheer, whose scopes were not granted", slices.Sorted(maps.Keys(subs)))
	}
}

// createWSSub creates a websocket subscription on the fake with token, and
// returns the status and the subscription's id.
func createWSSub(t *testing.T, api *twitchtest.API, token, typ string, cond map[string]string, session string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"type":%q,"version":"1","condition":%s,"transport":{"method":"websocket","session_id":%q}}`, typ, jsonOf(t, cond), session)
	req, _ := http.NewRequest("POST", api.HelixURL()+"/eventsub/subscriptions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Client-Id", twitchtest.ClientID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	id := ""
	if len(out.Data) > 0 {
		id = out.Data[0].ID
	}
	return resp.StatusCode, id
}
