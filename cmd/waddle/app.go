package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/secret"
	"github.com/waddle/waddle/telemetry"
)

// app is the set of connections and services every command shares.
type app struct {
	pool    *pgxpool.Pool
	replica *pgxpool.Pool // nil without DATABASE_READ_URL
	redis   *redis.Client // nil without REDIS_URL
	jobs    *river.Client[pgx.Tx]
	limiter *ratelimit.Limiter
	auth    *auth.Service
	comm    *community.Service
	sender  mail.Sender
	mailVia string
	secrets *secret.Box
	exec    *executor.Client
	tracing *telemetry.Tracing // spans of requests, events and queries; off unless configured
}

func openApp(ctx context.Context, cfg config, logger *slog.Logger) (*app, error) {
	a := &app{}
	var err error
	if a.tracing, err = telemetry.NewTracing(ctx, cfg.Tracing); err != nil {
		return nil, err
	}
	if a.pool, err = openPool(ctx, cfg.DatabaseURL, "DATABASE_URL", a.tracing.QueryTracer()); err != nil {
		a.close()
		return nil, err
	}
	if cfg.DatabaseReadURL != "" {
		if a.replica, err = openPool(ctx, cfg.DatabaseReadURL, "DATABASE_READ_URL", a.tracing.QueryTracer()); err != nil {
			a.close()
			return nil, err
		}
	}
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			a.close()
			return nil, &configError{"REDIS_URL", "cannot be parsed: " + err.Error()}
		}
		a.redis = redis.NewClient(opts)
		if err := a.redis.Ping(ctx).Err(); err != nil {
			// Not fatal: Waddle falls back to PostgreSQL and memory, and says so on the health page.
			logger.WarnContext(ctx, "redis unreachable at start; falling back until it answers", "err", err)
		}
	}
	if a.secrets, err = secret.New(cfg.TokenKey); err != nil {
		a.close()
		return nil, &configError{"TOKEN_ENCRYPTION_KEY", "is not usable: " + err.Error()}
	}
	a.exec = executor.New(executor.Config{AllowPrivate: cfg.AllowPrivate, Logger: logger.With("component", "executor")})
	a.limiter = ratelimit.New(a.redis, cfg.RedisPrefix+"rl:", logger.With("component", "ratelimit"))
	// Services insert jobs through an insert-only client; serve runs the workers.
	if a.jobs, err = river.NewClient(riverpgxv5.New(a.pool), &river.Config{Logger: logger.With("component", "jobs")}); err != nil {
		a.close()
		return nil, fmt.Errorf("job queue client: %w", err)
	}
	a.auth = auth.New(auth.Config{Pool: a.pool, Jobs: a.jobs, Limiter: a.limiter, Logger: logger.With("component", "auth"), BaseURL: cfg.BaseURL,
		Secrets: a.secrets})
	a.comm = community.New(community.Config{Pool: a.pool, Jobs: a.jobs, Auth: a.auth, Logger: logger.With("component", "community"), BaseURL: cfg.BaseURL})
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			a.close()
			return nil, &configError{"SMTP_URL", "is not usable: " + err.Error()}
		}
		a.sender = s
		u, _ := url.Parse(cfg.SMTPURL)
		a.mailVia = "SMTP " + u.Host
	} else {
		a.sender = mail.Log{Logger: logger.With("component", "mail")}
		a.mailVia = "log"
	}
	return a, nil
}

func openPool(ctx context.Context, dsn, name string, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &configError{name, "cannot be parsed: " + err.Error()}
	}
	if tracer != nil {
		pc.ConnConfig.Tracer = tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL (%s): %w", name, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL (%s at %s): %w", name, pc.ConnConfig.Host, err)
	}
	return pool, nil
}

// close releases connections, last thing before exit.
func (a *app) close() {
	if a.redis != nil {
		a.redis.Close()
	}
	if a.replica != nil {
		a.replica.Close()
	}
	if a.pool != nil {
		a.pool.Close()
	}
	if a.tracing != nil {
		// The last spans are flushed to the collector, for a few seconds at most.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.tracing.Shutdown(ctx)
	}
}
