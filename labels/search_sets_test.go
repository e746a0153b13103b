package labels_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
)

// Searching for all of some labels answers every kind of change to people's
// labels: two transactions labelling one person at once (both labels land),
// a removal, a label deleted with everyone carrying it, and a person's
// labels moved by an identity merge's statements.
func TestSearchAllFollowsEveryChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	alice := mustAccount(ctx, t, e.pool, "twitch", "1", "alice")
	bob := mustAccount(ctx, t, e.pool, "twitch", "2", "bob")
	a, b := mustLabel(ctx, t, e.s, cid, "A"), mustLabel(ctx, t, e.s, cid, "B")
	mustLabel(ctx, t, e.s, cid, "C")
	for _, id := range []int64{alice, bob} {
		if _, err := e.pool.Exec(ctx, "INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2)", cid, id); err != nil {
			t.Fatal(err)
		}
	}
	all := func(names ...string) []int64 {
		t.Helper()
		p, err := e.s.Search(ctx, cid, labels.Query{Labels: names, MatchAll: true})
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, person := range p.People {
			ids = append(ids, person.IdentityID)
		}
		if int64(len(ids)) != p.Total {
			t.Errorf("search %v: total %d for %d people", names, p.Total, len(ids))
		}
		return ids
	}

	// Two transactions label alice at once; the second waits for the first.
	tx1, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	if _, err := tx1.Exec(ctx, "INSERT INTO person_labels (community_id, identity_id, label_id) VALUES ($1, $2, $3)", cid, alice, a.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.pool.Exec(ctx, "INSERT INTO person_labels (community_id, identity_id, label_id) VALUES ($1, $2, $3)", cid, alice, b.ID)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond) // the second is waiting on the first
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := all("A", "B"); !slices.Equal(got, []int64{alice}) {
		t.Fatalf("all of A and B after two concurrent adds: %v, want alice (%d)", got, alice)
	}

	if _, err := e.s.Add(ctx, audit.Actor{}, cid, bob, "A"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Add(ctx, audit.Actor{}, cid, bob, "C"); err != nil {
		t.Fatal(err)
	}
	if got := all("A"); !slices.Equal(got, []int64{alice, bob}) {
		t.Errorf("all of A: %v, want alice and bob", got)
	}
	if _, err := e.s.Remove(ctx, audit.Actor{}, cid, alice, "A"); err != nil {
		t.Fatal(err)
	}
	if got := all("A", "B"); len(got) != 0 {
		t.Errorf("all of A and B after alice lost A: %v, want nobody", got)
	}
	if got := all("A"); !slices.Equal(got, []int64{bob}) {
		t.Errorf("all of A after alice lost it: %v, want bob", got)
	}

	// An identity merge moves bob's labels to alice by statements of its own.
	if _, err := e.pool.Exec(ctx, `WITH moved AS (DELETE FROM person_labels WHERE community_id = $1 AND identity_id = $2 RETURNING label_id)
		INSERT INTO person_labels (community_id, identity_id, label_id) SELECT $1, $3, label_id FROM moved ON CONFLICT DO NOTHING`, cid, bob, alice); err != nil {
		t.Fatal(err)
	}
	if got := all("A", "B", "C"); !slices.Equal(got, []int64{alice}) {
		t.Errorf("all of A, B, C after the move: %v, want alice", got)
	}

	if err := e.s.Delete(ctx, audit.Actor{}, cid, "C"); err != nil {
		t.Fatal(err)
	}
	if got := all("A", "B"); !slices.Equal(got, []int64{alice}) {
		t.Errorf("all of A and B after C was deleted: %v, want alice", got)
	}
	var stale int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM person_label_sets s
		WHERE s.label_ids IS DISTINCT FROM coalesce((SELECT array_agg(p.label_id ORDER BY p.label_id) FROM person_labels p
			WHERE p.community_id = s.community_id AND p.identity_id = s.identity_id), '{}')`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d people whose searchable labels differ from the labels they carry", stale)
	}
}
