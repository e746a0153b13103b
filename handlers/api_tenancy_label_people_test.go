package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/labels"
)

// Anyone may sign up and own a community. Its owner must not reach people
// only other communities have met: labelling them (one by one, in bulk by
// id, account or name, from the hub) or reading their labels answers as
// for someone who does not exist at all, and adds no one to the owner's
// community, so its answers tell nothing about other communities' people.
func TestCrossCommunityLabelsReachNoStrangers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ducks := e.community(root, "ducks", nil)
	alice := e.mustPerson(t, ducks.ID, "twitch", "t-alice", "alice", 0, 0)
	e.mustPerson(t, ducks.ID, "discord", "d-alice", "ally", 0, alice) // linked: what must stay private
	if _, err := e.cfg.Labels.Create(ctx, audit.Actor{}, ducks.ID, labels.Input{Name: "VIP"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cfg.Labels.Add(ctx, audit.Actor{}, ducks.ID, alice, "VIP"); err != nil {
		t.Fatal(err)
	}

	goose := e.user("goose@example.com", false)
	geese := e.community(root, "geese", map[auth.User]community.Role{goose: community.Owner})
	vip, err := e.cfg.Labels.Create(ctx, audit.Actor{}, geese.ID, labels.Input{Name: "VIP"})
	if err != nil {
		t.Fatal(err)
	}
	key := e.apiKey(goose, auth.RoleUser)
	ghost := int64(e.count("SELECT coalesce(max(id), 0)::int + 1000 FROM identities"))
	base := fmt.Sprintf("/communities/%d", geese.ID)

	// One by one: alice and a ghost get the same status and words.
	type answer struct {
		status int
		msg    string
	}
	single := func(id int64) []answer {
		t.Helper()
		var out []answer
		for _, c := range []struct{ method, path, body string }{
			{"GET", fmt.Sprintf("%s/people/%d/labels", base, id), ""},
			{"POST", fmt.Sprintf("%s/people/%d/labels", base, id), `{"label":"VIP"}`},
			{"DELETE", fmt.Sprintf("%s/people/%d/labels/%d", base, id, vip.ID), ""},
		} {
			st, res := e.api(key, c.method, c.path, c.body)
			out = append(out, answer{st, fmt.Sprint(res["message"])})
		}
		return out
	}
	met, none := single(alice), single(ghost)
	for i := range met {
		if met[i] != none[i] || met[i].status != http.StatusNotFound || met[i].msg != labels.ErrPersonNotFound.Message {
			t.Errorf("call %d: alice %+v, ghost %+v; want both 404 %q", i, met[i], none[i], labels.ErrPersonNotFound.Message)
		}
	}
	// The profile says the same about her.
	if st, _ := e.api(key, "GET", fmt.Sprintf("%s/people/%d", base, alice), ""); st != http.StatusNotFound {
		t.Errorf("alice's profile from the geese: %d, want 404", st)
	}

	// In bulk, by id, account and name, in both modes.
	ops := fmt.Sprintf(`[
		{"op":"add","person":%d,"label":"VIP"},
		{"op":"add","person":%d,"label":"VIP"},
		{"op":"add","person":{"platform":"twitch","account":"t-alice"},"label":"VIP"},
		{"op":"add","person":{"platform":"discord","account":"d-ghost"},"label":"VIP"},
		{"op":"remove","person":{"platform":"discord","name":"ally"},"label":"VIP"},
		{"op":"add","person":{"platform":"twitch","name":"@ghost"},"label":"VIP"}
	]`, alice, ghost)
	wants := []string{
		fmt.Sprintf("person: this community has not met person %d.", alice),
		fmt.Sprintf("person: this community has not met person %d.", ghost),
		`person: no twitch account "t-alice" has been seen here.`,
		`person: no discord account "d-ghost" has been seen here.`,
		`person: no one called "ally" has been seen here on discord.`,
		`person: no one called "ghost" has been seen here on twitch.`,
	}
	for _, partial := range []bool{false, true} {
		st, out := e.api(key, "POST", base+"/labels/bulk", fmt.Sprintf(`{"partial":%v,"operations":%s}`, partial, ops))
		if want := map[bool]int{false: http.StatusUnprocessableEntity, true: http.StatusOK}[partial]; st != want {
			t.Fatalf("bulk, partial %v: %d %v, want %d", partial, st, out, want)
		}
		data := out["data"].(map[string]any)
		if data["added"] != float64(0) || data["removed"] != float64(0) {
			t.Errorf("bulk, partial %v: %v", partial, data)
		}
		for i, it := range data["items"].([]any) {
			if m := it.(map[string]any); m["ok"] != false || m["error"] != wants[i] {
				t.Errorf("bulk, partial %v, item %d: %v, want %q", partial, i, m, wants[i])
			}
		}
	}

	// The hub's panel, forms and role states: 404 for both.
	hub := e.signedIn(goose.Email)
	for _, id := range []int64{alice, ghost} {
		path := fmt.Sprintf("/c/%d/people/%d/labels", geese.ID, id)
		for name, res := range map[string]response{
			"panel":  hub.get(path, htmx),
			"add":    hub.post(path, url.Values{"label": {fmt.Sprint(vip.ID)}}, htmx),
			"remove": hub.post(fmt.Sprintf("%s/%d/remove", path, vip.ID), url.Values{}, htmx),
			"roles":  hub.get(fmt.Sprintf("/c/%d/people/%d/roles", geese.ID, id), htmx),
		} {
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("hub %s, person %d: %d, want 404", name, id, res.StatusCode)
			}
		}
	}

	if n := e.count("SELECT count(*) FROM community_people WHERE community_id = $1", geese.ID); n != 0 {
		t.Errorf("the geese have %d people, want 0: labelling added strangers", n)
	}
	if n := e.count("SELECT count(*) FROM person_labels WHERE community_id = $1", geese.ID); n != 0 {
		t.Errorf("the geese gave %d labels", n)
	}
	if n := e.count("SELECT count(*) FROM person_labels WHERE community_id = $1 AND identity_id = $2", ducks.ID, alice); n != 1 {
		t.Errorf("alice carries %d labels with the ducks, want 1", n)
	}
}
