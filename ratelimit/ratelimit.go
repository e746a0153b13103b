// Package ratelimit counts events per key in a sliding window, in Redis when it
// is configured (shared by every instance, one round trip per check) and in
// memory otherwise or while Redis is unreachable.
package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Result is the state of one key after a check.
type Result struct {
	Allowed    bool          // the event was within the limit (and was counted)
	Count      int           // events in the current sliding window, this one included when counted
	RetryAfter time.Duration // when not allowed: how long until one more event fits
}

// Limiter is a sliding-window counter (the weighted two-bucket approximation:
// the previous fixed window counts in proportion to how much of it still overlaps).
type Limiter struct {
	rdb    *redis.Client // nil: memory only
	prefix string
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	buckets  map[string]*memBucket
	leases   map[string]*lease // TakeLeased's unspent blocks
	degraded atomic.Bool       // the last Redis call failed and memory was used
}

type memBucket struct {
	start      int64 // start of the current window, in ms
	prev, curr int
}

// New returns a Limiter backed by rdb, or by memory when rdb is nil. Keys in
// Redis start with prefix.
func New(rdb *redis.Client, prefix string, logger *slog.Logger) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, logger: logger, now: time.Now, buckets: map[string]*memBucket{}, leases: map[string]*lease{}}
}

// Degraded reports whether Redis is configured but the last call to it failed.
func (l *Limiter) Degraded() bool { return l.degraded.Load() }

// The script keeps two counters per key: KEYS[1] the current window, KEYS[2] the
// previous one. ARGV: limit (0 = no limit), elapsed ms into the window, window ms,
// count (1 to take, 0 to peek), reset flag.
var slidingScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local take = tonumber(ARGV[4])
local curr = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local weighted = prev * (window - elapsed) / window + curr
if take == 1 and (limit == 0 or weighted + 1 <= limit) then
  curr = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return {1, curr, prev}
end
return {0, curr, prev}
`)

// Take counts one event for key if the window holds fewer than limit events
// (limit <= 0: always counted) and returns the resulting state.
func (l *Limiter) Take(ctx context.Context, key string, limit int, window time.Duration) Result {
	return l.do(ctx, key, limit, window, true)
}

// Peek returns the state of key without counting an event; Allowed says whether one more would fit.
func (l *Limiter) Peek(ctx context.Context, key string, limit int, window time.Duration) Result {
	return l.do(ctx, key, limit, window, false)
}

// Reset forgets every event of key.
func (l *Limiter) Reset(ctx context.Context, key string, window time.Duration) {
	nowMs := l.now().UnixMilli()
	w := window.Milliseconds()
	start := nowMs - nowMs%w
	if l.rdb != nil {
		err := l.rdb.Del(ctx, l.bucketKey(key, start, w), l.bucketKey(key, start-w, w)).Err()
		l.noteRedis(ctx, err)
	}
	l.mu.Lock()
	delete(l.buckets, key)
	delete(l.leases, key)
	l.mu.Unlock()
}

func (l *Limiter) bucketKey(key string, start, w int64) string {
	return l.prefix + key + ":" + strconv.FormatInt(start/w, 10)
}

func (l *Limiter) do(ctx context.Context, key string, limit int, window time.Duration, take bool) Result {
	nowMs := l.now().UnixMilli()
	w := window.Milliseconds()
	if w <= 0 {
		w = 1
	}
	start := nowMs - nowMs%w
	elapsed := nowMs - start
	if l.rdb != nil {
		t := 0
		if take {
			t = 1
		}
		vals, err := slidingScript.Run(ctx, l.rdb, []string{l.bucketKey(key, start, w), l.bucketKey(key, start-w, w)},
			max(limit, 0), elapsed, w, t).Int64Slice()
		l.noteRedis(ctx, err)
		if err == nil && len(vals) == 3 {
			return result(vals[0] == 1, int(vals[1]), int(vals[2]), limit, elapsed, w, take)
		}
	}
	return l.mem(key, limit, start, elapsed, w, take)
}

// mem is do in memory: without Redis, or while it is down.
func (l *Limiter) mem(key string, limit int, start, elapsed, w int64, take bool) Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &memBucket{start: start}
		l.buckets[key] = b
		if len(l.buckets) > 100_000 {
			l.sweep(start, w)
		}
	}
	switch {
	case b.start == start:
	case b.start == start-w:
		b.prev, b.curr, b.start = b.curr, 0, start
	default:
		b.prev, b.curr, b.start = 0, 0, start
	}
	weighted := float64(b.prev)*float64(w-elapsed)/float64(w) + float64(b.curr)
	ok := take && (limit <= 0 || weighted+1 <= float64(limit))
	if ok {
		b.curr++
	}
	return result(ok, b.curr, b.prev, limit, elapsed, w, take)
}

// sweep drops buckets that no longer matter; called with mu held.
func (l *Limiter) sweep(start, w int64) {
	for k, b := range l.buckets {
		if b.start < start-w {
			delete(l.buckets, k)
		}
	}
}

func result(taken bool, curr, prev, limit int, elapsed, w int64, take bool) Result {
	weighted := float64(prev)*float64(w-elapsed)/float64(w) + float64(curr)
	r := Result{Allowed: taken, Count: int(math.Ceil(weighted - 1e-9))}
	if !take {
		r.Allowed = limit <= 0 || weighted+1 <= float64(limit)
	}
	if !r.Allowed {
		r.RetryAfter = retryAfter(curr, prev, limit, elapsed, w)
	}
	return r
}

// retryAfter is how long until the weighted count leaves room for one more event.
func retryAfter(curr, prev, limit int, elapsed, w int64) time.Duration {
	if limit <= 0 {
		return 0
	}
	if curr+1 <= limit && prev > 0 {
		// The previous window still weighs too much: wait until enough of it slides out.
		e := math.Ceil(float64(w) * (1 - float64(limit-curr-1)/float64(prev)))
		return time.Duration(max(int64(e)-elapsed, 1)) * time.Millisecond
	}
	// The current window is full: wait for it to become the previous one and slide.
	e := int64(0)
	if curr > 0 {
		e = int64(math.Ceil(float64(w) * (1 - float64(limit-1)/float64(curr))))
	}
	return time.Duration(w-elapsed+max(e, 0)) * time.Millisecond
}

func (l *Limiter) noteRedis(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		if !l.degraded.Swap(true) {
			l.logger.WarnContext(ctx, "redis unreachable: rate limits fall back to memory", "err", err)
		}
		return
	}
	if err == nil && l.degraded.Swap(false) {
		l.logger.InfoContext(ctx, "redis reachable again: rate limits shared")
	}
}
