// Package db holds Waddle's schema migrations, the sqlc-generated queries over
// them, and the code that applies migrations. Only domain packages use it.
package db

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/riverqueue/river/riverdriver"
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
	// Unknown marks a migration applied in the database that this binary
	// does not have: a newer release applied it. Applied is true then.
	Unknown bool
}

// Migrations returns Waddle's embedded schema migrations, the
// NNNNN_name.sql files goose applies, for the checks that read them.
func Migrations() (fs.FS, error) {
	return fs.Sub(migrationFiles, "migrations")
}

// NewestMigration is the highest migration embedded in this binary: its
// version and file name.
func NewestMigration() (int64, string, error) {
	migrations, err := Migrations()
	if err != nil {
		return 0, "", err
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil || len(names) == 0 {
		return 0, "", fmt.Errorf("embedded migrations: %v (%d files)", err, len(names))
	}
	name := names[len(names)-1] // fs.Glob sorts; the names are zero-padded
	v, err := strconv.ParseInt(name[:max(strings.IndexByte(name, '_'), 0)], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("migration %s: %w", name, err)
	}
	return v, name, nil
}

// migrator is goose over the embedded migrations, with its version table
// store kept at hand to read what the database has applied.
type migrator struct {
	*goose.Provider
	store database.Store
	db    *sql.DB
}

func newProvider(pool *pgxpool.Pool) (*migrator, error) {
	store, err := database.NewStore(database.DialectPostgres, goose.DefaultTablename)
	if err != nil {
		return nil, err
	}
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectCustom, sqlDB, migrations, goose.WithStore(store))
	if err != nil {
		return nil, err
	}
	return &migrator{Provider: p, store: store, db: sqlDB}, nil
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
// A database a newer release has migrated further than this binary knows is
// left untouched: MigrateUp returns a *SchemaTooNewError.
func MigrateUp(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	return withLock(ctx, pool, func() error {
		p, err := newProvider(pool)
		if err != nil {
			return fmt.Errorf("load migrations: %w", err)
		}
		if err := p.refuseNewer(ctx); err != nil {
			return err
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

// MigrateDown rolls back the newest Waddle migration (the job queue's schema
// is left alone). Like MigrateUp, it refuses a schema newer than it knows.
func MigrateDown(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	return withLock(ctx, pool, func() error {
		p, err := newProvider(pool)
		if err != nil {
			return fmt.Errorf("load migrations: %w", err)
		}
		if err := p.refuseNewer(ctx); err != nil {
			return err
		}
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("roll back migration: %w", err)
		}
		logger.InfoContext(ctx, "migration rolled back", "version", r.Source.Version, "file", r.Source.Path)
		return nil
	})
}

// MigrationStatus lists every known migration and whether it is applied,
// then the migrations applied in the database that this binary does not
// know (Unknown), each schema's in version order.
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
	known := map[int64]bool{}
	for _, s := range st {
		known[s.Source.Version] = true
		out = append(out, MigrationState{Source: "waddle", Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	applied, err := p.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range applied {
		if !known[v] {
			out = append(out, MigrationState{Source: "waddle", Version: v, Applied: true, Unknown: true})
		}
	}
	slices.SortStableFunc(out, func(a, b MigrationState) int { return cmp.Compare(a.Version, b.Version) })

	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("load job queue migrations: %w", err)
	}
	// Read the versions through the driver: rm.ExistingVersions fails on a
	// version this River does not know, which a newer release may have applied.
	riverApplied, err := riverVersions(ctx, pool)
	if err != nil {
		return nil, err
	}
	var river []MigrationState
	for _, m := range rm.AllVersions() {
		river = append(river, MigrationState{Source: "river", Version: int64(m.Version), Name: m.Name, Applied: riverApplied[m.Version]})
		delete(riverApplied, m.Version)
	}
	for v := range riverApplied {
		river = append(river, MigrationState{Source: "river", Version: int64(v), Applied: true, Unknown: true})
	}
	slices.SortStableFunc(river, func(a, b MigrationState) int { return cmp.Compare(a.Version, b.Version) })
	return append(out, river...), nil
}

// riverVersions returns the job queue migrations applied on River's main
// line; none before its first migration.
func riverVersions(ctx context.Context, pool *pgxpool.Pool) (map[int]bool, error) {
	exec := riverpgxv5.New(pool).GetExecutor()
	exists, err := exec.TableExists(ctx, &riverdriver.TableExistsParams{Table: "river_migration"})
	if err != nil {
		return nil, fmt.Errorf("read job queue migrations: %w", err)
	}
	applied := map[int]bool{}
	if !exists {
		return applied, nil
	}
	rows, err := exec.MigrationGetByLine(ctx, &riverdriver.MigrationGetByLineParams{Line: riverdriver.MigrationLineMain})
	if err != nil {
		return nil, fmt.Errorf("read job queue migrations: %w", err)
	}
	for _, r := range rows {
		applied[r.Version] = true
	}
	return applied, nil
}
