package community_test

import (
	"context"
	"testing"
	"time"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/problem"
)

// TestOwnersSteppingDownTogether: two owners demoting each other at the same
// moment must leave the community with one owner, not none.
func TestOwnersSteppingDownTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	root := e.mustCreateUser(ctx, t, "root@example.com", true)
	ann := e.mustCreateUser(ctx, t, "ann@example.com", false)
	bob := e.mustCreateUser(ctx, t, "bob@example.com", false)
	c := e.mustCreateCommunity(ctx, t, root, "race")
	e.mustAdd(ctx, t, root, c, ann, community.Owner)
	e.mustAdd(ctx, t, root, c, bob, community.Owner)
	if err := e.s.RemoveMember(ctx, community.Actor{User: ann, Role: community.Owner}, c.ID, root.ID); err != nil {
		t.Fatal(err)
	}

	// Hold the member rows so both changes start before either commits.
	hold, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, "SELECT 1 FROM community_members WHERE community_id = $1 FOR UPDATE", c.ID); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() {
		_, err := e.s.ChangeRole(ctx, community.Actor{User: ann, Role: community.Owner}, c.ID, bob.ID, community.Admin)
		errs <- err
	}()
	go func() {
		_, err := e.s.ChangeRole(ctx, community.Actor{User: bob, Role: community.Owner}, c.ID, ann.ID, community.Admin)
		errs <- err
	}()
	// Wait until both are blocked on the held rows.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d role changes waiting on the lock", waiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
	hold.Rollback(ctx)

	var ok, conflict int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case problem.Is(err, problem.Conflict):
			conflict++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflict != 1 {
		t.Errorf("%d succeeded and %d refused, want 1 and 1", ok, conflict)
	}
	owners := 0
	for _, r := range e.roles(ctx, t, c.ID) {
		if r == community.Owner {
			owners++
		}
	}
	if owners != 1 {
		t.Errorf("%d owners left, want 1", owners)
	}
}
