package health_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/health"
	"github.com/waddle/waddle/platform"
)

// closedAddr returns a local address nothing listens on: dials are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// deadPool returns a pool of a PostgreSQL that is not there.
func deadPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+closedAddr(t)+"/postgres?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// check returns the check named name, as the health page lists it.
func check(t *testing.T, checks []health.Check, name string) health.Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	t.Fatalf("no check %q among %q", name, names)
	return health.Check{}
}

// wantCheck fails unless the check named name has state and a sentence
// containing each of phrases.
func wantCheck(t *testing.T, checks []health.Check, name, state string, phrases ...string) health.Check {
	t.Helper()
	c := check(t, checks, name)
	if c.State != state {
		t.Errorf("%s: state %q (%s), want %q", name, c.State, c.Detail, state)
	}
	for _, p := range phrases {
		if !strings.Contains(c.Detail, p) {
			t.Errorf("%s: %q does not say %q", name, c.Detail, p)
		}
	}
	return c
}

// TestPostgreSQL: the primary and the replica are ok with their connection
// use when they answer, down with the reason when they do not, and a
// missing replica is off and says the primary serves lookups. Ready fails
// on either database being down and names which.
func TestPostgreSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up := dbtest.Pool(t)
	dead := deadPool(t)

	cases := []struct {
		name             string
		primary, replica *pgxpool.Pool
		wantPrimary      string
		wantReplica      string
		replicaSays      string
		readyErr         string // "" when ready
	}{
		{"both up", up, up, health.OK, health.OK, "connections in use", ""},
		{"no replica", up, nil, health.OK, health.Off, "DATABASE_READ_URL not set: lookups use the primary", ""},
		{"replica down", up, dead, health.OK, health.Down, "refused", "postgresql replica: "},
		{"primary down", dead, up, health.Down, health.OK, "connections in use", "postgresql: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := health.Checker{Primary: tc.primary, Replica: tc.replica, MailMode: "log"}
			checks := c.All(ctx)
			primary := wantCheck(t, checks, "PostgreSQL (primary)", tc.wantPrimary)
			if tc.wantPrimary == health.OK && !strings.HasPrefix(primary.Detail, "answered in ") {
				t.Errorf("primary up says %q, want how fast it answered", primary.Detail)
			}
			if tc.wantPrimary == health.Down && !strings.Contains(primary.Detail, "refused") {
				t.Errorf("primary down says %q, want why", primary.Detail)
			}
			wantCheck(t, checks, "PostgreSQL (read replica)", tc.wantReplica, tc.replicaSays)

			_, err := c.Ready(ctx)
			switch {
			case tc.readyErr == "" && err != nil:
				t.Errorf("Ready: %v, want ready", err)
			case tc.readyErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.readyErr)):
				t.Errorf("Ready: %v, want an error starting %q", err, tc.readyErr)
			}
		})
	}
}

// TestRedisOffAndUnreachable: without REDIS_URL Redis is off and the page
// says where sessions and rate limits live; a Redis that refuses
// connections (no breaker) is down and says the instance runs on fallbacks,
// yet the instance stays ready.
func TestRedisOffAndUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)

	off := health.Checker{Primary: pool, MailMode: "log"}
	wantCheck(t, off.All(ctx), "Redis", health.Off, "REDIS_URL not set", "sessions in PostgreSQL")
	if notes, err := off.Ready(ctx); err != nil || len(notes) != 0 {
		t.Errorf("Ready without Redis: %q, %v; want ready with no notes", notes, err)
	}

	rdb := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1})
	defer rdb.Close()
	gone := health.Checker{Primary: pool, Redis: rdb, MailMode: "log"}
	wantCheck(t, gone.All(ctx), "Redis", health.Down, "unreachable, running on fallbacks", health.RedisFallbacks, "refused")
	notes, err := gone.Ready(ctx)
	if err != nil {
		t.Fatalf("Ready with Redis unreachable: %v; Redis must not take the instance out", err)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "redis: down: unreachable") {
		t.Errorf("Ready notes %q, want one saying Redis is down", notes)
	}
}

// fallback is a component running on its fallback or not.
type fallback bool

func (f fallback) Degraded() bool { return bool(f) }

