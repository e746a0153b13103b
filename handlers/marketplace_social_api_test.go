package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

func TestReviewsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	dev := e.user("dev@example.com", false)
	member := e.user("member@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{member: community.Admin})
	mid, vid := e.mustModule(t, "dice", dev.ID)
	e.mustInstall(t, a.ID, mid, vid)
	e.mustRun(t, a.ID, vid, "ok")
	mk, dk := e.apiKey(member, auth.RoleUser), e.apiKey(dev, auth.RoleUser)
	rootUser, rootAdmin := e.apiKey(root, auth.RoleUser), e.apiKey(root, auth.RoleAdmin)

	bad := []struct{ body, says string }{
		{`{"stars": 0, "body": "x"}`, "1 to 5 stars"},
		{`{"stars": 6}`, "1 to 5 stars"},
		{`{"stars": "five"}`, `"stars"`},
		{fmt.Sprintf(`{"stars": 3, "body": %q}`, strings.Repeat("y", 2001)), "at most 2000 bytes"},
	}
	for _, c := range bad {
		if st, out := e.api(mk, "PUT", "/marketplace/modules/dice/review", c.body); st != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), c.says) {
			t.Errorf("%.40s: %d %v", c.body, st, out)
		}
	}
	if st, out := e.api(mk, "PUT", "/marketplace/modules/dice/review", `{"stars": 4, "body": "  <i>good</i>  "}`); st != 200 || out["data"].(map[string]any)["body"] != "<i>good</i>" {
		t.Fatalf("put: %d %v", st, out)
	}
	if st, out := e.api(mk, "PUT", "/marketplace/modules/dice/review", `{"stars": 2, "body": "worse"}`); st != 200 || out["data"].(map[string]any)["stars"] != float64(2) {
		t.Fatalf("edit: %d %v", st, out)
	}
	st, out := e.api(dk, "GET", "/marketplace/modules/dice/reviews", "")
	data := out["data"].(map[string]any)
	if st != 200 || data["average"] != float64(2) || data["total"] != float64(1) {
		t.Fatalf("list: %d %v", st, out)
	}
	answer := fmt.Sprintf("/marketplace/modules/dice/reviews/%d/answer", member.ID)
	if st, _ := e.api(dk, "POST", answer, `{"answer": "sorry"}`); st != 200 {
		t.Errorf("answer: %d", st)
	}
	if st, out := e.api(dk, "POST", answer, `{"answer": "again"}`); st != http.StatusConflict {
		t.Errorf("a second answer: %d %v", st, out)
	}

	// A global admin's user key is a plain user's; an admin key hides.
	hide := fmt.Sprintf("/marketplace/modules/dice/reviews/%d/hide", member.ID)
	if st, _ := e.api(rootUser, "POST", hide, ""); st != http.StatusForbidden {
		t.Errorf("a user key hid: %d", st)
	}
	if st, out := e.api(rootAdmin, "POST", hide, ""); st != 200 || out["data"].(map[string]any)["hidden"] != true {
		t.Fatalf("hide: %d %v", st, out)
	}
	if _, out := e.api(dk, "GET", "/marketplace/modules/dice/reviews", ""); out["data"].(map[string]any)["total"] != float64(0) {
		t.Errorf("a hidden review listed for a user: %v", out)
	}
	if _, out := e.api(rootAdmin, "GET", "/marketplace/modules/dice/reviews", ""); out["data"].(map[string]any)["total"] != float64(1) {
		t.Errorf("an admin does not see the hidden review: %v", out)
	}
	if st, out := e.api(rootAdmin, "POST", hide, `{"hidden": false}`); st != 200 || out["data"].(map[string]any)["hidden"] != false {
		t.Fatalf("unhide: %d %v", st, out)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action LIKE 'marketplace_review_%'", root.ID); n != 2 {
		t.Errorf("%d audit entries of hiding", n)
	}
	if st, _ := e.api(mk, "GET", "/marketplace/modules/dice/reviews?limit=0", ""); st != http.StatusBadRequest {
		t.Errorf("limit 0: %d", st)
	}

	// Usage: 30 days, for the author.
	st, out = e.api(dk, "GET", "/marketplace/modules/dice/usage", "")
	if st != 200 {
		t.Fatalf("usage: %d %v", st, out)
	}
	u := out["data"].(map[string]any)
	if days := u["days"].([]any); len(days) != 30 || u["total"].(map[string]any)["runs"] != float64(1) {
		t.Errorf("usage: %v", u)
	}
	st, out = e.api(mk, "GET", fmt.Sprintf("/marketplace/installs/dice/usage?community_id=%d", a.ID), "")
	if st != 200 || out["data"].(map[string]any)["community_id"] != float64(a.ID) {
		t.Errorf("community usage: %d %v", st, out)
	}
	if st, _ := e.api(mk, "DELETE", "/marketplace/modules/dice/review", ""); st != 200 {
		t.Errorf("delete: %d", st)
	}
	if n := e.count("SELECT rating_count FROM marketplace_modules WHERE id = $1", mid); n != 0 {
		t.Errorf("rating count %d after the delete", n)
	}
}
