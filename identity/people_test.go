package identity_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
)

// peopleEnv is an identity service on a fresh database with two communities.
type peopleEnv struct {
	t    testing.TB
	pool *pgxpool.Pool
	ids  *identity.Service
	a, b int64
}

func newPeopleEnv(t testing.TB) *peopleEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	e := &peopleEnv{t: t, pool: pool, ids: identity.New(pool, nil, nil)}
	for i, slug := range []string{"alpha", "beta"} {
		c, err := db.New(pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: slug, Name: slug})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.a = c.ID
		} else {
			e.b = c.ID
		}
	}
	return e
}

// person makes an account known to a community, with a balance, and returns
// its identity; with into, the account joins that identity instead.
func (e *peopleEnv) person(cid int64, platform, account, name string, balance int64, into int64) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	var err error
	if into != 0 {
		err = e.pool.QueryRow(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name, identity_id, linked_at, linked_by)
			VALUES ($1, $2, $3, $4, now(), 'chat') RETURNING identity_id`, platform, account, name, into).Scan(&id)
	} else {
		err = e.pool.QueryRow(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name) VALUES ($1, $2, $3) RETURNING identity_id`,
			platform, account, name).Scan(&id)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cid, id); err != nil {
		e.t.Fatal(err)
	}
	if balance != 0 {
		if _, err := e.pool.Exec(ctx, `INSERT INTO points_balances (community_id, identity_id, platform, user_id, user_name, balance)
			VALUES ($1, $2, $3, $4, $5, $6)`, cid, id, platform, account, name, balance); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

func names(p identity.PeoplePage) []string {
	var out []string
	for _, s := range p.People {
		var accts []string
		for _, a := range s.Accounts {
			accts = append(accts, a.Platform+":"+a.Name)
		}
		out = append(out, strings.Join(accts, "+"))
	}
	return out
}

func TestPeopleSearch(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t)
	ctx := context.Background()
	alice := e.person(e.a, "twitch", "t-alice", "Alice", 120, 0)
	e.person(e.a, "discord", "d-alice", "ally#1", 0, alice)
	e.person(e.a, "discord", "d-alfred", "alfred", 0, 0)
	e.person(e.a, "slack", "s-bob", "Bob", 7, 0)
	e.person(e.a, "twitch", "t-pct", "100%_real", 0, 0)
	e.person(e.b, "twitch", "t-alina", "alina", 0, 0) // B's only

	cases := []struct {
		q    string
		want []string
	}{
		{"al", []string{"discord:alfred", "discord:ally#1+twitch:Alice"}},
		{"ALI", []string{"discord:ally#1+twitch:Alice"}},
		{"ally", []string{"discord:ally#1+twitch:Alice"}}, // by the Discord name
		{"@bob", []string{"slack:Bob"}},
		{"  Bob ", []string{"slack:Bob"}},
		{"alina", nil}, // another community's
		{"100%", []string{"twitch:100%_real"}},
		{"%", nil}, // no wildcards
		{"_", nil},
		{"zed", nil},
	}
	for _, c := range cases {
		p, err := e.ids.People(ctx, e.a, identity.PeopleQuery{Search: c.q})
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		if d := cmp.Diff(c.want, names(p)); d != "" || p.Next != "" {
			t.Errorf("search %q (-want +got):\n%s next %q", c.q, d, p.Next)
		}
	}
	p, err := e.ids.People(ctx, e.a, identity.PeopleQuery{Search: "alice"})
	if err != nil || len(p.People) != 1 || p.People[0].ID != alice || p.People[0].Balance != 120 || p.People[0].DisplayName != "Alice" {
		t.Errorf("alice: %+v %v", p, err)
	}
}

// Paging through a search and through the whole list gives every person
// once, in order.
func TestPeoplePaging(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t)
	ctx := context.Background()
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("user%02d", i)
		e.person(e.a, "twitch", "t-"+name, name, 0, 0)
		want = append(want, "twitch:"+name)
	}
	e.person(e.a, "twitch", "t-other", "someone", 0, 0)
	for _, q := range []string{"user", ""} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%q: paging does not end", q)
			}
			p, err := e.ids.People(ctx, e.a, identity.PeopleQuery{Search: q, Cursor: cursor, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.People) > 5 {
				t.Fatalf("a page of %d", len(p.People))
			}
			got = append(got, names(p)...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if q == "" {
			if len(got) != 24 {
				t.Errorf("the whole list has %d people, want 24", len(got))
			}
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("search %q pages (-want +got):\n%s", q, d)
		}
	}
}

