package twitch_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

const secret = "s3cret-for-eventsub-tests"

func sign(secret, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + ts))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func headers(msgType, id, ts, sig string) http.Header {
	h := http.Header{}
	h.Set(twitch.HeaderEventSubID, id)
	h.Set(twitch.HeaderEventSubTimestamp, ts)
	h.Set(twitch.HeaderEventSubSignature, sig)
	h.Set(twitch.HeaderEventSubType, msgType)
	return h
}

func TestVerifyEventSub(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"challenge":"abc"}`)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	cases := []struct {
		name     string
		h        http.Header
		body     []byte
		wantCode problem.Code // "": accepted
	}{
		{"good", headers("notification", "m1", at(-time.Second), sign(secret, "m1", at(-time.Second), body)), body, ""},
		{"nanosecond timestamp", headers("revocation", "m1", "2025-06-01T11:59:59.123456789Z", sign(secret, "m1", "2025-06-01T11:59:59.123456789Z", body)), body, ""},
		{"almost 10 minutes old", headers("notification", "m1", at(-9*time.Minute), sign(secret, "m1", at(-9*time.Minute), body)), body, ""},
		{"wrong secret", headers("notification", "m1", at(0), sign("another-secret", "m1", at(0), body)), body, problem.Forbidden},
		{"body changed", headers("notification", "m1", at(0), sign(secret, "m1", at(0), body)), []byte(`{"challenge":"abd"}`), problem.Forbidden},
		{"id changed", headers("notification", "m2", at(0), sign(secret, "m1", at(0), body)), body, problem.Forbidden},
		{"no signature", headers("notification", "m1", at(0), ""), body, problem.Forbidden},
		{"no sha256= prefix", headers("notification", "m1", at(0), strings.TrimPrefix(sign(secret, "m1", at(0), body), "sha256=")), body, problem.Forbidden},
		{"not hex", headers("notification", "m1", at(0), "sha256=zz"), body, problem.Forbidden},
		{"no id", headers("notification", "", at(0), sign(secret, "", at(0), body)), body, problem.Forbidden},
		{"stale", headers("notification", "m1", at(-11*time.Minute), sign(secret, "m1", at(-11*time.Minute), body)), body, problem.Forbidden},
		{"future", headers("notification", "m1", at(2*time.Minute), sign(secret, "m1", at(2*time.Minute), body)), body, problem.Forbidden},
		{"bad timestamp", headers("notification", "m1", "yesterday", sign(secret, "m1", "yesterday", body)), body, problem.Forbidden},
		{"unknown type", headers("bogus", "m1", at(0), sign(secret, "m1", at(0), body)), body, problem.Invalid},
		{"id too long", headers("notification", strings.Repeat("x", 201), at(0), sign(secret, strings.Repeat("x", 201), at(0), body)), body, problem.Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := twitch.VerifyEventSub(secret, c.h, c.body, now)
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if m.ID != c.h.Get(twitch.HeaderEventSubID) || string(m.Body) != string(c.body) {
					t.Errorf("message %+v", m)
				}
				return
			}
			if p := problem.As(err); p == nil || p.Code != c.wantCode {
				t.Errorf("err = %v, want a %s problem", err, c.wantCode)
			}
		})
	}
	if _, err := twitch.VerifyEventSub("", headers("notification", "m1", at(0), sign("", "m1", at(0), body)), body, now); err == nil {
		t.Error("an empty secret accepted a message")
	}
}

// Sample bodies in the shape Twitch documents for each subscription type.
func notification(subType, event string) []byte {
	return []byte(fmt.Sprintf(`{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":%q,"version":"1","status":"enabled","cost":0,
"condition":{"broadcaster_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},
"created_at":"2019-11-16T10:11:12.634234626Z"},"event":%s}`, subType, event))
}

const (
	follow = `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"DuckChan","broadcaster_user_name":"DuckChan","followed_at":"2020-07-15T18:16:11.17106713Z"}`
	sub    = `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","tier":"1000","is_gift":false}`
	gift   = `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","total":2,"tier":"1000","cumulative_total":284,"is_anonymous":false}`
	gift0  = `{"user_id":null,"user_login":null,"user_name":null,"broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","total":5,"tier":"2000","cumulative_total":null,"is_anonymous":true}`
	cheer  = `{"is_anonymous":false,"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","message":"pogchamp","bits":1000}`
	raid   = `{"from_broadcaster_user_id":"1234","from_broadcaster_user_login":"cool_user","from_broadcaster_user_name":"Cool_User","to_broadcaster_user_id":"1337","to_broadcaster_user_login":"DuckChan","to_broadcaster_user_name":"DuckChan","viewers":9001}`
	ban    = `{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","moderator_user_id":"1339","moderator_user_login":"mod_user","moderator_user_name":"Mod_User","reason":"Offensive language","banned_at":"2020-07-15T18:15:11.17106713Z","ends_at":null,"is_permanent":true}`
	online = `{"id":"9001","broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","type":"live","started_at":"2020-10-11T10:11:12.123Z"}`
	offlin = `{"broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan"}`
)

func TestEventSubEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cool := router.User{ID: "1234", Name: "cool_user", DisplayName: "Cool_User"}
	duck := router.User{ID: "1337", Name: "duckchan", DisplayName: "DuckChan", Roles: []string{router.BadgeBroadcaster}}
	anon := router.User{ID: "anonymous", Name: "anonymous", DisplayName: "Anonymous"}
	cases := []struct {
		name, subType, event string
		want                 router.Event
	}{
		{"follow", "channel.follow", follow, router.Event{Kind: router.Follow, User: cool, Data: map[string]any{}}},
		{"subscribe", "channel.subscribe", sub, router.Event{Kind: router.Subscribe, User: cool, Data: map[string]any{"tier": "1000", "is_gift": false}}},
		{"gift", "channel.subscription.gift", gift, router.Event{Kind: router.GiftSub, User: cool, Data: map[string]any{"count": int64(2), "tier": "1000"}}},
		{"anonymous gift", "channel.subscription.gift", gift0, router.Event{Kind: router.GiftSub, User: anon, Data: map[string]any{"count": int64(5), "tier": "2000"}}},
		{"cheer", "channel.cheer", cheer, router.Event{Kind: router.Cheer, User: cool, Text: "pogchamp", Data: map[string]any{"bits": int64(1000)}}},
		{"raid", "channel.raid", raid, router.Event{Kind: router.Raid, User: cool, Data: map[string]any{"viewers": int64(9001)}}},
		{"ban", "channel.ban", ban, router.Event{Kind: router.Ban, User: cool, Data: map[string]any{"reason": "Offensive language", "moderator": "mod_user", "permanent": true}}},
		{"online", "stream.online", online, router.Event{Kind: router.StreamOnline, User: duck, Data: map[string]any{"type": "live"}}},
		{"offline", "stream.offline", offlin, router.Event{Kind: router.StreamOffline, User: duck, Data: map[string]any{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := twitch.EventSubEvent("msg-1", notification(c.subType, c.event), at)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.ID, want.Platform, want.Server, want.Time = "eventsub:msg-1", router.Twitch, "duckchan", at
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}

	for _, bad := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"unknown type", string(notification("channel.update", follow))},
		{"event not an object", string(notification("channel.follow", `"x"`))},
		{"no broadcaster", string(notification("channel.follow", `{"user_id":"1"}`))},
		{"no user", string(notification("channel.follow", `{"broadcaster_user_login":"duckchan"}`))},
	} {
		if _, err := twitch.EventSubEvent("m", []byte(bad.body), at); !problem.Is(err, problem.Invalid) {
			t.Errorf("%s: err = %v, want an invalid problem", bad.name, err)
		}
	}
}

// env is a router with community "ducks" linked to Twitch channel duckchan,
// and an EventSub store on a fresh database.
type env struct {
	pool   *pgxpool.Pool
	router *router.Router
	es     *twitch.EventSub
	cid    int64
	logger *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	settings := router.NewSettings(rt)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- rt.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router run: %v", err)
		}
	})
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "DuckChan", ""); err != nil {
		t.Fatal(err)
	}
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	es := twitch.NewEventSub(platform.NewDeliveries(pool, jobs), logger)
	return &env{pool: pool, router: rt, es: es, cid: c.ID, logger: logger}
}

func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) store(t *testing.T, id string, body []byte) bool {
	t.Helper()
	stored, err := e.es.Store(context.Background(), twitch.EventSubMessage{ID: id, Type: twitch.EventSubNotification, Timestamp: time.Now(), Body: body})
	if err != nil {
		t.Fatalf("store %s: %v", id, err)
	}
	return stored
}

