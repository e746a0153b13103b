package labels_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
)

type env struct {
	cfg   labels.Config
	pool  *pgxpool.Pool
	s     *labels.Service
	roles *recordRoles
}

// recordRoles is a RoleSync that keeps what it was told, in the
// transaction, so a rolled-back change leaves nothing.
type recordRoles struct {
	mu      sync.Mutex
	changes []labels.Change
	fail    bool
}

func (r *recordRoles) Changed(ctx context.Context, tx pgx.Tx, cs []labels.Change) error {
	if r.fail {
		return errors.New("role sync refused")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, cs...)
	return nil
}

func newEnv(t *testing.T) env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	roles := &recordRoles{}
	cfg := labels.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Roles: roles}
	return env{cfg: cfg, pool: pool, s: labels.New(cfg), roles: roles}
}

func mustCommunity(ctx context.Context, t *testing.T, pool *pgxpool.Pool, slug string) int64 {
	t.Helper()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// mustAccount records a platform account and returns its identity.
func mustAccount(ctx context.Context, t *testing.T, pool *pgxpool.Pool, platform, id, name string) int64 {
	t.Helper()
	a, err := db.New(pool).IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: platform, AccountID: id, UserName: name})
	if err != nil {
		t.Fatal(err)
	}
	return a.IdentityID
}

// mustPerson records a platform account, has the community meet its
// identity (as chatting there does), and returns the identity.
func mustPerson(ctx context.Context, t *testing.T, pool *pgxpool.Pool, cid int64, platform, id, name string) int64 {
	t.Helper()
	identityID := mustAccount(ctx, t, pool, platform, id, name)
	if err := db.New(pool).LabelGroupPersonEnsure(ctx, db.LabelGroupPersonEnsureParams{CommunityID: cid, IdentityID: identityID}); err != nil {
		t.Fatal(err)
	}
	return identityID
}

func mustLabel(ctx context.Context, t *testing.T, s *labels.Service, cid int64, name string) labels.Label {
	t.Helper()
	l, err := s.Create(ctx, audit.Actor{}, cid, labels.Input{Name: name, Colour: "#112233"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLabelInputIsChecked(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		in    labels.Input
		field string
	}{
		{"empty name", labels.Input{Name: "   "}, "name"},
		{"long name", labels.Input{Name: strings.Repeat("a", 41)}, "name"},
		{"comma", labels.Input{Name: "a,b"}, "name"},
		{"control", labels.Input{Name: "a\x00b"}, "name"},
		{"colour word", labels.Input{Name: "ok", Colour: "red"}, "colour"},
		{"colour short", labels.Input{Name: "ok", Colour: "#fff"}, "colour"},
		{"long description", labels.Input{Name: "ok", Description: strings.Repeat("é", 301)}, "description"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.in.Check()
			if p := problem.As(err); p == nil || p.Field != tc.field || p.Code != problem.Invalid {
				t.Fatalf("%#v: got %v, want an error on %s", tc.in, err, tc.field)
			}
		})
	}
	got, err := labels.Input{Name: "  Very   Loyal ", Colour: "#ABCDEF"}.Check()
	if err != nil || got.Name != "Very Loyal" || got.Colour != "#abcdef" {
		t.Fatalf("normalised to %#v, %v", got, err)
	}
	got, err = labels.Input{Name: strings.Repeat("é", 40)}.Check()
	if err != nil || got.Colour != labels.DefaultColour {
		t.Fatalf("40 characters: %#v, %v", got, err)
	}
}

func TestLabelNamesAreUniqueWithoutCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	a, b := mustCommunity(ctx, t, e.pool, "alpha"), mustCommunity(ctx, t, e.pool, "bravo")
	mustLabel(ctx, t, e.s, a, "VIP")
	if _, err := e.s.Create(ctx, audit.Actor{}, a, labels.Input{Name: "vip"}); !errors.Is(err, labels.ErrNameTaken) {
		t.Fatalf("same name again: %v", err)
	}
	mustLabel(ctx, t, e.s, b, "vip")                  // another community may
	mustLabel(ctx, t, e.s, 0, "vip")                  // and so may the hub
	if _, err := e.s.Get(ctx, b, "VIP"); err != nil { // found without case
		t.Fatal(err)
	}
	l, _ := e.s.Get(ctx, a, "vip")
	if _, err := e.s.Get(ctx, b, fmt.Sprint(l.ID)); !errors.Is(err, labels.ErrNotFound) {
		t.Fatalf("another community's label by id: %v", err)
	}
	mustLabel(ctx, t, e.s, a, "Other")
	if _, err := e.s.Update(ctx, audit.Actor{}, a, "other", labels.Input{Name: "VIP"}); !errors.Is(err, labels.ErrNameTaken) {
		t.Fatalf("renamed onto a taken name: %v", err)
	}
}