func TestPeopleBadInput(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t)
	ctx := context.Background()
	for i := range 3 {
		e.person(e.a, "twitch", fmt.Sprint("t", i), fmt.Sprint("name", i), 0, 0)
	}
	search, _ := e.ids.People(ctx, e.a, identity.PeopleQuery{Search: "name", Limit: 1})
	recent, _ := e.ids.People(ctx, e.a, identity.PeopleQuery{Limit: 1})
	if search.Next == "" || recent.Next == "" {
		t.Fatal("no cursors to misuse")
	}
	cases := []struct {
		name  string
		in    identity.PeopleQuery
		field string
	}{
		{"long search", identity.PeopleQuery{Search: strings.Repeat("a", identity.MaxPeopleQuery+1)}, "q"},
		{"control characters", identity.PeopleQuery{Search: "a\x00b"}, "q"},
		{"invalid UTF-8", identity.PeopleQuery{Search: "a\xffb"}, "q"},
		{"garbage cursor", identity.PeopleQuery{Cursor: "!!!"}, "cursor"},
		{"huge cursor", identity.PeopleQuery{Cursor: strings.Repeat("A", 5000)}, "cursor"},
		{"search cursor on the list", identity.PeopleQuery{Cursor: search.Next}, "cursor"},
		{"list cursor on a search", identity.PeopleQuery{Search: "name", Cursor: recent.Next}, "cursor"},
		{"another search's cursor", identity.PeopleQuery{Search: "nam", Cursor: search.Next}, "cursor"},
	}
	for _, c := range cases {
		_, err := e.ids.People(ctx, e.a, c.in)
		if p := problem.As(err); p == nil || p.Code != problem.Invalid || p.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
}

