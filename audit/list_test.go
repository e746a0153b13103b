package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

// trail is a database with two communities and a recorded trail.
type trail struct {
	pool         *pgxpool.Pool
	ducks, geese db.Community
}

func newTrail(t *testing.T) *trail {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	q := db.New(pool)
	ducks, err := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	geese, err := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: "geese", Name: "Geese"})
	if err != nil {
		t.Fatal(err)
	}
	return &trail{pool: pool, ducks: ducks, geese: geese}
}

// record writes one entry (each in its own statement, so each gets its own
// time) and returns its id.
func (tr *trail) record(t *testing.T, cid int64, a audit.Actor, action, target string) int64 {
	t.Helper()
	id, err := audit.RecordID(context.Background(), tr.pool, a, audit.Entry{CommunityID: cid, Action: action, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (tr *trail) community(t *testing.T, cid int64, f audit.Filter) []audit.Item {
	t.Helper()
	items, err := audit.Log{Pool: tr.pool}.ListCommunity(context.Background(), cid, f)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func (tr *trail) all(t *testing.T, f audit.Filter) []audit.Item {
	t.Helper()
	items, err := audit.Log{Pool: tr.pool}.ListAll(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func targets(items []audit.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Target)
	}
	return out
}

var (
	ann   = audit.Actor{Email: "ann@example.com", IP: "192.0.2.1"}
	bob   = audit.Actor{Email: "Bob.Builder@Example.com"}
	alice = audit.Actor{Name: "twitch user alice (id 123)"}
	under = audit.Actor{Email: "under_score@example.com"}
	pct   = audit.Actor{Name: "discord user 100% real (id 9)"}
)

// TestListFilters: each filter narrows a community's trail to what it
// names, newest first: the action; part of the actor's email or chat name,
// whatever the case, with % and _ taken literally; since (inclusive) and
// until (exclusive).
func TestListFilters(t *testing.T) {
	t.Parallel()
	tr := newTrail(t)
	cid := tr.ducks.ID
	tr.record(t, cid, ann, audit.CommandCreated, "!hello")
	tr.record(t, cid, bob, audit.CommandDeleted, "!bye")
	tr.record(t, cid, alice, audit.QuoteAdded, "quote 1")
	tr.record(t, cid, under, audit.CommandCreated, "!under")
	tr.record(t, cid, pct, audit.AliasAdded, "!hi")
	tr.record(t, tr.geese.ID, ann, audit.CommandCreated, "!honk") // another community

	cases := []struct {
		name   string
		filter audit.Filter
		want   []string
	}{
		{"none", audit.Filter{}, []string{"!hi", "!under", "quote 1", "!bye", "!hello"}},
		{"action", audit.Filter{Action: audit.CommandCreated}, []string{"!under", "!hello"}},
		{"action nobody did", audit.Filter{Action: audit.OverlayDeleted}, []string{}},
		{"part of an email", audit.Filter{Actor: "ann@"}, []string{"!hello"}},
		{"email in another case", audit.Filter{Actor: "bob.builder"}, []string{"!bye"}},
		{"part of a chat name", audit.Filter{Actor: "ALICE"}, []string{"quote 1"}},
		{"a platform in chat names", audit.Filter{Actor: "twitch user"}, []string{"quote 1"}},
		{"underscore is literal", audit.Filter{Actor: "under_"}, []string{"!under"}},
		{"underscore matches no other character", audit.Filter{Actor: "ann_"}, []string{}},
		{"percent is literal", audit.Filter{Actor: "100%"}, []string{"!hi"}},
		{"percent matches nothing else", audit.Filter{Actor: "b%r"}, []string{}},
		{"action and actor", audit.Filter{Action: audit.CommandCreated, Actor: "example.com"}, []string{"!under", "!hello"}},
		{"action and actor of nobody", audit.Filter{Action: audit.CommandDeleted, Actor: "alice"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, targets(tr.community(t, cid, tc.filter))); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}

	// Since and until, at the times the entries were recorded.
	items := tr.community(t, cid, audit.Filter{})
	for i := 1; i < len(items); i++ {
		if !items[i].At.Before(items[i-1].At) {
			t.Fatalf("entries %q and %q recorded at the same time: cannot test since and until", items[i].Target, items[i-1].Target)
		}
	}
	at := func(target string) time.Time {
		for _, it := range items {
			if it.Target == target {
				return it.At
			}
		}
		t.Fatalf("no entry %q", target)
		return time.Time{}
	}
	times := []struct {
		name   string
		filter audit.Filter
		want   []string
	}{
		{"since is inclusive", audit.Filter{Since: at("quote 1")}, []string{"!hi", "!under", "quote 1"}},
		{"until is exclusive", audit.Filter{Until: at("quote 1")}, []string{"!bye", "!hello"}},
		{"since and until", audit.Filter{Since: at("!bye"), Until: at("!hi")}, []string{"!under", "quote 1", "!bye"}},
		{"since after the last", audit.Filter{Since: at("!hi").Add(time.Second)}, []string{}},
		{"until before the first", audit.Filter{Until: at("!hello")}, []string{}},
		{"until before since", audit.Filter{Since: at("!hi"), Until: at("!hello")}, []string{}},
		{"since, action and actor", audit.Filter{Since: at("!bye"), Action: audit.CommandCreated, Actor: "under"}, []string{"!under"}},
	}
	for _, tc := range times {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, targets(tr.community(t, cid, tc.filter))); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListPages: BeforeID pages through the trail newest first, without
// gaps or repeats; Limit is honoured from 1 to 200, and a limit of zero,
// below zero or above 200 gives the default page of 50.
func TestListPages(t *testing.T) {
	t.Parallel()
	tr := newTrail(t)
	cid := tr.ducks.ID
	const n = 230
	var ids []int64
	for i := range n {
		ids = append(ids, tr.record(t, cid, ann, audit.CommandUpdated, fmt.Sprintf("!c%03d", i)))
	}
	tr.record(t, tr.geese.ID, ann, audit.CommandUpdated, "!geese") // not in the ducks' pages

	newest := make([]int64, n)
	for i, id := range ids {
		newest[n-1-i] = id
	}
	var got []int64
	var before int64
	for page := 0; ; page++ {
		items := tr.community(t, cid, audit.Filter{BeforeID: before, Limit: 40})
		if len(items) == 0 {
			break
		}
		if len(items) > 40 {
			t.Fatalf("page %d has %d entries, want at most 40", page, len(items))
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		before = items[len(items)-1].ID
		if page > n {
			t.Fatal("paging does not end")
		}
	}
	if diff := cmp.Diff(newest, got); diff != "" {
		t.Errorf("entries paged through, newest first (-want +got):\n%s", diff)
	}

	// A page starts right after the entry it is before.
	page := tr.community(t, cid, audit.Filter{BeforeID: ids[100], Limit: 3})
	if diff := cmp.Diff([]string{"!c099", "!c098", "!c097"}, targets(page)); diff != "" {
		t.Errorf("page before !c100 (-want +got):\n%s", diff)
	}
	if rest := tr.community(t, cid, audit.Filter{BeforeID: ids[0]}); len(rest) != 0 {
		t.Errorf("before the oldest entry: %q, want none", targets(rest))
	}

	limits := []struct {
		limit, want int
	}{
		{1, 1}, {7, 7}, {200, 200}, {0, 50}, {-1, 50}, {201, 50}, {1 << 30, 50},
	}
	for _, tc := range limits {
		if got := len(tr.community(t, cid, audit.Filter{Limit: tc.limit})); got != tc.want {
			t.Errorf("limit %d: %d entries, want %d", tc.limit, got, tc.want)
		}
		if got := len(tr.all(t, audit.Filter{Limit: tc.limit})); got != tc.want {
			t.Errorf("limit %d, hub-wide: %d entries, want %d", tc.limit, got, tc.want)
		}
	}
}

// TestListCommunityAndAll: a community's trail holds its own entries only,
// not another community's nor hub-wide ones; the hub-wide trail holds
// every entry, each with its community's name (none for hub-wide entries),
// and filters and pages the same way.
func TestListCommunityAndAll(t *testing.T) {
	t.Parallel()
	tr := newTrail(t)
	tr.record(t, 0, ann, audit.SignIn, "ann@example.com")
	tr.record(t, tr.ducks.ID, ann, audit.CommandCreated, "!quack")
	tr.record(t, tr.geese.ID, alice, audit.CommandCreated, "!honk")
	tr.record(t, tr.geese.ID, bob, audit.MemberInvited, "carol@example.com")
	tr.record(t, 0, bob, audit.UserCreated, "carol@example.com")

	if diff := cmp.Diff([]string{"!quack"}, targets(tr.community(t, tr.ducks.ID, audit.Filter{}))); diff != "" {
		t.Errorf("the ducks' trail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"carol@example.com", "!honk"}, targets(tr.community(t, tr.geese.ID, audit.Filter{}))); diff != "" {
		t.Errorf("the geese's trail (-want +got):\n%s", diff)
	}
	if got := tr.community(t, tr.geese.ID+100, audit.Filter{}); len(got) != 0 {
		t.Errorf("a community that does not exist has entries %q", targets(got))
	}
	for _, it := range tr.community(t, tr.geese.ID, audit.Filter{}) {
		if it.CommunityName != "" || it.CommunityID != tr.geese.ID {
			t.Errorf("community trail entry %q: community %d %q, want %d with no name", it.Target, it.CommunityID, it.CommunityName, tr.geese.ID)
		}
	}

	type row struct {
		Community, Action, Target, Who string
	}
	rows := func(items []audit.Item) []row {
		out := []row{}
		for _, it := range items {
			out = append(out, row{it.CommunityName, it.Action, it.Target, it.Who()})
		}
		return out
	}
	want := []row{
		{"", audit.UserCreated, "carol@example.com", bob.Email},
		{"Geese", audit.MemberInvited, "carol@example.com", bob.Email},
		{"Geese", audit.CommandCreated, "!honk", alice.Name},
		{"Ducks", audit.CommandCreated, "!quack", ann.Email},
		{"", audit.SignIn, "ann@example.com", ann.Email},
	}
	all := tr.all(t, audit.Filter{})
	if diff := cmp.Diff(want, rows(all)); diff != "" {
		t.Errorf("the hub-wide trail (-want +got):\n%s", diff)
	}
	if all[4].IP != ann.IP || all[4].At.IsZero() {
		t.Errorf("sign-in entry: ip %q at %v, want %q and a time", all[4].IP, all[4].At, ann.IP)
	}
	if diff := cmp.Diff(want[2:4], rows(tr.all(t, audit.Filter{Action: audit.CommandCreated}))); diff != "" {
		t.Errorf("hub-wide by action (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[2:3], rows(tr.all(t, audit.Filter{Actor: "Alice"}))); diff != "" {
		t.Errorf("hub-wide by a chat name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:3], rows(tr.all(t, audit.Filter{BeforeID: all[0].ID, Limit: 2}))); diff != "" {
		t.Errorf("hub-wide page (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[2:], rows(tr.all(t, audit.Filter{Until: all[1].At}))); diff != "" {
		t.Errorf("hub-wide until (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:2], rows(tr.all(t, audit.Filter{Since: all[1].At}))); diff != "" {
		t.Errorf("hub-wide since (-want +got):\n%s", diff)
	}
}

// TestGet: an entry recorded is read back by its id; an id with no entry
// is ErrNoEntry.
func TestGet(t *testing.T) {
	t.Parallel()
	tr := newTrail(t)
	id, err := audit.RecordID(context.Background(), tr.pool, alice, audit.Entry{
		CommunityID: tr.ducks.ID, Action: audit.PrefixChanged, Target: "command prefix",
		Before: map[string]string{"prefix": "!"}, After: map[string]string{"prefix": "?"},
	})
	if err != nil {
		t.Fatal(err)
	}
	it, err := audit.Get(context.Background(), tr.pool, id)
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != id || it.CommunityID != tr.ducks.ID || it.Action != audit.PrefixChanged || it.Who() != alice.Name ||
		string(it.Before) != `{"prefix": "!"}` || string(it.After) != `{"prefix": "?"}` {
		t.Errorf("entry %d read back as %+v", id, it)
	}
	if _, err := audit.Get(context.Background(), tr.pool, id+1); !errors.Is(err, audit.ErrNoEntry) {
		t.Errorf("Get of an id with no entry: %v, want ErrNoEntry", err)
	}
}