// TestRedisDegraded: Redis answers but a component still holds state in its
// fallback since its last call failed; the page says so.
func TestRedisDegraded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, _ := dbtest.Redis(t)
	c := health.Checker{Primary: dbtest.Pool(t), Redis: rdb, MailMode: "log"}

	c.Fallbacks = []health.Fallback{fallback(false), fallback(false)}
	ok := wantCheck(t, c.All(ctx), "Redis", health.OK, "answered in ")
	if strings.Contains(ok.Detail, "back since") {
		t.Errorf("Redis never down says %q", ok.Detail)
	}
	c.Fallbacks = []health.Fallback{fallback(false), fallback(true)}
	wantCheck(t, c.All(ctx), "Redis", health.Degraded, "answering again, but the last call failed: some state is in the fallback")
}

// TestRedisDownAndBack stops a real redis-server under a client with the
// breaker: the page says Redis is down since when, with the cause, that it
// is not dialed and how often it is probed, and what runs on fallbacks;
// the instance stays ready. When the server is back the page says ok, back
// since when and for how long it was down.
func TestRedisDownAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := dbtest.StartRedisServer(t)
	rdb, b, _ := newBreaker(t, srv.Addr)
	c := health.Checker{Primary: dbtest.Pool(t), Redis: rdb, Breaker: b, MailMode: "log"}

	wantCheck(t, c.All(ctx), "Redis", health.OK, "answered in ")

	srv.Stop()
	eventually(t, "the breaker opens", func() bool {
		rdb.Get(ctx, "k")
		return b.State().Down
	})
	since := b.State().Since.UTC().Format("2006-01-02 15:04:05 UTC")
	wantCheck(t, c.All(ctx), "Redis", health.Down, "down since "+since,
		"Not dialed while down, probed every 20ms", "Running on fallbacks: "+health.RedisFallbacks)
	notes, err := c.Ready(ctx)
	if err != nil {
		t.Fatalf("Ready with Redis down: %v; Redis must not take the instance out", err)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "redis: down: down since "+since) {
		t.Errorf("Ready notes %q, want one saying since when Redis is down", notes)
	}

	srv.Start()
	eventually(t, "the page says Redis is ok", func() bool {
		return check(t, c.All(ctx), "Redis").State == health.OK
	})
	st := b.State()
	back := fmt.Sprintf("; back since %s after %s down", st.Since.UTC().Format("2006-01-02 15:04:05 UTC"), st.DownFor.Round(time.Second))
	wantCheck(t, c.All(ctx), "Redis", health.OK, "answered in ", back)
}

// TestMailAndWebhooks: mail through SMTP is ok and names the server; mail
// to the log is off and says why; each webhook is off with the variable to
// set and what its path answers, or ok with where it receives.
func TestMailAndWebhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)

	off := health.Checker{Primary: pool, MailMode: "log"}.All(ctx)
	wantCheck(t, off, "Mail", health.Off, "SMTP_URL not set: mail is written to the log")
	wantCheck(t, off, "Twitch EventSub webhook", health.Off, "TWITCH_EVENTSUB_SECRET not set: /webhooks/twitch/eventsub answers 404")
	wantCheck(t, off, "Slack Events API webhook", health.Off, "SLACK_SIGNING_SECRET not set: /webhooks/slack/events answers 404")

	on := health.Checker{Primary: pool, MailMode: "smtp mail.example.com:587", EventSub: true, Slack: true}.All(ctx)
	wantCheck(t, on, "Mail", health.OK, "sending through smtp mail.example.com:587")
	wantCheck(t, on, "Twitch EventSub webhook", health.OK, "receiving at /webhooks/twitch/eventsub")
	wantCheck(t, on, "Slack Events API webhook", health.OK, "receiving at /webhooks/slack/events")

	ws := health.Checker{Primary: pool, MailMode: "log", EventSubTransport: "websocket"}.All(ctx)
	wantCheck(t, ws, "Twitch EventSub", health.OK, "over WebSocket", "which channels are subscribed")
}

type noteArgs struct{}

func (noteArgs) Kind() string { return "health_test_note" }

type failArgs struct{}

func (failArgs) Kind() string { return "health_test_fail" }

// failWorker fails every job and retries it only in an hour, so the job
// stays waiting to retry.
type failWorker struct {
	river.WorkerDefaults[failArgs]
}

