package ratelimit

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/dbtest"
)

const window = time.Minute

// t0 is the start of a fixed window, so tests know where the window edges are.
var t0 = time.UnixMilli(window.Milliseconds() * 29_000_000)

// clock is a settable time for Limiter.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// backends lists the ways a Limiter can be built; every behaviour test runs on each.
var backends = []struct {
	name string
	new  func(t *testing.T) *Limiter
}{
	{"memory", func(t *testing.T) *Limiter { return New(nil, "", slog.New(slog.DiscardHandler)) }},
	{"redis", func(t *testing.T) *Limiter {
		rdb, prefix := dbtest.Redis(t)
		return New(rdb, prefix, slog.New(slog.DiscardHandler))
	}},
	{"redis down", func(t *testing.T) *Limiter {
		return New(deadRedis(t), "rl:", slog.New(slog.DiscardHandler))
	}},
}

// quietRedis drops go-redis's own log lines (a failed dial for every call to
// the dead Redis below); the limiter's fallback is what the tests check.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{})
	os.Exit(m.Run())
}

// deadRedis is a client for a port nothing listens on.
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newLimiter returns a limiter of the backend whose clock starts at t0.
func newLimiter(t *testing.T, mk func(*testing.T) *Limiter) (*Limiter, *clock) {
	t.Helper()
	l := mk(t)
	c := &clock{t: t0}
	l.now = c.now
	return l, c
}

func mustTake(ctx context.Context, t *testing.T, l *Limiter, key string, limit, n int) {
	t.Helper()
	for i := range n {
		if r := l.Take(ctx, key, limit, window); !r.Allowed {
			t.Fatalf("take %d of %d: refused (%+v)", i+1, n, r)
		}
	}
}

func TestLimitThenRefuse(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, clk := newLimiter(t, b.new)
			clk.set(t0.Add(20 * time.Second))
			for i := 1; i <= 5; i++ {
				r := l.Take(ctx, "k", 5, window)
				if !r.Allowed || r.Count != i {
					t.Fatalf("take %d: %+v, want allowed with count %d", i, r, i)
				}
			}
			for i := 0; i < 3; i++ {
				r := l.Take(ctx, "k", 5, window)
				if r.Allowed {
					t.Fatalf("take %d past the limit was allowed", 6+i)
				}
				if r.Count != 5 {
					t.Errorf("count after refusal = %d, want 5 (refusals are not counted)", r.Count)
				}
				if r.RetryAfter <= 0 || r.RetryAfter > window {
					t.Errorf("RetryAfter = %v, want in (0, %v]", r.RetryAfter, window)
				}
			}
			if r := l.Take(ctx, "other", 5, window); !r.Allowed || r.Count != 1 {
				t.Errorf("another key: %+v, want allowed with count 1", r)
			}
		})
	}
}

// TestRetryAfterIsExact checks that waiting RetryAfter is enough and that
// waiting less is not, both while the current window is full and while the
// previous window still weighs too much.
func TestRetryAfterIsExact(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		fillAt   time.Duration // when the 5 events happen, after t0
		refuseAt time.Duration // when the refused attempt is, after t0
		want     time.Duration
	}{
		// 5 events at 30s fill the window; at 72s (12s into the next window) the
		// previous window weighs 5 × 48/60 = 4, leaving room for one.
		// Filled at the start of a window, the events weigh on for part of the
		// next one too: the wait is longer than the window.
		{name: "current window full from its start", fillAt: 0, refuseAt: 0, want: 72 * time.Second},
		{name: "current window full", fillAt: 30 * time.Second, refuseAt: 30 * time.Second, want: 42 * time.Second},
		{name: "previous window sliding out", fillAt: 0, refuseAt: window, want: 12 * time.Second},
		{name: "previous window half out", fillAt: 59 * time.Second, refuseAt: window + 6*time.Second, want: 6 * time.Second},
	}
	for _, b := range backends {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				l, clk := newLimiter(t, b.new)
				clk.set(t0.Add(tc.fillAt))
				mustTake(ctx, t, l, "k", 5, 5)
				clk.set(t0.Add(tc.refuseAt))
				r := l.Take(ctx, "k", 5, window)
				if r.Allowed {
					t.Fatalf("take at %v was allowed", tc.refuseAt)
				}
				if r.RetryAfter != tc.want {
					t.Errorf("RetryAfter = %v, want %v", r.RetryAfter, tc.want)
				}
				clk.set(t0.Add(tc.refuseAt + r.RetryAfter - time.Millisecond))
				if p := l.Peek(ctx, "k", 5, window); p.Allowed {
					t.Errorf("1ms before RetryAfter: peek says allowed (%+v)", p)
				}
				clk.set(t0.Add(tc.refuseAt + r.RetryAfter))
				if r := l.Take(ctx, "k", 5, window); !r.Allowed {
					t.Errorf("after RetryAfter: refused (%+v)", r)
				}
				if r := l.Take(ctx, "k", 5, window); r.Allowed {
					t.Errorf("second take after RetryAfter was allowed: only one slot had slid out")
				}
			})
		}
	}
}

