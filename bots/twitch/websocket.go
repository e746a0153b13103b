package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
)

// EventSub transports (TWITCH_EVENTSUB_TRANSPORT).
const (
	TransportWebhook   = "webhook"   // Twitch posts to BASE_URL, which must be public https on port 443
	TransportWebSocket = "websocket" // the instance holding a channel keeps a WebSocket open to Twitch for it
)

// DefaultEventSubWSURL is Twitch's EventSub WebSocket server.
const DefaultEventSubWSURL = "wss://eventsub.wss.twitch.tv/ws"

// Limits and timing of the EventSub WebSocket.
const (
	wsMaxMessage     = 1 << 20          // one message; Twitch's are a few kilobytes
	wsHandshake      = 10 * time.Second // connect, then the welcome
	wsDrainOld       = 2 * time.Second  // after a reconnect: how long the old connection is read for what it still holds
	wsMaxBackoff     = 2 * time.Minute
	wsStoreAttempts  = 5 // commits of one notification before it is given up
	defaultKeepalive = 10 * time.Second
)

// Close codes of the EventSub WebSocket server that change what the client
// does next. The others (4000 internal error, 4002 ping-pong failed, 4005
// network timeout, 4006 network error) start a fresh session after a backoff.
const (
	closeClientSent       = 4001 // the client sent a message: a bug here, logged as an error
	closeUnused           = 4003 // no subscription within the keepalive time of the welcome: subscribe at once
	closeReconnectExpired = 4004 // the reconnect grace expired: a fresh session
	closeInvalidReconnect = 4007 // the reconnect URL was refused: a fresh session
)

// wsMessage is one message from the EventSub WebSocket server.
type wsMessage struct {
	Metadata struct {
		MessageID        string `json:"message_id"`
		MessageType      string `json:"message_type"`
		MessageTimestamp string `json:"message_timestamp"`
		SubscriptionType string `json:"subscription_type"`
	} `json:"metadata"`
	Payload json.RawMessage `json:"payload"`
}

// wsSessionPayload is the payload of session_welcome and session_reconnect.
type wsSessionPayload struct {
	Session struct {
		ID                      string `json:"id"`
		Status                  string `json:"status"`
		KeepaliveTimeoutSeconds int    `json:"keepalive_timeout_seconds"`
		ReconnectURL            string `json:"reconnect_url"`
	} `json:"session"`
}

// wsState is how one channel's EventSub WebSocket is doing, for the status.
type wsState struct {
	up      bool   // welcomed, and its subscriptions made
	subs    int    // subscriptions created on the session
	problem string // why it is not up
}

// errKeepalive ends a session that was silent past its keepalive timeout.
var errKeepalive = errors.New("nothing received within the keepalive timeout")

// wsClosed is a connection the server closed, with its close code.
type wsClosed struct {
	code int
	text string
}

func (e *wsClosed) Error() string { return fmt.Sprintf("closed by twitch with %d %s", e.code, e.text) }

// eventSubWS keeps one EventSub WebSocket per held channel while its lease
// is held: a channel gained starts one, a channel lost (unlinked, or its
// lease not renewed) closes it, so another instance can take it over.
// Chat goes apart, on the bot account's session (chat_websocket.go).
func (b *Bot) eventSubWS(ctx context.Context) {
	if b.cfg.EventSub == nil {
		b.log.ErrorContext(ctx, "EventSub over WebSocket needs the delivery store: no EventSub events are received")
		return
	}
	type running struct {
		stop context.CancelFunc
		done chan struct{}
	}
	sessions := map[string]running{}
	defer func() {
		for _, r := range sessions {
			r.stop()
		}
		for _, r := range sessions {
			<-r.done
		}
	}()
	if b.cfg.ChatTransport != TransportIRC {
		// The bot account's chat session, apart from the channels' sessions.
		cctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.chatSessionLoop(cctx)
		}()
		defer func() {
			stop()
			<-done
		}()
	}
	var last []string
	t := time.NewTicker(b.cfg.SyncEvery)
	defer t.Stop()
	for {
		b.mu.Lock()
		held := slices.Clone(b.held)
		b.mu.Unlock()
		for ch, r := range sessions {
			select {
			case <-r.done: // ended on its own: start again below if still held
			default:
				if slices.Contains(held, ch) {
					continue
				}
				r.stop()
				<-r.done
			}
			delete(sessions, ch)
			b.setWSState(ch, nil)
		}
		for _, ch := range held {
			if _, ok := sessions[ch]; ok {
				continue
			}
			sctx, stop := context.WithCancel(ctx)
			r := running{stop: stop, done: make(chan struct{})}
			sessions[ch] = r
			go func() {
				defer close(r.done)
				b.wsChannel(sctx, ch)
			}()
		}
		if !slices.Equal(held, last) {
			last = held
			select {
			case b.chatKick <- struct{}{}:
			default:
			}
		}
		b.setStatus()
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		case <-t.C:
		}
	}
}

