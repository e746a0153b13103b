package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/importer"
)

// An import's apply survives a SIGKILL of the `waddle serve` running it:
// after a restart the import is queued again (its dead job stays "running"
// in River), goes on from its last committed batch and ends applied, with
// every viewer's balance, every ledger row and every pending balance there
// exactly once.
func TestImportApplyResumesAfterCrash(t *testing.T) {
	t.Parallel()
	bin := buildWaddle(t)
	_, prefix := dbtest.Redis(t)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "admin", "create", "--email", "admin@example.com", "--admin")
	a := openTestApp(t, vars)
	ctx := t.Context()
	admin := mustSignIn(t, a, "admin@example.com", testAdminPassword)
	c, err := a.comm.Create(ctx, admin, "", "ducks", community.Settings{Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}

	// 60,000 viewers Waddle knows by login and 2,000 it does not.
	const known, unknown = 60_000, 2_000
	if _, err := a.pool.Exec(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name)
		SELECT 'twitch', 'tw' || g, 'viewer' || g FROM generate_series(1, $1::int) g`, known); err != nil {
		t.Fatal(err)
	}
	b := &importer.Bundle{Source: importer.Firebot, Commands: []importer.Command{}, Timers: []importer.Timer{}, Quotes: []importer.Quote{},
		Counters: []importer.Counter{}, Filters: []importer.Filter{}, Skipped: []importer.Skipped{}}
	want := int64(0)
	for i := 1; i <= known+unknown; i++ {
		login := fmt.Sprintf("viewer%d", i)
		if i > known {
			login = fmt.Sprintf("stranger%d", i)
		}
		b.Points = append(b.Points, importer.Balance{Login: login, Points: int64(i), Seconds: 60})
		want += int64(i)
	}
	imports := importer.New(importer.Config{Pool: a.pool, Jobs: a.jobs})
	by := audit.Actor{UserID: admin.ID, Email: "admin@example.com"}
	im, err := imports.Create(ctx, by, c.ID, b, []string{"users.db"})
	if err != nil {
		t.Fatal(err)
	}
	if err := imports.Apply(ctx, by, c.ID, im.ID, importer.Choices{}); err != nil {
		t.Fatal(err)
	}

	// The first process takes the job; it dies between two batches.
	first := startWaddleProcess(t, bin, vars)
	progress := func() importer.Progress {
		t.Helper()
		p, err := imports.Progress(context.Background(), c.ID, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	deadline := time.Now().Add(60 * time.Second)
	for p := progress(); p.PointsDone == 0; p = progress() {
		if time.Now().After(deadline) {
			t.Fatalf("no batch applied within 60 s: %+v\n%s", p, first.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	first.kill(t)
	at := progress()
	if at.State != importer.StateApplying || at.PointsDone >= at.PointsTotal {
		t.Fatalf("after the kill: %+v, want an apply stopped part way", at)
	}

	second := startWaddleProcess(t, bin, vars)
	deadline = time.Now().Add(3 * time.Minute)
	for p := progress(); p.State != importer.StateApplied; p = progress() {
		if p.State == importer.StateFailed || time.Now().After(deadline) {
			t.Fatalf("import %+v after the restart:\n%s", p, second.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var sum, rows, pending, balances int64
	if err := a.pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(sum(delta), 0) FROM points_ledger WHERE community_id = $1 AND import_id = $2),
		(SELECT count(*) FROM points_ledger WHERE community_id = $1 AND import_id = $2),
		(SELECT coalesce(sum(points), 0) FROM pending_points WHERE community_id = $1 AND import_id = $2),
		(SELECT coalesce(sum(balance), 0) FROM points_balances WHERE community_id = $1)`, c.ID, im.ID).Scan(&sum, &rows, &pending, &balances); err != nil {
		t.Fatal(err)
	}
	if rows != known || sum+pending != want || balances != sum {
		t.Errorf("%d ledger rows summing to %d, %d pending, balances %d: want %d rows, %d in all, balances equal to the ledger",
			rows, sum, pending, balances, known, want)
	}
}
