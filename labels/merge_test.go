package labels_test

import (
	"context"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/labels"
)

// When a hub user links a second account, the labels that account's person
// carried move to the user's identity: a label search cached before the
// link shows the survivor at once, and the label's role is asked for again
// for the survivor, whose accounts now include the new one.
func TestMergeFollowerMovesSearchesAndRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cid := mustCommunity(ctx, t, e.pool, "ducks")
	ids := identity.NewService(identity.Config{Pool: e.pool, Merges: labels.MergeFollower{Labels: e.s, Roles: e.roles}})
	twitch := identity.Account{Platform: identity.Twitch, ID: "200", Name: "duckchan"}
	discord := identity.Account{Platform: identity.Discord, ID: "80351110224678912", Name: "duck"}
	var uid int64
	if err := e.pool.QueryRow(ctx, "INSERT INTO users (email) VALUES ('duck@example.com') RETURNING id").Scan(&uid); err != nil {
		t.Fatal(err)
	}
	actor := audit.Actor{UserID: uid, Email: "duck@example.com"}
	mine, err := ids.LinkHub(ctx, actor, uid, twitch)
	if err != nil {
		t.Fatal(err)
	}
	other := mustAccount(ctx, t, e.pool, discord.Platform, discord.ID, discord.Name)
	if _, err := e.pool.Exec(ctx, "INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2)", cid, other); err != nil {
		t.Fatal(err)
	}
	vip := mustLabel(ctx, t, e.s, cid, "VIP")
	if _, err := e.s.Add(ctx, audit.Actor{}, cid, other, "VIP"); err != nil {
		t.Fatal(err)
	}
	search := func() []int64 {
		t.Helper()
		p, err := e.s.Search(ctx, cid, labels.Query{Labels: []string{"VIP"}, MatchAll: true})
		if err != nil {
			t.Fatal(err)
		}
		var found []int64
		for _, person := range p.People {
			found = append(found, person.IdentityID)
		}
		return found
	}
	if got := search(); len(got) != 1 || got[0] != other {
		t.Fatalf("before the link: %v, want the Discord person %d", got, other)
	}
	e.roles.mu.Lock()
	e.roles.changes = nil
	e.roles.mu.Unlock()

	linked, err := ids.LinkHub(ctx, actor, uid, discord)
	if err != nil {
		t.Fatal(err)
	}
	if linked.Into != mine.Into {
		t.Fatalf("linked into %d, want the user's identity %d", linked.Into, mine.Into)
	}
	if got := search(); len(got) != 1 || got[0] != mine.Into {
		t.Errorf("after the link: %v, want the survivor %d (not a stale cached answer)", got, mine.Into)
	}
	e.roles.mu.Lock()
	defer e.roles.mu.Unlock()
	if len(e.roles.changes) != 1 || e.roles.changes[0] != (labels.Change{CommunityID: cid, IdentityID: mine.Into, LabelID: vip.ID, Give: true}) {
		t.Errorf("roles asked for: %+v, want VIP given to the survivor", e.roles.changes)
	}
}
