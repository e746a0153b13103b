package twitch

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// chatRelay hands the EventSub job worker's chat answers to the bot that
// holds the channel, as serve's one bot per instance does.
type chatRelay struct {
	mu   sync.Mutex
	bots []*Bot
}

func (r *chatRelay) add(b *Bot) {
	r.mu.Lock()
	r.bots = append(r.bots, b)
	r.mu.Unlock()
}

func (r *chatRelay) holder(channel string) *Bot {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bots {
		b.mu.Lock()
		held := b.holdSet[channel]
		b.mu.Unlock()
		if held {
			return b
		}
	}
	return nil
}

func (r *chatRelay) RespondChat(ctx context.Context, ev router.Event, res router.Result) {
	if b := r.holder(ev.Channel); b != nil {
		b.RespondChat(ctx, ev, res)
	}
}

func (r *chatRelay) OwnChatMessage(channel string, mod bool) {
	if b := r.holder(channel); b != nil {
		b.OwnChatMessage(channel, mod)
	}
}

// startChat starts a bot whose chat answers the job worker hands back.
func (w *wsEnv) startChat(cfg Config) *running {
	w.t.Helper()
	b := w.start(cfg)
	w.relay.add(b.Bot)
	return b
}

// chatSession waits for duckchan's chat to be read on exactly one session
// other than those in not, subscribed with the bot account's token, and
// returns it.
func (w *wsEnv) chatSession(t *testing.T, not ...string) string {
	t.Helper()
	var id string
	eventually(t, "a chat subscription made by the bot account", func() bool {
		subs := w.ws.ChatSubscribers("200")
		for s, user := range subs {
			id = s
			if user != "100" || slices.Contains(not, s) {
				return false
			}
		}
		return len(subs) == 1
	})
	return id
}

func (w *wsEnv) say(t *testing.T, login, text string) string {
	t.Helper()
	return w.ws.InjectChat(t, twitchtest.ChatMessage{BroadcasterID: "200", ChatterID: "300", ChatterLogin: login,
		ChatterName: strings.ToUpper(login[:1]) + login[1:], Text: text})
}

// With the WebSocket transport, chat goes over the bot account's own
// session (not the channel's, made with the owner's token) and is answered
// through Helix, with nothing on IRC.
func TestEventSubWebSocketChat(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.grantChat()
	w.command("hello", "Hello {user}!")
	b := w.startChat(w.wsChatConfig("a"))
	events := w.subscribedSession(t)
	chat := w.chatSession(t)
	if chat == events {
		t.Fatalf("chat subscribed on the channel's session %s, want the bot account's own", chat)
	}
	if n := len(w.ws.SessionSubscriptions(chat)); n != 1 {
		t.Errorf("%d subscriptions on the chat session, want 1", n)
	}
	eventually(t, "chat over EventSub, IRC left", func() bool {
		return channelTransport(b).Transport == "EventSub + Helix" && len(w.irc.Live("duckchan")) == 0
	})
	for _, c := range w.api.Find("POST", "/helix/eventsub/subscriptions") {
		if c.Body["type"] == chatMessageType && c.Auth != "Bearer bot-1" {
			t.Errorf("chat subscription made with %q, want the bot account's token", c.Auth)
		}
	}

	id := w.say(t, "alice", "!hello")
	got := w.api.WaitChat(t, "200", 1)
	if got[0].Text != "Hello Alice!" || got[0].ReplyTo != id {
		t.Errorf("reply %+v, want Hello Alice! in reply to %s", got[0], id)
	}
	if n := len(w.irc.Lines("duckchan")); n != 0 {
		t.Errorf("%d lines on IRC, want none", n)
	}
	if s := w.ws.Sessions(); len(s) != 2 {
		t.Errorf("sessions %v, want the channel's and the bot's chat session", s)
	}
}