// setWSState records channel's WebSocket state; nil forgets it.
func (b *Bot) setWSState(channel string, st *wsState) {
	b.mu.Lock()
	if st == nil {
		delete(b.wsStates, channel)
	} else {
		b.wsStates[channel] = *st
	}
	b.mu.Unlock()
	b.setStatus()
}

// wsSummary is the EventSub WebSocket sentence of the bot's status ("" on
// the webhook transport). b.mu is held.
func (b *Bot) wsSummaryLocked() string {
	if b.cfg.Transport != TransportWebSocket {
		return ""
	}
	up := 0
	var problems []string
	for _, ch := range b.held {
		st, ok := b.wsStates[ch]
		switch {
		case ok && st.up && st.problem != "":
			up++
			problems = append(problems, ch+": "+st.problem)
		case ok && st.up:
			up++
		case ok && st.problem != "":
			problems = append(problems, ch+": "+st.problem)
		default:
			problems = append(problems, ch+": connecting")
		}
	}
	s := fmt.Sprintf("EventSub over WebSocket: %d of %s subscribed.", up, channels(len(b.held)))
	if len(problems) > 0 {
		slices.Sort(problems)
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		s += " " + strings.Join(problems, "; ") + "."
	}
	return s
}

// wsChannel keeps channel's EventSub WebSocket until ctx ends: a session
// that ends is followed by a fresh one, whose subscriptions are created
// again, after a backoff that grows while sessions keep failing.
func (b *Bot) wsChannel(ctx context.Context, channel string) {
	failures := 0
	for ctx.Err() == nil {
		if _, err := b.cfg.Tokens.Get(ctx, Platform, channel); err != nil {
			// Twitch takes WebSocket subscriptions only with a user token: the
			// channel owner's, whose grant covers every type Waddle needs.
			if ctx.Err() != nil {
				return
			}
			st := &wsState{problem: "waiting for the channel owner to connect their Twitch account on the linked servers page"}
			if !errors.Is(err, platform.ErrNoToken) {
				st.problem = "cannot load the channel owner's token"
				b.log.WarnContext(ctx, "cannot load the channel owner's token for eventsub", "channel", channel, "err", err)
			}
			b.setWSState(channel, st)
			if !sleepCtx(ctx, b.cfg.SyncEvery*4) {
				return
			}
			continue
		}
		b.setWSState(channel, &wsState{problem: "connecting"})
		subscribed, err := b.wsSession(ctx, b.channelOwner(channel))
		if ctx.Err() != nil {
			return
		}
		wait := time.Duration(0)
		var closed *wsClosed
		switch {
		case errors.As(err, &closed) && closed.code == closeUnused:
			// The subscriptions came too late (or not at all): a fresh session
			// subscribes as soon as it is welcomed, without waiting.
			b.log.WarnContext(ctx, "twitch closed an eventsub websocket that had no subscription in time: reconnecting", "channel", channel)
		case errors.As(err, &closed) && (closed.code == closeReconnectExpired || closed.code == closeInvalidReconnect):
			b.log.WarnContext(ctx, "eventsub websocket reconnect failed: starting a fresh session", "channel", channel, "err", err)
		case errors.As(err, &closed) && closed.code == closeClientSent:
			b.log.ErrorContext(ctx, "twitch says the eventsub websocket client sent a message: reconnecting", "channel", channel)
		default:
			if err != nil {
				b.log.WarnContext(ctx, "eventsub websocket lost: reconnecting", "channel", channel, "err", err)
			}
		}
		if subscribed {
			failures = 0
		} else {
			failures++
		}
		if failures > 1 || (failures == 1 && (closed == nil || closed.code != closeUnused)) {
			wait = backoff(b.cfg.ReconnectBackoff, failures)
		}
		st := &wsState{problem: "reconnecting"}
		if err != nil && !subscribed {
			st.problem = "reconnecting after: " + err.Error()
		}
		b.setWSState(channel, st)
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

// backoff is the wait before attempt n (from 1): base doubled each time up
// to wsMaxBackoff, less up to a quarter at random.
func backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < wsMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, wsMaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wsConn is one connection of a session.
type wsConn struct {
	c         *websocket.Conn
	keepalive time.Duration
}

// close ends the connection with a normal close frame.
func (c *wsConn) close() {
	c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.c.Close()
}

// read returns the next message, waiting no longer than the keepalive
// timeout (plus a margin for the network).
func (c *wsConn) read() (wsMessage, error) {
	c.c.SetReadDeadline(time.Now().Add(c.keepalive + c.keepalive/4 + 100*time.Millisecond))
	_, data, err := c.c.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		var ne interface{ Timeout() bool }
		switch {
		case errors.As(err, &ce):
			return wsMessage{}, &wsClosed{code: ce.Code, text: ce.Text}
		case errors.As(err, &ne) && ne.Timeout():
			return wsMessage{}, errKeepalive
		}
		return wsMessage{}, err
	}
	return parseWSMessage(data)
}

func parseWSMessage(data []byte) (wsMessage, error) {
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return wsMessage{}, fmt.Errorf("eventsub websocket: a message that is not JSON: %w", err)
	}
	return m, nil
}

