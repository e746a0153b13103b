package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// peopleFixture is what the matrix's people routes work on: a person of A
// and a person of B.
type peopleFixture struct {
	personA, personB int64
}

func (x *tenancyEnv) peopleFixtures(t *testing.T) {
	t.Helper()
	x.people.personA = x.mustPerson(t, x.a.ID, "twitch", "matrix-a", "matrixa", 5, 0)
	x.people.personB = x.mustPerson(t, x.b.ID, "twitch", "matrix-b", "matrixb", 5, 0)
}

func peopleTenancyRoutes() []tenancyRoute {
	noBody := func(*tenancyEnv, int) string { return "" }
	refused := [4]int{403, 403, 401, 403}
	ok := map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}
	one := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/people/%d", x.a.ID, x.people.personA) }
	oneU := func(x *tenancyEnv) string {
		return fmt.Sprintf("/communities/%d/people/%d", x.unknown, x.people.personA)
	}
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/communities/{cid}/people",
			path:        func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/people?q=matrix", x.a.ID) },
			unknownPath: func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/people?q=matrix", x.unknown) }, body: noBody, want: ok},
		{method: "GET", pattern: "/api/v1/communities/{cid}/people/{identity}", path: one, unknownPath: oneU, body: noBody, want: ok},
		{method: "POST", pattern: "/api/v1/communities/{cid}/people/{identity}/reputation",
			path:        func(x *tenancyEnv) string { return one(x) + "/reputation" },
			unknownPath: func(x *tenancyEnv) string { return oneU(x) + "/reputation" },
			body:        func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"delta": 1, "reason": "matrix %d"}`, n) }, want: ok},
	}
}

// The people API answers about A's people only, lets members read and
// moderators adjust, and names what is wrong with a bad request.
func TestPeopleAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	mem := e.user("mem@example.com", false)
	mod := e.user("mod@example.com", false)
	a := e.community(root, "ducks", map[auth.User]community.Role{mem: community.Member, mod: community.Moderator})
	b := e.community(root, "geese", nil)
	alice := e.mustPerson(t, a.ID, "twitch", "t-alice", "Alice", 40, 0)
	e.mustPerson(t, a.ID, "discord", "d-alice", "ally", 0, alice)
	gary := e.mustPerson(t, b.ID, "twitch", "t-gary", "gary", 0, 0)
	memKey, modKey := e.apiKey(mem, auth.RoleUser), e.apiKey(mod, auth.RoleUser)
	base := fmt.Sprintf("/communities/%d/people", a.ID)

	st, out := e.api(memKey, "GET", base+"?q=all", "")
	people, _ := out["data"].(map[string]any)["people"].([]any)
	if st != 200 || len(people) != 1 {
		t.Fatalf("search: %d %v", st, out)
	}
	p := people[0].(map[string]any)
	if p["id"].(float64) != float64(alice) || p["balance"].(float64) != 40 || len(p["accounts"].([]any)) != 2 {
		t.Errorf("alice: %v", p)
	}
	st, out = e.api(memKey, "GET", fmt.Sprintf("%s/%d", base, alice), "")
	if st != 200 || out["data"].(map[string]any)["ledger"].(map[string]any)["entries"].([]any)[0].(map[string]any)["delta"].(float64) != 40 {
		t.Errorf("profile: %d %v", st, out)
	}

	st, out = e.api(modKey, "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": -7, "reason": "spoilers"}`)
	if st != 200 || out["data"].(map[string]any)["reputation"].(float64) != -7 {
		t.Errorf("adjust: %d %v", st, out)
	}
	st, out = e.api(memKey, "GET", fmt.Sprintf("%s/%d", base, alice), "")
	hist := out["data"].(map[string]any)["history"].(map[string]any)["entries"].([]any)
	if st != 200 || len(hist) != 1 || hist[0].(map[string]any)["action"] != "adjust" || hist[0].(map[string]any)["reason"] != "spoilers" {
		t.Errorf("history after adjust: %v", hist)
	}
	if st, _ := e.api(memKey, "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 1, "reason": "x"}`); st != http.StatusForbidden {
		t.Errorf("a member adjusted: %d", st)
	}

	bad := []struct {
		name, method, path, body string
		want                     int
	}{
		{"long search", "GET", base + "?q=" + strings.Repeat("a", 101), "", 400},
		{"bad cursor", "GET", base + "?cursor=zz", "", 400},
		{"bad limit", "GET", base + "?limit=1000", "", 400},
		{"zero limit", "GET", base + "?limit=0", "", 400},
		{"person id not a number", "GET", base + "/abc", "", 404},
		{"negative person id", "GET", base + "/-1", "", 404},
		{"B's person through A", "GET", fmt.Sprintf("%s/%d", base, gary), "", 404},
		{"bad ledger cursor", "GET", fmt.Sprintf("%s/%d?ledger_before=x", base, alice), "", 400},
		{"adjust B's person", "POST", fmt.Sprintf("%s/%d/reputation", base, gary), `{"delta": 1, "reason": "x"}`, 404},
		{"no reason", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 1}`, 400},
		{"empty reason", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 1, "reason": " "}`, 400},
		{"long reason", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 1, "reason": "` + strings.Repeat("r", 501) + `"}`, 400},
		{"no delta", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"reason": "x"}`, 400},
		{"zero delta", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 0, "reason": "x"}`, 400},
		{"delta out of range", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 1001, "reason": "x"}`, 400},
		{"delta not a number", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": "5", "reason": "x"}`, 400},
		{"delta huge", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `{"delta": 1e30, "reason": "x"}`, 400},
		{"not JSON", "POST", fmt.Sprintf("%s/%d/reputation", base, alice), `delta=1`, 400},
	}
	for _, c := range bad {
		st, out := e.api(modKey, c.method, c.path, c.body)
		msg, _ := out["message"].(string)
		if st != c.want || msg == "" || out["success"] != false {
			t.Errorf("%s: %d %v, want %d", c.name, st, out, c.want)
		}
	}
	if n := e.count(`SELECT count(*) FROM reputation_events WHERE community_id = $1`, a.ID); n != 1 {
		t.Errorf("%d reputation events after refusals, want 1", n)
	}
}
