package slackbot_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackEnvelope is an event_callback for team with inner as its event; the
// app's bot user is UBOT.
func slackEnvelope(eventID, team, inner string) []byte {
	return []byte(fmt.Sprintf(`{"token":"legacy","team_id":%q,"api_app_id":"A1","type":"event_callback","event_id":%q,`+
		`"event_time":1700000000,"authorizations":[{"team_id":%q,"user_id":"UBOT","is_bot":true}],"event":%s}`,
		team, eventID, team, inner))
}

// signed returns the headers Slack sends with body.
func signed(secret string, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", stamp, body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}

func TestSlackRouterEvent(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0)
	cases := []struct {
		name   string
		inner  string
		want   router.Event
		ignore bool
	}{
		{name: "message", inner: `{"type":"message","channel":"C1","user":"U1","text":"!hello there","ts":"1.2","channel_type":"channel"}`,
			want: router.Event{Kind: router.ChatMessage, Channel: "C1", User: router.User{ID: "U1", Name: "U1"}, Text: "!hello there",
				Data: map[string]any{"ts": "1.2", "channel_type": "channel"}}},
		{name: "thread reply", inner: `{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1.3","thread_ts":"1.2"}`,
			want: router.Event{Kind: router.ChatMessage, Channel: "C1", User: router.User{ID: "U1", Name: "U1"}, Text: "hi",
				Data: map[string]any{"ts": "1.3", "thread_ts": "1.2"}}},
		{name: "app mention", inner: `{"type":"app_mention","channel":"C1","user":"U2","text":"<@UBOT> points","ts":"2.0"}`,
			want: router.Event{Kind: router.AppMention, Channel: "C1", User: router.User{ID: "U2", Name: "U2"}, Text: "<@UBOT> points",
				Data: map[string]any{"ts": "2.0"}}},
		{name: "reaction added", inner: `{"type":"reaction_added","user":"U3","reaction":"duck","item_user":"U1","item":{"type":"message","channel":"C2","ts":"3.0"}}`,
			want: router.Event{Kind: router.Reaction, Channel: "C2", User: router.User{ID: "U3", Name: "U3"},
				Data: map[string]any{"reaction": "duck", "ts": "3.0", "item_user": "U1"}}},
		{name: "member joined channel", inner: `{"type":"member_joined_channel","user":"U4","channel":"C3","channel_type":"C","team":"T1"}`,
			want: router.Event{Kind: router.MemberJoin, Channel: "C3", User: router.User{ID: "U4", Name: "U4"}}},
		{name: "team join", inner: `{"type":"team_join","user":{"id":"U5","name":"duckling","profile":{"display_name":"Duckling"}}}`,
			want: router.Event{Kind: router.MemberJoin, User: router.User{ID: "U5", Name: "duckling", DisplayName: "Duckling"}}},
		{name: "file shared", inner: `{"type":"file_shared","channel_id":"C4","file_id":"F1","user_id":"U6","file":{"id":"F1"}}`,
			want: router.Event{Kind: router.FileShare, Channel: "C4", User: router.User{ID: "U6", Name: "U6"}, Data: map[string]any{"file_id": "F1"}}},

		{name: "bot message subtype", ignore: true, inner: `{"type":"message","subtype":"bot_message","channel":"C1","bot_id":"B9","text":"beep","ts":"4.0"}`},
		{name: "message with bot_id", ignore: true, inner: `{"type":"message","channel":"C1","user":"U9","bot_id":"B9","text":"beep","ts":"4.1"}`},
		{name: "own message", ignore: true, inner: `{"type":"message","channel":"C1","user":"UBOT","text":"Quack!","ts":"4.2"}`},
		{name: "edited message", ignore: true, inner: `{"type":"message","subtype":"message_changed","channel":"C1","message":{"user":"U1","text":"x"},"ts":"4.3"}`},
		{name: "mention by a bot", ignore: true, inner: `{"type":"app_mention","channel":"C1","user":"U9","bot_id":"B9","text":"<@UBOT>","ts":"4.4"}`},
		{name: "own reaction", ignore: true, inner: `{"type":"reaction_added","user":"UBOT","reaction":"duck","item":{"type":"message","channel":"C2","ts":"3.0"}}`},
		{name: "bot joins the team", ignore: true, inner: `{"type":"team_join","user":{"id":"U7","name":"otherbot","is_bot":true}}`},
		{name: "unmapped event", ignore: true, inner: `{"type":"reaction_removed","user":"U3","reaction":"duck","item":{"type":"message","channel":"C2","ts":"3.0"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := slackbot.RouterEvent(slackEnvelope("Ev1", "T1", c.inner))
			if err != nil {
				t.Fatal(err)
			}
			if ok == c.ignore {
				t.Fatalf("ok = %v, want %v (event %+v)", ok, !c.ignore, got)
			}
			if c.ignore {
				return
			}
			want := c.want
			want.ID, want.Platform, want.Server, want.Time = "slack:Ev1", router.Slack, "T1", at
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSlackRouterEventBadInput(t *testing.T) {
	t.Parallel()
	for name, payload := range map[string]string{
		"malformed":          `{"type":"event_callback",`,
		"not a callback":     `{"type":"url_verification","challenge":"x"}`,
		"no team":            string(slackEnvelope("Ev1", "", `{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1.0"}`)),
		"unknown inner type": string(slackEnvelope("Ev1", "T1", `{"type":"no_such_event"}`)),
	} {
		if _, ok, err := slackbot.RouterEvent([]byte(payload)); err == nil || ok {
			t.Errorf("%s: ok = %v, err = %v; want an error", name, ok, err)
		}
	}
	long := strings.Repeat("é", router.MaxTextLen+10)
	ev, ok, err := slackbot.RouterEvent(slackEnvelope("Ev2", "T1", `{"type":"message","channel":"C1","user":"U1","text":"`+long+`","ts":"1.0"}`))
	if err != nil || !ok {
		t.Fatalf("long message: ok = %v, err = %v", ok, err)
	}
	if n := len([]rune(ev.Text)); n != router.MaxTextLen {
		t.Errorf("long message: %d runes kept, want %d", n, router.MaxTextLen)
	}
}

// slackEnv is a database with a community linked to Slack team T1, a router,
// a receiver and a worker whose responses are recorded.
type slackEnv struct {
	pool     *pgxpool.Pool
	jobs     *river.Client[pgx.Tx]
	rt       *router.Router
	settings *router.Settings
	cid      int64
	recv     *slackbot.Receiver
	worker   *slackbot.Worker
	slack    *fakeSlack

	mu      sync.Mutex
	replies []string
}

func newSlackEnv(t *testing.T) *slackEnv {
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
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	})
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
	e := &slackEnv{pool: pool, jobs: jobs, rt: rt, settings: settings, cid: c.ID}
	deliveries := platform.NewDeliveries(pool, jobs)
	e.recv = slackbot.NewReceiver(slackbot.ReceiverConfig{Deliveries: deliveries, SigningSecret: testSecret, Logger: logger})
	e.slack = &fakeSlack{respond: func(ctx context.Context, from slackbot.Origin, res router.Result) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, r := range res.Responses {
			e.replies = append(e.replies, from.Event.Channel+": "+r.Reply)
		}
		return nil
	}}
	e.worker = slackbot.NewWorker(deliveries, rt, e.slack, logger)
	return e
}

