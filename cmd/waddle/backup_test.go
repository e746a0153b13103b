package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/secret"
)

// emptyDB creates a new database with nothing in it, dropped when the test
// ends, and returns its URL.
func emptyDB(t *testing.T) string {
	t.Helper()
	admin := os.Getenv(dbtest.Env)
	if admin == "" {
		t.Fatalf("%s is not set: run the tests with `make test`", dbtest.Env)
	}
	ctx := context.WithoutCancel(t.Context())
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "waddle_restore_" + strings.ToLower(rand.Text()[:12])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// withPassword puts password into dbURL. The test server trusts local
// connections, so it ignores it: what matters is where it travels.
func withPassword(t *testing.T, dbURL, password string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

// recorder is the pgExec seam: it keeps every command backup and restore run.
type recorder struct{ cmds []*exec.Cmd }

func (r *recorder) exec(getenv func(string) string) pgExec {
	return pgExec{getenv: getenv, progress: &bytes.Buffer{}, started: func(c *exec.Cmd) { r.cmds = append(r.cmds, c) }}
}

// runBackup runs `waddle backup -o file` on vars's database.
func runBackup(t *testing.T, vars map[string]string, rec *recorder, file string) (string, error) {
	t.Helper()
	cfg, err := loadConfig(getenvFrom(vars))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = backup(t.Context(), cfg, []string{"-o", file}, rec.exec(getenvFrom(vars)), &out)
	return out.String(), err
}

func mustBackup(t *testing.T, vars map[string]string, file string) string {
	t.Helper()
	out, err := runBackup(t, vars, &recorder{}, file)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	return out
}

// runRestore runs `waddle restore file --database-url target`.
func runRestore(t *testing.T, vars map[string]string, rec *recorder, file, target string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := restore(t.Context(), []string{file, "--database-url", target}, rec.exec(getenvFrom(vars)), &out)
	return out.String(), err
}

func openPoolT(t *testing.T, dbURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// tableRows returns every row of table as JSON, in a stable order.
func tableRows(t *testing.T, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT to_jsonb(t)::text FROM "+pgx.Identifier{table}.Sanitize()+" t ORDER BY 1")
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return out
}

// relationCount is what the restore's emptiness check counts.
func relationCount(t *testing.T, dbURL string) int64 {
	t.Helper()
	n, err := db.New(openPoolT(t, dbURL)).DatabaseRelationCount(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func newKey() string {
	return base64.StdEncoding.EncodeToString([]byte(rand.Text() + rand.Text())[:32])
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	const password = "pw-that-must-not-leak-7Q"
	key := newKey()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword, "TOKEN_ENCRYPTION_KEY", key)
	vars["DATABASE_URL"] = withPassword(t, vars["DATABASE_URL"], password)
	mustRunWaddle(t, vars, "setup") // the "demo" community

	// Populate through the real services: a command used once and a follow
	// (points) through the chat simulator, an overlay, a sealed bot token.
	ctx := t.Context()
	var chatOut bytes.Buffer
	if err := run(ctx, []string{"chat", "--community", "demo", "--user", "mo", "--badges", "moderator", "--dry-run=false"}, getenvFrom(vars),
		strings.NewReader("!commands add hug {user} hugs {touser} #{count}\n!hug bob\n/follow\n/quit\n"), &chatOut); err != nil {
		t.Fatalf("chat: %v\n%s", err, chatOut.String())
	}
	if !strings.Contains(chatOut.String(), "bot: mo hugs bob #1") {
		t.Fatalf("chat before the backup:\n%s", chatOut.String())
	}
	a := openTestApp(t, vars)
	c, err := db.New(a.pool).CommunityGetBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	_, overlayToken, err := overlay.New(overlay.Config{Pool: a.pool, Logger: slog.New(slog.DiscardHandler)}).Create(ctx, audit.Actor{}, c.ID, overlay.Alerts, "Alerts")
	if err != nil {
		t.Fatal(err)
	}
	const botToken = "oauth-access-of-duckbot"
	if err := platform.NewTokens(a.pool, a.secrets).Save(ctx, "twitch", platform.BotSubject, platform.Token{Access: botToken, AccountLogin: "duckbot"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "nightly.dump")
	rec := &recorder{}
	start := time.Now()
	out, err := runBackup(t, vars, rec, file)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	t.Logf("backup took %v:\n%s", time.Since(start), out)
	printed := out
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", st.Mode().Perm())
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("the backup's directory holds %d entries, want only the backup (no temporary file)", len(left))
	}
	for _, want := range []string{"written to " + file, "size: ", "schema version: " + strconv.FormatInt(latestMigration(t), 10),
		"communities: 1", "Keep TOKEN_ENCRYPTION_KEY"} {
		if !strings.Contains(out, want) {
			t.Errorf("backup summary lacks %q:\n%s", want, out)
		}
	}

	target := withPassword(t, emptyDB(t), password)
	out, err = runRestore(t, vars, rec, file, target)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	for _, want := range []string{"restored " + file, "communities: 1", "TOKEN_ENCRYPTION_KEY opens the restored secrets (1 checked: platform token)"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}

	// The password went to pg_dump and pg_restore in PGPASSWORD only.
	if strings.Contains(printed+out, password) {
		t.Errorf("the password was printed:\n%s%s", printed, out)
	}
	if len(rec.cmds) < 4 { // pg_dump, pg_restore reading it back, pg_restore reading it, pg_restore loading it
		t.Fatalf("%d commands ran, want 4", len(rec.cmds))
	}
	withDB := 0
	for _, c := range rec.cmds {
		if args := strings.Join(c.Args, " "); strings.Contains(args, password) {
			t.Errorf("the password is in the arguments: %s", args)
		}
		if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--dbname=") }) {
			withDB++
			if !slices.Contains(c.Env, "PGPASSWORD="+password) {
				t.Errorf("%s got no PGPASSWORD", c.Path)
			}
		}
	}
	if withDB != 2 {
		t.Errorf("%d commands connected to a database, want 2 (pg_dump and the restoring pg_restore)", withDB)
	}

	// The same data, and the services work on it.
	src, dst := openPoolT(t, vars["DATABASE_URL"]), openPoolT(t, target)
	for _, table := range []string{"communities", "commands", "points_balances", "overlay_sources", "platform_tokens", "goose_db_version"} {
		want, got := tableRows(t, src, table), tableRows(t, dst, table)
		if len(want) == 0 {
			t.Errorf("the test put nothing in %s", table)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s differs after the restore (-backed up +restored):\n%s", table, diff)
		}
	}
	box, _ := secret.New(key)
	tok, err := platform.NewTokens(dst, box).Get(ctx, "twitch", platform.BotSubject)
	if err != nil || tok.Access != botToken {
		t.Errorf("restored bot token: %q, %v; want %q", tok.Access, err, botToken)
	}
	if _, err := overlay.New(overlay.Config{Pool: dst, Logger: slog.New(slog.DiscardHandler)}).ByToken(ctx, overlayToken); err != nil {
		t.Errorf("the overlay's URL does not open its source after the restore: %v", err)
	}
	restored := setVars(vars, "DATABASE_URL", target)
	chatOut.Reset()
	if err := run(ctx, []string{"chat", "--community", "demo", "--user", "ann"}, getenvFrom(restored), strings.NewReader("!hug mo\n/quit\n"), &chatOut); err != nil {
		t.Fatalf("chat on the restored database: %v\n%s", err, chatOut.String())
	}
	if !strings.Contains(chatOut.String(), "bot: ann hugs mo #2") { // the counter went on from the backup
		t.Errorf("the router on the restored database answered:\n%s", chatOut.String())
	}

	// Another key restores the data and says loudly that it does not open the secrets.
	other := emptyDB(t)
	out, err = runRestore(t, setVars(vars, "TOKEN_ENCRYPTION_KEY", newKey()), &recorder{}, file, other)
	if err == nil || !strings.Contains(err.Error(), "TOKEN_ENCRYPTION_KEY does not open the restored secrets") {
		t.Errorf("restore with another key: %v, want the key error", err)
	}
	if !strings.Contains(out, "WARNING: TOKEN_ENCRYPTION_KEY does not open") {
		t.Errorf("restore with another key printed no warning:\n%s", out)
	}
	if got := tableRows(t, openPoolT(t, other), "commands"); !cmp.Equal(got, tableRows(t, src, "commands")) {
		t.Error("restore with another key did not keep the data")
	}
}

func TestRestoreRefusesBadInput(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "setup")
	dir := t.TempDir()
	file := filepath.Join(dir, "good.dump")
	mustBackup(t, vars, file)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	writeFile := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	corrupt := slices.Clone(good)
	for i := len(corrupt) / 3; i < len(corrupt)/3+4096 && i < len(corrupt); i++ {
		corrupt[i] ^= 0x5a
	}

	// A file that is not a whole backup is refused, and the empty target stays empty.
	cases := []struct {
		name, file, wantErr string
	}{
		{"missing file", filepath.Join(dir, "nope.dump"), "backup file: stat " + filepath.Join(dir, "nope.dump") + ": no such file or directory"},
		{"truncated", writeFile("truncated.dump", good[:len(good)/2]), "truncated.dump is not a usable backup: pg_restore"},
		{"corrupt", writeFile("corrupt.dump", corrupt), "corrupt.dump is not a usable backup: pg_restore"},
		{"not an archive", writeFile("notes.txt", []byte("SELECT 1;\n")), "notes.txt is not a usable backup: pg_restore"},
		{"a directory", dir, "is not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := emptyDB(t)
			out, err := runRestore(t, vars, &recorder{}, tc.file, target)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("restore: %v\nwant an error containing %q\noutput:\n%s", err, tc.wantErr, out)
			}
			if n := relationCount(t, target); n != 0 {
				t.Errorf("the target holds %d relations after a refused restore, want 0", n)
			}
		})
	}

	t.Run("target not empty", func(t *testing.T) {
		target := dbtest.URL(t) // migrated, with one community made by setup
		mustRunWaddle(t, setVars(vars, "DATABASE_URL", target), "setup")
		pool := openPoolT(t, target)
		before := [][]string{tableRows(t, pool, "goose_db_version"), tableRows(t, pool, "communities"), tableRows(t, pool, "users")}
		relations := relationCount(t, target)
		_, err := runRestore(t, vars, &recorder{}, file, target)
		if err == nil || !strings.Contains(err.Error(), "the target database already has tables; restore into a new, empty database") {
			t.Errorf("restore into a database with tables: %v", err)
		}
		after := [][]string{tableRows(t, pool, "goose_db_version"), tableRows(t, pool, "communities"), tableRows(t, pool, "users")}
		if diff := cmp.Diff(before, after); diff != "" || relationCount(t, target) != relations {
			t.Errorf("the refused restore changed the target:\n%s", diff)
		}
	})

	t.Run("backup of a newer release", func(t *testing.T) {
		src := setVars(vars, "DATABASE_URL", dbtest.URL(t))
		newer := latestMigration(t) + 1
		if _, err := openPoolT(t, src["DATABASE_URL"]).Exec(t.Context(), "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", newer); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "newer.dump")
		if out := mustBackup(t, src, f); !strings.Contains(out, "schema version: "+strconv.FormatInt(newer, 10)) {
			t.Errorf("backup summary:\n%s", out)
		}
		target := emptyDB(t)
		_, err := runRestore(t, vars, &recorder{}, f, target)
		want := "holds schema version " + strconv.FormatInt(newer, 10) + ", newer than this waddle knows"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("restore of a newer backup: %v, want %q", err, want)
		}
		if n := relationCount(t, target); n != 0 {
			t.Errorf("the target holds %d relations after a refused restore, want 0", n)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{"restore"}, {"restore", file, file}, {"restore", "--nope", file}, {"backup", "extra"}} {
			_, err := runWaddle(t, vars, args...)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("waddle %s: %v, want a usage error", strings.Join(args, " "), err)
			}
		}
	})
}

