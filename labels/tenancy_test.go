package labels_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
)

// A community labels only the people it has met. Alice chats only in the
// ducks' community; the geese cannot label her, read her labels or find
// her by id, account or name, and get the same answer as for someone who
// does not exist at all. Nothing is added to the geese's people.
func TestLabelsReachOnlyPeopleTheCommunityMet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ducks := mustCommunity(ctx, t, e.pool, "ducks")
	geese := mustCommunity(ctx, t, e.pool, "geese")
	alice := mustPerson(ctx, t, e.pool, ducks, "twitch", "1", "alice")
	mustLabel(ctx, t, e.s, ducks, "VIP")
	mustLabel(ctx, t, e.s, geese, "VIP")
	if _, err := e.s.Add(ctx, audit.Actor{}, ducks, alice, "VIP"); err != nil {
		t.Fatal(err)
	}
	var ghost int64
	if err := e.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) + 1000 FROM identities").Scan(&ghost); err != nil {
		t.Fatal(err)
	}

	for _, who := range []struct {
		name string
		id   int64
	}{{"met elsewhere", alice}, {"no such identity", ghost}} {
		if _, err := e.s.Add(ctx, audit.Actor{}, geese, who.id, "VIP"); !errors.Is(err, labels.ErrPersonNotFound) {
			t.Errorf("%s: add: %v, want ErrPersonNotFound", who.name, err)
		}
		if _, err := e.s.Remove(ctx, audit.Actor{}, geese, who.id, "VIP"); !errors.Is(err, labels.ErrPersonNotFound) {
			t.Errorf("%s: remove: %v, want ErrPersonNotFound", who.name, err)
		}
		if have, err := e.s.Of(ctx, geese, who.id); !errors.Is(err, labels.ErrPersonNotFound) {
			t.Errorf("%s: labels of: %v, %v, want ErrPersonNotFound", who.name, have, err)
		}
		if _, err := e.s.Find(ctx, geese, labels.PersonRef{IdentityID: who.id}); !errors.Is(err, labels.ErrPersonNotFound) {
			t.Errorf("%s: find by id: %v, want ErrPersonNotFound", who.name, err)
		}
	}
	for _, ref := range []labels.PersonRef{{Platform: "twitch", Account: "1"}, {Platform: "twitch", Name: "alice"}} {
		if _, err := e.s.Find(ctx, geese, ref); !errors.Is(err, labels.ErrPersonNotFound) {
			t.Errorf("find %+v: %v, want ErrPersonNotFound", ref, err)
		}
	}

	// Bulk, by id, account and name: alice and people who do not exist get
	// the same words, in both modes.
	cases := []struct {
		ref  labels.PersonRef
		want string
	}{
		{labels.PersonRef{IdentityID: alice}, fmt.Sprintf("person: this community has not met person %d.", alice)},
		{labels.PersonRef{IdentityID: ghost}, fmt.Sprintf("person: this community has not met person %d.", ghost)},
		{labels.PersonRef{Platform: "twitch", Account: "1"}, `person: no twitch account "1" has been seen here.`},
		{labels.PersonRef{Platform: "twitch", Account: "999"}, `person: no twitch account "999" has been seen here.`},
		{labels.PersonRef{Platform: "twitch", Name: "@alice"}, `person: no one called "alice" has been seen here on twitch.`},
		{labels.PersonRef{Platform: "twitch", Name: "nobody"}, `person: no one called "nobody" has been seen here on twitch.`},
	}
	for _, partial := range []bool{false, true} {
		for _, give := range []bool{true, false} {
			ops := make([]labels.BulkOp, len(cases))
			for i, c := range cases {
				ops[i] = labels.BulkOp{Give: give, Person: c.ref, Label: "VIP"}
			}
			res, err := e.s.Bulk(ctx, audit.Actor{}, geese, ops, partial)
			if err != nil {
				t.Fatal(err)
			}
			if res.Added != 0 || res.Removed != 0 {
				t.Errorf("partial %v, give %v: added %d, removed %d", partial, give, res.Added, res.Removed)
			}
			for i, c := range cases {
				if it := res.Items[i]; it.OK || it.Error != c.want {
					t.Errorf("partial %v, give %v, %+v: %+v, want error %q", partial, give, c.ref, it, c.want)
				}
			}
		}
	}

	var people int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM community_people WHERE community_id = $1", geese).Scan(&people); err != nil {
		t.Fatal(err)
	}
	if people != 0 {
		t.Errorf("the geese have %d people after labelling attempts, want 0", people)
	}
	if have, err := e.s.Of(ctx, ducks, alice); err != nil || len(have) != 1 || have[0].Name != "VIP" {
		t.Errorf("alice's labels with the ducks: %v, %v", have, err)
	}
	if len(e.roles.changes) != 1 {
		t.Errorf("role sync heard %d changes, want only the ducks' one", len(e.roles.changes))
	}
}
