package identity_test

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// sentBox is the router.Sender of the tests: it keeps what it was asked to
// send and answers with refuse's answer for a user, as a bot answers after
// the platform did. (The end-to-end tests in cmd/waddle send through the
// real bots and the local Twitch and Discord.)
type sentBox struct {
	mu      sync.Mutex
	msgs    []router.Message
	refuse  map[string]error // by user id
	waitSet atomic.Bool      // every message asked to wait for the platform's answer
}

func (b *sentBox) Send(_ context.Context, _ int64, m router.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	if !m.Wait {
		b.waitSet.Store(false)
	}
	return b.refuse[m.User]
}

func (b *sentBox) last(t *testing.T) router.Message {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) == 0 {
		t.Fatal("nothing was sent")
	}
	return b.msgs[len(b.msgs)-1]
}

func (b *sentBox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

var codeRE = regexp.MustCompile(`!verify ([A-Z0-9]{6})`)

// code is the code in the last message sent.
func (b *sentBox) code(t *testing.T) string {
	t.Helper()
	m := codeRE.FindStringSubmatch(b.last(t).Text)
	if m == nil {
		t.Fatalf("no code in %q", b.last(t).Text)
	}
	return m[1]
}

// clock is the codes' clock, moved by the tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	ids    *identity.Service
	r      *router.Router
	box    *sentBox
	clock  *clock
	cid    int64
}

// newEnv is a community linked to Twitch channel duckchan and Discord guild
// 3000, with a router running the identity modules over one identity service.
func newEnv(t *testing.T) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	e := &env{t: t, pool: pool, rdb: rdb, prefix: prefix, box: &sentBox{refuse: map[string]error{}}, clock: &clock{now: time.Now()}}
	e.box.waitSet.Store(true)
	e.ids, e.r = e.instance(nil)
	c, err := db.New(pool).CommunityCreate(t.Context(), db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e.cid = c.ID
	s := router.NewSettings(e.r)
	for _, l := range [][2]string{{router.Twitch, "duckchan"}, {router.Discord, "3000"}, {router.Slack, "T1"}} {
		if _, err := s.LinkEntity(t.Context(), audit.Actor{}, c.ID, l[0], l[1], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// instance starts one more identity service and router on the env's
// database and Redis, as another `waddle serve` would.
func (e *env) instance(observer router.Observer) (*identity.Service, *router.Router) {
	t := e.t
	logger := slog.New(slog.DiscardHandler)
	limiter := ratelimit.New(e.rdb, e.prefix+"rl:", logger)
	ids := identity.NewService(identity.Config{Pool: e.pool, Redis: e.rdb, RedisPrefix: e.prefix, Logger: logger, Limiter: limiter,
		Sender: e.box, Now: e.clock.Now, FlushEvery: time.Hour})
	r := router.New(router.Config{Modules: append(modules.All(), modules.Identity(ids)...), Identities: ids, Seen: ids, Observer: observer,
		Pool: e.pool, Redis: e.rdb, RedisPrefix: e.prefix, Limiter: limiter, Logger: logger,
		Limits: router.Limits{PerUserPerCommand: 1000, PerCommandPerChannel: 1000, PerCommunity: 100_000, Window: 30 * time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.Run(ctx) }()
	go func() { defer wg.Done(); ids.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ids, r
}

// person is a chat account of the tests.
type person struct {
	platform, id, name string
}

var (
	alice = person{router.Twitch, "t1", "alice"}  // on Twitch
	bob   = person{router.Discord, "d1", "bob"}   // alice on Discord
	carol = person{router.Discord, "d2", "carol"} // someone else on Discord
)

func server(platform string) string {
	switch platform {
	case router.Twitch:
		return "duckchan"
	case router.Discord:
		return "3000"
	}
	return "T1"
}

var seq atomic.Int64

// say handles a chat message of p and returns the replies, joined.
func (e *env) say(p person, text string) string {
	e.t.Helper()
	return e.sayOn(e.r, p, text)
}

func (e *env) sayOn(r *router.Router, p person, text string) string {
	e.t.Helper()
	ev := router.Event{ID: fmt.Sprintf("ev-%d", seq.Add(1)), Platform: p.platform, Kind: router.ChatMessage, Server: server(p.platform), Channel: "50",
		User: router.User{ID: p.id, Name: p.name}, Text: text, Time: time.Now()}
	res, err := r.Handle(e.t.Context(), ev, router.Options{})
	if err != nil {
		e.t.Fatalf("%s says %q: %v", p.name, text, err)
	}
	var out []string
	for _, r := range res.Responses {
		out = append(out, r.Reply)
	}
	return strings.Join(out, "\n")
}

// seen makes the community see p (a chat line, written at once).
func (e *env) seen(p person) {
	e.t.Helper()
	e.say(p, "hello")
	if err := e.ids.FlushSeen(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// identityOf reads an account's identity from the database.
func (e *env) identityOf(p person) int64 {
	e.t.Helper()
	a, err := db.New(e.pool).IdentityAccountGet(e.t.Context(), db.IdentityAccountGetParams{Platform: p.platform, AccountID: p.id})
	if err != nil {
		e.t.Fatalf("account of %s: %v", p.name, err)
	}
	return a.IdentityID
}

// balance is p's balance in the community, 0 when none.
func (e *env) balance(p person) int64 {
	e.t.Helper()
	b, err := db.New(e.pool).PointsBalanceGet(e.t.Context(), db.PointsBalanceGetParams{CommunityID: e.cid, Platform: p.platform, UserID: p.id})
	if err != nil {
		return 0
	}
	return b
}

// link links a's and b's accounts through chat: a asks, b verifies.
func (e *env) link(a, b person) string {
	e.t.Helper()
	e.seen(b)
	if got := e.say(a, "!identity link "+b.platform+" "+b.name); !strings.Contains(got, "I sent a code") {
		e.t.Fatalf("link request answered %q", got)
	}
	return e.say(b, "!verify "+e.box.code(e.t))
}