func TestRestoreMigratesOlderBackup(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	pool := openPoolT(t, vars["DATABASE_URL"])
	if err := db.MigrateDown(t.Context(), pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "older.dump")
	older := strconv.FormatInt(latestMigration(t)-1, 10)
	if out := mustBackup(t, vars, file); !strings.Contains(out, "schema version: "+older) {
		t.Fatalf("backup summary:\n%s", out)
	}
	target := emptyDB(t)
	out, err := runRestore(t, vars, &recorder{}, file, target)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	latest := strconv.FormatInt(latestMigration(t), 10)
	for _, want := range []string{"schema version: " + older, "migrated to schema version " + latest, "no sealed secrets"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	applied, err := db.SchemaVersion(t.Context(), openPoolT(t, target))
	if err != nil || strconv.FormatInt(applied, 10) != latest {
		t.Errorf("restored schema version %d, %v; want %s", applied, err, latest)
	}
}

func TestBackupRefusesOldPGDump(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	var num int
	if err := openPoolT(t, vars["DATABASE_URL"]).QueryRow(t.Context(), "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		t.Fatal(err)
	}
	major := num / 10000
	dir := t.TempDir()
	old := filepath.Join(dir, "pg_dump")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "never.dump")
	_, err := runBackup(t, setVars(vars, "PG_DUMP", old), &recorder{}, file)
	want := "pg_dump 9 (PG_DUMP=" + old + ") cannot dump a PostgreSQL " + strconv.Itoa(major) + " server; install postgresql-client-" + strconv.Itoa(major)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("backup with an old pg_dump: %v\nwant %q", err, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the failed backup left %d files beside the fake pg_dump", len(entries)-1)
	}
}

