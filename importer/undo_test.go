package importer_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
)

// TestUndo removes what the import created and takes back its points,
// only what each balance still holds; a second undo is refused.
func TestUndo(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	if _, err := e.pool.Exec(e.ctx, "WITH q AS (INSERT INTO quotes (community_id, number, text) VALUES ($1, 1, 'mine')) INSERT INTO quote_counters VALUES ($1, 1)", e.cid); err != nil {
		t.Fatal(err)
	}
	e.helix.ids["alice"] = "1001"
	im := e.apply(e.create(sample()).ID, importer.Choices{})
	// bob spends 200 of his 250 imported points meanwhile.
	if _, err := e.pool.Exec(e.ctx, `UPDATE points_balances SET balance = balance - 200 WHERE identity_id =
		(SELECT identity_id FROM identity_accounts WHERE account_id = '2002')`); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Undo(e.ctx, audit.Actor{Name: "test"}, e.cid, im.ID); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int64{"commands": 0, "timers": 0, "counters": 0, "moderation_rules": 0, "pending_points": 0} {
		if n := e.scalar("SELECT count(*) FROM "+table+" WHERE community_id = $1", e.cid); n != want {
			t.Errorf("%s: %d rows after undo, want %d", table, n, want)
		}
	}
	if got := e.strings("SELECT text FROM quotes WHERE community_id = $1", e.cid); !slices.Equal(got, []string{"mine"}) {
		t.Errorf("quotes after undo = %v", got)
	}
	if e.balance(e.cid, "1001") != 0 || e.balance(e.cid, "2002") != 0 {
		t.Errorf("balances after undo: alice %d, bob %d; want 0 and 0", e.balance(e.cid, "1001"), e.balance(e.cid, "2002"))
	}
	if got := e.strings("SELECT delta::text FROM points_ledger WHERE reason = $1 ORDER BY delta", "undo of import #"+itoa(im.ID)); !slices.Equal(got, []string{"-100", "-50"}) {
		t.Errorf("undo ledger rows = %v, want -100 and -50", got)
	}
	if n := e.scalar("SELECT w.seconds FROM watch_time w JOIN identity_accounts a ON a.identity_id = w.identity_id WHERE a.account_id = '1001'"); n != 0 {
		t.Errorf("alice's watch time after undo = %d", n)
	}
	got, err := e.s.Get(e.ctx, e.cid, im.ID)
	if err != nil || got.State != importer.StateUndone || got.Report.UndoPoints != -150 || got.Report.UndoIdentities != 2 {
		t.Errorf("after undo: %+v, %v", got, err)
	}
	if n := e.scalar("SELECT count(*) FROM audit_log WHERE action = $1", audit.ImportUndone); n != 1 {
		t.Errorf("undo audit entries = %d", n)
	}
	if err := e.s.Undo(e.ctx, audit.Actor{}, e.cid, im.ID); !problem.Is(err, problem.Conflict) {
		t.Errorf("second Undo = %v, want a conflict", err)
	}
}

// TestUndoAfterSevenDays is refused with the date, and changes nothing.
func TestUndoAfterSevenDays(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	im := e.apply(e.create(sample()).ID, importer.Choices{})
	e.clock.add(7*24*time.Hour + time.Minute)
	err := e.s.Undo(e.ctx, audit.Actor{}, e.cid, im.ID)
	if !problem.Is(err, problem.Conflict) || !strings.Contains(err.Error(), "7 days") {
		t.Fatalf("Undo after 7 days = %v", err)
	}
	if n := e.scalar("SELECT count(*) FROM commands WHERE import_id = $1", im.ID); n != 3 {
		t.Errorf("commands after a refused undo = %d, want 3", n)
	}
	e2 := newEngine(t)
	fresh := e2.create(sample())
	if err := e2.s.Undo(e2.ctx, audit.Actor{}, e2.cid, fresh.ID); !problem.Is(err, problem.Conflict) {
		t.Errorf("Undo of an import never applied = %v, want a conflict", err)
	}
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