// Twitch lets one user token hold 3 WebSocket connections: when other
// instances hold them all, chat stays on IRC (and is answered there), the
// health page says why, and chat moves over once a connection is free.
func TestEventSubWebSocketChatConnectionLimit(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.grantChat()
	w.command("hello", "Hello {user}!")
	var others []*fakeClient
	for range 3 {
		c := dialFake(t, w.ws.URL())
		sid := c.welcome(t)
		// The bot account reading its own channel: no grant of another needed.
		if status, _ := createWSSub(t, w.api, "bot-1", chatMessageType, map[string]string{"broadcaster_user_id": "100", "user_id": "100"}, sid); status != http.StatusAccepted {
			t.Fatalf("another instance's chat subscription: HTTP %d", status)
		}
		others = append(others, c)
	}
	b := w.startChat(w.wsChatConfig("a"))
	w.subscribedSession(t) // the channel's events still come, on the owner's token
	eventually(t, "chat on IRC, saying why", func() bool {
		c := channelTransport(b)
		return c.Transport == "IRC" && strings.Contains(c.Note, "3 EventSub WebSocket connections per bot account") && len(w.irc.Live("duckchan")) == 1
	})
	if len(w.ws.ChatSubscribers("200")) != 0 {
		t.Errorf("a chat subscription for duckchan beyond the connection limit")
	}
	id := ircSide(w.env).say("300", "alice", nil, "!hello")
	if got := ircSide(w.env).wait(1); got[0] != (said{"Hello Alice!", id}) {
		t.Errorf("reply over IRC %+v", got[0])
	}

	others[0].conn.Close() // another instance stopped
	w.chatSession(t)
	eventually(t, "chat over EventSub, IRC left", func() bool {
		return channelTransport(b).Transport == "EventSub + Helix" && len(w.irc.Live("duckchan")) == 0
	})
	id = w.say(t, "bob", "!hello")
	if got := w.api.WaitChat(t, "200", 1); got[0].Text != "Hello Bob!" || got[0].ReplyTo != id {
		t.Errorf("reply over Helix %+v", got[0])
	}
}

// A channel lost while the chat session lives has its chat subscription
// deleted with the bot's token, so the instance that takes it over is its
// only reader; the next holder subscribes it on its own chat session.
func TestEventSubWebSocketChatLeaseHandOver(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.grantChat()
	w.command("hello", "Hello {user}!")
	cfgA, cfgB := w.wsChatConfig("instance-a"), w.wsChatConfig("instance-b")
	cfgA.Leases = platform.NewLeases(w.pool, "instance-a", time.Minute)
	cfgB.Leases = platform.NewLeases(w.pool, "instance-b", time.Minute)
	cfgA.LeaseTTL, cfgB.LeaseTTL = time.Minute, time.Minute
	a := w.startChat(cfgA)
	chatA := w.chatSession(t)
	eventually(t, "chat over EventSub on a", func() bool { return channelTransport(a).Transport == "EventSub + Helix" })

	// The lease not renewed in time: a leaves the channel, its chat session stays.
	a.mu.Lock()
	a.leaseUntil = time.Now().Add(-time.Second)
	a.mu.Unlock()
	a.lapse(context.Background())
	// (a renews its lease and takes the channel again soon after: only the delete is checked.)
	eventually(t, "a's chat subscription deleted", func() bool {
		return len(w.api.Find("DELETE", "/helix/eventsub/subscriptions")) > 0
	})
	if del := w.api.Find("DELETE", "/helix/eventsub/subscriptions")[0]; del.Auth != "Bearer bot-1" || w.ws.HasSubscription(del.Query["id"]) {
		t.Errorf("delete %+v: want the chat subscription deleted with the bot account's token", del)
	}
	if !slices.Contains(w.ws.Sessions(), chatA) {
		t.Errorf("a's chat session closed, want it kept for a's other channels")
	}

	a.stop()
	b := w.startChat(cfgB)
	chatB := w.chatSession(t, chatA)
	eventually(t, "chat over EventSub on b", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })
	id := w.say(t, "alice", "!hello")
	if got := w.api.WaitChat(t, "200", 1); got[0].Text != "Hello Alice!" || got[0].ReplyTo != id {
		t.Errorf("reply %+v", got[0])
	}
	if subs := w.ws.ChatSubscribers("200"); len(subs) != 1 || subs[chatB] != "100" {
		t.Errorf("chat subscribers %v, want only b's session", subs)
	}
}

