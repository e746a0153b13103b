package health_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/health"
)

// past counts the dials and calls that get past the breaker, towards Redis.
type past struct{ dials, calls atomic.Int64 }

func (p *past) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		p.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (p *past) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		p.calls.Add(1)
		return next(ctx, cmd)
	}
}

func (p *past) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		p.calls.Add(1)
		return next(ctx, cmds)
	}
}

// newBreaker returns a client of addr with a running breaker on it, and the
// counter of what gets past the breaker.
func newBreaker(t *testing.T, addr string) (*redis.Client, *health.RedisBreaker, *past) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b := health.NewRedisBreaker(rdb, health.RedisBreakerConfig{ProbeEvery: 20 * time.Millisecond})
	p := &past{}
	rdb.AddHook(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		rdb.Close()
	})
	return rdb, b, p
}

// eventually polls cond until it holds, failing after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisBreaker stops a real redis-server under a client with the
// breaker: a few failed calls open it, and then no call, pipeline,
// transaction, script, publish or subscription dials Redis (each fails at
// once with ErrRedisDown) while the background probe keeps trying; when
// the server is back the probe closes the breaker and calls reach Redis.
func TestRedisBreaker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := dbtest.StartRedisServer(t)
	rdb, b, p := newBreaker(t, srv.Addr)

	// Up: Redis's own answers (a missing key, an unknown command, a failing
	// script) are answers, not failures.
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := rdb.Get(ctx, "missing").Err(); !errors.Is(err, redis.Nil) {
			t.Fatalf("Get of a missing key: %v", err)
		}
		if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
			t.Fatal("an unknown command succeeded")
		}
		if err := rdb.Eval(ctx, "return redis.error_reply('no')", nil).Err(); err == nil {
			t.Fatal("a failing script succeeded")
		}
	}
	if st := b.State(); st.Down || !st.Since.IsZero() {
		t.Fatalf("state %+v after Redis's own errors, want up and never down", st)
	}

	srv.Stop()
	downAt := time.Now()
	var err error
	for i := 0; i < 20 && !errors.Is(err, health.ErrRedisDown); i++ {
		err = rdb.Get(ctx, "k").Err()
	}
	if !errors.Is(err, health.ErrRedisDown) {
		t.Fatalf("after 20 failed calls the client still tries Redis: %v", err)
	}
	st := b.State()
	if !st.Down || st.Since.Before(downAt) || st.Cause == "" {
		t.Fatalf("state %+v, want down since the stop with a cause", st)
	}

	dials, calls, probes := p.dials.Load(), p.calls.Load(), st.Probes
	sub := rdb.Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); !errors.Is(err, health.ErrRedisDown) {
		t.Errorf("subscribe while down: %v, want ErrRedisDown", err)
	}
	calls1 := map[string]func() error{
		"get":     func() error { return rdb.Get(ctx, "k").Err() },
		"set":     func() error { return rdb.Set(ctx, "k", "v", time.Minute).Err() },
		"publish": func() error { return rdb.Publish(ctx, "news", "x").Err() },
		"script":  func() error { return rdb.Eval(ctx, "return 1", nil).Err() },
		"pipeline": func() error {
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.Incr(ctx, "a"); p.Incr(ctx, "b"); return nil })
			return err
		},
		"transaction": func() error {
			_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Incr(ctx, "a"); return nil })
			return err
		},
	}
	for range 20 {
		for name, call := range calls1 {
			if err := call(); !errors.Is(err, health.ErrRedisDown) {
				t.Fatalf("%s while down: %v, want ErrRedisDown", name, err)
			}
		}
	}
	eventually(t, "three probes while down", func() bool { return b.State().Probes >= probes+3 })
	if d, c := p.dials.Load()-dials, p.calls.Load()-calls; d != 0 || c != 0 {
		t.Errorf("while down, %d dials and %d calls got past the breaker, want none", d, c)
	}
	if !b.State().Down {
		t.Fatal("a probe of a stopped server closed the breaker")
	}

	srv.Start()
	eventually(t, "the breaker closes", func() bool { return !b.State().Down })
	st = b.State()
	if st.Since.Before(downAt) || st.DownFor <= 0 {
		t.Errorf("state %+v, want back since a moment after going down", st)
	}
	// The client's pool may repeat its last dial error for up to a second.
	eventually(t, "a write reaches Redis", func() bool { return rdb.Set(ctx, "k2", "back", 0).Err() == nil })
	fresh := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer fresh.Close()
	if v, err := fresh.Get(ctx, "k2").Result(); err != nil || v != "back" {
		t.Errorf("Redis holds %q, %v; want the write made after it came back", v, err)
	}
	if p.dials.Load() == dials {
		t.Error("no dial reached Redis after it came back")
	}
}

// TestRedisBreakerCallerGaveUp: calls whose caller gave up (a cancelled
// context) say nothing about Redis and do not open the breaker; calls that
// fail on their own do.
func TestRedisBreakerCallerGaveUp(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: dials are refused
	rdb, b, _ := newBreaker(t, addr)

	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for range 10 {
		if err := rdb.Get(gone, "k").Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a cancelled context: %v", err)
		}
	}
	if b.State().Down {
		t.Fatal("calls with a cancelled context opened the breaker")
	}
	var last error
	for i := 0; i < 20 && !errors.Is(last, health.ErrRedisDown); i++ {
		last = rdb.Get(context.Background(), "k").Err()
	}
	if !b.State().Down || !errors.Is(last, health.ErrRedisDown) {
		t.Errorf("refused dials did not open the breaker: %v", last)
	}
}
