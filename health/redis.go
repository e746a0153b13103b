package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// ErrRedisDown is what every Redis command and dial gets at once while the
// breaker is open: callers take their fallback without waiting on a dial.
var ErrRedisDown = errors.New("redis is down: not dialed until a probe answers (falling back)")

// errNotCounted marks an outcome that says nothing about Redis: the caller
// gave up, the client was closed, or the pool repeated ErrRedisDown.
var errNotCounted = errors.New("not counted")

// RedisBreakerConfig tunes a RedisBreaker; zero values take the defaults.
type RedisBreakerConfig struct {
	Logger     *slog.Logger
	Failures   int           // failed calls or dials in a row that open it; 3
	ProbeEvery time.Duration // how often Redis is probed while open; 1s
}

// RedisBreaker stops Waddle from dialing a Redis that is down. It is a
// go-redis hook on the one client every component shares: a few failed
// calls or dials in a row open it, and from then on every command,
// pipeline and dial (pub/sub reconnects included) fails at once with
// ErrRedisDown, so the session store, rate limiter, cache invalidation,
// overlay broker and bots take their fallbacks without waiting. Run probes
// Redis in the background with a client of its own and closes the breaker
// when Redis answers. Its state is what the health page and /readyz report.
type RedisBreaker struct {
	cb     *gobreaker.TwoStepCircuitBreaker[struct{}]
	opts   *redis.Options
	logger *slog.Logger
	every  time.Duration
	open   atomic.Bool // closed or not: the hot path reads only this
	probes atomic.Int64

	mu      sync.Mutex
	state   RedisState
	lastErr error // the latest failure, the cause when it opens
}

// RedisState is what the breaker knows about Redis.
type RedisState struct {
	Down    bool
	Since   time.Time     // when it went down, or came back; zero: never down
	DownFor time.Duration // once back: how long it was down
	Cause   string        // the failure that opened it
	Probes  int64         // probes sent while it was down, in all
}

// NewRedisBreaker installs the breaker on rdb. Call Run to probe while open.
func NewRedisBreaker(rdb *redis.Client, cfg RedisBreakerConfig) *RedisBreaker {
	if cfg.Failures <= 0 {
		cfg.Failures = 3
	}
	if cfg.ProbeEvery <= 0 {
		cfg.ProbeEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &RedisBreaker{opts: rdb.Options(), logger: cfg.Logger, every: cfg.ProbeEvery}
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1, // half-open: the one probe
		// Open turns half-open almost at once; Run paces the probes.
		Timeout:       time.Millisecond,
		ReadyToTrip:   func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(cfg.Failures) },
		IsSuccessful:  answered,
		IsExcluded:    func(err error) bool { return errors.Is(err, errNotCounted) },
		OnStateChange: b.changed,
	})
	rdb.AddHook(b)
	return b
}

// answered reports whether Redis answered: no error, or one of its replies
// (redis.Nil, a script error, LOADING, …). Anything else is a failure.
func answered(err error) bool {
	var reply redis.Error
	return err == nil || errors.As(err, &reply)
}

// changed follows gobreaker's state; it runs under the breaker's lock.
func (b *RedisBreaker) changed(_ string, from, to gobreaker.State) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case from == gobreaker.StateClosed && to == gobreaker.StateOpen:
		b.open.Store(true)
		cause := "failed calls"
		if b.lastErr != nil {
			cause = b.lastErr.Error()
		}
		b.state.Down, b.state.Since, b.state.DownFor, b.state.Cause = true, now, 0, cause
		b.logger.Warn("redis down: not dialing it until a probe answers; sessions, rate limits, cache invalidation and overlay fan-out use their fallbacks",
			"err", b.lastErr, "probe_every", b.every)
	case to == gobreaker.StateClosed:
		b.state.Down, b.state.DownFor, b.state.Since = false, now.Sub(b.state.Since), now
		b.open.Store(false)
		b.logger.Info("redis back: using it again", "down_for", b.state.DownFor.Round(time.Millisecond))
	}
}

// ProbeEvery is how often Redis is probed while down.
func (b *RedisBreaker) ProbeEvery() time.Duration { return b.every }

// State returns what the breaker knows about Redis now.
func (b *RedisBreaker) State() RedisState {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state
	st.Probes = b.probes.Load()
	return st
}

// allow lets a call or dial through while the breaker is closed; done
// reports how it went.
func (b *RedisBreaker) allow() (done func(ctx context.Context, err error), ok bool) {
	if b.open.Load() {
		return nil, false
	}
	report, err := b.cb.Allow()
	if err != nil {
		return nil, false
	}
	return func(ctx context.Context, err error) {
		switch {
		case err == nil || answered(err):
		case ctx.Err() != nil, errors.Is(err, ErrRedisDown), errors.Is(err, redis.ErrClosed):
			err = errNotCounted
		default:
			b.mu.Lock()
			b.lastErr = err
			b.mu.Unlock()
		}
		report(err)
	}, true
}

// DialHook is part of redis.Hook.
func (b *RedisBreaker) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		done, ok := b.allow()
		if !ok {
			return nil, ErrRedisDown
		}
		conn, err := next(ctx, network, addr)
		done(ctx, err)
		return conn, err
	}
}

// ProcessHook is part of redis.Hook.
func (b *RedisBreaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		done, ok := b.allow()
		if !ok {
			cmd.SetErr(ErrRedisDown)
			return ErrRedisDown
		}
		err := next(ctx, cmd)
		done(ctx, err)
		return err
	}
}

// ProcessPipelineHook is part of redis.Hook; it also covers MULTI/EXEC.
func (b *RedisBreaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		done, ok := b.allow()
		if !ok {
			for _, cmd := range cmds {
				cmd.SetErr(ErrRedisDown)
			}
			return ErrRedisDown
		}
		err := next(ctx, cmds)
		done(ctx, err)
		return err
	}
}

// Run probes Redis while the breaker is open, every ProbeEvery, until ctx
// ends. Each probe is one PING from a client of its own (one connection,
// no retries), so the shared client's pool never dials a Redis that is down.
func (b *RedisBreaker) Run(ctx context.Context) error {
	tick := time.NewTicker(b.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if !b.open.Load() {
			continue
		}
		report, err := b.cb.Allow()
		if err != nil {
			continue // still open (a probe is under way, or it just failed)
		}
		err = b.probe(ctx)
		if ctx.Err() != nil {
			report(errNotCounted)
			return nil
		}
		b.probes.Add(1)
		if err != nil {
			err = fmt.Errorf("probe: %w", err)
		}
		report(err)
	}
}

func (b *RedisBreaker) probe(ctx context.Context) error {
	o := b.opts
	timeout := min(b.every, 2*time.Second)
	c := redis.NewClient(&redis.Options{
		Network: o.Network, Addr: o.Addr, Dialer: o.Dialer, TLSConfig: o.TLSConfig, Protocol: o.Protocol,
		Username: o.Username, Password: o.Password, DB: o.DB,
		CredentialsProvider: o.CredentialsProvider, CredentialsProviderContext: o.CredentialsProviderContext,
		DisableIdentity: true, PoolSize: 1, MaxRetries: -1, DialerRetries: 1,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.Ping(ctx).Err()
}
