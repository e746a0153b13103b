package importer_test

import (
	"context"
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
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// engine is a community with a linked Twitch channel, the router's
// settings and the import service, on a fresh database.
type engine struct {
	t        testing.TB
	ctx      context.Context
	pool     *pgxpool.Pool
	settings *router.Settings
	rt       *router.Router
	s        *importer.Service
	cid      int64
	clock    *clock
	helix    *fakeHelix
}

type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// fakeHelix answers Get Users by login from a table, refusing more than
// 100 logins a call as Helix does.
type fakeHelix struct {
	mu    sync.Mutex
	ids   map[string]string
	calls int
}

func (h *fakeHelix) TwitchIDs(_ context.Context, logins []string) (map[string]string, error) {
	if len(logins) > 100 {
		return nil, fmt.Errorf("helix: %d logins in one call; at most 100", len(logins))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	out := map[string]string{}
	for _, l := range logins {
		if id, ok := h.ids[l]; ok {
			out[l] = id
		}
	}
	return out, nil
}

func newEngine(t testing.TB) *engine {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix,
		Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- rt.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router run: %v", err)
		}
	})
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{t: t, ctx: ctx, pool: pool, rt: rt, settings: router.NewSettings(rt),
		clock: &clock{at: time.Now()}, helix: &fakeHelix{ids: map[string]string{}}}
	e.s = importer.New(importer.Config{Pool: pool, Jobs: jobs, Resolver: e.helix, Commands: e.settings, Logger: logger, Now: e.clock.now})
	e.cid = e.community("ducks", "duckchan")
	return e
}

// community creates a community with a linked Twitch channel.
func (e *engine) community(slug, channel string) int64 {
	e.t.Helper()
	c, err := db.New(e.pool).CommunityCreate(e.ctx, db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		e.t.Fatal(err)
	}
	if channel != "" {
		if _, err := e.settings.LinkEntity(e.ctx, audit.Actor{}, c.ID, router.Twitch, channel, channel); err != nil {
			e.t.Fatal(err)
		}
	}
	return c.ID
}

func (e *engine) create(b *importer.Bundle) importer.Import {
	e.t.Helper()
	im, err := e.s.Create(e.ctx, audit.Actor{Name: "test"}, e.cid, b, []string{"export.json"})
	if err != nil {
		e.t.Fatal(err)
	}
	return im
}

// apply asks for the apply and runs its job to the end.
func (e *engine) apply(id int64, c importer.Choices) importer.Import {
	e.t.Helper()
	if err := e.s.Apply(e.ctx, audit.Actor{Name: "test"}, e.cid, id, c); err != nil {
		e.t.Fatal(err)
	}
	if err := e.work(id); err != nil {
		e.t.Fatal(err)
	}
	im, err := e.s.Get(e.ctx, e.cid, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return im
}

// work runs the apply job of an import once, as River would.
func (e *engine) work(id int64) error {
	w := &importer.ApplyWorker{Service: e.s}
	return w.Work(e.ctx, &river.Job[importer.ApplyArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5},
		Args: importer.ApplyArgs{CommunityID: e.cid, ImportID: id}})
}

func (e *engine) scalar(sql string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.pool.QueryRow(e.ctx, sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (e *engine) strings(sql string, args ...any) []string {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, sql, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// balance is the points of a Twitch account's identity in the community.
func (e *engine) balance(cid int64, accountID string) int64 {
	e.t.Helper()
	return e.scalar(`SELECT coalesce((SELECT b.balance FROM points_balances b JOIN identity_accounts a ON a.identity_id = b.identity_id
		WHERE b.community_id = $1 AND a.platform = 'twitch' AND a.account_id = $2), 0)`, cid, accountID)
}

// say sends a chat message in the community's channel.
func (e *engine) say(id, name, text string) string {
	e.t.Helper()
	res, err := e.rt.Handle(e.ctx, router.Event{ID: fmt.Sprintf("ev-%d", time.Now().UnixNano()), Kind: router.ChatMessage,
		Platform: router.Twitch, Server: "duckchan", User: router.User{ID: id, Name: name}, Text: text}, router.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range res.Responses {
		out = append(out, r.Reply)
	}
	return strings.Join(out, "\n")
}

// sample is a small bundle with something in every category.
func sample() *importer.Bundle {
	return &importer.Bundle{
		Source: importer.StreamElements,
		Commands: []importer.Command{
			{Name: "hello", Aliases: []string{"hi"}, Response: "Hello {user}!", Original: "Hello ${user}!", Permission: router.Everyone, Enabled: true, Count: 3},
			{Name: "discord", Response: "Join us", Original: "Join us", Permission: router.Moderator, UserCooldown: 30, Enabled: true},
			{Name: "weather", Response: "${urlfetch https://w.example}", Original: "${urlfetch https://w.example}",
				Attention: []string{"${urlfetch}: Waddle does not fetch URLs in replies"}, Permission: router.Everyone, Enabled: true},
		},
		Timers:   []importer.Timer{{Name: "socials", Message: "Follow us", IntervalMinutes: 15, MinLines: 5, Enabled: true}},
		Quotes:   []importer.Quote{{Number: 1, Text: "quack", Game: "Duck Game"}, {Number: 2, Text: "honk"}},
		Counters: []importer.Counter{{Name: "deaths", Value: 42}},
		Filters:  []importer.Filter{{Kind: "word", Pattern: "badword"}, {Kind: "regex", Pattern: `b[a@]d`}},
		Points: []importer.Balance{
			{Login: "alice", Points: 100, Seconds: 3600},
			{Login: "bob", UserID: "2002", Points: 250},
			{Login: "ghost", Points: 77},
		},
		Skipped: []importer.Skipped{{Category: "command", Name: "uptime", Reason: "a module command"}},
	}
}
