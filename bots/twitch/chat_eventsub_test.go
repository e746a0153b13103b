package twitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

const (
	chatCallback = "https://hub.example/webhooks/twitch/eventsub"
	chatSecret   = "a-secret-of-20-chars"
)

// botChatScopes and casterChatScopes are the grants of the EventSub chat transport.
var (
	botChatScopes    = []string{"chat:read", "chat:edit", "user:read:chat", "user:write:chat", "user:bot"}
	casterChatScopes = []string{"channel:bot", "moderator:manage:chat_messages", "moderator:manage:banned_users"}
)

// without returns scopes less drop.
func without(scopes []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return slices.Contains(drop, s) })
}

// grantChat stores and grants the scopes of chat over EventSub: the bot
// account's and duckchan's broadcaster's.
func (e *env) grantChat() {
	e.t.Helper()
	e.saveToken(platform.BotSubject, platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot",
		Expires: time.Now().Add(4 * time.Hour), Scopes: botChatScopes})
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Scopes: casterChatScopes})
	e.api.Grant("100", botChatScopes...)
	e.api.Grant("200", casterChatScopes...)
}

// startWebhooks starts a bot made from cfg behind the EventSub webhook
// path: a receiver on the callback that verifies and commits each delivery
// with its job, and the job worker that hands it to the bot.
func (e *env) startWebhooks(cfg Config) *running {
	e.t.Helper()
	cfg.EventSubSecret, cfg.CallbackURL = chatSecret, chatCallback
	b, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	workers := river.NewWorkers()
	jobs, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}, Workers: workers,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: testLogger(e.t),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	deliveries := platform.NewDeliveries(e.pool, jobs)
	river.AddWorker(workers, &EventSubWorker{Deliveries: deliveries, Router: e.rt, Chat: b, Logger: testLogger(e.t)})
	es := NewEventSub(deliveries, testLogger(e.t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ack, err := es.Receive(r.Context(), chatSecret, r.Header, body)
		switch {
		case problem.Is(err, problem.Forbidden):
			w.WriteHeader(http.StatusForbidden)
		case problem.Is(err, problem.Invalid):
			w.WriteHeader(http.StatusBadRequest)
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
		case ack.Challenge != "":
			io.WriteString(w, ack.Challenge)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	e.t.Cleanup(srv.Close)
	e.api.RouteWebhooks(e.t, chatCallback, srv.URL)
	if err := jobs.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jobs.Stop(ctx); err != nil {
			e.t.Errorf("stop workers: %v", err)
		}
	})
	return e.run(b)
}

// said is a chat message the bot sent, on either transport.
type said struct{ Text, ReplyTo string }

// chatSide speaks to the bot in #duckchan over one transport.
type chatSide struct {
	say  func(userID, login string, badges []string, text string) (id string)
	wait func(n int) []said // waits for n messages from the bot
}

func ircSide(e *env) chatSide {
	return chatSide{
		say: func(userID, login string, badges []string, text string) string {
			var b []string
			for _, s := range badges {
				b = append(b, s+"/1")
			}
			return e.irc.Chat("duckchan", userID, login, strings.Join(b, ","), text)
		},
		wait: func(n int) []said {
			var out []said
			for _, l := range e.irc.WaitLines(e.t, "duckchan", n) {
				out = append(out, said{l.Text, l.ReplyTo})
			}
			return out
		},
	}
}

func eventSubSide(e *env) chatSide {
	return chatSide{
		say: func(userID, login string, badges []string, text string) string {
			return e.api.InjectChat(e.t, twitchtest.ChatMessage{BroadcasterID: "200", ChatterID: userID, ChatterLogin: login,
				ChatterName: strings.ToUpper(login[:1]) + login[1:], Badges: badges, Text: text})
		},
		wait: func(n int) []said {
			var out []said
			for _, m := range e.api.WaitChat(e.t, "200", n) {
				out = append(out, said{m.Text, m.ReplyTo})
			}
			return out
		},
	}
}

