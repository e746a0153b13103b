package discord

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/health"
	"github.com/waddle/waddle/router"
)

// TestStoreWhileRedisIsDown: with Redis configured but down (its breaker
// open, as in `waddle serve`), forms, boost claims
// and voice joins are kept in memory on this instance and found again, and
// once Redis is back they go to Redis and are still found.
func TestStoreWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := dbtest.StartRedisServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	brk := health.NewRedisBreaker(rdb, health.RedisBreakerConfig{ProbeEvery: 20 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- brk.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	s := newStore(rdb, "t:")

	srv.Stop()
	for i := 0; i < 20 && !brk.State().Down; i++ {
		rdb.Ping(ctx)
	}
	if !brk.State().Down {
		t.Fatal("the breaker did not open")
	}

	check := func(when string) {
		t.Helper()
		f := router.Form{ID: "#menu " + when, Title: "Tell us", Fields: []router.FormField{{ID: "idea", Label: "Idea"}}}
		if _, err := s.put(ctx, "form:"+when, f, time.Minute, true); err != nil {
			t.Fatalf("%s: put: %v", when, err)
		}
		var got router.Form
		if err := s.get(ctx, "form:"+when, &got); err != nil || !cmp.Equal(got, f) {
			t.Errorf("%s: get = %+v, %v; want %+v", when, got, err, f)
		}
		if err := s.get(ctx, "form:never-"+when, &got); !errors.Is(err, errMissing) {
			t.Errorf("%s: get of a missing key: %v, want errMissing", when, err)
		}
		for i, want := range []bool{true, false} {
			if first, err := s.put(ctx, "boost:g:"+when, 1, time.Hour, false); err != nil || first != want {
				t.Errorf("%s: boost claim %d = %v, %v; want %v", when, i+1, first, err, want)
			}
		}
		at := time.UnixMilli(time.Now().UnixMilli())
		for i, want := range []bool{true, false} {
			if first, err := s.voiceJoin(ctx, "g", "u-"+when, at); err != nil || first != want {
				t.Errorf("%s: voice join %d = %v, %v; want %v", when, i+1, first, err, want)
			}
		}
		if err := s.voiceReset(ctx, "g", []string{"u-" + when}, at.Add(time.Second)); err != nil {
			t.Errorf("%s: voice reset: %v", when, err)
		}
		if joined, ok, err := s.voiceLeave(ctx, "g", "u-"+when); err != nil || !ok || !joined.Equal(at) {
			t.Errorf("%s: voice leave = %v, %v, %v; want joined at %v", when, joined, ok, err, at)
		}
		if _, ok, err := s.voiceLeave(ctx, "g", "u-"+when); err != nil || ok {
			t.Errorf("%s: second voice leave = %v, %v; want nothing recorded", when, ok, err)
		}
	}
	check("down")

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(ctx).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("Redis not used again within 10s of coming back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	check("back")
	if n, err := rdb.Exists(ctx, "t:discord:form:back", "t:discord:boost:g:back").Result(); err != nil || n != 2 {
		t.Errorf("%d of the keys stored after Redis came back are in Redis (%v), want 2", n, err)
	}
}
