// Package db holds Waddle's schema migrations, the sqlc-generated queries over
// them, and the code that applies migrations. Only domain packages use it.
package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the advisory lock key held while migrating ("waddle" in ASCII).
const migrationLockKey = 0x776164646c65

// MigrationState describes one schema migration for `waddle migrate status` and the health page.
type MigrationState struct {
	Source  string // "waddle" or "river" (the job queue's own schema)
	Version int64
	Name    string
	Applied bool
}

func newProvider(pool *pgxpool.Pool) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, stdlib.OpenDBFromPool(pool), sub)
}

// withLock runs fn while holding the migration advisory lock on one connection.
func withLock(ctx context.Context, pool *pgxpool.Pool, fn func() error) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection for migration lock: %w", err)
	}
	defer conn.Release()
	q := New(conn)
	if err := q.MigrationLock(ctx, migrationLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// The lock is session-scoped: unlock with a fresh context so a cancelled
		// ctx cannot leave it held on a pooled connection.
		if uerr := q.MigrationUnlock(context.WithoutCancel(ctx), migrationLockKey); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
			err = errors.Join(err, fmt.Errorf("release migration lock: %w", uerr))
		}
	}()
	return fn()
}

// MigrateUp applies every pending migration, Waddle's and the job queue's,
// under a PostgreSQL advisory lock so that instances starting together are safe.
func MigrateUp(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	return withLock(ctx, pool, func() error {
		p, err := newProvider(pool)
		if err != nil {
			return fmt.Errorf("load migrations: %w", err)
		}
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		for _, r := range results {
			logger.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
		rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
		if err != nil {
			return fmt.Errorf("load job queue migrations: %w", err)
		}
		res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return fmt.Errorf("apply job queue migrations: %w", err)
		}
		for _, v := range res.Versions {
			logger.InfoContext(ctx, "job queue migration applied", "version", v.Version, "name", v.Name)
		}
		return nil
	})
}

// MigrateDown rolls back the newest Waddle migration (the job queue's schema is left alone).
func MigrateDown(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	return withLock(ctx, pool, func() error {
		p, err := newProvider(pool)
		if err != nil {
			return fmt.Errorf("load migrations: %w", err)
		}
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("roll back migration: %w", err)
		}
		logger.InfoContext(ctx, "migration rolled back", "version", r.Source.Version, "file", r.Source.Path)
		return nil
	})
}

// MigrationStatus lists every known migration and whether it is applied.
func MigrationStatus(ctx context.Context, pool *pgxpool.Pool) ([]MigrationState, error) {
	p, err := newProvider(pool)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	var out []MigrationState
	for _, s := range st {
		out = append(out, MigrationState{Source: "waddle", Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("load job queue migrations: %w", err)
	}
	existing, err := rm.ExistingVersions(ctx)
	if err != nil {
		// Before the first migration the river_migration table does not exist.
		existing = nil
	}
	applied := map[int]bool{}
	for _, m := range existing {
		applied[m.Version] = true
	}
	for _, m := range rm.AllVersions() {
		out = append(out, MigrationState{Source: "river", Version: int64(m.Version), Name: m.Name, Applied: applied[m.Version]})
	}
	return out, nil
}
