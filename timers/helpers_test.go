package timers_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sentLog is the router's Sender: it keeps what the bots were asked to
// send, or refuses with refuse.
type sentLog struct {
	mu     sync.Mutex
	sent   []router.Message
	cids   []int64
	refuse error
}

func (s *sentLog) Send(_ context.Context, communityID int64, m router.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil {
		return s.refuse
	}
	s.sent = append(s.sent, m)
	s.cids = append(s.cids, communityID)
	return nil
}

func (s *sentLog) all() []router.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]router.Message(nil), s.sent...)
}

// env is a real router whose Sender records and whose Observer is the
// timers' line counter, on the test database, with community ducks (Twitch
// duckchan, Discord guild g1) and community geese (Twitch goosechan).
type env struct {
	pool   *pgxpool.Pool
	rt     *router.Router
	sent   *sentLog
	lines  *timers.Lines
	svc    *timers.Service
	clock  *clock
	ducks  int64
	geese  int64
	by     audit.Actor
	events int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	e := &env{pool: pool, sent: &sentLog{}, lines: timers.NewLines(timers.LinesConfig{Pool: pool}),
		clock: &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}, by: audit.Actor{Name: "test"}}
	e.rt = router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix,
		Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, Sender: e.sent, Observer: e.lines})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.rt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.svc = timers.New(timers.Config{Pool: pool, Now: e.clock.Now})
	settings := router.NewSettings(e.rt)
	e.ducks = e.community(t, settings, "ducks", router.Twitch, "duckchan")
	e.geese = e.community(t, settings, "geese", router.Twitch, "goosechan")
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, e.ducks, router.Discord, "g1", "Duck guild"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) community(t *testing.T, st *router.Settings, slug, platform, server string) int64 {
	t.Helper()
	c, err := db.New(e.pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LinkEntity(context.Background(), audit.Actor{}, c.ID, platform, server, server); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (e *env) scheduler() *timers.Scheduler {
	return timers.NewScheduler(timers.SchedulerConfig{Pool: e.pool, Poster: e.rt, Now: e.clock.Now})
}

// chat sends n chat lines through the router in a channel and flushes the
// counts.
func (e *env) chat(t *testing.T, platform, server, channel string, n int) {
	t.Helper()
	for range n {
		e.events++
		ev := router.Event{ID: fmt.Sprintf("chat-%d", e.events), Platform: platform, Kind: router.ChatMessage, Server: server,
			Channel: channel, User: router.User{ID: "u1", Name: "viewer"}, Text: "hello there", Time: e.clock.Now()}
		if _, err := e.rt.Handle(context.Background(), ev, router.Options{}); err != nil {
			t.Fatalf("chat: %v", err)
		}
	}
	if err := e.lines.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stream sends a stream online or offline event through the router.
func (e *env) stream(t *testing.T, server string, kind router.Kind) {
	t.Helper()
	e.events++
	ev := router.Event{ID: fmt.Sprintf("stream-%d", e.events), Platform: router.Twitch, Kind: kind, Server: server,
		User: router.User{ID: "b1", Name: server}, Time: e.clock.Now()}
	if _, err := e.rt.Handle(context.Background(), ev, router.Options{}); err != nil {
		t.Fatalf("stream event: %v", err)
	}
	if err := e.lines.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) create(t *testing.T, in timers.Input) timers.Timer {
	t.Helper()
	tm, err := e.svc.Create(context.Background(), e.by, e.ducks, in)
	if err != nil {
		t.Fatalf("create timer: %v", err)
	}
	return tm
}

func (e *env) get(t *testing.T, id int64) timers.Timer {
	t.Helper()
	tm, err := e.svc.Get(context.Background(), e.ducks, id)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// ticks returns a timer's ticks' outcomes, oldest first.
func (e *env) ticks(t *testing.T, id int64) []string {
	t.Helper()
	rows, err := db.New(e.pool).TimerTickList(context.Background(), db.TimerTickListParams{CommunityID: e.ducks, TimerID: id, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = r.Outcome
	}
	return out
}

func fire(t *testing.T, sc *timers.Scheduler) int {
	t.Helper()
	n, err := sc.Fire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func twitchTimer(name string) timers.Input {
	return timers.Input{Name: name, Message: "Follow the channel!", Platform: router.Twitch, Server: "duckchan",
		IntervalMinutes: 10, Enabled: true}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Code != problem.Invalid || p.Field != field {
		t.Fatalf("err = %v, want invalid %q", err, field)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, timers.ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}