func TestSlidingWindow(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, clk := newLimiter(t, b.new)
			mustTake(ctx, t, l, "k", 10, 10) // at t0
			steps := []struct {
				at        time.Duration
				wantCount int // weighted count before the take, rounded up
				allowed   bool
			}{
				{at: 59 * time.Second, wantCount: 10, allowed: false},
				{at: window, wantCount: 10, allowed: false},                  // prev weighs 10
				{at: window + 6*time.Second, wantCount: 9, allowed: true},    // prev weighs 9, +1 = 10
				{at: window + 6*time.Second, wantCount: 10, allowed: false},  // full again
				{at: window + 30*time.Second, wantCount: 6, allowed: true},   // 5 + 1
				{at: window + 30*time.Second, wantCount: 7, allowed: true},   // 5 + 2
				{at: 2*window + 59*time.Second, wantCount: 1, allowed: true}, // 3 in prev weigh 3/60
				{at: 3*window + 59*time.Second, wantCount: 1, allowed: true}, // prev 1 weighs 1/60
				{at: 10 * window, wantCount: 0, allowed: true},               // everything slid out
				{at: 10*window + time.Second, wantCount: 1, allowed: true},   // just the one before
			}
			for _, s := range steps {
				clk.set(t0.Add(s.at))
				if p := l.Peek(ctx, "k", 10, window); p.Count != s.wantCount || p.Allowed != s.allowed {
					t.Errorf("at %v: peek = %+v, want count %d allowed %v", s.at, p, s.wantCount, s.allowed)
				}
				if r := l.Take(ctx, "k", 10, window); r.Allowed != s.allowed {
					t.Errorf("at %v: take allowed = %v, want %v", s.at, r.Allowed, s.allowed)
				}
			}
		})
	}
}

func TestPeekDoesNotCount(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, _ := newLimiter(t, b.new)
			if p := l.Peek(ctx, "k", 3, window); !p.Allowed || p.Count != 0 {
				t.Errorf("peek on a new key = %+v, want allowed with count 0", p)
			}
			mustTake(ctx, t, l, "k", 3, 2)
			for range 10 {
				if p := l.Peek(ctx, "k", 3, window); !p.Allowed || p.Count != 2 {
					t.Fatalf("peek = %+v, want allowed with count 2", p)
				}
			}
			mustTake(ctx, t, l, "k", 3, 1)
			p := l.Peek(ctx, "k", 3, window)
			if p.Allowed || p.Count != 3 || p.RetryAfter <= 0 || p.RetryAfter > 2*window {
				t.Errorf("peek at the limit = %+v, want refused with count 3 and 0 < RetryAfter <= %v", p, 2*window)
			}
		})
	}
}

func TestNoLimitCounts(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, _ := newLimiter(t, b.new)
			for i := 1; i <= 30; i++ {
				if r := l.Take(ctx, "k", 0, window); !r.Allowed || r.Count != i {
					t.Fatalf("take %d with limit 0 = %+v, want allowed with count %d", i, r, i)
				}
			}
			// The same key checked with a limit sees the events counted without one.
			if p := l.Peek(ctx, "k", 30, window); p.Allowed || p.Count != 30 {
				t.Errorf("peek with limit 30 = %+v, want refused with count 30", p)
			}
		})
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, clk := newLimiter(t, b.new)
			mustTake(ctx, t, l, "k", 5, 5)
			mustTake(ctx, t, l, "other", 5, 5)
			// Half a window later both the previous and the current window hold events.
			clk.set(t0.Add(window + 30*time.Second))
			mustTake(ctx, t, l, "k", 5, 2)
			if r := l.Take(ctx, "k", 5, window); r.Allowed {
				t.Fatalf("before reset: take allowed (%+v)", r)
			}
			l.Reset(ctx, "k", window)
			if p := l.Peek(ctx, "k", 5, window); !p.Allowed || p.Count != 0 {
				t.Errorf("after reset: peek = %+v, want allowed with count 0", p)
			}
			mustTake(ctx, t, l, "k", 5, 5)
			if p := l.Peek(ctx, "other", 5, window); p.Count != 3 {
				t.Errorf("reset of k changed another key: count = %d, want 3", p.Count)
			}
		})
	}
}

// TestConcurrentTakes checks that the limit holds exactly when many
// requests race for the last slots.
func TestConcurrentTakes(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, _ := newLimiter(t, b.new)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				allowed int
			)
			for range 40 {
				wg.Go(func() {
					if l.Take(ctx, "k", 15, window).Allowed {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if allowed != 15 {
				t.Errorf("%d of 40 concurrent takes allowed, want 15", allowed)
			}
		})
	}
}

func TestDegraded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := dbtest.Redis(t)
	cases := []struct {
		name string
		l    *Limiter
		want bool
	}{
		{name: "memory only", l: New(nil, "", slog.New(slog.DiscardHandler)), want: false},
		{name: "redis up", l: New(rdb, prefix, slog.New(slog.DiscardHandler)), want: false},
		{name: "redis down", l: New(deadRedis(t), "rl:", slog.New(slog.DiscardHandler)), want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.l.Degraded() {
				t.Errorf("degraded before any call")
			}
			tc.l.Take(ctx, "k", 5, window)
			if got := tc.l.Degraded(); got != tc.want {
				t.Errorf("Degraded() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSharedThroughRedis checks that two limiters on the same Redis and
// prefix (two hub instances) share their counts, which memory cannot do.
func TestSharedThroughRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := dbtest.Redis(t)
	a := New(rdb, prefix, slog.New(slog.DiscardHandler))
	b := New(rdb, prefix, slog.New(slog.DiscardHandler))
	mustTake(ctx, t, a, "k", 4, 2)
	mustTake(ctx, t, b, "k", 4, 2)
	if r := a.Take(ctx, "k", 4, window); r.Allowed {
		t.Errorf("instance a allowed a fifth event after a and b took two each (%+v)", r)
	}
	if p := b.Peek(ctx, "k", 4, window); p.Count != 4 {
		t.Errorf("instance b sees count %d, want 4", p.Count)
	}
}
