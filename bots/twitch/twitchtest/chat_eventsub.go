package twitchtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// chatState is the API server's chat over EventSub and Helix (who
// moderates where is the viewers' state, SetModerator): scopes users
// granted the app besides those of their tokens, the secrets of the
// subscriptions (for signing deliveries), where callbacks are delivered, and
// the chat messages sent and injected. It is guarded by API.mu.
type chatState struct {
	grants  map[string][]string // user id → scopes granted besides its tokens' (Grant)
	secrets map[string]string   // subscription id → its webhook secret
	targets map[string]string   // callback URL → the local URL that receives its deliveries
	logins  map[string]string   // broadcaster id → login, for event bodies
	sent    []ChatSent
	known   map[string]string // message id → broadcaster id of messages in chat, for replies
	drop    *dropReason       // answer the next send with is_sent false
	window  map[string][]time.Time
	last    []delivery     // the deliveries of the last injected message, with their message ids
	echo    chan delivery  // the sender's own sent messages, delivered to the chat subscriptions; nil until RouteWebhooks
	echoWG  sync.WaitGroup // the goroutine delivering echo
}

type dropReason struct{ Code, Message string }

func (c *chatState) init() {
	if c.grants == nil {
		c.grants, c.secrets, c.targets = map[string][]string{}, map[string]string{}, map[string]string{}
		c.logins, c.known, c.window = map[string]string{"200": "duckchan"}, map[string]string{}, map[string][]time.Time{}
	}
}

// ChatSent is a chat message sent through Helix POST /chat/messages.
type ChatSent struct {
	ID            string
	BroadcasterID string
	SenderID      string
	Text          string
	ReplyTo       string // reply_parent_message_id
	AppToken      bool   // sent with the app token (Twitch shows the chat-bot badge)
	At            time.Time
}

// ChatMessage is a chat message to inject as a channel.chat.message
// notification.
type ChatMessage struct {
	BroadcasterID, BroadcasterLogin string
	ChatterID, ChatterLogin         string
	ChatterName                     string   // "" is ChatterLogin
	Badges                          []string // badge set ids: broadcaster, moderator, vip, subscriber…
	Text                            string
	Bits                            int64
	SourceBroadcasterID             string // set: shared chat from that channel
}

// Grant records that user id granted the app scopes, besides those of its
// valid tokens (added to earlier ones).
func (f *API) Grant(userID string, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chat.init()
	for _, s := range scopes {
		if !slices.Contains(f.chat.grants[userID], s) {
			f.chat.grants[userID] = append(f.chat.grants[userID], s)
		}
	}
}

// grantsLocked is what user id granted the app: the scopes of its valid,
// unrevoked tokens and those given to Grant or GrantScopes. f.mu is held.
func (f *API) grantsLocked(user string) []string {
	out := slices.Clone(f.chat.grants[user])
	for s := range f.viewersLocked().scopes[user] {
		out = append(out, s)
	}
	for tok, u := range f.users {
		if u[0] == user && f.valid[tok] && !f.revoked[tok] {
			out = append(out, f.scopes[tok]...)
		}
	}
	return out
}

// loginLocked is the login of broadcaster id, "" for an unknown account.
// f.mu is held.
func (f *API) loginLocked(id string) string {
	if l := f.chat.logins[id]; l != "" {
		return l
	}
	for login, uid := range f.logins {
		if uid == id {
			return login
		}
	}
	return ""
}

// RouteWebhooks delivers the notifications of subscriptions on callback to
// target (a local URL), as Twitch would deliver them to callback. From then
// on, as on Twitch, a message sent through Helix is also delivered to the
// channel's chat subscriptions, with the sender's badges.
func (f *API) RouteWebhooks(t testing.TB, callback, target string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chat.init()
	f.chat.targets[callback] = target
	if f.chat.echo != nil {
		return
	}
	echo := make(chan delivery, 256)
	f.chat.echo = echo
	f.chat.echoWG.Add(1)
	go func() {
		defer f.chat.echoWG.Done()
		for d := range echo {
			post(d.target, d.secret, d.id, "channel.chat.message", d.body) // a refused echo is the bot's business
		}
	}()
	t.Cleanup(func() {
		f.mu.Lock()
		f.chat.echo = nil
		f.mu.Unlock()
		close(echo)
		f.chat.echoWG.Wait()
	})
}

// DropNextChat answers the next send with is_sent false and this reason.
func (f *API) DropNextChat(code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chat.drop = &dropReason{code, message}
}

// ChatSent returns the chat messages sent to broadcaster id, oldest first.
func (f *API) ChatSent(broadcasterID string) []ChatSent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ChatSent
	for _, m := range f.chat.sent {
		if m.BroadcasterID == broadcasterID {
			out = append(out, m)
		}
	}
	return out
}