func (failWorker) Work(context.Context, *river.Job[failArgs]) error {
	return errors.New("smtp: connection refused")
}

func (failWorker) NextRetry(*river.Job[failArgs]) time.Time { return time.Now().Add(time.Hour) }

// TestJobQueue: an empty queue is ok; waiting jobs are counted (capped at
// 100+); a job waiting to retry after a failure makes the queue degraded
// and points at the log; a queue whose database is gone is down. Without a
// job client the page shows no job queue row.
func TestJobQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := health.Checker{Primary: pool, MailMode: "log", Jobs: jobs}
	wantCheck(t, c.All(ctx), "Job queue", health.OK, "0 waiting or running, 0 waiting to retry after a failure")

	if _, err := jobs.Insert(ctx, noteArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Insert(ctx, noteArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	wantCheck(t, c.All(ctx), "Job queue", health.OK, "2 waiting or running, 0 waiting to retry")

	many := make([]river.InsertManyParams, 120)
	for i := range many {
		many[i] = river.InsertManyParams{Args: noteArgs{}}
	}
	if _, err := jobs.InsertMany(ctx, many); err != nil {
		t.Fatal(err)
	}
	wantCheck(t, c.All(ctx), "Job queue", health.OK, "100+ waiting or running, 0 waiting to retry")

	// A job that fails once, on a queue of its own.
	workers := river.NewWorkers()
	river.AddWorker(workers, &failWorker{})
	runner, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{"mail": {MaxWorkers: 1}}, Workers: workers,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Insert(ctx, failArgs{}, &river.InsertOpts{Queue: "mail"}); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(stop); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
	eventually(t, "the failed job waits to retry", func() bool {
		return check(t, c.All(ctx), "Job queue").State == health.Degraded
	})
	wantCheck(t, c.All(ctx), "Job queue", health.Degraded, "100+ waiting or running, 1 waiting to retry after a failure (see the log for why)")

	deadJobs, err := river.NewClient(riverpgxv5.New(deadPool(t)), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	wantCheck(t, health.Checker{Primary: pool, MailMode: "log", Jobs: deadJobs}.All(ctx), "Job queue", health.Down, "refused")

	for _, ch := range (health.Checker{Primary: pool, MailMode: "log"}).All(ctx) {
		if ch.Name == "Job queue" {
			t.Errorf("without a job client the page shows %+v", ch)
		}
	}
}

// TestMigrations: on a migrated database every migration, Waddle's and the
// job queue's, is applied; after rolling the latest back it is listed as
// pending and the others stay applied; a database that is gone gives an
// error rather than an empty list.
func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	c := health.Checker{Primary: pool}

	migs, err := c.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]int{}
	var latest int64
	for _, m := range migs {
		sources[m.Source]++
		if !m.Applied {
			t.Errorf("fresh database: %s migration %d %s pending", m.Source, m.Version, m.Name)
		}
		if m.Source == "waddle" {
			latest = max(latest, m.Version)
		}
	}
	if sources["waddle"] == 0 || sources["river"] == 0 {
		t.Fatalf("migrations by source %v, want Waddle's and the job queue's", sources)
	}

	if err := db.MigrateDown(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	migs, err = c.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pending []string
	for _, m := range migs {
		if !m.Applied {
			pending = append(pending, fmt.Sprintf("%s %d", m.Source, m.Version))
		}
	}
	if want := []string{fmt.Sprintf("waddle %d", latest)}; !cmp.Equal(pending, want) {
		t.Errorf("after rolling one back, pending %q, want %q", pending, want)
	}

	if _, err := (health.Checker{Primary: deadPool(t)}).Migrations(ctx); err == nil {
		t.Error("Migrations of a database that is gone: no error")
	}
}

// TestBotStates: each platform's bot is listed under its name, with the
// state the page shows for what the bot reports and the bot's own
// sentence: connected is ok, not configured is off, stopped is down, and
// anything in between (starting, reconnecting, needing an admin) degraded.
func TestBotStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	cases := []struct {
		platform, state, detail string
		age                     time.Duration // how long the bot has been in state
		wantName, wantState     string
		wantProblem             bool
		wantDetail              string
	}{
		{"twitch", platform.StateConnected, "Connected to 3 channels.", time.Hour, "Twitch bot", health.OK, false, ""},
		{"discord", platform.StateStarting, "Connecting to Discord.", time.Second, "Discord bot", health.Starting, false, ""},
		{"discord", platform.StateStarting, "Connecting to Discord.", 25 * time.Minute, "Discord bot", health.Degraded, true, "Still connecting after 25m0s: Connecting to Discord."},
		{"slack", platform.StateReconnecting, "Lost the connection; retrying in 4s.", time.Second, "Slack bot", health.Down, true, ""},
		{"twitch", platform.StateDegraded, "The bot token is missing: connect the bot account.", time.Second, "Twitch bot", health.Degraded, true, ""},
		{"discord", platform.StateStopped, "Shut down.", time.Second, "Discord bot", health.Down, true, ""},
		{"slack", platform.StateOff, "No credentials configured.", time.Hour, "Slack bot", health.Off, false, ""},
		{"kick", platform.StateConnected, "Connected.", time.Second, "kick bot", health.OK, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.platform+" "+tc.state, func(t *testing.T) {
			st := platform.NewStatus(tc.platform)
			st.Set(tc.state, tc.detail)
			c := health.Checker{Primary: pool, MailMode: "log", Bots: []*platform.Status{st}}
			for _, ch := range c.All(ctx) {
				if ch.Name == tc.wantName {
					t.Errorf("the components list the %s too (%q); the bots have their own list, so each shows one state", ch.Name, ch.State)
				}
			}
			bots := c.BotChecks(time.Now().Add(tc.age))
			if len(bots) != 1 {
				t.Fatalf("%d bots, want 1", len(bots))
			}
			b := bots[0]
			want := tc.wantDetail
			if want == "" {
				want = tc.detail
			}
			if b.Name != tc.wantName || b.State != tc.wantState || b.Problem != tc.wantProblem || b.Detail != want || b.Status.State != tc.state {
				t.Errorf("got %s %q (problem %v, bot state %q): %q; want %s %q (problem %v, bot state %q): %q",
					b.Name, b.State, b.Problem, b.Status.State, b.Detail, tc.wantName, tc.wantState, tc.wantProblem, tc.state, want)
			}
		})
	}
}

