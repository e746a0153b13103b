package discordtest

// Discord's session rules, as the fake gateway enforces them:
//
//   - GET /gateway/bot (on a REST linked with UseGateway) answers the URL,
//     the recommended shards and session_start_limit: total, remaining,
//     reset_after (ms) and max_concurrency.
//   - Every IDENTIFY spends one of the day's session starts; one past the
//     budget resets the token: that IDENTIFY and all later ones are closed
//     with 4004.
//   - Identifies share max_concurrency buckets (shard id modulo
//     max_concurrency); a second IDENTIFY in a bucket within the window
//     (5 s unless SetWindow) gets Invalid Session (op 9, d=false).
//   - An IDENTIFY asking for privileged intents the app was not granted
//     (SetGranted) is closed with 4014; a shard out of range with 4010.
//   - READY carries a new session id and resume_gateway_url, a second
//     server; RESUME is accepted there only, for a session still valid
//     (not ended by op 9 d=false, ExpireSessions, or the client closing
//     with 1000 or 1001): otherwise it gets op 9 d=false.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Privileged are the privileged intents: Server Members, Presence and
// Message Content.
const Privileged = 1<<1 | 1<<8 | 1<<15

// Resume is one RESUME the gateway received.
type Resume struct {
	AtResumeURL bool // sent to resume_gateway_url
	SessionID   string
	Seq         int64
	Accepted    bool
}

// rules is the gateway's session state; Gateway.mu guards it.
type rules struct {
	resume      *httptest.Server // resume_gateway_url
	total       int
	remaining   int
	resetAt     time.Time
	concurrency int
	shards      int
	window      time.Duration
	granted     int // privileged intents the app may use
	failWith    int // close every IDENTIFY with this code; 0 = none
	tokenReset  bool
	buckets     map[int]time.Time // bucket → last IDENTIFY let through
	sessions    map[string]bool   // session id → still resumable
	nextSession int
	at          []time.Time // when each IDENTIFY arrived
	tooSoon     int         // identifies refused with op 9 for their bucket
	resumes     []Resume
	bySession   map[*gwConn]string
	opNine      map[*gwConn]bool // connections that were sent op 9
	sameSocket  int              // identifies on a connection after its op 9
}

func defaultRules() rules {
	return rules{total: 1000, remaining: 1000, resetAt: time.Now().Add(24 * time.Hour), concurrency: 1, shards: 1,
		window: 5 * time.Second, granted: Privileged, buckets: map[int]time.Time{}, sessions: map[string]bool{}, bySession: map[*gwConn]string{},
		opNine: map[*gwConn]bool{}}
}

// UseGateway makes the REST API answer GET /gateway/bot for g.
func (f *REST) UseGateway(g *Gateway) {
	f.mu.Lock()
	f.gw = g
	f.mu.Unlock()
}

