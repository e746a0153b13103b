package ratelimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limit is one sliding window to check.
type Limit struct {
	Key    string
	Max    int
	Window time.Duration
}

// manyScript checks several windows and counts one event in all of them only
// when every one has room. KEYS come in pairs (current, previous); ARGV in
// triples (max, elapsed ms, window ms). It returns ok followed by each pair's
// current and previous counts.
var manyScript = redis.NewScript(`
local n = #KEYS / 2
local out = {1}
for i = 1, n do
  local curr = tonumber(redis.call('GET', KEYS[2*i-1]) or '0')
  local prev = tonumber(redis.call('GET', KEYS[2*i]) or '0')
  local max = tonumber(ARGV[3*i-2])
  local elapsed = tonumber(ARGV[3*i-1])
  local window = tonumber(ARGV[3*i])
  if prev * (window - elapsed) / window + curr + 1 > max then out[1] = 0 end
  out[2*i] = curr
  out[2*i+1] = prev
end
if out[1] == 1 then
  for i = 1, n do
    out[2*i] = redis.call('INCR', KEYS[2*i-1])
    redis.call('PEXPIRE', KEYS[2*i-1], tonumber(ARGV[3*i]) * 2)
  end
end
return out
`)

// TakeAll counts one event against every limit if all of them have room, in
// one Redis round trip; otherwise it counts nothing and reports how long until
// the tightest one lets an event through.
func (l *Limiter) TakeAll(ctx context.Context, limits []Limit) (bool, time.Duration) {
	nowMs := l.now().UnixMilli()
	type win struct{ start, elapsed, w int64 }
	wins := make([]win, len(limits))
	for i, lim := range limits {
		w := max(lim.Window.Milliseconds(), 1)
		start := nowMs - nowMs%w
		wins[i] = win{start, nowMs - start, w}
	}
	retry := func(curr, prev []int64) time.Duration {
		var d time.Duration
		for i, lim := range limits {
			weighted := float64(prev[i])*float64(wins[i].w-wins[i].elapsed)/float64(wins[i].w) + float64(curr[i])
			if weighted+1 > float64(lim.Max) {
				d = max(d, retryAfter(int(curr[i]), int(prev[i]), lim.Max, wins[i].elapsed, wins[i].w))
			}
		}
		return d
	}
	if l.rdb != nil {
		keys := make([]string, 0, 2*len(limits))
		args := make([]any, 0, 3*len(limits))
		for i, lim := range limits {
			keys = append(keys, l.bucketKey(lim.Key, wins[i].start, wins[i].w), l.bucketKey(lim.Key, wins[i].start-wins[i].w, wins[i].w))
			args = append(args, lim.Max, wins[i].elapsed, wins[i].w)
		}
		vals, err := manyScript.Run(ctx, l.rdb, keys, args...).Int64Slice()
		l.noteRedis(ctx, err)
		if err == nil && len(vals) == 1+2*len(limits) {
			if vals[0] == 1 {
				return true, 0
			}
			curr, prev := make([]int64, len(limits)), make([]int64, len(limits))
			for i := range limits {
				curr[i], prev[i] = vals[1+2*i], vals[2+2*i]
			}
			return false, retry(curr, prev)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	curr, prev := make([]int64, len(limits)), make([]int64, len(limits))
	buckets := make([]*memBucket, len(limits))
	ok := true
	for i, lim := range limits {
		b := l.buckets[lim.Key]
		if b == nil {
			b = &memBucket{start: wins[i].start}
			l.buckets[lim.Key] = b
		}
		switch {
		case b.start == wins[i].start:
		case b.start == wins[i].start-wins[i].w:
			b.prev, b.curr, b.start = b.curr, 0, wins[i].start
		default:
			b.prev, b.curr, b.start = 0, 0, wins[i].start
		}
		buckets[i] = b
		curr[i], prev[i] = int64(b.curr), int64(b.prev)
		weighted := float64(b.prev)*float64(wins[i].w-wins[i].elapsed)/float64(wins[i].w) + float64(b.curr)
		if weighted+1 > float64(lim.Max) {
			ok = false
		}
	}
	if !ok {
		return false, retry(curr, prev)
	}
	for _, b := range buckets {
		b.curr++
	}
	return true, 0
}
