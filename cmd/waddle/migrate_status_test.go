package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
)

// newestKnownMigration reads the highest embedded migration: version and file.
func newestKnownMigration(t *testing.T) (int64, string) {
	t.Helper()
	v, name, err := db.NewestMigration()
	if err != nil {
		t.Fatal(err)
	}
	return v, name
}

// recordNewerMigrations marks versions applied in goose's table, as a newer
// release's `migrate up` would.
func recordNewerMigrations(t *testing.T, databaseURL string, versions ...int64) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, v := range versions {
		if _, err := pool.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, v); err != nil {
			t.Fatal(err)
		}
	}
}

// summary returns the indented lines under a schema's title in the status.
func summary(t *testing.T, out, title string) string {
	t.Helper()
	i := strings.Index(out, "\n"+title+":\n")
	if i < 0 {
		t.Fatalf("status has no %q summary:\n%s", title, out)
	}
	rest := out[i+len(title)+3:]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestMigrateStatusSummary(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	known, file := newestKnownMigration(t)

	out := mustRunWaddle(t, vars, "migrate", "status")
	got := summary(t, out, "waddle schema")
	want := fmt.Sprintf("  newest known:  %d (%s)\n  database at:   %d\n  pending:       none\n", known, file, known)
	if got != want {
		t.Errorf("on a migrated database the waddle summary is\n%s\nwant\n%s", got, want)
	}
	if river := summary(t, out, "job queue schema (river)"); !strings.Contains(river, "pending:       none\n") || strings.Contains(river, "AHEAD") {
		t.Errorf("on a migrated database the job queue summary is\n%s\nwant nothing pending", river)
	}

	mustRunWaddle(t, vars, "migrate", "down")
	out = mustRunWaddle(t, vars, "migrate", "status")
	row := regexp.MustCompile(fmt.Sprintf(`(?m)^waddle\s+%d\s+%s\s+pending$`, known, regexp.QuoteMeta(file)))
	if !row.MatchString(out) {
		t.Errorf("after migrate down, no pending row for %s:\n%s", file, out)
	}
	got = summary(t, out, "waddle schema")
	want = fmt.Sprintf("  newest known:  %d (%s)\n  database at:   %d\n  pending:       %d (`waddle migrate up` or `waddle serve` applies them)\n",
		known, file, known-1, known)
	if got != want {
		t.Errorf("after migrate down the waddle summary is\n%s\nwant\n%s", got, want)
	}
}

// A database a newer release migrated: status shows the unknown versions
// and says the database is ahead; serve refuses to start and says why.
func TestMigrateStatusAndServeOnNewerSchema(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	known, _ := newestKnownMigration(t)
	recordNewerMigrations(t, vars["DATABASE_URL"], known+1, known+2)
	pool, err := pgxpool.New(t.Context(), vars["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	const riverNext = 1000 // a job queue migration no River release has yet
	_, err = pool.Exec(t.Context(), `INSERT INTO river_migration (line, version) VALUES ('main', $1)`, riverNext)
	pool.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := mustRunWaddle(t, vars, "migrate", "status")
	for _, v := range []int64{known + 1, known + 2} {
		row := regexp.MustCompile(fmt.Sprintf(`(?m)^waddle\s+%d\s+\(unknown to this waddle\)\s+applied by a newer release$`, v))
		if !row.MatchString(out) {
			t.Errorf("status has no row for the newer migration %d:\n%s", v, out)
		}
	}
	got := summary(t, out, "waddle schema")
	ahead := fmt.Sprintf("  AHEAD: the database schema is at migration %d but this waddle knows only up to %d: "+
		"it was upgraded by a newer release (migrations %d, %d).\n", known+2, known, known+1, known+2)
	if !strings.Contains(got, ahead) || !strings.Contains(got, fmt.Sprintf("database at:   %d\n", known+2)) {
		t.Errorf("status summary on a newer schema is\n%s\nwant it to say\n%s", got, ahead)
	}

	river := summary(t, out, "job queue schema (river)")
	if want := fmt.Sprintf("  ahead:         migrations %d were applied by a newer release; this waddle leaves them as they are\n", riverNext); !strings.Contains(river, want) {
		t.Errorf("job queue summary on a newer schema is\n%s\nwant it to say\n%s", river, want)
	}

	out, err = runWaddle(t, vars, "serve")
	var tooNew *db.SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("serve on a newer schema: %v (output %q), want a *db.SchemaTooNewError", err, out)
	}
	want := fmt.Sprintf("the database schema is at migration %d but this waddle knows only up to %d", known+2, known)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("serve on a newer schema: %q, want it to say %q", err, want)
	}
	if strings.Contains(out, "listening") {
		t.Errorf("serve on a newer schema started listening:\n%s", out)
	}
	if _, err := runWaddle(t, vars, "migrate", "up"); !errors.As(err, &tooNew) {
		t.Errorf("migrate up on a newer schema: %v, want a *db.SchemaTooNewError", err)
	}
}