// gatewayBot answers GET /gateway/bot: Discord's shape, from the linked
// gateway (or a fresh day's budget for a gateway at Discord's URL). It
// reports whether it answered.
func (f *REST) gatewayBot(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path != "/gateway/bot" {
		return false
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bot ") {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"401: Unauthorized","code":0}`)
		return true
	}
	f.mu.Lock()
	g := f.gw
	f.mu.Unlock()
	body := map[string]any{"url": "wss://gateway.discord.gg", "shards": 1, "session_start_limit": map[string]any{
		"total": 1000, "remaining": 1000, "reset_after": 86400000, "max_concurrency": 1}}
	if g != nil {
		g.mu.Lock()
		ru := &g.rules
		if ru.tokenReset {
			g.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"401: Unauthorized","code":0}`)
			return true
		}
		body = map[string]any{"url": g.URL(), "shards": ru.shards, "session_start_limit": map[string]any{
			"total": ru.total, "remaining": ru.remaining, "reset_after": max(time.Until(ru.resetAt), 0).Milliseconds(),
			"max_concurrency": ru.concurrency}}
		g.mu.Unlock()
	}
	json.NewEncoder(w).Encode(body)
	return true
}

// SetLimits sets the day's session starts: total, remaining, and when
// they reset.
func (g *Gateway) SetLimits(total, remaining int, resetAfter time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rules.total, g.rules.remaining, g.rules.resetAt = total, remaining, time.Now().Add(resetAfter)
}

// SetSharding sets the recommended shards and max_concurrency.
func (g *Gateway) SetSharding(shards, maxConcurrency int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rules.shards, g.rules.concurrency = shards, max(maxConcurrency, 1)
}

// SetWindow sets how far apart two identifies in a bucket must be (5 s).
func (g *Gateway) SetWindow(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rules.window = d
}

// SetGranted sets the privileged intents the app may use (Privileged by
// default; 0 is an app whose portal has none turned on).
func (g *Gateway) SetGranted(intents int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rules.granted = intents & Privileged
}

// FailIdentify closes every IDENTIFY that passes the rules with code
// instead of READY; 0 stops.
func (g *Gateway) FailIdentify(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rules.failWith = code
}

// ResumeURL is the resume_gateway_url READY gives.
func (g *Gateway) ResumeURL() string {
	return "ws" + strings.TrimPrefix(g.rules.resume.URL, "http") + "/"
}

// IdentifyTimes returns when each IDENTIFY arrived, oldest first.
func (g *Gateway) IdentifyTimes() []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Time(nil), g.rules.at...)
}

// TooSoon is the number of identifies answered with op 9 for coming too
// soon in their bucket.
func (g *Gateway) TooSoon() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rules.tooSoon
}

// Remaining is the session starts left today.
func (g *Gateway) Remaining() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rules.remaining
}

// TokenReset reports whether the budget was exceeded, which makes Discord
// reset the bot's token.
func (g *Gateway) TokenReset() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rules.tokenReset
}

// Resumes returns every RESUME received, oldest first.
func (g *Gateway) Resumes() []Resume {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Resume(nil), g.rules.resumes...)
}

// Invalidate sends Invalid Session (op 9) with d=resumable to every
// identified connection; when not resumable their sessions end.
func (g *Gateway) Invalidate(resumable bool) {
	g.mu.Lock()
	conns := append([]*gwConn(nil), g.conns...)
	for _, c := range conns {
		g.rules.opNine[c] = true
		if !resumable {
			g.rules.sessions[g.rules.bySession[c]] = false
		}
	}
	g.conns = nil
	g.mu.Unlock()
	for _, c := range conns {
		c.write(map[string]any{"op": 9, "d": resumable})
	}
}

// Drop closes every identified connection with code (4000: unknown
// error, which a client resumes after); the sessions stay resumable.
func (g *Gateway) Drop(code int) {
	g.mu.Lock()
	conns := append([]*gwConn(nil), g.conns...)
	g.conns = nil
	g.mu.Unlock()
	for _, c := range conns {
		c.close(code, "dropped by the test")
	}
}

// close sends a close frame with code and closes the connection.
func (c *gwConn) close(code int, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.c.Close()
}

// gone reads why a connection ended: a client that closes with 1000 or
// 1001 ends its session, as on Discord.
func (g *Gateway) gone(c *gwConn, err error) {
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if id, ok := g.rules.bySession[c]; ok {
		g.rules.sessions[id] = false
	}
}

// drop forgets a connection that ended.
func (g *Gateway) drop(c *gwConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, x := range g.conns {
		if x == c {
			g.conns = append(g.conns[:i], g.conns[i+1:]...)
			break
		}
	}
	delete(g.rules.bySession, c)
	delete(g.rules.opNine, c)
}

// SameSocket is the number of identifies sent on a connection after the
// gateway sent it op 9 (Discord wants a new connection).
func (g *Gateway) SameSocket() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rules.sameSocket
}

// ExpireSessions ends every session: a RESUME of one gets op 9 d=false.
func (g *Gateway) ExpireSessions() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id := range g.rules.sessions {
		g.rules.sessions[id] = false
	}
}

// identified applies Discord's rules to an IDENTIFY and answers it; false
// means the connection was closed.
func (g *Gateway) identified(c *gwConn, d json.RawMessage) bool {
	var id struct {
		Token   string  `json:"token"`
		Intents int     `json:"intents"`
		Shard   *[2]int `json:"shard"`
	}
	if err := json.Unmarshal(d, &id); err != nil {
		c.close(4002, "Error while decoding payload.")
		return false
	}
	shard, count := 0, 1
	if id.Shard != nil {
		shard, count = id.Shard[0], id.Shard[1]
	}
	g.mu.Lock()
	ru := &g.rules
	g.identify = append(g.identify, d)
	ru.at = append(ru.at, time.Now())
	if ru.opNine[c] {
		ru.sameSocket++
	}
	code, text := 0, ""
	switch {
	case id.Token == "" || ru.tokenReset:
		code, text = 4004, "Authentication failed."
	case ru.remaining <= 0:
		ru.tokenReset = true // Discord resets the token of a bot past its budget
		code, text = 4004, "Authentication failed."
	}
	if code == 0 {
		ru.remaining--
		bucket := shard % ru.concurrency
		if last, ok := ru.buckets[bucket]; ok && time.Since(last) < ru.window {
			ru.tooSoon++
			ru.opNine[c] = true
			g.mu.Unlock()
			c.write(map[string]any{"op": 9, "d": false})
			return true
		}
		ru.buckets[bucket] = time.Now()
		switch {
		case count < 1 || shard < 0 || shard >= count:
			code, text = 4010, "Invalid shard."
		case id.Intents&Privileged&^ru.granted != 0:
			code, text = 4014, "Disallowed intent(s)."
		case ru.failWith != 0:
			code, text = ru.failWith, "Failed by the test."
		}
	}
	if code != 0 {
		g.mu.Unlock()
		c.close(code, text)
		return false
	}
	ru.nextSession++
	session := fmt.Sprintf("session-%d", ru.nextSession)
	ru.sessions[session] = true
	ru.bySession[c] = session
	g.seq++
	seq := g.seq
	g.mu.Unlock()
	ready := map[string]any{"v": 10, "session_id": session, "resume_gateway_url": g.ResumeURL(),
		"user": map[string]any{"id": BotID, "username": "waddle", "bot": true}, "guilds": []any{}}
	if id.Shard != nil {
		ready["shard"] = []int{shard, count}
	}
	if c.write(map[string]any{"op": 0, "t": "READY", "s": seq, "d": ready}) != nil {
		return false
	}
	g.mu.Lock()
	g.conns = append(g.conns, c)
	g.mu.Unlock()
	return true
}

// resumed answers a RESUME received on host: RESUMED at the resume URL
// for a valid session, op 9 d=false otherwise.
func (g *Gateway) resumed(c *gwConn, d json.RawMessage, host string) bool {
	var r struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	json.Unmarshal(d, &r)
	g.mu.Lock()
	ru := &g.rules
	atResume := "http://"+host == ru.resume.URL
	ok := atResume && r.Token != "" && !ru.tokenReset && ru.sessions[r.SessionID]
	ru.resumes = append(ru.resumes, Resume{AtResumeURL: atResume, SessionID: r.SessionID, Seq: r.Seq, Accepted: ok})
	if !ok {
		ru.sessions[r.SessionID] = false
		ru.opNine[c] = true
		g.mu.Unlock()
		c.write(map[string]any{"op": 9, "d": false})
		return true
	}
	ru.bySession[c] = r.SessionID
	g.seq++
	seq := g.seq
	g.mu.Unlock()
	if c.write(map[string]any{"op": 0, "t": "RESUMED", "s": seq, "d": map[string]any{}}) != nil {
		return false
	}
	g.mu.Lock()
	g.conns = append(g.conns, c)
	g.mu.Unlock()
	return true
}