// welcomeOf reads a session_welcome: the session id and the keepalive
// timeout (10 s when it gives none that Twitch allows).
func welcomeOf(m wsMessage) (session string, keepalive time.Duration, err error) {
	if m.Metadata.MessageType != "session_welcome" {
		return "", 0, fmt.Errorf("eventsub websocket: the first message is %q, not session_welcome", runesCut(m.Metadata.MessageType))
	}
	var p wsSessionPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.Session.ID == "" || len(p.Session.ID) > 200 {
		return "", 0, errors.New("eventsub websocket: the welcome has no usable session id")
	}
	keepalive = defaultKeepalive
	if k := p.Session.KeepaliveTimeoutSeconds; k > 0 && k <= 600 {
		keepalive = time.Duration(k) * time.Second
	}
	return p.Session.ID, keepalive, nil
}

// reconnectURL reads the reconnect_url of a session_reconnect.
func reconnectURL(m wsMessage) (string, error) {
	var p wsSessionPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil || p.Session.ReconnectURL == "" {
		return "", errors.New("eventsub websocket: a reconnect message without a reconnect_url")
	}
	u, err := url.Parse(p.Session.ReconnectURL)
	if err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" || len(p.Session.ReconnectURL) > 2000 {
		return "", fmt.Errorf("eventsub websocket: the reconnect_url %q is not a websocket URL", runesCut(p.Session.ReconnectURL))
	}
	return p.Session.ReconnectURL, nil
}

