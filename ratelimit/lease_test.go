package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
)

// sharedLimiters returns n limiters on one Redis and prefix (n instances),
// all on one clock that starts at t0.
func sharedLimiters(t *testing.T, n int) ([]*Limiter, *clock) {
	t.Helper()
	rdb, prefix := dbtest.Redis(t)
	c := &clock{t: t0}
	out := make([]*Limiter, n)
	for i := range out {
		out[i] = New(rdb, prefix, slog.New(slog.DiscardHandler))
		out[i].now = c.now
	}
	return out, c
}

// redisCount reads what Redis has counted for key in the window that
// starts at start.
func redisCount(ctx context.Context, t *testing.T, l *Limiter, key string, start time.Time) int {
	t.Helper()
	w := window.Milliseconds()
	v, err := l.rdb.Get(ctx, l.bucketKey(key, start.UnixMilli(), w)).Result()
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("bucket of %s: %q", key, v)
	}
	return n
}

func TestTakeLeasedLimitThenRefuse(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l, clk := newLimiter(t, b.new)
			clk.set(t0.Add(20 * time.Second))
			for i := 1; i <= 300; i++ {
				r := l.TakeLeased(ctx, "k", 300, window)
				if !r.Allowed || r.Count != i {
					t.Fatalf("take %d: %+v, want allowed with count %d", i, r, i)
				}
			}
			r := l.TakeLeased(ctx, "k", 300, window)
			if r.Allowed || r.Count != 300 || r.RetryAfter <= 0 || r.RetryAfter > window {
				t.Errorf("take 301: %+v, want refused at count 300 with a retry time within the window", r)
			}
		})
	}
}

// TestTakeLeasedTakesBlocks checks that a lease counts a block in Redis at
// once (a twentieth of the room) and spends it without counting again.
func TestTakeLeasedTakesBlocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, _ := sharedLimiters(t, 1)
	l := ls[0]
	if r := l.TakeLeased(ctx, "k", 1000, window); !r.Allowed || r.Count != 1 {
		t.Fatalf("first take: %+v, want allowed with count 1", r)
	}
	if got := redisCount(ctx, t, l, "k", t0); got != 1000/LeaseShare {
		t.Fatalf("Redis counts %d after the first take, want a block of %d", got, 1000/LeaseShare)
	}
	for range 1000/LeaseShare - 1 {
		l.TakeLeased(ctx, "k", 1000, window)
	}
	if got := redisCount(ctx, t, l, "k", t0); got != 1000/LeaseShare {
		t.Errorf("Redis counts %d after the block was spent, want still %d", got, 1000/LeaseShare)
	}
	l.TakeLeased(ctx, "k", 1000, window)
	if got, want := redisCount(ctx, t, l, "k", t0), 1000/LeaseShare+(1000-1000/LeaseShare)/LeaseShare; got != want {
		t.Errorf("Redis counts %d after the next block, want %d", got, want)
	}
}

// TestTakeLeasedAcrossInstances checks that two instances' leases never
// let more through than the limit, and that the limit is reached when both
// keep asking.
func TestTakeLeasedAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, _ := sharedLimiters(t, 2)
	allowed := make([]int, 2)
	refused := make([]bool, 2)
	for i := 0; !refused[0] || !refused[1]; i++ {
		if i > 10_000 {
			t.Fatal("no end")
		}
		k := i % 2
		if ls[k].TakeLeased(ctx, "k", 500, window).Allowed {
			allowed[k]++
			refused[k] = false
		} else {
			refused[k] = true
		}
	}
	if allowed[0]+allowed[1] != 500 {
		t.Errorf("instances allowed %d + %d, want 500 in all", allowed[0], allowed[1])
	}
	if allowed[0] == 0 || allowed[1] == 0 {
		t.Errorf("instances allowed %d and %d: both should have had a share", allowed[0], allowed[1])
	}
	if got := redisCount(ctx, t, ls[0], "k", t0); got != 500 {
		t.Errorf("Redis counts %d, want 500", got)
	}
	if r := ls[0].Take(ctx, "k", 500, window); r.Allowed {
		t.Errorf("a plain Take after the leases: %+v, want refused", r)
	}
}

