package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// LeaseShare is the part of a window's remaining room one lease takes: an
// instance holds at most 1/LeaseShare of what is left, so others keep
// nearly all of it.
const LeaseShare = 20

// maxLease caps one lease, whatever the limit.
const maxLease = 1000

// leaseScript counts a block of events at once: as many as fit, up to
// 1/LeaseShare of the room left (at least one, at most ARGV[4]). KEYS and
// ARGV[1..3] are slidingScript's; ARGV[5] is a lease's unspent rest to give
// back to KEYS[2], the window it was taken in, before counting. It returns
// the block granted (0: none fits) and the counts after it.
var leaseScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local most = tonumber(ARGV[4])
local back = tonumber(ARGV[5])
local share = tonumber(ARGV[6])
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
if back > 0 and prev > 0 then
  prev = redis.call('DECRBY', KEYS[2], math.min(back, prev))
end
local curr = tonumber(redis.call('GET', KEYS[1]) or '0')
local room = math.floor(limit - (prev * (window - elapsed) / window + curr) + 1e-9)
if room < 1 then
  return {0, curr, prev}
end
local n = math.min(math.max(math.floor(room / share), 1), most, room)
curr = redis.call('INCRBY', KEYS[1], n)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {n, curr, prev}
`)

// lease is the unspent part of a block of events counted in Redis for
// one key, spent by this instance without asking Redis again.
type lease struct {
	mu    sync.Mutex // held while refilling, so one caller asks Redis at a time
	start int64      // the window (its start, in ms) the block was counted in
	left  int        // events of the block not yet spent
	count int        // the window's count with the whole block spent
}

// TakeLeased is Take for a busy key: it counts events in Redis in blocks
// (see LeaseShare) and spends each block locally, so most events cost no
// round trip. The limit holds across instances: a block is counted before
// it is spent, and only while the window has room for all of it; the price
// is that an instance may refuse while another holds unspent events, at
// most 1/LeaseShare of what was left each. A block is spent only in the
// window it was counted in; what is left of it when the window turns is
// given back with the next block. Without Redis (or while it is down),
// events are counted in memory as Take does, one by one. Count in the
// result is the window's count when the block was taken, plus what this
// instance has spent of it since.
func (l *Limiter) TakeLeased(ctx context.Context, key string, limit int, window time.Duration) Result {
	if l.rdb == nil || limit <= 0 {
		return l.do(ctx, key, limit, window, true)
	}
	nowMs := l.now().UnixMilli()
	w := max(window.Milliseconds(), 1)
	start := nowMs - nowMs%w
	elapsed := nowMs - start

	le := l.leaseFor(key)
	if !le.mu.TryLock() {
		if l.degraded.Load() { // a refill is waiting on a Redis that was down: do not queue behind it
			return l.mem(key, limit, start, elapsed, w, true)
		}
		le.mu.Lock()
	}
	defer le.mu.Unlock()
	if le.start == start && le.left > 0 {
		le.left--
		return Result{Allowed: true, Count: le.count - le.left}
	}
	back := 0
	if le.start == start-w { // the block's window is now the previous one
		back = le.left
	}
	le.left = 0
	vals, err := leaseScript.Run(ctx, l.rdb, []string{l.bucketKey(key, start, w), l.bucketKey(key, start-w, w)},
		limit, elapsed, w, maxLease, back, LeaseShare).Int64Slice()
	l.noteRedis(ctx, err)
	if err != nil || len(vals) != 3 {
		if back > 0 { // not given back: keep it to give back next time
			le.left = back
			le.start = start - w
		}
		return l.mem(key, limit, start, elapsed, w, true)
	}
	n, curr, prev := int(vals[0]), int(vals[1]), int(vals[2])
	le.start = start
	if n == 0 {
		return result(false, curr, prev, limit, elapsed, w, true)
	}
	r := result(true, curr, prev, limit, elapsed, w, true)
	le.left, le.count = n-1, r.Count
	r.Count -= le.left
	return r
}

// leaseFor returns key's lease, made on first use.
func (l *Limiter) leaseFor(key string) *lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	le := l.leases[key]
	if le == nil {
		if len(l.leases) >= 100_000 {
			clear(l.leases) // unspent blocks are forgotten: the limit only gets stricter
		}
		le = &lease{}
		l.leases[key] = le
	}
	return le
}
