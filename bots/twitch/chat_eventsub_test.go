package twitch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

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
