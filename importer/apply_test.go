package importer_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestApplyCreatesEverything applies a bundle: commands answer in chat,
// timers, quotes, counters and filters exist with the import's id, the
// resolved balances are in the ledger with the reason, the unresolved one
// waits, and a second apply adds nothing.
func TestApplyCreatesEverything(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	e.helix.ids["alice"] = "1001"
	im := e.create(sample())
	im = e.apply(im.ID, importer.Choices{})
	if im.State != importer.StateApplied || im.PointsDone != 3 || !im.ItemsDone {
		t.Fatalf("after apply: %+v", im)
	}
	r := im.Report
	if r.Commands != 3 || r.Aliases != 1 || r.Timers != 1 || r.Quotes != 2 || r.Counters != 1 || r.Filters != 2 ||
		r.PointsCredited != 2 || r.PointsPending != 1 || r.PointsRefused != 0 {
		t.Errorf("report = %+v", r)
	}
	if got := e.say("u1", "viewer", "!hi"); got != "Hello viewer!" {
		t.Errorf("!hi answers %q, want the imported command through its alias", got)
	}
	if n := e.scalar("SELECT count(*) FROM commands WHERE community_id = $1 AND import_id = $2", e.cid, im.ID); n != 3 {
		t.Errorf("commands with the import's id = %d", n)
	}
	if got := e.strings("SELECT name || ':' || interval_minutes || ':' || min_lines || ':' || only_live || ':' || platform || ':' || server FROM timers WHERE import_id = $1", im.ID); !slices.Equal(got, []string{"socials:15:5:true:twitch:duckchan"}) {
		t.Errorf("timers = %v", got)
	}
	if got := e.strings("SELECT number || ':' || text || ':' || game FROM quotes WHERE community_id = $1 ORDER BY number", e.cid); !slices.Equal(got, []string{"1:quack:Duck Game", "2:honk:"}) {
		t.Errorf("quotes = %v", got)
	}
	if n := e.scalar("SELECT last_number FROM quote_counters WHERE community_id = $1", e.cid); n != 2 {
		t.Errorf("last quote number = %d, want 2", n)
	}
	if got := e.strings("SELECT match_kind || ':' || pattern || ':' || action FROM moderation_rules WHERE import_id = $1 ORDER BY id", im.ID); !slices.Equal(got, []string{"word:badword:delete", "regex:b[a@]d:delete"}) {
		t.Errorf("rules = %v", got)
	}
	if e.balance(e.cid, "1001") != 100 || e.balance(e.cid, "2002") != 250 {
		t.Errorf("balances alice %d, bob %d; want 100 and 250", e.balance(e.cid, "1001"), e.balance(e.cid, "2002"))
	}
	reason := "imported from StreamElements " + im.CreatedAt.UTC().Format("2006-01-02")
	if n := e.scalar("SELECT count(*) FROM points_ledger WHERE import_id = $1 AND reason = $2", im.ID, reason); n != 2 {
		t.Errorf("ledger rows with %q = %d, want 2", reason, n)
	}
	if n := e.scalar("SELECT w.seconds FROM watch_time w JOIN identity_accounts a ON a.identity_id = w.identity_id WHERE a.account_id = '1001'"); n != 3600 {
		t.Errorf("alice's watch time = %d", n)
	}
	if n := e.scalar("SELECT points FROM pending_points WHERE login = 'ghost' AND import_id = $1", im.ID); n != 77 {
		t.Errorf("ghost's pending points = %d, want 77", n)
	}
	if got := e.say("1001", "alice", "!points"); !strings.Contains(got, "100 ") {
		t.Errorf("alice's !points = %q, want 100", got)
	}
	// A second apply adds nothing: refused, and the job run again is a no-op.
	err := e.s.Apply(e.ctx, audit.Actor{}, e.cid, im.ID, importer.Choices{})
	if !problem.Is(err, problem.Conflict) {
		t.Errorf("second Apply = %v, want a conflict", err)
	}
	if err := e.work(im.ID); err != nil {
		t.Fatal(err)
	}
	if e.scalar("SELECT count(*) FROM points_ledger WHERE import_id IS NOT NULL") != 2 || e.scalar("SELECT count(*) FROM commands") != 3 {
		t.Errorf("the job run again changed something")
	}
	if n := e.scalar("SELECT count(*) FROM audit_log WHERE action = $1", audit.ImportApplied); n != 2 {
		t.Errorf("apply audit entries = %d, want the request and the end", n)
	}
}