// fakeSlack is the Slack bot as the delivery worker sees it; each test sets
// what it needs. Without users, no user is found.
type fakeSlack struct {
	users   func(ctx context.Context, team, user string) (router.User, error)
	cached  func(team, user string) (router.User, bool)
	respond func(ctx context.Context, from slackbot.Origin, res router.Result) error
}

func (f *fakeSlack) User(ctx context.Context, team, user string) (router.User, error) {
	if f.users == nil {
		return router.User{}, errors.New("users.info is not answered here")
	}
	return f.users(ctx, team, user)
}

func (f *fakeSlack) CachedUser(team, user string) (router.User, bool) {
	if f.cached == nil {
		return router.User{}, false
	}
	return f.cached(team, user)
}

func (f *fakeSlack) Respond(ctx context.Context, from slackbot.Origin, res router.Result) error {
	return f.respond(ctx, from, res)
}

// receive stores a signed event and returns the job it queued.
func (e *slackEnv) receive(t *testing.T, eventID, team, inner string) *river.Job[slackbot.DeliveryArgs] {
	t.Helper()
	body := slackEnvelope(eventID, team, inner)
	ack, err := e.recv.Receive(context.Background(), signed(testSecret, time.Now(), body), body)
	if err != nil {
		t.Fatalf("receive %s: %v", eventID, err)
	}
	if ack.DeliveryID == 0 || ack.Duplicate {
		t.Fatalf("receive %s: %+v, want a new delivery", eventID, ack)
	}
	return &river.Job[slackbot.DeliveryArgs]{Args: slackbot.DeliveryArgs{DeliveryID: ack.DeliveryID}}
}

