package db_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

// newestMigration reads the highest migration number from the embedded files.
func newestMigration(t *testing.T) int64 {
	t.Helper()
	v, _, err := db.NewestMigration()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// recordApplied writes versions into goose's table as a newer release would.
func recordApplied(ctx context.Context, t *testing.T, pool *pgxpool.Pool, versions ...int64) {
	t.Helper()
	for _, v := range versions {
		if _, err := pool.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, v); err != nil {
			t.Fatal(err)
		}
	}
}

func isApplied(ctx context.Context, t *testing.T, pool *pgxpool.Pool, version int64) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM goose_db_version WHERE version_id = $1 AND is_applied)`, version).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// A binary older than the schema changes nothing and says which versions
// disagree: here the newest known migration is pending (rolled back), and a
// newer release recorded two more; MigrateUp must not apply the pending one.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	quiet := slog.New(slog.DiscardHandler)
	known := newestMigration(t)
	if err := db.MigrateDown(ctx, pool, quiet); err != nil {
		t.Fatal(err)
	}
	recordApplied(ctx, t, pool, known+12, known+13)

	for name, migrate := range map[string]func(context.Context, *pgxpool.Pool, *slog.Logger) error{
		"up": db.MigrateUp, "down": db.MigrateDown,
	} {
		err := migrate(ctx, pool, quiet)
		var tooNew *db.SchemaTooNewError
		if !errors.As(err, &tooNew) {
			t.Fatalf("migrate %s on a newer schema: %v, want a *SchemaTooNewError", name, err)
		}
		if tooNew.Known != known || tooNew.Applied != known+13 || !slices.Equal(tooNew.Unknown, []int64{known + 12, known + 13}) {
			t.Errorf("migrate %s: error %+v, want known %d, applied %d, unknown [%d %d]", name, *tooNew, known, known+13, known+12, known+13)
		}
		want := "the database schema is at migration " + strconv.FormatInt(known+13, 10) +
			" but this waddle knows only up to " + strconv.FormatInt(known, 10) +
			": it was upgraded by a newer release; run that release, or restore a backup taken before the upgrade"
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("migrate %s: message %q, want it to begin %q", name, err, want)
		}
	}
	if isApplied(ctx, t, pool, known) {
		t.Errorf("migration %d was applied although the schema is newer than this binary", known)
	}
	if !isApplied(ctx, t, pool, known-1) || !isApplied(ctx, t, pool, known+13) {
		t.Errorf("a refused migrate down rolled back a migration")
	}
}

// The same database once the newer versions are gone migrates as usual.
func TestMigrateUpAcceptsKnownSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	quiet := slog.New(slog.DiscardHandler)
	known := newestMigration(t)
	if err := db.MigrateDown(ctx, pool, quiet); err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateUp(ctx, pool, quiet); err != nil {
		t.Fatalf("migrate up on an older schema: %v", err)
	}
	if !isApplied(ctx, t, pool, known) {
		t.Errorf("migration %d is not applied after migrate up", known)
	}
}

func TestMigrationStatusListsUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	known := newestMigration(t)
	recordApplied(ctx, t, pool, known+1)
	st, err := db.MigrationStatus(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var waddle []db.MigrationState
	for _, m := range st {
		if m.Source == "waddle" {
			waddle = append(waddle, m)
		}
	}
	if int64(len(waddle)) != known+1 {
		t.Fatalf("status lists %d waddle migrations, want %d known and 1 unknown", len(waddle), known)
	}
	last := waddle[len(waddle)-1]
	if last.Version != known+1 || !last.Unknown || !last.Applied {
		t.Errorf("last waddle row %+v, want version %d applied and unknown", last, known+1)
	}
	for _, m := range waddle[:len(waddle)-1] {
		if m.Unknown || !m.Applied || m.Name == "" {
			t.Errorf("known migration %+v: want applied, named, not unknown", m)
		}
	}
}

// The check runs before goose has created its table: on an empty database
// the status lists everything pending, and MigrateUp applies everything.
func TestMigrateUpOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := os.Getenv(dbtest.Env)
	if admin == "" {
		t.Fatalf("%s is not set: run the tests with `make test`", dbtest.Env)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "waddle_empty_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st, err := db.MigrationStatus(ctx, pool)
	if err != nil {
		t.Fatalf("status of an empty database: %v", err)
	}
	for _, m := range st {
		if m.Applied || m.Unknown {
			t.Errorf("on an empty database, status lists %+v, want it pending", m)
		}
	}
	if err := db.MigrateUp(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate up on an empty database: %v", err)
	}
	if known := newestMigration(t); !isApplied(ctx, t, pool, known) {
		t.Errorf("migration %d is not applied on a new database", known)
	}
}