// dialWS connects to u and reads its welcome; it returns the session id.
func (b *Bot) dialWS(ctx context.Context, u string) (*wsConn, string, error) {
	dctx, cancel := context.WithTimeout(ctx, wsHandshake)
	defer cancel()
	c, resp, err := websocket.DefaultDialer.DialContext(dctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, "", fmt.Errorf("connect to the eventsub websocket: HTTP %d: %w", resp.StatusCode, err)
		}
		return nil, "", fmt.Errorf("connect to the eventsub websocket: %w", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	c.SetReadLimit(wsMaxMessage)
	conn := &wsConn{c: c, keepalive: wsHandshake}
	// A server that never welcomes is given up with the dial's context.
	stop := context.AfterFunc(dctx, conn.close)
	m, err := conn.read()
	if !stop() || err != nil {
		conn.close()
		if err == nil {
			err = dctx.Err()
		}
		return nil, "", fmt.Errorf("eventsub websocket welcome: %w", err)
	}
	session, keepalive, err := welcomeOf(m)
	if err != nil {
		conn.close()
		return nil, "", err
	}
	conn.keepalive = keepalive
	return conn, session, nil
}

// wsOwner is what one EventSub WebSocket session is for: a held channel's
// events (subscribed with the channel owner's token), or the bot account's
// chat (channel.chat.message, subscribed with the bot's token, since all
// subscriptions of a session must be one user's).
type wsOwner struct {
	label string // for logs: the channel, or "bot chat"
	// subscribe creates the session's subscriptions once it is welcomed; it
	// reports whether there is anything to read.
	subscribe func(ctx context.Context, session string) (bool, error)
	// live, when set, runs while the session lives (keeping its
	// subscriptions up to date); its context ends with the session.
	live func(ctx context.Context, session string)
	// revoked, when set, hears each revocation after it is stored.
	revoked func(ctx context.Context, m wsMessage)
	// handle, when set, takes each notification once it is stored (its
	// job held back by chatJobHold) to handle it here, in order.
	handle func(deliveryID int64, m wsMessage)
}

// wsSession runs one EventSub WebSocket session, through any number of
// reconnects Twitch asks for, until it ends. It reports whether the
// session got its subscriptions.
func (b *Bot) wsSession(ctx context.Context, o wsOwner) (subscribed bool, err error) {
	conn, session, err := b.dialWS(ctx, b.cfg.EventSubWSURL)
	if err != nil {
		return false, err
	}
	defer func() { conn.close() }()
	// ctx ending (the lease lost, or shutdown) closes the connection at once.
	stop := context.AfterFunc(ctx, conn.close)
	defer func() { stop() }()

	ok, err := o.subscribe(ctx, session)
	if !ok {
		return false, err
	}
	if o.live != nil {
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			o.live(lctx, session)
		}()
		defer func() {
			cancel()
			<-done
		}()
	}
	for {
		m, err := conn.read()
		if ctx.Err() != nil {
			return true, nil
		}
		if err != nil {
			return true, err
		}
		switch m.Metadata.MessageType {
		case "session_keepalive":
		case "notification", "revocation":
			b.wsDeliver(ctx, o, m)
		case "session_reconnect":
			next, err := b.wsReconnect(ctx, o, conn, m)
			if err != nil {
				return true, err
			}
			stop()
			conn = next
			stop = context.AfterFunc(ctx, next.close)
		default:
			b.log.InfoContext(ctx, "eventsub websocket: ignoring a message of an unknown type", "type", runesCut(m.Metadata.MessageType))
		}
	}
}

// channelOwner is the wsOwner of channel's events session.
func (b *Bot) channelOwner(channel string) wsOwner {
	return wsOwner{
		label: channel,
		subscribe: func(ctx context.Context, session string) (bool, error) {
			n, err := b.wsSubscribe(ctx, channel, session)
			if err != nil && n == 0 {
				b.setWSState(channel, &wsState{problem: "cannot subscribe: " + err.Error()})
				return false, err
			}
			st := &wsState{up: true, subs: n}
			if err != nil {
				b.log.WarnContext(ctx, "some eventsub subscriptions were refused", "channel", channel, "err", err)
				st.problem = fmt.Sprintf("%d of %d event types refused (the channel owner may need to connect their account again)", len(wantedSubscriptions(""))-n, len(wantedSubscriptions("")))
			}
			b.log.InfoContext(ctx, "eventsub websocket connected", "channel", channel, "subscriptions", n)
			b.setWSState(channel, st)
			return true, nil
		},
		revoked: func(ctx context.Context, m wsMessage) {
			b.mu.Lock()
			if st, ok := b.wsStates[channel]; ok && st.subs > 0 {
				st.subs--
				b.wsStates[channel] = st
			}
			b.mu.Unlock()
		},
	}
}