// WaitChat waits up to 15 s until n messages were sent to broadcaster id
// and returns them.
func (f *API) WaitChat(t testing.TB, broadcasterID string, n int) []ChatSent {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := f.ChatSent(broadcasterID)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("twitchtest: %d chat messages sent to %s, want %d", len(got), broadcasterID, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chatSubRefusal checks a channel.chat.message subscription as Twitch
// does: the reading user (user_id) granted user:read:chat and user:bot,
// and the broadcaster granted channel:bot unless the reader moderates the
// channel or is the broadcaster. It returns why not, or "".
func (f *API) chatSubRefusal(typ string, cond map[string]any) string {
	if typ != "channel.chat.message" {
		return ""
	}
	f.chat.init()
	caster, _ := cond["broadcaster_user_id"].(string)
	user, _ := cond["user_id"].(string)
	g := f.grantsLocked(user)
	if !slices.Contains(g, "user:read:chat") || !slices.Contains(g, "user:bot") {
		return "subscription missing proper authorization"
	}
	if user != caster && !f.viewersLocked().mods[caster][user] && !slices.Contains(f.grantsLocked(caster), "channel:bot") {
		return "subscription missing proper authorization"
	}
	return ""
}

// SetSubscriptionSecret sets the webhook secret that signs the deliveries
// of a subscription made with AddSubscription.
func (f *API) SetSubscriptionSecret(id, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rememberSecret(id, secret)
}

// rememberSecret keeps a new subscription's secret, to sign its deliveries.
func (f *API) rememberSecret(id, secret string) {
	f.chat.init()
	f.chat.secrets[id] = secret
}

// sendChat answers POST /helix/chat/messages as Twitch does. token is the
// request's access token.
func (f *API) sendChat(token string, body map[string]any) (int, any) {
	f.chat.init()
	fail := func(status int, msg string) (int, any) {
		return status, map[string]any{"error": http.StatusText(status), "status": status, "message": msg}
	}
	caster, _ := body["broadcaster_id"].(string)
	sender, _ := body["sender_id"].(string)
	text, _ := body["message"].(string)
	parent, _ := body["reply_parent_message_id"].(string)
	switch {
	case caster == "":
		return fail(400, "Missing required parameter \"broadcaster_id\"")
	case sender == "":
		return fail(400, "Missing required parameter \"sender_id\"")
	case text == "":
		return fail(400, "Missing required parameter \"message\"")
	case f.loginLocked(caster) == "":
		return fail(400, "The broadcaster_id is not valid")
	case utf8.RuneCountInString(text) > 500:
		return fail(422, "The message is too large")
	}
	app := token == "app-1"
	if !app {
		u, ok := f.users[token]
		if !ok || u[0] != sender {
			return fail(401, "The ID in sender_id must match the user ID in the user access token")
		}
	}
	g := f.grantsLocked(sender)
	if !slices.Contains(g, "user:write:chat") {
		return fail(401, "Missing scope: user:write:chat")
	}
	if app {
		if !slices.Contains(g, "user:bot") {
			return fail(403, "The sender has not granted user:bot")
		}
		if sender != caster && !f.viewersLocked().mods[caster][sender] && !slices.Contains(f.grantsLocked(caster), "channel:bot") {
			return fail(403, "The sender is not permitted to send chat messages to the broadcaster's chat room")
		}
	}
	if parent != "" && f.chat.known[parent] != caster {
		return fail(400, "The reply_parent_message_id is not a message in this chat")
	}
	// Twitch's chat limits apply to Helix too: 20 messages in 30 s where the
	// sender does not moderate, 100 where it does.
	now := time.Now()
	limit := 20
	if sender == caster || f.viewersLocked().mods[caster][sender] {
		limit = 100
	}
	w := slices.DeleteFunc(f.chat.window[sender], func(t time.Time) bool { return now.Sub(t) > 30*time.Second })
	if len(w) >= limit {
		f.chat.window[sender] = w
		return fail(429, "Too Many Requests")
	}
	f.chat.window[sender] = append(w, now)
	id := newMessageID()
	if d := f.chat.drop; d != nil {
		f.chat.drop = nil
		return 200, map[string]any{"data": []any{map[string]any{"message_id": "", "is_sent": false,
			"drop_reason": map[string]any{"code": d.Code, "message": d.Message}}}}
	}
	f.chat.sent = append(f.chat.sent, ChatSent{ID: id, BroadcasterID: caster, SenderID: sender, Text: text, ReplyTo: parent, AppToken: app, At: now})
	f.chat.known[id] = caster
	if f.chat.echo != nil {
		var badges []string
		switch {
		case sender == caster:
			badges = []string{"broadcaster"}
		case f.viewersLocked().mods[caster][sender]:
			badges = []string{"moderator"}
		}
		login := ""
		if u, ok := f.users[token]; ok {
			login = u[1]
		}
		for _, d := range f.chatDeliveriesLocked(id, ChatMessage{BroadcasterID: caster, ChatterID: sender, ChatterLogin: login, Badges: badges, Text: text}) {
			select {
			case f.chat.echo <- d:
			default: // a test that never reads its chat: drop the echo
			}
		}
	}
	return 200, map[string]any{"data": []any{map[string]any{"message_id": id, "is_sent": true, "drop_reason": nil}}}
}

func newMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// delivery is one signed webhook request to make.
type delivery struct {
	target, secret string
	id             string // the Twitch-Eventsub-Message-Id
	body           []byte
}

// InjectChat posts m to the chat of m.BroadcasterID as Twitch's EventSub
// would: a signed channel.chat.message notification to the callback of each
// of the broadcaster's chat subscriptions, with the reader's user_id in the
// condition. It fails the test when no subscription exists or a callback
// answers other than 2xx, and returns the message id.
func (f *API) InjectChat(t testing.TB, m ChatMessage) string {
	t.Helper()
	id := newMessageID()
	f.mu.Lock()
	f.chat.init()
	f.chat.known[id] = m.BroadcasterID
	out := f.chatDeliveriesLocked(id, m)
	f.chat.last = out
	f.mu.Unlock()
	if len(out) == 0 {
		t.Fatalf("twitchtest: no channel.chat.message subscription for broadcaster %s with a routed callback", m.BroadcasterID)
	}
	f.deliverAll(t, out)
	return id
}

// RedeliverChat posts the last injected message's notifications again with
// the same message ids, as Twitch does when it is not sure a delivery
// arrived.
func (f *API) RedeliverChat(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	out := f.chat.last
	f.mu.Unlock()
	f.deliverAll(t, out)
}

func (f *API) deliverAll(t testing.TB, out []delivery) {
	t.Helper()
	for _, d := range out {
		status, err := post(d.target, d.secret, d.id, "channel.chat.message", d.body)
		if err != nil {
			t.Fatalf("twitchtest: deliver to %s: %v", d.target, err)
		}
		if status/100 != 2 {
			t.Fatalf("twitchtest: the callback answered the chat notification with %d", status)
		}
	}
}

// chatDeliveriesLocked builds the notifications of chat message id, one
// per chat subscription of its broadcaster whose callback is routed. f.mu
// is held.
func (f *API) chatDeliveriesLocked(id string, m ChatMessage) []delivery {
	if m.BroadcasterLogin == "" {
		m.BroadcasterLogin = f.loginLocked(m.BroadcasterID)
	}
	if m.ChatterName == "" {
		m.ChatterName = m.ChatterLogin
	}
	var out []delivery
	for _, sid := range slices.Sorted(maps.Keys(f.subs)) {
		s := f.subs[sid]
		cond, _ := s["condition"].(map[string]any)
		if s["type"] != "channel.chat.message" || cond["broadcaster_user_id"] != m.BroadcasterID ||
			(s["status"] != "enabled" && s["status"] != "webhook_callback_verification_pending") {
			continue
		}
		tr, _ := s["transport"].(map[string]any)
		cb, _ := tr["callback"].(string)
		target := f.chat.targets[cb]
		if target == "" {
			continue
		}
		body, err := json.Marshal(map[string]any{"subscription": s, "event": chatEvent(id, m)})
		if err != nil {
			continue
		}
		out = append(out, delivery{target: target, secret: f.chat.secrets[sid], id: newMessageID(), body: body})
	}
	return out
}

// chatEvent is a channel.chat.message event in Twitch's shape.
func chatEvent(id string, m ChatMessage) map[string]any {
	badges := []any{}
	for _, b := range m.Badges {
		badges = append(badges, map[string]any{"set_id": b, "id": "1", "info": ""})
	}
	var cheer any
	if m.Bits > 0 {
		cheer = map[string]any{"bits": m.Bits}
	}
	var source any
	if m.SourceBroadcasterID != "" {
		source = m.SourceBroadcasterID
	}
	return map[string]any{
		"broadcaster_user_id": m.BroadcasterID, "broadcaster_user_login": m.BroadcasterLogin, "broadcaster_user_name": m.BroadcasterLogin,
		"chatter_user_id": m.ChatterID, "chatter_user_login": m.ChatterLogin, "chatter_user_name": m.ChatterName,
		"message_id": id,
		"message":    map[string]any{"text": m.Text, "fragments": []any{map[string]any{"type": "text", "text": m.Text, "cheermote": nil, "emote": nil, "mention": nil}}},
		"color":      "#00FF7F", "badges": badges, "message_type": "text", "cheer": cheer, "reply": nil,
		"channel_points_custom_reward_id": nil, "channel_points_animation_id": nil,
		"source_broadcaster_user_id": source, "source_broadcaster_user_login": nil, "source_broadcaster_user_name": nil,
		"source_message_id": nil, "source_badges": nil,
	}
}

// post delivers an EventSub notification body to target as Twitch does,
// signed with secret, and returns the answer's status.
func post(target, secret, messageID, subType string, body []byte) (int, error) {
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(messageID + ts))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Twitch-Eventsub-Message-Id", messageID)
	req.Header.Set("Twitch-Eventsub-Message-Retry", "0")
	req.Header.Set("Twitch-Eventsub-Message-Type", "notification")
	req.Header.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Twitch-Eventsub-Message-Timestamp", ts)
	req.Header.Set("Twitch-Eventsub-Subscription-Type", subType)
	req.Header.Set("Twitch-Eventsub-Subscription-Version", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// AddChannel names a broadcaster's login, for Helix chat and event bodies
// (duckchan, 200, is known from the start).
func (f *API) AddChannel(id, login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chat.init()
	f.chat.logins[id] = login
}
