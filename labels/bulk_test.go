package labels_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
)

func TestBulkBothModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	alice := mustPerson(ctx, t, e.pool, cid, "twitch", "1", "alice")
	bob := mustPerson(ctx, t, e.pool, cid, "discord", "2", "Bob")
	for i := range 6 {
		mustLabel(ctx, t, e.s, cid, fmt.Sprintf("L%d", i))
	}
	ops := []labels.BulkOp{
		{Give: true, Person: labels.PersonRef{IdentityID: alice}, Label: "L0"},
		{Give: true, Person: labels.PersonRef{Platform: "discord", Account: "2"}, Label: "l1"},
		{Give: true, Person: labels.PersonRef{Platform: "twitch", Name: "ALICE"}, Label: "L1"},
		{Give: true, Person: labels.PersonRef{Platform: "twitch", Name: "nobody"}, Label: "L1"}, // 3: no such person
		{Give: true, Person: labels.PersonRef{IdentityID: bob}, Label: "missing"},               // 4: no such label
		{Give: true, Person: labels.PersonRef{Platform: "myspace", Name: "x"}, Label: "L1"},     // 5: bad platform
		{Give: true, Person: labels.PersonRef{}, Label: "L1"},                                   // 6: no person
	}
	res, err := e.s.Bulk(ctx, audit.Actor{}, cid, ops, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied || len(res.Items) != len(ops) {
		t.Fatalf("all or nothing with bad items: %+v", res)
	}
	for i, it := range res.Items {
		if it.OK || it.Index != i || it.Error == "" {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	for i, want := range map[int]string{3: `no one called "nobody" has been seen here on twitch.`, 4: "no label", 5: "myspace", 6: "person:", 0: "Not applied"} {
		if !strings.Contains(res.Items[i].Error, want) {
			t.Errorf("item %d: %q, want it to say %q", i, res.Items[i].Error, want)
		}
	}
	if have, _ := e.s.Of(ctx, cid, alice); len(have) != 0 || len(e.roles.changes) != 0 {
		t.Fatalf("all or nothing wrote: %v, %v", have, e.roles.changes)
	}

	res, err = e.s.Bulk(ctx, audit.Actor{}, cid, ops, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied || res.Added != 3 {
		t.Fatalf("partial: %+v", res)
	}
	for i, it := range res.Items {
		if want := i < 3; it.OK != want {
			t.Errorf("partial item %d: %+v", i, it)
		}
	}
	if have, _ := e.s.Of(ctx, cid, alice); len(have) != 2 {
		t.Fatalf("alice has %v", have)
	}

	// The limit counts the earlier items; removing frees a place.
	var more []labels.BulkOp
	for i := range 6 {
		more = append(more, labels.BulkOp{Give: true, Person: labels.PersonRef{IdentityID: bob}, Label: fmt.Sprintf("L%d", i)})
	}
	more = append(more, labels.BulkOp{Person: labels.PersonRef{IdentityID: bob}, Label: "L0"},
		labels.BulkOp{Give: true, Person: labels.PersonRef{IdentityID: bob}, Label: "L5"})
	res, err = e.s.Bulk(ctx, audit.Actor{}, cid, more, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items[5].OK || !strings.Contains(res.Items[5].Error, "more than 5") || !res.Items[7].OK || !res.Items[7].Changed {
		t.Fatalf("limit in order: %+v", res.Items)
	}
	if have, _ := e.s.Of(ctx, cid, bob); len(have) != 5 {
		t.Fatalf("bob has %d labels", len(have))
	}
}

func TestBulkRefusesTooManyOrNone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	if _, err := e.s.Bulk(ctx, audit.Actor{}, cid, nil, false); err == nil {
		t.Fatal("no operations accepted")
	}
	if _, err := e.s.Bulk(ctx, audit.Actor{}, cid, make([]labels.BulkOp, labels.MaxBulk+1), false); err == nil {
		t.Fatal("1001 operations accepted")
	}
}

func TestSearchIsInvalidatedByChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	alice := mustPerson(ctx, t, e.pool, cid, "twitch", "1", "alice")
	bob := mustPerson(ctx, t, e.pool, cid, "twitch", "2", "bob")
	mustLabel(ctx, t, e.s, cid, "A")
	mustLabel(ctx, t, e.s, cid, "B")
	for _, op := range []struct {
		who   int64
		label string
	}{{alice, "A"}, {alice, "B"}, {bob, "A"}} {
		if _, err := e.s.Add(ctx, audit.Actor{}, cid, op.who, op.label); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.s.Search(ctx, cid, labels.Query{Labels: []string{"a", "b"}, MatchAll: true})
	if err != nil || all.Total != 1 || all.People[0].IdentityID != alice || all.People[0].Accounts[0].Name != "alice" {
		t.Fatalf("all of: %+v %v", all, err)
	}
	anyOf, err := e.s.Search(ctx, cid, labels.Query{Labels: []string{"a", "b"}})
	if err != nil || anyOf.Total != 2 {
		t.Fatalf("any of: %+v %v", anyOf, err)
	}
	// A second instance (its own memory, the same Redis) fills its cache,
	// then the first changes a label: both answer the change.
	other := labels.New(e.cfg)
	if p, err := other.Search(ctx, cid, labels.Query{Labels: []string{"a", "b"}, MatchAll: true}); err != nil || p.Total != 1 {
		t.Fatalf("second instance: %+v %v", p, err)
	}
	if _, err := e.s.Add(ctx, audit.Actor{}, cid, bob, "B"); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*labels.Service{"changing": e.s, "other": other} {
		all, err = s.Search(ctx, cid, labels.Query{Labels: []string{"a", "b"}, MatchAll: true})
		if err != nil || all.Total != 2 {
			t.Fatalf("%s instance after a change: %+v %v", name, all, err)
		}
	}
	if _, err := e.s.Search(ctx, cid, labels.Query{Labels: []string{"zzz"}}); err == nil {
		t.Fatal("an unknown label was searched")
	}
	if _, err := e.s.Search(ctx, cid, labels.Query{Labels: []string{"a"}, Limit: 1000}); err == nil {
		t.Fatal("limit 1000 accepted")
	}
}