// TestTakeLeasedConcurrent runs many callers on two instances at once.
func TestTakeLeasedConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, _ := sharedLimiters(t, 2)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for i := range 200 {
		wg.Go(func() {
			for range 5 {
				if ls[i%2].TakeLeased(ctx, "k", 700, window).Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed > 700 {
		t.Fatalf("%d of 1000 concurrent takes allowed, over the limit of 700", allowed)
	}
	for _, l := range ls { // what the leases still hold
		for l.TakeLeased(ctx, "k", 700, window).Allowed {
			allowed++
		}
	}
	if allowed != 700 {
		t.Errorf("%d allowed in all, want 700", allowed)
	}
}

// TestTakeLeasedGivesBack checks that what is left of a block when its
// window turns is uncounted in Redis with the next block.
func TestTakeLeasedGivesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, clk := sharedLimiters(t, 1)
	l := ls[0]
	for range 3 {
		l.TakeLeased(ctx, "k", 1000, window)
	}
	if got := redisCount(ctx, t, l, "k", t0); got != 50 {
		t.Fatalf("Redis counts %d, want a block of 50", got)
	}
	next := t0.Add(window)
	clk.set(next)
	if r := l.TakeLeased(ctx, "k", 1000, window); !r.Allowed {
		t.Fatalf("first take of the next window: %+v", r)
	}
	if got := redisCount(ctx, t, l, "k", t0); got != 3 {
		t.Errorf("the previous window counts %d after the rest was given back, want the 3 spent", got)
	}
	if got, want := redisCount(ctx, t, l, "k", next), (1000-3)/LeaseShare; got != want {
		t.Errorf("the new window counts %d, want a block of %d", got, want)
	}
}

// TestTakeLeasedExpires checks that a block is not spent after its window:
// another instance that filled a later window is not overrun.
func TestTakeLeasedExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, clk := sharedLimiters(t, 2)
	a, b := ls[0], ls[1]
	if r := a.TakeLeased(ctx, "k", 100, window); !r.Allowed {
		t.Fatalf("a's first take: %+v", r)
	}
	clk.set(t0.Add(2 * window)) // a still holds 4 of its block of 5
	mustTake(ctx, t, b, "k", 100, 100)
	if r := a.TakeLeased(ctx, "k", 100, window); r.Allowed {
		t.Errorf("a spent its old block in a full window: %+v", r)
	}
}

// TestTakeLeasedRedisDown checks the fallback: counted in memory, one by
// one, and the limiter says it is degraded.
func TestTakeLeasedRedisDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l, _ := newLimiter(t, func(t *testing.T) *Limiter { return New(deadRedis(t), "rl:", slog.New(slog.DiscardHandler)) })
	for i := 1; i <= 40; i++ {
		if r := l.TakeLeased(ctx, "k", 40, window); !r.Allowed || r.Count != i {
			t.Fatalf("take %d with Redis down: %+v, want allowed with count %d", i, r, i)
		}
	}
	if r := l.TakeLeased(ctx, "k", 40, window); r.Allowed {
		t.Errorf("take 41 with Redis down: %+v, want refused", r)
	}
	if !l.Degraded() {
		t.Error("Degraded() = false with Redis down")
	}
}

// TestTakeLeasedSpendsBlockWhileRedisDown checks that a block counted
// before Redis went away is still spent (it was counted), and that what
// is left to give back is kept for when Redis returns.
func TestTakeLeasedSpendsBlockWhileRedisDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, clk := sharedLimiters(t, 1)
	up := ls[0]
	up.TakeLeased(ctx, "k", 1000, window) // a block of 50, 49 left
	down := New(deadRedis(t), up.prefix, slog.New(slog.DiscardHandler))
	down.now = clk.now
	down.leases = up.leases // the same instance, its Redis gone
	for i := range 49 {
		if r := down.TakeLeased(ctx, "k", 1000, window); !r.Allowed || r.Count != 2+i {
			t.Fatalf("take %d from the block: %+v, want allowed with count %d", i+2, r, 2+i)
		}
	}
	if down.Degraded() {
		t.Error("degraded before Redis was needed")
	}
	if r := down.TakeLeased(ctx, "k", 1000, window); !r.Allowed || r.Count != 1 || !down.Degraded() {
		t.Errorf("the take after the block: %+v (degraded %v), want counted in memory", r, down.Degraded())
	}
}

func TestTakeLeasedNoLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ls, _ := sharedLimiters(t, 1)
	for range 5 {
		if r := ls[0].TakeLeased(ctx, "k", 0, window); !r.Allowed {
			t.Fatalf("limit 0: %+v, want allowed", r)
		}
	}
}
