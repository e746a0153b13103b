package importer_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestCreateStoresAndResolves stores the bundle without its balances and
// each balance in file order, resolved through a known account, the
// source's id or Helix; the rest stay unresolved.
func TestCreateStoresAndResolves(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	// alice chatted before: her account is known by name.
	if _, err := e.pool.Exec(e.ctx, "INSERT INTO identity_accounts (platform, account_id, user_name) VALUES ('twitch', '1001', 'Alice')"); err != nil {
		t.Fatal(err)
	}
	e.helix.ids["carol"] = "3003"
	b := sample()
	b.Points = append(b.Points, importer.Balance{Login: "Carol", Points: 5})
	im := e.create(b)
	if im.State != importer.StatePreviewed || im.PointsTotal != 4 || im.Bundle.Points != nil || len(im.Bundle.Commands) != 3 {
		t.Fatalf("created %+v", im)
	}
	got := e.strings("SELECT login || '=' || account_id FROM import_points WHERE import_id = $1 ORDER BY seq", im.ID)
	want := []string{"alice=1001", "bob=2002", "ghost=", "carol=3003"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("import_points = %v, want %v", got, want)
	}
	if n := e.scalar("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2", e.cid, audit.ImportCreated); n != 1 {
		t.Errorf("audit entries = %d, want 1", n)
	}
	list, err := e.s.List(e.ctx, e.cid)
	if err != nil || len(list) != 1 || list[0].ID != im.ID {
		t.Errorf("List = %v, %v", list, err)
	}
}

// TestHelixBatches asks Helix for 250 unknown logins in calls of at most
// 100 logins.
func TestHelixBatches(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	b := &importer.Bundle{Source: importer.Firebot}
	for i := range 250 {
		l := "viewer" + strconv.Itoa(i)
		b.Points = append(b.Points, importer.Balance{Login: l, Points: 1})
		if i%2 == 0 {
			e.helix.ids[l] = "id" + strconv.Itoa(i)
		}
	}
	im := e.create(b)
	if e.helix.calls != 3 {
		t.Errorf("Helix calls = %d, want 3", e.helix.calls)
	}
	if n := e.scalar("SELECT count(*) FROM import_points WHERE import_id = $1 AND account_id <> ''", im.ID); n != 125 {
		t.Errorf("resolved = %d, want 125", n)
	}
}

// TestBadBundlesRefused refuses what no source should produce, naming the
// item at fault, and stores nothing.
func TestBadBundlesRefused(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	long := strings.Repeat("a", 501)
	cases := []struct {
		name string
		b    *importer.Bundle
		want string
	}{
		{"nil", nil, "Nothing was read"},
		{"unknown source", &importer.Bundle{Source: "moobot"}, "not a bot"},
		{"bad command name", &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{{Name: "Hello!", Response: "x"}}}, `"Hello!"`},
		{"empty reply", &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{{Name: "x", Response: " "}}}, "!x needs a reply"},
		{"long reply", &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{{Name: "x", Response: long}}}, "!x needs a reply"},
		{"bad level", &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{{Name: "x", Response: "y", Permission: "regular"}}}, `"regular"`},
		{"bad alias", &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{{Name: "x", Response: "y", Aliases: []string{"a b"}}}}, `"a b"`},
		{"timer without message", &importer.Bundle{Source: importer.Nightbot, Timers: []importer.Timer{{Name: "t"}}}, `"t" needs a message`},
		{"empty quote", &importer.Bundle{Source: importer.Streamlabs, Quotes: []importer.Quote{{Number: 1}}}, "Quote 1"},
		{"bad counter", &importer.Bundle{Source: importer.Firebot, Counters: []importer.Counter{{Name: "Deaths!"}}}, `"Deaths!"`},
		{"bad filter kind", &importer.Bundle{Source: importer.Nightbot, Filters: []importer.Filter{{Kind: "glob", Pattern: "x"}}}, `"glob"`},
		{"no login", &importer.Bundle{Source: importer.Streamlabs, Points: []importer.Balance{{Points: 3}}}, "Balance 1 has no login"},
		{"bad platform", &importer.Bundle{Source: importer.Streamlabs, Points: []importer.Balance{{Login: "a", Platform: "youtube"}}}, `"youtube"`},
		{"unknown currency", &importer.Bundle{Source: importer.Firebot, Currencies: []string{"gold", "gems"},
			Points: []importer.Balance{{Login: "a", Currency: "coins"}}}, `"coins"`},
		{"too many timers", &importer.Bundle{Source: importer.Nightbot, Timers: make([]importer.Timer, importer.MaxTimers+1)}, "at most 500"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.s.Create(e.ctx, audit.Actor{}, e.cid, c.b, nil)
			if !problem.Is(err, problem.Invalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Create = %v, want an invalid-input error naming %q", err, c.want)
			}
		})
	}
	if n := e.scalar("SELECT count(*) FROM imports"); n != 0 {
		t.Errorf("%d imports stored, want none", n)
	}
}

// TestDuplicatesSkipped keeps the first of two commands of one name and
// lists the second as skipped, never silently.
func TestDuplicatesSkipped(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	b := &importer.Bundle{Source: importer.Nightbot, Commands: []importer.Command{
		{Name: "a", Response: "first", Aliases: []string{"b"}}, {Name: "a", Response: "second"}, {Name: "c", Response: "x", Aliases: []string{"b"}},
	}, Filters: []importer.Filter{{Kind: "regex", Pattern: "(?<=x)y"}}}
	im := e.create(b)
	if len(im.Bundle.Commands) != 2 || im.Bundle.Commands[0].Response != "first" || im.Bundle.Commands[0].Permission != router.Everyone {
		t.Errorf("commands = %+v", im.Bundle.Commands)
	}
	if len(im.Bundle.Commands[1].Aliases) != 0 || len(im.Bundle.Notes) != 1 {
		t.Errorf("the alias held by !a stays on !c: %+v, notes %v", im.Bundle.Commands[1], im.Bundle.Notes)
	}
	var cats []string
	for _, s := range im.Bundle.Skipped {
		cats = append(cats, s.Category+":"+s.Name)
	}
	if strings.Join(cats, ",") != "command:a,filter:(?<=x)y" {
		t.Errorf("skipped = %v", cats)
	}
}

// TestTenancy: another community's import is not found, for every call.
func TestTenancy(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	im := e.create(sample())
	other := e.community("geese", "goosechan")
	a := audit.Actor{}
	calls := map[string]error{}
	_, calls["Get"] = e.s.Get(e.ctx, other, im.ID)
	_, calls["Preview"] = e.s.Preview(e.ctx, other, im.ID)
	_, calls["Progress"] = e.s.Progress(e.ctx, other, im.ID)
	calls["Apply"] = e.s.Apply(e.ctx, a, other, im.ID, importer.Choices{})
	calls["Undo"] = e.s.Undo(e.ctx, a, other, im.ID)
	for name, err := range calls {
		if !errors.Is(err, importer.ErrNotFound) {
			t.Errorf("%s from another community = %v, want ErrNotFound", name, err)
		}
	}
	if list, err := e.s.List(e.ctx, other); err != nil || len(list) != 0 {
		t.Errorf("List of the other community = %v, %v", list, err)
	}
}
