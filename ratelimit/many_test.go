package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/ratelimit"
)

// TestTakeAll: several windows are counted together or not at all, in Redis,
// in memory, and with a Redis that is down (falling back to memory).
func TestTakeAll(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb, prefix := dbtest.Redis(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	for _, c := range []struct {
		name string
		l    *ratelimit.Limiter
	}{{"memory", ratelimit.New(nil, prefix, logger)}, {"redis", ratelimit.New(rdb, prefix+"a:", logger)}, {"redis down", ratelimit.New(dead, prefix, logger)}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			limits := []ratelimit.Limit{{Key: "user", Max: 2, Window: time.Minute}, {Key: "channel", Max: 3, Window: time.Minute}}
			for i := range 2 {
				if ok, _ := c.l.TakeAll(ctx, limits); !ok {
					t.Fatalf("take %d refused", i+1)
				}
			}
			ok, retry := c.l.TakeAll(ctx, limits)
			if ok || retry <= 0 || retry > 2*time.Minute {
				t.Fatalf("third take: ok %v retry %s, want refused with a retry time", ok, retry)
			}
			// The refused take counted nothing: the channel window still has room for one.
			other := []ratelimit.Limit{{Key: "user2", Max: 2, Window: time.Minute}, {Key: "channel", Max: 3, Window: time.Minute}}
			if ok, _ := c.l.TakeAll(ctx, other); !ok {
				t.Error("the channel's last slot was used by a refused take")
			}
			if ok, _ := c.l.TakeAll(ctx, other); ok {
				t.Error("the channel limit of 3 let a 4th through")
			}
		})
	}
}