func TestPersonProfileAndTenancy(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t)
	ctx := context.Background()
	id := e.person(e.a, "twitch", "t-carol", "carol", 40, 0)
	e.person(e.a, "slack", "s-carol", "Carol S", 0, id)
	stranger := e.person(e.b, "twitch", "t-dave", "dave", 10, 0)
	for i := range identity.HistoryPageSize + 3 {
		if _, err := e.pool.Exec(ctx, `INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
			VALUES ($1, $2, 'twitch', 't-carol', 'carol', $3, 'chat')`, e.a, id, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason)
		VALUES ($1, $2, 'twitch', 't-carol', 'carol', 999, 'in B')`, e.b, id); err != nil {
		t.Fatal(err)
	}
	p, err := e.ids.Person(ctx, e.a, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Balance != 40 || p.Reputation != 0 || len(p.Accounts) != 2 || p.Accounts[0].Platform != "slack" || p.Accounts[0].LinkedBy != "chat" || p.HubUser {
		t.Errorf("profile: %+v", p)
	}
	page1, next, err := e.ids.PersonLedger(ctx, e.a, id, 0)
	if err != nil || len(page1) != identity.HistoryPageSize || next == 0 || page1[0].Delta != int64(identity.HistoryPageSize+3) {
		t.Fatalf("ledger page 1: %d entries, next %d, %v", len(page1), next, err)
	}
	page2, next2, err := e.ids.PersonLedger(ctx, e.a, id, next)
	if err != nil || len(page2) != 3 || next2 != 0 || page2[2].Delta != 1 {
		t.Errorf("ledger page 2: %+v next %d %v", page2, next2, err)
	}
	// Another community's person is not found, however it is asked for.
	if _, err := e.ids.Person(ctx, e.a, stranger); err != identity.ErrPersonNotFound {
		t.Errorf("B's person through A: %v", err)
	}
	if _, err := e.ids.Person(ctx, e.a, 1<<40); err != identity.ErrPersonNotFound {
		t.Errorf("no such person: %v", err)
	}
	if l, _, err := e.ids.PersonLedger(ctx, e.a, stranger, 0); err != nil || len(l) != 0 {
		t.Errorf("B's person's ledger through A: %+v %v", l, err)
	}
	if _, _, err := e.ids.PersonLedger(ctx, e.a, id, -1); problem.As(err) == nil {
		t.Errorf("a negative cursor: %v", err)
	}
}

func TestAdjustReputation(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t)
	ctx := context.Background()
	id := e.person(e.a, "twitch", "t-eve", "eve", 0, 0)
	other := e.person(e.b, "twitch", "t-frank", "frank", 0, 0)
	var mod int64
	if err := e.pool.QueryRow(ctx, `INSERT INTO users (email, display_name) VALUES ('mod@example.com', 'Mod') RETURNING id`).Scan(&mod); err != nil {
		t.Fatal(err)
	}
	by := audit.Actor{UserID: mod, Email: "mod@example.com"}
	got, err := e.ids.AdjustReputation(ctx, by, e.a, id, identity.ReputationAdjust{Delta: 25, Reason: "  helped a newcomer  "})
	if err != nil || got != 25 {
		t.Fatalf("adjust: %d %v", got, err)
	}
	hist, _, err := e.ids.PersonHistory(ctx, e.a, id, 0)
	want := []identity.HistoryEntry{{Action: "adjust", Delta: 25, Reason: "helped a newcomer", Actor: "Mod"}}
	for i := range hist {
		hist[i].ID, hist[i].At = 0, time.Time{}
	}
	if d := cmp.Diff(want, hist); err != nil || d != "" {
		t.Errorf("history (-want +got):\n%s %v", d, err)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2 AND actor_id = $3
		AND after->>'reason' = 'helped a newcomer' AND (before->>'reputation')::int = 0 AND (after->>'reputation')::int = 25`,
		e.a, audit.ReputationAdjusted, mod).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d audit entries (%v)", n, err)
	}

	bad := []struct {
		name  string
		cid   int64
		id    int64
		in    identity.ReputationAdjust
		field string
	}{
		{"no change", e.a, id, identity.ReputationAdjust{Delta: 0, Reason: "x"}, "delta"},
		{"too much", e.a, id, identity.ReputationAdjust{Delta: identity.MaxReputationAdjust + 1, Reason: "x"}, "delta"},
		{"too little", e.a, id, identity.ReputationAdjust{Delta: -identity.MaxReputationAdjust - 1, Reason: "x"}, "delta"},
		{"no reason", e.a, id, identity.ReputationAdjust{Delta: 5, Reason: "   "}, "reason"},
		{"long reason", e.a, id, identity.ReputationAdjust{Delta: 5, Reason: strings.Repeat("é", identity.MaxReputationReason+1)}, "reason"},
		{"control characters", e.a, id, identity.ReputationAdjust{Delta: 5, Reason: "a\x07b"}, "reason"},
	}
	for _, c := range bad {
		_, err := e.ids.AdjustReputation(ctx, by, c.cid, c.id, c.in)
		if p := problem.As(err); p == nil || p.Code != problem.Invalid || p.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
	if _, err := e.ids.AdjustReputation(ctx, by, e.a, other, identity.ReputationAdjust{Delta: 5, Reason: "x"}); err != identity.ErrPersonNotFound {
		t.Errorf("B's person through A: %v", err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE community_people SET reputation = 999500 WHERE community_id = $1 AND identity_id = $2`, e.a, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ids.AdjustReputation(ctx, by, e.a, id, identity.ReputationAdjust{Delta: 501, Reason: "x"}); problem.As(err) == nil {
		t.Errorf("beyond the bound: %v", err)
	}
	var rep, events int
	if err := e.pool.QueryRow(ctx, `SELECT (SELECT reputation FROM community_people WHERE community_id = $1 AND identity_id = $2),
		(SELECT count(*) FROM reputation_events)`, e.a, id).Scan(&rep, &events); err != nil || rep != 999500 || events != 1 {
		t.Errorf("after refusals: reputation %d, %d events (%v)", rep, events, err)
	}
}

// Concurrent adjustments all count.
func TestAdjustReputationConcurrently(t *testing.T) {
	t.Parallel()
	e := newPeopleEnv(t)
	ctx := context.Background()
	id := e.person(e.a, "twitch", "t-gus", "gus", 0, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.ids.AdjustReputation(ctx, audit.Actor{Name: "test"}, e.a, id, identity.ReputationAdjust{Delta: -3, Reason: "spam"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := e.ids.Person(ctx, e.a, id)
	if err != nil || p.Reputation != -36 {
		t.Errorf("reputation %d after 12 × -3 (%v)", p.Reputation, err)
	}
}
