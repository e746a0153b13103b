package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/ratelimit"
)

// BenchmarkTake measures one rate-limit check, in memory and in Redis (one round trip).
func BenchmarkTake(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb, prefix := dbtest.Redis(b)
	for _, bc := range []struct {
		name string
		l    *ratelimit.Limiter
	}{{"memory", ratelimit.New(nil, prefix, logger)}, {"redis", ratelimit.New(rdb, prefix, logger)}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				bc.l.Take(ctx, "key:"+strconv.Itoa(i%1000), 1000, time.Minute)
				i++
			}
		})
	}
}