func TestBackupConnectionKeepsPasswordOffTheCommandLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, url, wantDSN, wantPassword string
	}{
		{"password in user info", "postgres://waddle:s3cret@db:5432/waddle?sslmode=require",
			"postgres://waddle@db:5432/waddle?sslmode=require", "s3cret"},
		{"password parameter", "postgresql://waddle@db/waddle?password=s3cret&sslmode=disable",
			"postgresql://waddle@db/waddle?sslmode=disable", "s3cret"},
		{"pgx pool parameters dropped", "postgres://waddle@db/waddle?pool_max_conns=20&application_name=nightly",
			"postgres://waddle@db/waddle?application_name=nightly", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newPGConn("DATABASE_URL", tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if c.dsn != tc.wantDSN || c.password != tc.wantPassword {
				t.Errorf("dsn %q, password %q; want %q, %q", c.dsn, c.password, tc.wantDSN, tc.wantPassword)
			}
			cmd := c.command(t.Context(), pgTool{name: "pg_dump", path: "/usr/bin/pg_dump"}, "--format=custom")
			if tc.wantPassword != "" && strings.Contains(strings.Join(cmd.Args, " "), tc.wantPassword) {
				t.Errorf("the password is in the arguments: %q", cmd.Args)
			}
		})
	}
	_, err := newPGConn("DATABASE_URL", "postgres://waddle:s3cret@db:bad port/waddle")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unparsable URL: %v, want an error without the password", err)
	}
}

// latestMigration is the newest migration this binary holds.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	v, _ := newestKnownMigration(t)
	return v
}