// channelTransport is what the health page shows for #duckchan.
func channelTransport(b *running) platform.ChannelStatus {
	for _, c := range b.cfg.Status.Snapshot().Channels {
		if c.Name == "duckchan" {
			return c
		}
	}
	return platform.ChannelStatus{}
}

func TestChatScenarioOnBothTransports(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		transport string // TWITCH_CHAT_TRANSPORT
		grants    bool
		want      string // the transport the health page shows
		wantNote  string
	}{
		{"eventsub", "", true, "EventSub + Helix", ""},
		{"irc forced", "irc", true, "IRC", "TWITCH_CHAT_TRANSPORT=irc"},
		{"irc without grants", "eventsub", false, "IRC", "user:read:chat"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.command("hello", "Hello {user}!")
			if _, err := e.settings.CreateCommand(context.Background(), audit.Actor{}, e.cid, router.CommandInput{Name: "modonly",
				Response: "mods only: ok", Permission: router.Moderator, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
			e.rule(router.RuleInput{Match: router.MatchWord, Pattern: "spam", Action: router.ActionTimeout, TimeoutSeconds: 60})
			e.irc.SetMod("duckchan", true)
			e.api.SetModerator("200", "100", true)
			if c.grants {
				e.grantChat()
			} else { // a bot account connected before the chat scopes were asked for
				e.api.SetScopes("bot-1", without(twitchtest.BotScopes, "user:read:chat", "user:write:chat", "user:bot")...)
			}
			// A chat subscription from an earlier run: kept for EventSub, deleted for IRC.
			old := e.api.AddSubscription(chatMessageType, "1", "enabled", map[string]string{"broadcaster_user_id": "200", "user_id": "100"}, chatCallback)
			e.api.SetSubscriptionSecret(old, chatSecret)
			cfg := e.config("a")
			cfg.ChatTransport = c.transport
			b := e.startWebhooks(cfg)
			eventually(t, "the transport chosen", func() bool {
				ch := channelTransport(b)
				return ch.Transport == c.want && strings.Contains(ch.Note, c.wantNote) &&
					(c.want == "IRC") == (len(e.irc.Live("duckchan")) == 1)
			})
			var chatSubs []string
			for id, s := range e.api.Subscriptions() {
				if s["type"] == chatMessageType {
					chatSubs = append(chatSubs, id)
				}
			}
			if want := []string{old}; c.want == "IRC" && len(chatSubs) != 0 || c.want != "IRC" && !cmp.Equal(chatSubs, want) {
				t.Errorf("chat subscriptions %v; want the existing one kept for EventSub, none for IRC", chatSubs)
			}
			side := ircSide(e)
			if c.want != "IRC" {
				side = eventSubSide(e)
			}

			// A command is answered in the thread of the message that asked.
			id := side.say("300", "alice", []string{"subscriber"}, "!hello")
			got := side.wait(1)
			if diff := cmp.Diff(said{"Hello Alice!", id}, got[0]); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
			// A moderators' command: refused to a VIP, run for a moderator.
			side.say("301", "bob", []string{"vip"}, "!modonly")
			id = side.say("302", "carol", []string{"moderator"}, "!modonly")
			got = side.wait(2)
			if diff := cmp.Diff(said{"mods only: ok", id}, got[1]); diff != "" {
				t.Errorf("the moderator's command (-want +got); a reply to the VIP comes first:\n%s", diff)
			}

			// Moderation: the bot deletes and times out with its own token.
			id = side.say("303", "dave", nil, "you badword")
			eventually(t, "the delete", func() bool { return len(e.api.Find("DELETE", "/helix/moderation/chat")) == 1 })
			del := e.api.Find("DELETE", "/helix/moderation/chat")[0]
			if diff := cmp.Diff(map[string]string{"broadcaster_id": "200", "moderator_id": "100", "message_id": id}, del.Query); diff != "" || del.Auth != "Bearer bot-1" {
				t.Errorf("delete with %s (-want +got):\n%s", del.Auth, diff)
			}
			side.say("304", "erin", nil, "buy spam now")
			eventually(t, "the timeout", func() bool { return len(e.api.Find("POST", "/helix/moderation/bans")) == 1 })
			ban := e.api.Find("POST", "/helix/moderation/bans")[0]
			data, _ := ban.Body["data"].(map[string]any)
			if ban.Query["moderator_id"] != "100" || ban.Auth != "Bearer bot-1" || data["user_id"] != "304" || data["duration"] != float64(60) {
				t.Errorf("timeout %v %v with %s", ban.Query, ban.Body, ban.Auth)
			}

			// Each transport alone carried the chat.
			if c.want == "IRC" {
				if n := len(e.api.ChatSent("200")); n != 0 {
					t.Errorf("%d messages sent through Helix while chat is on IRC", n)
				}
				return
			}
			if n := len(e.irc.Lines("duckchan")); n != 0 {
				t.Errorf("%d lines said on IRC while chat is on EventSub", n)
			}
			for _, m := range e.api.ChatSent("200") {
				if !m.AppToken || m.SenderID != "100" {
					t.Errorf("sent %q as %s with the app token %v; want the bot account with the app token (the chat-bot badge)", m.Text, m.SenderID, m.AppToken)
				}
			}
		})
	}
}

func TestEventSubChatRedeliveryHandledOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.grantChat()
	b := e.startWebhooks(e.config("a"))
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })
	side := eventSubSide(e)

	id := side.say("300", "alice", nil, "!hello")
	e.api.RedeliverChat(t) // the same message id again, as Twitch redelivers
	bob := side.say("301", "bob", nil, "!hello")
	// Jobs run in parallel: the replies may come in either order.
	got := side.wait(2)
	slices.SortFunc(got, func(a, b said) int { return strings.Compare(a.Text, b.Text) })
	if diff := cmp.Diff([]said{{"Hello Alice!", id}, {"Hello Bob!", bob}}, got); diff != "" {
		t.Errorf("replies (-want +got); a second reply to alice means the redelivery was handled again:\n%s", diff)
	}
	if n := e.countChatFrom(t, "300"); n != 1 {
		t.Errorf("%d deliveries of alice's message stored, want 1 (the redelivery is not stored again)", n)
	}
}

// countChatFrom counts the stored chat deliveries from user id.
func (e *env) countChatFrom(t *testing.T, user string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM platform_deliveries WHERE kind = $1 AND payload::jsonb->'event'->>'chatter_user_id' = $2",
		chatMessageType, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// chatBody is a channel.chat.message notification read by user 100 with
// the event's fields replaced by those given (a nil value drops the field).
func chatBody(t testing.TB, set map[string]any) []byte {
	t.Helper()
	ev := map[string]any{
		"broadcaster_user_id": "200", "broadcaster_user_login": "DuckChan", "broadcaster_user_name": "DuckChan",
		"chatter_user_id": "300", "chatter_user_login": "Alice", "chatter_user_name": "Alice",
		"message_id": "cc106a89-1814-919d-454c-f4f2f970aae7", "message": map[string]any{"text": "!hello", "fragments": []any{}},
		"color": "#00FF7F", "badges": []any{}, "message_type": "text", "cheer": nil, "reply": nil,
		"channel_points_custom_reward_id": nil, "source_broadcaster_user_id": nil, "source_message_id": nil, "source_badges": nil,
	}
	for k, v := range set {
		if v == nil {
			delete(ev, k)
		} else {
			ev[k] = v
		}
	}
	body, err := json.Marshal(map[string]any{
		"subscription": map[string]any{"id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "type": "channel.chat.message", "version": "1", "status": "enabled",
			"condition": map[string]any{"broadcaster_user_id": "200", "user_id": "100"}, "transport": map[string]any{"method": "webhook", "callback": chatCallback},
			"created_at": "2026-12-01T00:00:00Z", "cost": 0},
		"event": ev,
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func badges(sets ...string) []any {
	out := []any{}
	for _, s := range sets {
		out = append(out, map[string]any{"set_id": s, "id": "1", "info": ""})
	}
	return out
}

func TestParseChatMessage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		body    []byte
		want    *chatMessage // nil: refused as invalid
		wantErr problem.Code
	}{
		{"a message", chatBody(t, map[string]any{"badges": badges("subscriber", "vip", "moderator", "glhf-pledge"), "cheer": map[string]any{"bits": 100}}), &chatMessage{
			Event: router.Event{ID: "twitch:cc106a89-1814-919d-454c-f4f2f970aae7", Platform: Platform, Kind: router.ChatMessage, Server: "duckchan", Channel: "duckchan",
				User: router.User{ID: "300", Name: "alice", DisplayName: "Alice", Roles: []string{router.BadgeModerator, router.BadgeSubscriber, router.BadgeVIP}},
				Text: "!hello", Time: at, Data: map[string]any{"bits": int64(100)}},
			Mod: true}, ""},
		{"founder and broadcaster", chatBody(t, map[string]any{"badges": badges("founder", "broadcaster")}), &chatMessage{
			Event: router.Event{ID: "twitch:cc106a89-1814-919d-454c-f4f2f970aae7", Platform: Platform, Kind: router.ChatMessage, Server: "duckchan", Channel: "duckchan",
				User: router.User{ID: "300", Name: "alice", DisplayName: "Alice", Roles: []string{router.BadgeBroadcaster, router.BadgeSubscriber}}, Text: "!hello", Time: at},
			Mod: true}, ""},
		{"the reader's own message", chatBody(t, map[string]any{"chatter_user_id": "100", "chatter_user_login": "duckbot", "chatter_user_name": "DuckBot"}), &chatMessage{
			Event: router.Event{ID: "twitch:cc106a89-1814-919d-454c-f4f2f970aae7", Platform: Platform, Kind: router.ChatMessage, Server: "duckchan", Channel: "duckchan",
				User: router.User{ID: "100", Name: "duckbot", DisplayName: "DuckBot"}, Text: "!hello", Time: at},
			Own: true}, ""},
		{"shared chat from this channel", chatBody(t, map[string]any{"source_broadcaster_user_id": "200"}), &chatMessage{
			Event: router.Event{ID: "twitch:cc106a89-1814-919d-454c-f4f2f970aae7", Platform: Platform, Kind: router.ChatMessage, Server: "duckchan", Channel: "duckchan",
				User: router.User{ID: "300", Name: "alice", DisplayName: "Alice"}, Text: "!hello", Time: at}}, ""},
		{"shared chat from another channel", chatBody(t, map[string]any{"source_broadcaster_user_id": "900"}), nil, problem.Invalid},
		{"not JSON", []byte(`{"subscription":`), nil, problem.Invalid},
		{"another type", []byte(`{"subscription":{"type":"channel.follow"},"event":{}}`), nil, problem.Invalid},
		{"event not an object", []byte(`{"subscription":{"type":"channel.chat.message"},"event":"hi"}`), nil, problem.Invalid},
		{"no message id", chatBody(t, map[string]any{"message_id": nil}), nil, problem.Invalid},
		{"message id with a tag separator", chatBody(t, map[string]any{"message_id": "a;b=c"}), nil, problem.Invalid},
		{"no chatter", chatBody(t, map[string]any{"chatter_user_id": ""}), nil, problem.Invalid},
		{"no broadcaster", chatBody(t, map[string]any{"broadcaster_user_id": nil}), nil, problem.Invalid},
		{"a login Twitch never gives", chatBody(t, map[string]any{"broadcaster_user_login": "#duck chan"}), nil, problem.Invalid},
		{"message id of the wrong type", chatBody(t, map[string]any{"message_id": 5}), nil, problem.Invalid},
		{"display name too long", chatBody(t, map[string]any{"chatter_user_name": strings.Repeat("x", 5000)}), nil, problem.Invalid},
		{"text longer than the router takes", chatBody(t, map[string]any{"message": map[string]any{"text": strings.Repeat("x", 2001)}}), nil, problem.Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseChatMessage(c.body, at)
			if c.want == nil {
				if p := problem.As(err); p == nil || p.Code != c.wantErr {
					t.Errorf("err = %v, want a %s problem", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if diff := cmp.Diff(*c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseChatMessage(f *testing.F) {
	f.Add(chatBody(f, nil))
	f.Add(chatBody(f, map[string]any{"badges": "x", "cheer": map[string]any{"bits": "lots"}}))
	f.Add([]byte(`{"subscription":{"type":"channel.chat.message","condition":null},"event":{"message_id":"a","chatter_user_id":"1","broadcaster_user_id":"2","broadcaster_user_login":"b","message":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseChatMessage(body, time.Now())
		if err != nil {
			return
		}
		if err := m.Event.Validate(); err != nil {
			t.Errorf("accepted %q but the router event is invalid: %v", body, err)
		}
		if !validMsgID(strings.TrimPrefix(m.Event.ID, "twitch:")) {
			t.Errorf("accepted the message id %q, which cannot be replied to", m.Event.ID)
		}
	})
}

func TestNewRefusesAnUnknownChatTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config("a")
	cfg.ChatTransport = "websocket"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "TWITCH_CHAT_TRANSPORT") {
		t.Errorf("New with TWITCH_CHAT_TRANSPORT=websocket: %v, want an error naming the variable", err)
	}
	for _, ok := range []string{"", "eventsub", "IRC", " irc "} {
		if _, err := ParseChatTransport(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestFakeRefusesHelixChatTwitchRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Tokens from before the chat scopes: the bot's sends chat but has not
	// user:bot, the broadcaster's has not channel:bot.
	e.api.SetScopes("bot-1", "user:write:chat")
	e.api.SetScopes("caster-1", without(twitchtest.BroadcasterScopes, "channel:bot")...)
	b, err := New(e.config("a"))
	if err != nil {
		t.Fatal(err)
	}
	send := func(subject string, body map[string]any) error {
		return b.helix.call(context.Background(), "POST", "/chat/messages", nil, body, subject, nil)
	}
	msg := func(set map[string]any) map[string]any {
		m := map[string]any{"broadcaster_id": "200", "sender_id": "100", "message": "hi"}
		for k, v := range set {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name    string
		subject string // "": the app token
		body    map[string]any
		want    int
	}{
		{"app token without user:bot", "", msg(nil), 403},
		{"user token", platform.BotSubject, msg(nil), 0},
		{"no broadcaster", platform.BotSubject, msg(map[string]any{"broadcaster_id": nil}), 400},
		{"unknown broadcaster", platform.BotSubject, msg(map[string]any{"broadcaster_id": "999"}), 400},
		{"no sender", platform.BotSubject, msg(map[string]any{"sender_id": nil}), 400},
		{"sender is not the token's user", platform.BotSubject, msg(map[string]any{"sender_id": "200"}), 401},
		{"no message", platform.BotSubject, msg(map[string]any{"message": ""}), 400},
		{"501 characters", platform.BotSubject, msg(map[string]any{"message": strings.Repeat("é", 501)}), 422},
		{"500 characters", platform.BotSubject, msg(map[string]any{"message": strings.Repeat("é", 500)}), 0},
		{"reply to an unknown message", platform.BotSubject, msg(map[string]any{"reply_parent_message_id": "cc106a89-1814-919d-454c-f4f2f970aae7"}), 400},
	}
	for _, c := range cases {
		err := send(c.subject, c.body)
		var he *HelixError
		switch {
		case c.want == 0 && err != nil:
			t.Errorf("%s: %v, want sent", c.name, err)
		case c.want != 0 && (!errors.As(err, &he) || he.Status != c.want):
			t.Errorf("%s: err = %v, want HTTP %d", c.name, err, c.want)
		}
	}

	// With user:bot, the app token needs the broadcaster's channel:bot (or
	// the bot to be a moderator there).
	e.api.Grant("100", "user:bot")
	var he *HelixError
	if err := send("", msg(nil)); !errors.As(err, &he) || he.Status != 403 {
		t.Errorf("app token without channel:bot: %v, want 403", err)
	}
	e.api.SetModerator("200", "100", true)
	if err := send("", msg(nil)); err != nil {
		t.Errorf("app token, the bot a moderator: %v", err)
	}

	// The chat subscription needs user:read:chat from the reader and both
	// ids in its condition.
	sub := func(cond map[string]string) error {
		return b.helix.call(context.Background(), "POST", "/eventsub/subscriptions", nil, map[string]any{"type": "channel.chat.message", "version": "1",
			"condition": cond, "transport": map[string]string{"method": "webhook", "callback": chatCallback, "secret": chatSecret}}, "", nil)
	}
	if err := sub(map[string]string{"broadcaster_user_id": "200", "user_id": "100"}); !errors.As(err, &he) || he.Status != 403 {
		t.Errorf("chat subscription without user:read:chat: %v, want 403", err)
	}
	e.api.Grant("100", "user:read:chat")
	if err := sub(map[string]string{"broadcaster_user_id": "200"}); !errors.As(err, &he) || he.Status != 400 {
		t.Errorf("chat subscription without user_id: %v, want 400", err)
	}
	if err := sub(map[string]string{"broadcaster_user_id": "200", "user_id": "100"}); err != nil {
		t.Errorf("chat subscription with the grants: %v", err)
	}
}

func TestHelixChatBadOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.grantChat()
	b := e.startWebhooks(e.config("a"))
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })

	// Over 500 characters, with line breaks, and a parent that is no message id.
	if err := b.sayIn("duckchan", "line one\r\nPRIVMSG #x :"+strings.Repeat("ü", 600), "not an id;", platform.High, TransportEventSub); err != nil {
		t.Fatal(err)
	}
	got := e.api.WaitChat(t, "200", 1)[0]
	if n := utf8.RuneCountInString(got.Text); n != 500 || !strings.HasPrefix(got.Text, "line one  PRIVMSG #x :ü") || !strings.HasSuffix(got.Text, "…") || got.ReplyTo != "" {
		t.Errorf("sent %d characters %.40q… in thread %q; want 500 on one line, cut with …, not threaded", n, got.Text, got.ReplyTo)
	}

	// A message Twitch drops (AutoMod, followers-only…) is counted failed, not retried.
	e.api.DropNextChat("msg_rejected", "Your message is being checked by mods and has not been sent.")
	before := len(e.api.Find("POST", "/helix/chat/messages"))
	if err := b.sayIn("duckchan", "held by automod", "", platform.High, TransportEventSub); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dropped message counted", func() bool { return b.SendQueue().Stats().Failed == 1 })
	if n := len(e.api.Find("POST", "/helix/chat/messages")) - before; n != 1 {
		t.Errorf("%d sends of a dropped message, want 1", n)
	}

	// Without the bot account, nothing is sent and the send fails.
	if err := e.tokens.Delete(context.Background(), Platform, platform.BotSubject); err != nil {
		t.Fatal(err)
	}
	if err := b.sayIn("duckchan", "no account", "", platform.High, TransportEventSub); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the send failed", func() bool { return b.SendQueue().Stats().Failed == 2 })
	if n := len(e.api.ChatSent("200")); n != 1 {
		t.Errorf("%d messages sent, want only the first", n)
	}
}

func TestChatMovesToEventSubOnceTheBroadcasterGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.grantChat()
	// The broadcaster linked the channel before channel:bot was asked for.
	e.api.SetScopes("caster-1", without(twitchtest.BroadcasterScopes, "channel:bot")...)
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Scopes: casterChatScopes[1:]})
	b := e.startWebhooks(e.config("a"))
	eventually(t, "chat over IRC", func() bool {
		c := channelTransport(b)
		return c.Transport == "IRC" && strings.Contains(c.Note, "channel:bot") && len(e.irc.Live("duckchan")) == 1
	})
	id := ircSide(e).say("300", "alice", nil, "!hello")
	if got := ircSide(e).wait(1); got[0] != (said{"Hello Alice!", id}) {
		t.Errorf("reply over IRC %+v", got[0])
	}

	// The broadcaster links again with channel:bot: the next sweep moves the chat.
	e.api.SetScopes("caster-1", twitchtest.BroadcasterScopes...)
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Scopes: casterChatScopes})
	if err := b.subscribe(context.Background(), "duckchan"); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	eventually(t, "chat over EventSub and IRC left", func() bool {
		return channelTransport(b).Transport == "EventSub + Helix" && len(e.irc.Live("duckchan")) == 0
	})
	id = eventSubSide(e).say("301", "bob", nil, "!hello")
	if got := eventSubSide(e).wait(1); got[0] != (said{"Hello Bob!", id}) {
		t.Errorf("reply over Helix %+v", got[0])
	}
	if n := len(e.irc.Lines("duckchan")); n != 1 {
		t.Errorf("%d lines on IRC, want only the first reply", n)
	}
}

func TestEventSubBotNotModeratorModeratesWithTheBroadcaster(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
	e.grantChat()
	b := e.startWebhooks(e.config("a"))
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })
	side := eventSubSide(e)

	// The bot's own reply comes back without a moderator badge.
	side.say("300", "alice", nil, "!hello")
	side.wait(1)
	eventually(t, "the bot knows it is no moderator", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.modNo["duckchan"]
	})
	id := side.say("301", "bob", nil, "badword")
	eventually(t, "the delete", func() bool { return len(e.api.Find("DELETE", "/helix/moderation/chat")) == 1 })
	del := e.api.Find("DELETE", "/helix/moderation/chat")[0]
	if diff := cmp.Diff(map[string]string{"broadcaster_id": "200", "moderator_id": "200", "message_id": id}, del.Query); diff != "" || del.Auth != "Bearer caster-1" {
		t.Errorf("delete with %s (-want +got):\n%s", del.Auth, diff)
	}
}

func TestHelixChatKeepsTheChannelBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.grantChat()
	b := e.startWebhooks(e.config("a"))
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })

	// Not a moderator: one message a second in the channel, as over IRC.
	side := eventSubSide(e)
	for i, u := range []string{"alice", "bob", "carol", "dave"} {
		side.say(fmt.Sprint(300+i), u, nil, "!hello")
	}
	got := e.api.WaitChat(t, "200", 4)
	for i := 1; i < len(got); i++ {
		if d := got[i].At.Sub(got[i-1].At); d < 500*time.Millisecond {
			t.Errorf("messages %d and %d only %v apart: the 1/s channel budget was not kept", i-1, i, d)
		}
	}
}

func TestSendWithoutAnEventGoesThroughHelix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.grantChat()
	b := e.startWebhooks(e.config("a"))
	eventually(t, "chat over EventSub", func() bool { return channelTransport(b).Transport == "EventSub + Helix" })
	if err := b.Send(context.Background(), e.cid, router.Message{Platform: Platform, Server: "duckchan", Channel: "#duckchan", Text: "stream starts soon"}); err != nil {
		t.Fatal(err)
	}
	got := e.api.WaitChat(t, "200", 1)[0]
	if got.Text != "stream starts soon" || got.ReplyTo != "" || got.SenderID != "100" || len(e.irc.Lines("duckchan")) != 0 {
		t.Errorf("sent %+v, IRC lines %d", got, len(e.irc.Lines("duckchan")))
	}
}