// runWorkers runs the job queue with the EventSub worker until the test ends.
func (e *env) runWorkers(t *testing.T) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &twitch.EventSubWorker{Deliveries: platform.NewDeliveries(e.pool, nil), Router: e.router, Logger: e.logger})
	runner, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}, Workers: workers,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: e.logger,
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
}

// processed waits for the delivery of message id to be processed and returns it.
func (e *env) processed(t *testing.T, id string) db.PlatformDelivery {
	t.Helper()
	var did int64
	if err := e.pool.QueryRow(context.Background(), "SELECT id FROM platform_deliveries WHERE message_id = $1", id).Scan(&did); err != nil {
		t.Fatalf("delivery %s: %v", id, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := db.New(e.pool).DeliveryGet(context.Background(), did)
		if err != nil {
			t.Fatal(err)
		}
		if d.ProcessedAt != nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s not processed within 15s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEventSubStoreAndWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// Stored with its job; a redelivery stores and queues nothing.
	if !e.store(t, "msg-follow", notification("channel.follow", follow)) {
		t.Fatal("a new message was not stored")
	}
	if e.store(t, "msg-follow", notification("channel.follow", follow)) {
		t.Error("a redelivery was stored again")
	}
	if n := e.count(t, "SELECT count(*) FROM platform_deliveries"); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
	if n := e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'platform.eventsub' AND (args->>'delivery_id')::bigint = (SELECT id FROM platform_deliveries WHERE message_id = 'msg-follow')"); n != 1 {
		t.Errorf("%d jobs for the delivery, want 1", n)
	}
	// A channel nobody linked, and a well-formed body that fails the router's checks.
	e.store(t, "msg-elsewhere", notification("channel.follow", strings.ReplaceAll(follow, "DuckChan", "otherchan")))

	for _, bad := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"unknown type", string(notification("channel.update", follow))},
		{"no event", `{"subscription":{"type":"channel.follow"}}`},
	} {
		_, err := e.es.Store(ctx, twitch.EventSubMessage{ID: "bad-" + bad.name, Type: twitch.EventSubNotification, Body: []byte(bad.body)})
		if !problem.Is(err, problem.Invalid) {
			t.Errorf("%s: err = %v, want an invalid problem", bad.name, err)
		}
	}
	_, err := e.es.Store(ctx, twitch.EventSubMessage{ID: "mismatch", Type: twitch.EventSubNotification, SubType: "channel.cheer", Body: notification("channel.follow", follow)})
	if !problem.Is(err, problem.Invalid) {
		t.Errorf("subscription type header differing from the body: err = %v", err)
	}

	e.runWorkers(t)
	d := e.processed(t, "msg-follow")
	if d.Error != "" {
		t.Errorf("follow processed with error %q", d.Error)
	}
	// Processing scrubs what could be used (Twitch sends nothing of the kind:
	// not the subscription's secret, and a transport with our callback only),
	// so the body is kept as it came.
	var stored, sent any
	if err := json.Unmarshal(d.Payload, &stored); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(notification("channel.follow", follow), &sent); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sent, stored); diff != "" || bytes.Contains(d.Payload, []byte(secret)) {
		t.Errorf("processed EventSub body changed (-sent +stored), or holds the secret:\n%s", diff)
	}
	type award struct {
		User, Name, Reason string
		Delta              int64
	}
	var got []award
	rows, err := e.pool.Query(ctx, "SELECT user_id, user_name, reason, delta FROM points_ledger WHERE community_id = $1 ORDER BY id", e.cid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a award
		if err := rows.Scan(&a.User, &a.Name, &a.Reason, &a.Delta); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if diff := cmp.Diff([]award{{"1234", "Cool_User", "follow", 10}}, got); diff != "" {
		t.Errorf("points ledger (-want +got):\n%s", diff)
	}
	if d := e.processed(t, "msg-elsewhere"); !strings.Contains(d.Error, "not linked") {
		t.Errorf("unlinked channel processed with error %q, want one saying it is not linked", d.Error)
	}
	// River records a job's outcome after Work returns, in batches.
	for deadline := time.Now().Add(10 * time.Second); e.count(t, "SELECT count(*) FROM river_job WHERE state IN ('available', 'running')") > 0; {
		if time.Now().After(deadline) {
			t.Fatal("eventsub jobs still running after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.count(t, "SELECT count(*) FROM river_job WHERE kind = 'platform.eventsub' AND state <> 'completed'"); n != 0 {
		t.Errorf("%d eventsub jobs not completed (an unlinked channel must not be retried)", n)
	}

	// Running a job again (River retries after a crash) does not pay twice:
	// first with the delivery already marked, then with the mark lost.
	var did int64
	e.pool.QueryRow(ctx, "SELECT id FROM platform_deliveries WHERE message_id = 'msg-follow'").Scan(&did)
	w := &twitch.EventSubWorker{Deliveries: platform.NewDeliveries(e.pool, nil), Router: e.router, Logger: e.logger}
	job := &river.Job[twitch.EventSubArgs]{Args: twitch.EventSubArgs{DeliveryID: did}}
	if err := w.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "UPDATE platform_deliveries SET processed_at = NULL WHERE id = $1", did); err != nil {
		t.Fatal(err)
	}
	if err := w.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "SELECT count(*) FROM points_ledger WHERE community_id = $1", e.cid); n != 1 {
		t.Errorf("%d ledger rows after the job ran again, want 1", n)
	}
	// A delivery that is gone (swept) is nothing to do.
	if err := w.Work(ctx, &river.Job[twitch.EventSubArgs]{Args: twitch.EventSubArgs{DeliveryID: 1 << 40}}); err != nil {
		t.Errorf("missing delivery: %v", err)
	}
}

func TestEventSubWorkerRetriesOnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.store(t, "msg-1", notification("channel.follow", follow))
	var did int64
	e.pool.QueryRow(ctx, "SELECT id FROM platform_deliveries WHERE message_id = 'msg-1'").Scan(&did)
	w := &twitch.EventSubWorker{Deliveries: platform.NewDeliveries(e.pool, nil), Router: e.router, Logger: e.logger}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := w.Work(cctx, &river.Job[twitch.EventSubArgs]{Args: twitch.EventSubArgs{DeliveryID: did}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the cancellation returned so River retries", err)
	}
	d, _ := db.New(e.pool).DeliveryGet(ctx, did)
	if d.ProcessedAt != nil {
		t.Error("a delivery whose handling failed was marked processed")
	}
}

func TestEventSubRevoked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	body := []byte(`{"subscription":{"id":"sub-9","status":"authorization_revoked","type":"channel.raid","version":"1","cost":0,
"condition":{"to_broadcaster_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/cb"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`)
	if err := e.es.Revoked(ctx, twitch.EventSubMessage{ID: "r1", Type: twitch.EventSubRevocation, Body: body}); err != nil {
		t.Fatal(err)
	}
	list, err := db.New(e.pool).RevocationList(ctx, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("revocations %v, %v", list, err)
	}
	r := list[0]
	got := []string{r.Platform, r.Subscription, r.Kind, r.Reason, r.Server}
	if diff := cmp.Diff([]string{"twitch", "sub-9", "channel.raid", "authorization_revoked", "1337"}, got); diff != "" {
		t.Errorf("revocation (-want +got):\n%s", diff)
	}
	// Once the broadcaster's grant is stored, the notice names the channel by its login.
	if err := db.New(e.pool).TokenUpsert(ctx, db.TokenUpsertParams{Platform: "twitch", Subject: "caster", AccessSealed: "sealed", Scopes: []string{},
		AccountID: "1337", AccountLogin: "duckchan"}); err != nil {
		t.Fatal(err)
	}
	body = bytes.Replace(body, []byte(`"sub-9"`), []byte(`"sub-10"`), 1)
	if err := e.es.Revoked(ctx, twitch.EventSubMessage{ID: "r3", Type: twitch.EventSubRevocation, Body: body}); err != nil {
		t.Fatal(err)
	}
	if list, err = db.New(e.pool).RevocationList(ctx, 10); err != nil || len(list) != 2 || list[0].Server != "duckchan" {
		t.Errorf("revocation of a channel with a stored grant: %+v, %v; want server duckchan", list, err)
	}
	if err := e.es.Revoked(ctx, twitch.EventSubMessage{ID: "r2", Type: twitch.EventSubRevocation, Body: []byte(`{"subscription":{}}`)}); !problem.Is(err, problem.Invalid) {
		t.Errorf("revocation without a subscription id: err = %v", err)
	}
}
