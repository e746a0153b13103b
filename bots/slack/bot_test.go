package slackbot_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/slack-go/slack"

	"github.com/waddle/waddle/audit"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// env is a database with a community linked to Slack team T1 (bot token
// xoxb-T1 installed), a router with the command !hello, a running bot
// pointed at a fake Slack, and the worker that processes deliveries.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	jobs   *river.Client[pgx.Tx]
	slack  *slacktest.Server
	bot    *slackbot.Bot
	status *platform.Status
	inbox  *slackbot.Inbox
	worker *slackbot.Worker
	rec    *recordingBot
	tokens *platform.Tokens
	cid    int64 // community "ducks", linked to T1

	settings *router.Settings

	mu      sync.Mutex
	origins []slackbot.Origin
}

type envOpt func(*slackbot.Config, *slacktest.Server)

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	settings := router.NewSettings(rt)
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Slack, "T1", "Duck workspace"); err != nil {
		t.Fatal(err)
	}
	if _, err := settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hello", Response: "Quack!", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	tokens := platform.NewTokens(pool, box)
	if err := tokens.Save(ctx, router.Slack, "T1", platform.Token{Access: "xoxb-T1", AccountID: "UBOT"}); err != nil {
		t.Fatal(err)
	}
	fs := slacktest.Start(t)
	fs.Join("C1", "C7") // the bot is a member of the channels its commands run in
	status := platform.NewStatus(router.Slack)
	deliveries := platform.NewDeliveries(pool, jobs)
	cfg := slackbot.Config{Deliveries: deliveries, Tokens: tokens, Links: platform.NewLinks(pool), Status: status,
		APIURL: fs.APIURL(), Logger: logger}
	for _, o := range opts {
		o(&cfg, fs)
	}
	bot, err := slackbot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	rdone, bdone := make(chan error, 1), make(chan error, 1)
	go func() { rdone <- rt.Run(rctx) }()
	go func() { bdone <- bot.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		for name, ch := range map[string]chan error{"router": rdone, "bot": bdone} {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("%s did not stop", name)
			}
		}
	})
	e := &env{t: t, pool: pool, jobs: jobs, slack: fs, bot: bot, status: status, tokens: tokens, cid: c.ID,
		inbox: slackbot.NewInbox(deliveries, logger), settings: settings}
	e.rec = &recordingBot{Bot: bot, e: e}
	e.worker = slackbot.NewWorker(deliveries, rt, e.rec, logger)
	return e
}

// recordingBot is the Slack bot as the delivery worker sees it, recording
// the origin of every answer.
type recordingBot struct {
	*slackbot.Bot
	e   *env
	add []router.Response // appended to every result before it is sent
}

func (r *recordingBot) Respond(ctx context.Context, from slackbot.Origin, res router.Result) error {
	r.e.mu.Lock()
	r.e.origins = append(r.e.origins, from)
	r.e.mu.Unlock()
	res.Responses = append(res.Responses, r.add...)
	return r.Bot.Respond(ctx, from, res)
}

// work processes a stored delivery as River would.
func (e *env) work(ack platform.Ack, err error) {
	e.t.Helper()
	if err != nil || ack.DeliveryID == 0 {
		e.t.Fatalf("store: %+v, %v", ack, err)
	}
	if err := e.worker.Work(context.Background(), &river.Job[slackbot.DeliveryArgs]{Args: slackbot.DeliveryArgs{DeliveryID: ack.DeliveryID}}); err != nil {
		e.t.Fatalf("work: %v", err)
	}
}

func (e *env) lastOrigin() slackbot.Origin {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.origins) == 0 {
		e.t.Fatal("the router answered nothing")
	}
	return e.origins[len(e.origins)-1]
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func envelope(eventID, inner string) []byte {
	return slacktest.EventCallback("T1", "UBOT", eventID, inner)
}

func TestEventsAPIMessageIsAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.slack.SetAdmin("U1")
	ctx := context.Background()
	e.work(e.inbox.Event(ctx, envelope("Ev1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.5","thread_ts":"1.0"}`)))
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("chat.postMessage calls: %+v, want one", e.slack.All())
	}
	p := posts[0]
	if p.Form.Get("channel") != "C1" || p.Form.Get("text") != "Quack!" || p.Form.Get("thread_ts") != "1.0" || p.Token != "xoxb-T1" {
		t.Errorf("chat.postMessage %v (token %q), want Quack! in C1's thread 1.0 with the workspace's token", p.Form, p.Token)
	}
	// The user was looked up once: names and badges reach the router.
	u := e.lastOrigin().Event.User
	if u.Name != "duckling" || u.DisplayName != "Ducky" || !u.Has(router.BadgeModerator) {
		t.Errorf("user %+v, want duckling/Ducky, a moderator (workspace admin)", u)
	}
	e.work(e.inbox.Event(ctx, envelope("Ev2", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"2.0"}`)))
	if lookups := e.slack.UserLookups(); lookups != 1 {
		t.Errorf("users.info called %d times for one user, want 1 (cached)", lookups)
	}
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 2 || posts[1].Form.Get("thread_ts") != "" {
		t.Errorf("second reply: %+v, want one outside a thread", posts)
	}
	// The app's own message is not answered.
	e.work(e.inbox.Event(ctx, envelope("Ev3", `{"type":"message","channel":"C1","user":"UBOT","text":"!hello","ts":"3.0"}`)))
	if n := len(e.slack.Calls("chat.postMessage")); n != 2 {
		t.Errorf("%d replies after the bot's own message, want still 2", n)
	}
}

func TestSlashCommandAnswersResponseURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cmd := slack.SlashCommand{TeamID: "T1", ChannelID: "C1", UserID: "U1", UserName: "duckling", Command: "/waddlebot",
		Text: "hello there", ResponseURL: e.slack.ResponseURL("T1"), TriggerID: e.slack.Trigger()}
	e.work(e.inbox.Command(ctx, cmd))
	got := e.slack.Calls("response_url")
	if len(got) != 1 || got[0].JSON["text"] != "Quack!" || got[0].JSON["response_type"] != "in_channel" || got[0].Refused != "" {
		t.Fatalf("response_url posts: %+v, want one in_channel Quack!", got)
	}
	if ev := e.lastOrigin().Event; ev.Kind != router.SlashCommand || ev.Text != "hello there" {
		t.Errorf("event %+v, want a slash command with text %q", ev, "hello there")
	}
	// A response_url that is not Slack's is never posted to: the answer goes through the Web API.
	cmd.TriggerID, cmd.ResponseURL = e.slack.Trigger(), "https://attacker.example/hooks/x"
	e.work(e.inbox.Command(ctx, cmd))
	if n := len(e.slack.Calls("response_url")); n != 1 {
		t.Errorf("%d response_url posts, want still 1", n)
	}
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 1 || posts[0].Form.Get("channel") != "C1" {
		t.Errorf("chat.postMessage: %+v, want the answer in C1", posts)
	}
}

func TestButtonClickRunsItsCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	payload := `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1","name":"duckling"},"trigger_id":"` + e.slack.Trigger() + `",` +
		`"channel":{"id":"C1"},"response_url":"` + e.slack.ResponseURL("T1") + `",` +
		`"container":{"type":"message","message_ts":"5.0","channel_id":"C1"},` +
		`"actions":[{"type":"button","action_id":"!hello","block_id":"b","value":"!hello","action_ts":"6.0"}]}`
	e.work(e.inbox.Interaction(context.Background(), []byte(payload)))
	ev := e.lastOrigin().Event
	if ev.Kind != router.ButtonClick || ev.Text != "!hello" || ev.Channel != "C1" {
		t.Errorf("event %+v, want a button click running !hello in C1", ev)
	}
	if got := e.slack.Calls("response_url"); len(got) != 1 || got[0].JSON["text"] != "Quack!" || got[0].Refused != "" {
		t.Errorf("response_url posts: %+v, want Quack!", got)
	}
}

func TestViewSubmissionIsModalSubmit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	payload := `{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1","name":"duckling"},"trigger_id":"TRIG-V",` +
		`"view":{"id":"V1","type":"modal","callback_id":"!hello","private_metadata":"C7",` +
		`"state":{"values":{"idea":{"idea":{"type":"plain_text_input","value":"more ducks"}},"size":{"size":{"type":"static_select","selected_option":{"value":"big"}}}}}}}`
	e.work(e.inbox.Interaction(context.Background(), []byte(payload)))
	ev := e.lastOrigin().Event
	if ev.Kind != router.ModalSubmit || ev.Text != "!hello" || ev.Data["idea"] != "more ducks" || ev.Data["size"] != "big" {
		t.Errorf("event %+v, want a modal submission of !hello with idea and size", ev)
	}
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 1 || posts[0].Form.Get("channel") != "C7" || posts[0].Form.Get("text") != "Quack!" {
		t.Errorf("chat.postMessage: %+v, want Quack! in C7, where the modal was opened", posts)
	}
}

func TestRespondRendersEveryResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	trig := e.slack.Trigger()
	from := slackbot.Origin{TriggerID: trig, Event: router.Event{ID: "slack:x", Platform: router.Slack, Kind: router.ChatMessage,
		Server: "T1", Channel: "C1", User: router.User{ID: "U1", Name: "duckling"}, Data: map[string]any{"ts": "7.0"}}}
	res := router.Result{Responses: []router.Response{
		{Form: &router.Form{ID: "!suggest", Title: "Suggest something", Fields: []router.FormField{{ID: "idea", Label: "Your idea"}}}},
		{Reply: "Vote!", Embed: &router.Embed{Title: "Poll", Fields: []router.EmbedField{{Name: "Yes", Value: "3"}}},
			Buttons: []router.Button{{ID: "!vote yes", Label: "Yes"}, {ID: "!vote no", Label: "No"}}},
		{Reply: "Only you can see this.", Private: true},
		{Moderation: &router.Moderation{Action: router.ActionDelete, Reason: "rule"}},
		{Reply: "No links, please.", Moderation: &router.Moderation{Action: router.ActionBan, Reason: "rule"}},
		{Overlay: &router.Overlay{Kind: "alert"}},
	}}
	if err := e.bot.Respond(ctx, from, res); err != nil {
		t.Fatal(err)
	}
	views := e.slack.Calls("views.open")
	if len(views) != 1 {
		t.Fatalf("views.open calls: %+v", e.slack.All())
	}
	view, _ := views[0].JSON["view"].(map[string]any)
	if views[0].JSON["trigger_id"] != trig || views[0].Refused != "" || view["callback_id"] != "!suggest" || view["private_metadata"] != "C1" ||
		!strings.Contains(fmt.Sprint(view["blocks"]), "block_id:idea") {
		t.Errorf("views.open %v, want the form opened with its trigger", views[0])
	}
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("chat.postMessage calls: %+v", posts)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(posts[0].Form.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", posts[0].Form.Get("blocks"), err)
	}
	if len(blocks) != 3 || blocks[2]["type"] != "actions" || !strings.Contains(posts[0].Form.Get("blocks"), `"action_id":"!vote yes"`) ||
		!strings.Contains(posts[0].Form.Get("blocks"), "*Yes*\\n3") {
		t.Errorf("blocks %s, want reply, embed with fields and the buttons", posts[0].Form.Get("blocks"))
	}
	eph := e.slack.Calls("chat.postEphemeral")
	if len(eph) != 2 || eph[0].Form.Get("user") != "U1" || eph[0].Form.Get("text") != "Only you can see this." ||
		eph[1].Form.Get("text") != "No links, please." {
		t.Errorf("chat.postEphemeral: %+v, want the private reply and the ban notice to U1", eph)
	}
	if del := e.slack.Calls("chat.delete"); len(del) != 1 || del[0].Form.Get("channel") != "C1" || del[0].Form.Get("ts") != "7.0" {
		t.Errorf("chat.delete: %+v, want message 7.0 in C1", del)
	}
	if n := len(e.slack.All()); n != 5 {
		t.Errorf("%d calls, want 5 (the overlay is not Slack's)", n)
	}
}

func TestRateLimitedPostIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.slack.LimitNext("chat.postMessage", 1)
	e.work(e.inbox.Event(context.Background(), envelope("EvRL", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)))
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 1 || posts[0].Form.Get("text") != "Quack!" {
		t.Errorf("chat.postMessage: %+v, want Quack! delivered after the 429", posts)
	}
	if st := e.status.Snapshot().Queue; st.RateLimited != 1 || st.Sent != 1 {
		t.Errorf("send queue %+v, want 1 rate limited and 1 sent", st)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eventually(t, "connected with one workspace", func() bool {
		s := e.status.Snapshot()
		return s.State == platform.StateConnected && s.Servers == 1 && strings.Contains(s.Detail, "/webhooks/slack/events")
	})
	if err := e.tokens.Delete(context.Background(), router.Slack, "T1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "degraded without a token", func() bool {
		s := e.status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "Duck workspace")
	})
	// Responses for a workspace without a token are dropped with a log line, not retried forever.
	from := slackbot.Origin{Event: router.Event{ID: "x", Server: "T1", Channel: "C1", User: router.User{ID: "U1"}}}
	if err := e.bot.Respond(context.Background(), from, router.Result{Responses: []router.Response{{Reply: "hi"}}}); err != nil {
		t.Errorf("respond without a token: %v", err)
	}
	if n := len(e.slack.All()); n != 0 {
		t.Errorf("%d calls without a token, want none", n)
	}
}

func TestSingleWorkspaceBotToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackbot.Config, _ *slacktest.Server) { c.Tokens, c.BotToken = nil, "xoxb-single" })
	e.work(e.inbox.Event(context.Background(), envelope("EvS", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)))
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 1 || posts[0].Token != "xoxb-single" {
		t.Errorf("chat.postMessage: %+v, want one with SLACK_BOT_TOKEN", posts)
	}
}

func TestBotTokenIsChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackbot.Config, _ *slacktest.Server) { c.Tokens, c.BotToken = nil, "xoxb-single" })
	// Slack says whose token it is; the workspace is offered for linking.
	eventually(t, "auth.test with SLACK_BOT_TOKEN", func() bool {
		calls := e.slack.Calls("auth.test")
		return len(calls) == 1 && calls[0].Token == "xoxb-single"
	})
	eventually(t, "the token's workspace recorded", func() bool {
		var n int
		e.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform_available WHERE platform = 'slack' AND server = 'T1' AND name = 'Ducks'`).Scan(&n)
		return n == 1
	})

	bad := newEnv(t, func(c *slackbot.Config, fs *slacktest.Server) {
		c.Tokens, c.BotToken = nil, "xoxb-revoked"
		fs.RefuseToken("xoxb-revoked")
	})
	eventually(t, "degraded with a refused token", func() bool {
		s := bad.status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "refuses SLACK_BOT_TOKEN (invalid_auth)")
	})
}

func TestFormOpensBeforeASlowUserLookup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.slack.SetAdmin("U1")
	// The clicked command answers with a form: it needs the click's trigger id within 3 seconds.
	e.rec.add = []router.Response{{Form: &router.Form{ID: "!suggest", Title: "Suggest", Fields: []router.FormField{{ID: "idea"}}}}}
	payload := `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1","name":"duckling"},"trigger_id":"` + e.slack.Trigger() + `",` +
		`"channel":{"id":"C1"},"actions":[{"type":"button","action_id":"!hello","block_id":"b","value":"!hello","action_ts":"6.0"}]}`
	// Slack is slow to say who the user is: the form opens anyway, while users.info still hangs.
	release := e.slack.HoldUsers()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.work(e.inbox.Interaction(context.Background(), []byte(payload)))
	}()
	views := e.slack.WaitCall(t, "views.open", func(slacktest.Call) bool { return true }, 10*time.Second)
	if views.Refused != "" {
		t.Errorf("views.open refused (%s), want the form open within the trigger's 3 seconds", views.Refused)
	}
	release()
	<-done
	// The user was looked up after answering, so the next click routes with
	// the badges without asking again.
	lookups := e.slack.UserLookups()
	e.work(e.inbox.Interaction(context.Background(), []byte(strings.ReplaceAll(payload, views.JSON["trigger_id"].(string), e.slack.Trigger()))))
	if u := e.lastOrigin().Event.User; !u.Has(router.BadgeModerator) || u.DisplayName != "Ducky" {
		t.Errorf("second click by %+v, want the cached moderator Ducky", u)
	}
	if n := e.slack.UserLookups(); n != lookups {
		t.Errorf("users.info called again for the second click (%d, then %d): the user is cached", lookups, n)
	}
}

func TestQuickUserLookupKeepsBadgesOnClicks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.slack.SetAdmin("U1")
	payload := `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1","name":"duckling"},"trigger_id":"` + e.slack.Trigger() + `",` +
		`"channel":{"id":"C1"},"actions":[{"type":"button","action_id":"!hello","block_id":"b","value":"!hello","action_ts":"6.0"}]}`
	e.work(e.inbox.Interaction(context.Background(), []byte(payload)))
	if u := e.lastOrigin().Event.User; !u.Has(router.BadgeModerator) {
		t.Errorf("first click by %+v, want the looked-up moderator badge: a moderator's command must not be refused", u)
	}
}