func (e *slackEnv) delivery(t *testing.T, id int64) db.PlatformDelivery {
	t.Helper()
	d, err := db.New(e.pool).DeliveryGet(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *slackEnv) ledger(t *testing.T, user string) []db.PointsLedger {
	t.Helper()
	rows, err := db.New(e.pool).PointsLedgerByUser(context.Background(), db.PointsLedgerByUserParams{CommunityID: e.cid, Platform: router.Slack, UserID: user, Lim: 10})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestSlackWorkerRoutesMessages(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx := context.Background()

	cmd := e.receive(t, "EvCmd", "T1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)
	if err := e.worker.Work(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"C1: Quack!"}, e.replies); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
	if d := e.delivery(t, cmd.Args.DeliveryID); d.ProcessedAt == nil || d.Error != "" {
		t.Errorf("delivery after work: processed %v, error %q; want processed without error", d.ProcessedAt, d.Error)
	}
	// A second run of the same job (River retrying after a lost completion) does nothing again.
	if err := e.worker.Work(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if len(e.replies) != 1 {
		t.Errorf("replies after a second run: %q, want one", e.replies)
	}

	chat := e.receive(t, "EvChat", "T1", `{"type":"message","channel":"C1","user":"U2","text":"quack quack","ts":"2.0"}`)
	if err := e.worker.Work(ctx, chat); err != nil {
		t.Fatal(err)
	}
	got := e.ledger(t, "U2")
	if len(got) != 1 || got[0].Delta != 5 || got[0].Reason != string(router.ChatMessage) || got[0].UserName != "U2" {
		t.Errorf("ledger of U2: %+v, want one +5 for chat_message", got)
	}

	bot := e.receive(t, "EvBot", "T1", `{"type":"message","subtype":"bot_message","channel":"C1","bot_id":"B1","username":"otherbot","text":"!hello","ts":"3.0"}`)
	if err := e.worker.Work(ctx, bot); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(t, bot.Args.DeliveryID); d.ProcessedAt == nil || d.Error != "" {
		t.Errorf("bot delivery: processed %v, error %q; want processed and skipped", d.ProcessedAt, d.Error)
	}
	if len(e.replies) != 1 {
		t.Errorf("replies after a bot message: %q, want still one", e.replies)
	}
}

func TestSlackWorkerUnlinkedTeam(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	job := e.receive(t, "EvOther", "T2", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)
	if err := e.worker.Work(context.Background(), job); err != nil {
		t.Fatalf("work: %v, want nil (no retry for an unlinked workspace)", err)
	}
	d := e.delivery(t, job.Args.DeliveryID)
	if d.ProcessedAt == nil || d.Error != router.ErrNotLinked.Error() {
		t.Errorf("delivery: processed %v, error %q; want processed with %q", d.ProcessedAt, d.Error, router.ErrNotLinked.Error())
	}
	if len(e.replies) != 0 {
		t.Errorf("replies: %q, want none", e.replies)
	}
}

func TestSlackWorkerRetriesOnRespondError(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	calls := 0
	e.slack.respond = func(context.Context, slackbot.Origin, router.Result) error {
		calls++
		if calls == 1 {
			return fmt.Errorf("slack is down")
		}
		return nil
	}
	job := e.receive(t, "EvRetry", "T1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)
	if err := e.worker.Work(context.Background(), job); err == nil {
		t.Fatal("work: nil error, want one so River retries")
	}
	if d := e.delivery(t, job.Args.DeliveryID); d.ProcessedAt != nil {
		t.Fatal("delivery marked processed although its answer was not sent")
	}
	if err := e.worker.Work(context.Background(), job); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if d := e.delivery(t, job.Args.DeliveryID); d.ProcessedAt == nil || calls != 2 {
		t.Errorf("after retry: processed %v, respond called %d times; want processed, 2 calls", d.ProcessedAt, calls)
	}
}

func TestSlackReceiveStoresOnceAndQueues(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx := context.Background()
	body := slackEnvelope("EvOnce", "T1", `{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1.0"}`)
	first, err := e.recv.Receive(ctx, signed(testSecret, time.Now(), body), body)
	if err != nil || first.DeliveryID == 0 || first.Duplicate {
		t.Fatalf("first delivery: %+v, %v", first, err)
	}
	h := signed(testSecret, time.Now(), body)
	h.Set("X-Slack-Retry-Num", "1")
	h.Set("X-Slack-Retry-Reason", "http_timeout")
	again, err := e.recv.Receive(ctx, h, body)
	if err != nil || !again.Duplicate || again.DeliveryID != 0 {
		t.Fatalf("retry: %+v, %v; want a duplicate", again, err)
	}
	res, err := e.jobs.JobList(ctx, river.NewJobListParams().Kinds(slackbot.DeliveryArgs{}.Kind()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 {
		t.Fatalf("jobs: %d, want one", len(res.Jobs))
	}
	var args slackbot.DeliveryArgs
	if err := json.Unmarshal(res.Jobs[0].EncodedArgs, &args); err != nil || args.DeliveryID != first.DeliveryID {
		t.Errorf("job args %s, want delivery %d", res.Jobs[0].EncodedArgs, first.DeliveryID)
	}
	d := e.delivery(t, first.DeliveryID)
	if d.Platform != router.Slack || d.MessageID != "EvOnce" || d.Kind != "message" || d.ProcessedAt != nil {
		t.Errorf("stored delivery: %+v", d)
	}
}

func TestNewSlackReceiverOffWithoutSecret(t *testing.T) {
	t.Parallel()
	if r := slackbot.NewReceiver(slackbot.ReceiverConfig{}); r != nil {
		t.Errorf("receiver without a signing secret: %v, want nil", r)
	}
}

func TestSlackWorkerMarksProcessedAfterTheJobsTime(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.slack.respond = func(context.Context, slackbot.Origin, router.Result) error {
		cancel() // everything went out just as the attempt's time ran out
		return nil
	}
	job := e.receive(t, "EvLate", "T1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)
	if err := e.worker.Work(ctx, job); err != nil {
		t.Fatalf("work: %v, want nil: the answer was sent, a retry would send it again", err)
	}
	if d := e.delivery(t, job.Args.DeliveryID); d.ProcessedAt == nil {
		t.Error("delivery not marked processed after its answer was sent")
	}
}

func TestSlackWorkerTriggerDeliveryIsNotHeldUpByUsers(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx := context.Background()
	inbox := slackbot.NewInbox(platform.NewDeliveries(e.pool, e.jobs), nil)
	var mu sync.Mutex
	var steps []string
	var roles [][]string
	cached := map[string]router.User{}
	slow := true // the first lookup outlasts the trigger's budget
	e.slack.users = func(ctx context.Context, team, user string) (router.User, error) {
		mu.Lock()
		first := slow
		slow = false
		mu.Unlock()
		if first {
			<-ctx.Done()
			mu.Lock()
			steps = append(steps, "users "+user+" gave up")
			mu.Unlock()
			return router.User{}, ctx.Err()
		}
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, "users "+user)
		u := router.User{ID: user, Name: "duckling", Roles: []string{router.BadgeModerator}}
		cached[team+"/"+user] = u
		return u, nil
	}
	e.slack.cached = func(team, user string) (router.User, bool) {
		mu.Lock()
		defer mu.Unlock()
		u, ok := cached[team+"/"+user]
		return u, ok
	}
	e.slack.respond = func(_ context.Context, from slackbot.Origin, _ router.Result) error {
		mu.Lock()
		defer mu.Unlock()
		steps = append(steps, "respond "+from.TriggerID)
		roles = append(roles, from.Event.User.Roles)
		return nil
	}
	click := func(trigger string, user ...string) {
		t.Helper()
		uid := "U1"
		if len(user) > 0 {
			uid = user[0]
		}
		payload := `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"` + uid + `","name":"duck"},"trigger_id":"` + trigger + `",` +
			`"channel":{"id":"C1"},"actions":[{"type":"button","block_id":"b","action_id":"!hello","value":"!hello"}]}`
		ack, err := inbox.Interaction(ctx, []byte(payload))
		if err != nil || ack.DeliveryID == 0 {
			t.Fatalf("store: %+v, %v", ack, err)
		}
		if err := e.worker.Work(ctx, &river.Job[slackbot.DeliveryArgs]{Args: slackbot.DeliveryArgs{DeliveryID: ack.DeliveryID}}); err != nil {
			t.Fatal(err)
		}
	}
	click("TRIG-1")       // not cached, slow lookup: answered first, looked up after
	click("TRIG-2")       // cached: badges from the cache, no lookup
	click("TRIG-3", "U2") // not cached, quick lookup: badges before answering
	want := []string{"users U1 gave up", "respond TRIG-1", "users U1", "respond TRIG-2", "users U2", "respond TRIG-3"}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if len(roles) != 3 || len(roles[0]) != 0 || !slices.Equal(roles[1], []string{router.BadgeModerator}) || !slices.Equal(roles[2], []string{router.BadgeModerator}) {
		t.Errorf("roles routed %q, want none, then the cached moderator badge, then the looked-up one", roles)
	}
}
