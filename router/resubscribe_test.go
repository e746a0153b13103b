package router_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// TestCacheDroppedWhenRedisReturns: a change made while Redis is down cannot
// be announced to the other instances; when their subscription comes back
// they forget what they cached, rather than serve the old command for the
// rest of the cache's lifetime.
func TestCacheDroppedWhenRedisReturns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := dbtest.StartRedisServer(t)
	client := func() *redis.Client {
		opt, err := redis.ParseURL(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		opt.MaxRetries = -1
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		return c
	}
	const prefix = "resub:"
	writer := router.NewSettings(newRouter(t, e.pool, client(), prefix))
	logger := slog.New(slog.DiscardHandler)
	rdb := client()
	other := router.New(router.Config{Modules: modules.All(), Pool: e.pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, CacheTTL: time.Hour})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- other.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	ctx := context.Background()

	prefixOf := func() string {
		p, err := router.NewSettings(other).Prefix(ctx, e.cid) // from its cached snapshot
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := prefixOf(); got != "!" {
		t.Fatalf("prefix %q before the change", got)
	}
	srv.Stop()
	if err := writer.SetPrefix(ctx, audit.Actor{}, e.cid, "?"); err != nil {
		t.Fatal(err)
	}
	if got := prefixOf(); got != "!" {
		t.Fatalf("with Redis down the other instance has prefix %q: it should still serve its cache", got)
	}
	srv.Start()
	deadline := time.Now().Add(30 * time.Second) // long before the cache lifetime, an hour here
	for got := prefixOf(); got != "?"; got = prefixOf() {
		if time.Now().After(deadline) {
			t.Fatalf("the other instance still has prefix %q after Redis came back, want %q", got, "?")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