// TestLeaseHolders: the page lists which instance serves each Twitch
// channel and Discord shard, by platform and without the lease prefix;
// without leases it lists none.
func TestLeaseHolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	a := platform.NewLeases(pool, "host-a", 0)
	b := platform.NewLeases(pool, "host-b", 0)
	if _, err := a.Sync(ctx, platform.TwitchChannelLeases, []string{"duckchan"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(ctx, platform.DiscordShardLeases, []string{"0"}); err != nil {
		t.Fatal(err)
	}
	got, err := health.Checker{Primary: pool, Leases: a}.LeaseHolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Platform, Name, Holder string }
	var rows []row
	for _, h := range got {
		rows = append(rows, row{h.Platform, h.Name, h.Holder})
		if h.Expires.Before(time.Now()) {
			t.Errorf("live lease %+v shown as expired", h)
		}
	}
	want := []row{{"twitch", "duckchan", "host-a"}, {"discord", "0", "host-b"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("lease holders (-want +got):\n%s", diff)
	}

	none, err := health.Checker{Primary: pool}.LeaseHolders(ctx)
	if err != nil || len(none) != 0 {
		t.Errorf("without leases: %+v, %v; want none", none, err)
	}
}

// TestRevocations: the latest revocation notices, newest first, at most n.
func TestRevocations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	for _, sub := range []string{"sub-1", "sub-2", "sub-3"} {
		if err := db.New(pool).RevocationInsert(ctx, db.RevocationInsertParams{
			Platform: "twitch", Subscription: sub, Kind: "channel.chat.message", Reason: "authorization_revoked", Server: "duckchan",
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := health.Checker{Primary: pool}.Revocations(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, r := range got {
		subs = append(subs, r.Subscription)
		if r.Platform != "twitch" || r.Reason != "authorization_revoked" || r.Server != "duckchan" || r.At.IsZero() {
			t.Errorf("revocation %+v lost a field", r)
		}
	}
	if want := []string{"sub-3", "sub-2"}; !cmp.Equal(subs, want) {
		t.Errorf("revocations %q, want the latest two, newest first: %q", subs, want)
	}
}