// A chat subscription Twitch revokes (the bot's or the broadcaster's grant
// withdrawn) puts the channel's chat back on IRC, saying so.
func TestEventSubWebSocketChatRevoked(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.grantChat()
	b := w.startChat(w.wsChatConfig("a"))
	chat := w.chatSession(t)
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })
	if err := w.ws.Revoke(chat, chatMessageType, "authorization_revoked"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "chat back on IRC", func() bool {
		c := channelTransport(b)
		return c.Transport == "IRC" && strings.Contains(c.Note, "revoked the chat subscription (authorization_revoked)") && len(w.irc.Live("duckchan")) == 1
	})
}

// A session reads at most its limit of channels (Twitch: 300): the
// channels past it stay on IRC, saying why.
func TestEventSubWebSocketChatSessionFull(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.grantChat()
	w.link("gooseling")
	w.api.AddToken("caster-2", "", "201", "gooseling", twitchtest.BroadcasterScopes...)
	w.api.Grant("201", casterChatScopes...)
	w.api.AddChannel("201", "gooseling")
	w.saveToken("gooseling", platform.Token{Access: "caster-2", AccountID: "201", AccountLogin: "gooseling", Scopes: casterChatScopes, Expires: time.Now().Add(4 * time.Hour)})
	bot, err := New(w.wsChatConfig("a"))
	if err != nil {
		t.Fatal(err)
	}
	bot.chatSessionMax = 1
	b := w.run(bot)
	w.relay.add(bot)
	w.chatSession(t)
	eventually(t, "one channel over EventSub, the other on IRC", func() bool {
		goose := platform.ChannelStatus{}
		for _, c := range b.cfg.Status.Snapshot().Channels {
			if c.Name == "gooseling" {
				goose = c
			}
		}
		return channelTransport(b).Transport == "EventSub + Helix" && goose.Transport == "IRC" &&
			strings.Contains(goose.Note, "already reads 1 channel, Twitch's limit per session") && len(w.irc.Live("gooseling")) == 1
	})
	if n := len(w.ws.ChatSubscribers("201")); n != 0 {
		t.Errorf("%d chat subscriptions for gooseling past the session's limit", n)
	}
}

// Quick chat messages are answered in the order they were sent (their jobs
// would run in parallel), each once: the message is committed with a job
// held back, handled in order here, and the job then finds it processed.
func TestEventSubWebSocketChatAnsweredInOrder(t *testing.T) {
	t.Parallel()
	w := newWSEnv(t, 10)
	w.grantChat()
	w.command("hello", "Hello {user}!")
	b := w.startChat(w.wsChatConfig("a"))
	w.chatSession(t)
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })
	b.OwnChatMessage("duckchan", true) // the bot moderates: its chat budget does not pace the replies
	const n = 12
	var ids []string
	for i := range n {
		login := fmt.Sprintf("user%02d", i)
		ids = append(ids, w.ws.InjectChat(t, twitchtest.ChatMessage{BroadcasterID: "200", ChatterID: fmt.Sprint(300 + i), ChatterLogin: login,
			ChatterName: "U" + login[1:], Text: "!hello"}))
	}
	got := w.api.WaitChat(t, "200", n)
	for i, m := range got {
		if want := fmt.Sprintf("Hello User%02d!", i); m.Text != want || m.ReplyTo != ids[i] {
			t.Errorf("reply %d: %q to %s, want %q to %s", i, m.Text, m.ReplyTo, want, ids[i])
		}
	}
	if c := w.count(t, "SELECT count(*) FROM platform_deliveries WHERE processed_at IS NOT NULL"); c != n {
		t.Errorf("%d deliveries processed, want %d", c, n)
	}
	if c := w.count(t, "SELECT count(*) FROM river_job WHERE kind = 'platform.eventsub' AND state = 'scheduled' AND scheduled_at > now() + interval '30 seconds'"); c != n {
		t.Errorf("%d jobs held back, want %d: each message's job stays as the fallback", c, n)
	}
}