// TestApplyResumesWithoutDoubleCounting stops after one batch (a crash
// between two batch transactions), runs the job again, and finds every
// balance credited once.
func TestApplyResumesWithoutDoubleCounting(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	small := importer.New(importer.Config{Pool: e.pool, Commands: e.settings, BatchSize: 4})
	b := &importer.Bundle{Source: importer.PhantomBot}
	for i := range 10 {
		b.Points = append(b.Points, importer.Balance{Login: "v" + string(rune('a'+i)), UserID: "id" + string(rune('a'+i)), Points: int64(10 + i)})
	}
	b.Points = append(b.Points, importer.Balance{Login: "va", UserID: "ida", Points: 1000}) // the same viewer twice adds up
	im := e.create(b)
	if err := e.s.Apply(e.ctx, audit.Actor{}, e.cid, im.ID, importer.Choices{}); err != nil {
		t.Fatal(err)
	}
	if err := importer.RunBatchForTest(e.ctx, small, e.cid, im.ID); err != nil { // items and the first batch, then "crash"
		t.Fatal(err)
	}
	p, err := e.s.Progress(e.ctx, e.cid, im.ID)
	if err != nil || p.PointsDone != 4 || p.State != importer.StateApplying {
		t.Fatalf("after one batch: %+v, %v", p, err)
	}
	if err := e.work(im.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.work(im.ID); err != nil {
		t.Fatal(err)
	}
	var total int64
	for i := range 10 {
		total += e.balance(e.cid, "id"+string(rune('a'+i)))
	}
	if total != 145+1000 || e.balance(e.cid, "ida") != 1010 {
		t.Errorf("total = %d (va %d), want 1145 (va 1010)", total, e.balance(e.cid, "ida"))
	}
	if n := e.scalar("SELECT count(*) FROM points_ledger WHERE import_id = $1", im.ID); n != 11 {
		t.Errorf("ledger rows = %d, want 11", n)
	}
}

// TestApplyRefusesBeyondBound refuses a balance that would leave
// ±(2^53 − 1), counts it, and credits the others.
func TestApplyRefusesBeyondBound(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	b := &importer.Bundle{Source: importer.Streamlabs, Points: []importer.Balance{
		{Login: "rich", UserID: "1", Points: importer.MaxPoints}, {Login: "richer", UserID: "2", Points: importer.MaxPoints + 1},
		{Login: "normal", UserID: "3", Points: 5},
	}}
	im := e.apply(e.create(b).ID, importer.Choices{})
	if im.Report.PointsRefused != 1 || im.Report.PointsCredited != 2 {
		t.Errorf("report = %+v, want 1 refused, 2 credited", im.Report)
	}
	// Again on top of a full balance: refused.
	b.Points = b.Points[:1]
	im = e.apply(e.create(b).ID, importer.Choices{})
	if im.Report.PointsRefused != 1 || e.balance(e.cid, "1") != importer.MaxPoints {
		t.Errorf("report = %+v, balance %d", im.Report, e.balance(e.cid, "1"))
	}
}

// TestConflicts applies each conflict mode to an existing command, and
// an alias clash.
func TestConflicts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mode       string
		wantCmds   []string // name=response, of the community afterwards
		wantReport func(r importer.Report) bool
	}{
		{importer.ConflictSkip, []string{"discord=old", "hello=Hello {user}!", "points_2="}, func(r importer.Report) bool {
			return slices.Equal(r.Skipped, []string{"discord", "points"}) && r.Commands == 1
		}},
		{importer.ConflictRename, []string{"discord=old", "discord_2=Join us", "hello=Hello {user}!", "points_2=", "points_3=Your points"}, func(r importer.Report) bool {
			return len(r.Renamed) == 2 && r.Renamed[0] == (importer.Rename{From: "discord", To: "discord_2"}) && r.Commands == 3
		}},
		{importer.ConflictOverwrite, []string{"discord=Join us", "hello=Hello {user}!", "points_2=", "points_3=Your points"}, func(r importer.Report) bool {
			return len(r.Overwritten) == 1 && r.Overwritten[0].Response == "old" && slices.Equal(r.Overwritten[0].Aliases, []string{"dc"}) &&
				slices.Equal(r.DroppedAliases, []string{"dc"}) && r.Commands == 3
		}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			old, err := e.settings.CreateCommand(e.ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "discord", Response: "old", Permission: router.Everyone, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.settings.AddAlias(e.ctx, audit.Actor{}, e.cid, "dc", "discord"); err != nil {
				t.Fatal(err)
			}
			// points_2 is taken by a module command, so a renamed !points gets points_3.
			if _, err := e.pool.Exec(e.ctx, "INSERT INTO commands (community_id, name, modules) VALUES ($1, 'points_2', '{points}')", e.cid); err != nil {
				t.Fatal(err)
			}
			b := sample()
			b.Commands = b.Commands[:2]
			b.Commands[1].Aliases = []string{"dc"} // taken by the community's !discord: left out
			b.Commands = append(b.Commands, importer.Command{Name: "points", Response: "Your points", Permission: router.Everyone, Enabled: true})
			b.Points = nil
			im := e.create(b)
			im = e.apply(im.ID, importer.Choices{AllConflicts: c.mode, Conflicts: map[string]string{"hello": importer.ConflictRename}})
			got := e.strings("SELECT name || '=' || response FROM commands WHERE community_id = $1 ORDER BY name", e.cid)
			if !slices.Equal(got, c.wantCmds) {
				t.Errorf("commands = %v, want %v", got, c.wantCmds)
			}
			if !c.wantReport(im.Report) {
				t.Errorf("report = %+v", im.Report)
			}
			// Undo puts the community back as it was.
			if err := e.s.Undo(e.ctx, audit.Actor{}, e.cid, im.ID); err != nil {
				t.Fatal(err)
			}
			got = e.strings("SELECT name || '=' || response FROM commands WHERE community_id = $1 ORDER BY name", e.cid)
			if !slices.Equal(got, []string{"discord=old", "points_2="}) {
				t.Errorf("after undo: %v", got)
			}
			if a := e.strings("SELECT alias FROM command_aliases WHERE command_id = $1", old.ID); !slices.Equal(a, []string{"dc"}) {
				t.Errorf("aliases of !discord after undo = %v", a)
			}
		})
	}
}