// Twenty requests give one person twenty different labels at once: the
// limit holds, exactly five succeed, and RoleSync heard of those five.
func TestPersonLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	person := mustPerson(ctx, t, e.pool, cid, "twitch", "1", "alice")
	for i := range 20 {
		mustLabel(ctx, t, e.s, cid, fmt.Sprintf("label %d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, errs[i] = e.s.Add(ctx, audit.Actor{}, cid, person, fmt.Sprintf("label %d", i))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, labels.ErrPersonFull):
			t.Errorf("unexpected error: %v", err)
		}
	}
	have, err := e.s.Of(ctx, cid, person)
	if err != nil {
		t.Fatal(err)
	}
	if ok != labels.MaxPerPerson || len(have) != labels.MaxPerPerson || len(e.roles.changes) != labels.MaxPerPerson {
		t.Fatalf("%d succeeded, person has %d, role sync heard %d; want %d each", ok, len(have), len(e.roles.changes), labels.MaxPerPerson)
	}
}

func TestAddRemoveAndRoleSyncRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	person := mustPerson(ctx, t, e.pool, cid, "discord", "42", "bob")
	mustLabel(ctx, t, e.s, cid, "Artist")
	if _, err := e.s.Add(ctx, audit.Actor{}, cid, 999999, "Artist"); !errors.Is(err, labels.ErrPersonNotFound) {
		t.Fatalf("unknown person: %v", err)
	}
	if _, err := e.s.Add(ctx, audit.Actor{}, cid, person, "nope"); !errors.Is(err, labels.ErrNotFound) {
		t.Fatalf("unknown label: %v", err)
	}
	got, err := e.s.Add(ctx, audit.Actor{}, cid, person, "artist")
	if err != nil || len(got) != 1 || got[0].Name != "Artist" {
		t.Fatalf("add: %v %v", got, err)
	}
	if _, err := e.s.Add(ctx, audit.Actor{}, cid, person, "artist"); err != nil || len(e.roles.changes) != 1 {
		t.Fatalf("adding again: %v, %d role changes", err, len(e.roles.changes))
	}
	e.roles.fail = true
	if _, err := e.s.Remove(ctx, audit.Actor{}, cid, person, "Artist"); err == nil {
		t.Fatal("a RoleSync failure did not fail the change")
	}
	if have, _ := e.s.Of(ctx, cid, person); len(have) != 1 {
		t.Fatalf("the failed removal was kept: %v", have)
	}
	e.roles.fail = false
	if got, err := e.s.Remove(ctx, audit.Actor{}, cid, person, "Artist"); err != nil || len(got) != 0 {
		t.Fatalf("remove: %v %v", got, err)
	}
	if c := e.roles.changes[len(e.roles.changes)-1]; c.Give || c.IdentityID != person {
		t.Fatalf("role sync told %+v", c)
	}
}

func TestCommunityLabels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	other := mustCommunity(ctx, t, e.pool, "geese")
	for _, n := range []string{"English", "Speedrunning", "Art", "Music", "Chill", "Late"} {
		mustLabel(ctx, t, e.s, 0, n)
	}
	mustLabel(ctx, t, e.s, cid, "Own")
	if _, err := e.s.SetOnCommunity(ctx, audit.Actor{}, cid, []string{"English", "Speedrunning", "Art", "Music", "Chill", "Late"}); !errors.Is(err, labels.ErrCommunityFull) {
		t.Fatalf("six labels: %v", err)
	}
	if _, err := e.s.SetOnCommunity(ctx, audit.Actor{}, cid, []string{"Own"}); !problem.Is(err, problem.Invalid) {
		t.Fatalf("a community's own label on the community: %v", err)
	}
	got, err := e.s.SetOnCommunity(ctx, audit.Actor{}, cid, []string{"english", "Speedrunning"})
	if err != nil || len(got) != 2 {
		t.Fatalf("set: %v %v", got, err)
	}
	if _, err := e.s.SetOnCommunity(ctx, audit.Actor{}, other, []string{"English"}); err != nil {
		t.Fatal(err)
	}
	all, err := e.s.CommunitiesWith(ctx, []string{"English", "Speedrunning"}, true)
	if err != nil || len(all) != 1 || all[0] != cid {
		t.Fatalf("all of: %v %v", all, err)
	}
	anyOf, err := e.s.CommunitiesWith(ctx, []string{"English", "Speedrunning"}, false)
	if err != nil || len(anyOf) != 2 {
		t.Fatalf("any of: %v %v", anyOf, err)
	}
}