// wsReconnect follows a session_reconnect: it connects to the reconnect URL
// while the old connection stays open, and once the new one is welcomed reads
// what the old one still holds and closes it. The subscriptions carry over.
func (b *Bot) wsReconnect(ctx context.Context, o wsOwner, old *wsConn, m wsMessage) (*wsConn, error) {
	u, err := reconnectURL(m)
	if err != nil {
		return nil, err
	}
	b.log.InfoContext(ctx, "twitch asked the eventsub websocket to reconnect", "session", o.label)
	next, _, err := b.dialWS(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("reconnect: %w", err)
	}
	// Notifications sent on the old connection before the welcome are still
	// in it; a message sent on both is stored once (by its id).
	old.keepalive = wsDrainOld
	for {
		om, err := old.read()
		if err != nil || ctx.Err() != nil {
			break
		}
		if om.Metadata.MessageType == "notification" || om.Metadata.MessageType == "revocation" {
			b.wsDeliver(ctx, o, om)
		}
	}
	old.close()
	return next, nil
}

// wsDeliver commits a notification with its job, or records a revocation,
// through the same store as the webhook: once per message id, committed
// before anything handles it. A store that fails for a moment is tried
// again; the message is given up only if it cannot be used.
func (b *Bot) wsDeliver(ctx context.Context, o wsOwner, m wsMessage) {
	at, err := time.Parse(time.RFC3339Nano, m.Metadata.MessageTimestamp)
	if err != nil {
		at = time.Now()
	}
	typ := EventSubNotification
	if m.Metadata.MessageType == "revocation" {
		typ = EventSubRevocation
	}
	msg := EventSubMessage{ID: m.Metadata.MessageID, Timestamp: at, Type: typ, SubType: m.Metadata.SubscriptionType, Body: m.Payload}
	for attempt := 1; ; attempt++ {
		var err error
		if o.handle != nil && typ == EventSubNotification && msg.ID != "" && len(msg.ID) <= platform.MaxMessageIDLen {
			var id int64
			if id, err = b.cfg.EventSub.store(ctx, msg, chatJobHold); err == nil && id != 0 {
				o.handle(id, m)
			}
		} else {
			_, err = b.cfg.EventSub.Dispatch(ctx, msg)
		}
		switch {
		case err == nil:
			if typ == EventSubRevocation && o.revoked != nil {
				o.revoked(ctx, m)
			}
			return
		case problem.Is(err, problem.Invalid):
			b.log.WarnContext(ctx, "eventsub websocket message not stored", "session", o.label, "message_id", runesCut(msg.ID), "err", err)
			return
		case attempt >= wsStoreAttempts || ctx.Err() != nil:
			b.log.ErrorContext(ctx, "cannot store an eventsub websocket message: it is lost", "session", o.label, "message_id", runesCut(msg.ID), "err", err)
			return
		}
		if !sleepCtx(ctx, backoff(200*time.Millisecond, attempt)) {
			return
		}
	}
}

// runesCut bounds an outside id before it is logged.
func runesCut(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}

// wsSubscribe creates channel's subscriptions on session with the channel
// owner's token (Twitch takes only user tokens for WebSocket subscriptions,
// and each type's authorization is the broadcaster's). It returns how many
// exist on the session.
func (b *Bot) wsSubscribe(ctx context.Context, channel, session string) (int, error) {
	id, err := b.broadcasterID(ctx, channel)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, want := range wantedSubscriptions(id) {
		body := map[string]any{"type": want.Type, "version": want.Version, "condition": want.Condition,
			"transport": map[string]string{"method": "websocket", "session_id": session}}
		err := b.helix.call(ctx, http.MethodPost, "/eventsub/subscriptions", nil, body, channel, nil)
		var he *HelixError
		switch {
		case err == nil:
			n++
		case errors.As(err, &he) && he.Status == http.StatusConflict:
			n++
		default:
			errs = append(errs, fmt.Errorf("%s: %w", want.Type, err))
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
	return n, errors.Join(errs...)
}