// TestApplyNeedsCurrency asks which currency becomes the points when the
// source had several, and imports only that one.
func TestApplyNeedsCurrency(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	b := &importer.Bundle{Source: importer.Firebot, Currencies: []string{"Gold Coins", "gems"}, Points: []importer.Balance{
		{Login: "a", UserID: "1", Points: 10, Currency: "Gold Coins"}, {Login: "a", UserID: "1", Points: 3, Currency: "gems"},
		{Login: "b", UserID: "2", Points: 20, Currency: "Gold Coins"},
	}}
	im := e.create(b)
	err := e.s.Apply(e.ctx, audit.Actor{}, e.cid, im.ID, importer.Choices{})
	if !problem.Is(err, problem.Invalid) || !strings.Contains(err.Error(), "several currencies") {
		t.Fatalf("Apply without a currency = %v", err)
	}
	im = e.apply(im.ID, importer.Choices{Currency: "gems", OtherCurrencies: importer.OtherCounter})
	if e.balance(e.cid, "1") != 3 || e.balance(e.cid, "2") != 0 || im.Report.PointsOther != 2 {
		t.Errorf("balances %d, %d; report %+v", e.balance(e.cid, "1"), e.balance(e.cid, "2"), im.Report)
	}
	if n := e.scalar("SELECT value FROM counters WHERE community_id = $1 AND name = 'gold_coins'", e.cid); n != 30 {
		t.Errorf("counter gold_coins = %d, want 30", n)
	}
	if err := e.s.Apply(e.ctx, audit.Actor{}, e.cid, im.ID+100, importer.Choices{}); !errors.Is(err, importer.ErrNotFound) {
		t.Errorf("Apply of a missing import = %v", err)
	}
}
