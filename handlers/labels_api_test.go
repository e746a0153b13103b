package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/labels"
)

type labelsAPIEnv struct {
	*env
	cid            int64
	owner, mod, mb string // keys
	person         int64
}

func newLabelsAPIEnv(t *testing.T) labelsAPIEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	mod := e.user("mod@example.com", false)
	mb := e.user("member@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{mod: community.Moderator, mb: community.Member})
	alice := e.mustPerson(t, c.ID, "twitch", "100", "alice", 0, 0)
	return labelsAPIEnv{env: e, cid: c.ID, owner: e.apiKey(root, auth.RoleAdmin), mod: e.apiKey(mod, auth.RoleUser), mb: e.apiKey(mb, auth.RoleUser), person: alice}
}

func (x labelsAPIEnv) path(suffix string) string {
	return fmt.Sprintf("/communities/%d%s", x.cid, suffix)
}

func TestLabelsAPIBadInput(t *testing.T) {
	t.Parallel()
	x := newLabelsAPIEnv(t)
	if st, out := x.api(x.owner, "POST", x.path("/labels"), `{"name":"VIP","colour":"#FF0000","description":"the best"}`); st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		says                     string
	}{
		{"long name", "POST", "/labels", `{"name":"` + strings.Repeat("x", 41) + `"}`, 400, "at most 40"},
		{"no name", "POST", "/labels", `{"colour":"#000000"}`, 400, "name"},
		{"bad colour", "POST", "/labels", `{"name":"a","colour":"blue"}`, 400, "#rrggbb"},
		{"long description", "POST", "/labels", `{"name":"a","description":"` + strings.Repeat("d", 301) + `"}`, 400, "at most 300"},
		{"name taken", "POST", "/labels", `{"name":"vip"}`, 409, "already exists"},
		{"name a number", "POST", "/labels", `{"name":5}`, 400, `"name" must be a string`},
		{"unknown field", "POST", "/labels", `{"name":"a","color":"#000000"}`, 400, "does not take"},
		{"not JSON", "POST", "/labels", `{"name":`, 400, "not valid JSON"},
		{"unknown label", "PATCH", "/labels/nope", `{"description":"x"}`, 404, "No such label"},
		{"person unknown", "POST", "/people/999999/labels", `{"label":"VIP"}`, 404, "This community has not met that person."},
		{"person not a number", "POST", "/people/abc/labels", `{"label":"VIP"}`, 404, "This community has not met that person."},
		{"person unknown, read", "GET", "/people/999999/labels", ``, 404, "This community has not met that person."},
		{"no label", "POST", "/people/%d/labels", `{}`, 400, "Name the label"},
		{"label an object", "POST", "/people/%d/labels", `{"label":{}}`, 400, "its id"},
		{"search no labels", "GET", "/labels/search", ``, 400, "at least one label"},
		{"search bad match", "GET", "/labels/search?labels=VIP&match=some", ``, 400, "all or any"},
		{"search bad limit", "GET", "/labels/search?labels=VIP&limit=1000", ``, 400, "limit"},
		{"search unknown label", "GET", "/labels/search?labels=VIP,ghost", ``, 400, `no label "ghost"`},
		{"community labels too many", "PUT", "/community-labels", `{"labels":["a","b","c","d","e","f"]}`, 400, "at most 5"},
		{"community label unknown", "PUT", "/community-labels", `{"labels":["ghost"]}`, 400, "No hub-wide label"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if strings.Contains(p, "%d") {
				p = fmt.Sprintf(p, x.person)
			}
			st, out := x.api(x.owner, tc.method, x.path(p), tc.body)
			if st != tc.status || !strings.Contains(fmt.Sprint(out["message"]), tc.says) {
				t.Fatalf("%d %v, want %d saying %q", st, out["message"], tc.status, tc.says)
			}
		})
	}
	if n := x.count("SELECT count(*) FROM labels WHERE community_id = $1", x.cid); n != 1 {
		t.Fatalf("%d labels after bad input, want 1", n)
	}
}

func TestLabelsAPIRoles(t *testing.T) {
	t.Parallel()
	x := newLabelsAPIEnv(t)
	x.api(x.owner, "POST", x.path("/labels"), `{"name":"VIP"}`)
	// Members read; moderators label people; only managers define labels.
	if st, _ := x.api(x.mb, "GET", x.path("/labels"), ""); st != 200 {
		t.Fatalf("member list: %d", st)
	}
	if st, _ := x.api(x.mb, "POST", x.path(fmt.Sprintf("/people/%d/labels", x.person)), `{"label":"VIP"}`); st != 403 {
		t.Fatalf("member labels a person: %d", st)
	}
	if st, _ := x.api(x.mod, "POST", x.path("/labels"), `{"name":"Mods made"}`); st != 403 {
		t.Fatalf("moderator creates a label: %d", st)
	}
	st, out := x.api(x.mod, "POST", x.path(fmt.Sprintf("/people/%d/labels", x.person)), `{"label":"vip"}`)
	if st != 200 || !strings.Contains(fmt.Sprint(out["data"]), "VIP") {
		t.Fatalf("moderator labels a person: %d %v", st, out)
	}
	if st, _ := x.api(x.mod, "DELETE", x.path(fmt.Sprintf("/people/%d/labels/VIP", x.person)), ""); st != 200 {
		t.Fatalf("moderator removes: %d", st)
	}
	if n := x.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action IN ('person_label_added', 'person_label_removed')", x.cid); n != 2 {
		t.Fatalf("%d audit entries, want 2", n)
	}
	// Hub-wide labels: global admins only, through admin keys.
	if st, _ := x.api(x.mod, "POST", "/labels", `{"name":"English"}`); st != 403 {
		t.Fatalf("a user creates a hub-wide label: %d", st)
	}
	if st, _ := x.api(x.owner, "POST", "/labels", `{"name":"English"}`); st != 201 {
		t.Fatalf("a global admin creates a hub-wide label: %d", st)
	}
	st, out = x.api(x.owner, "PUT", x.path("/community-labels"), `{"labels":["english"]}`)
	if st != 200 || !strings.Contains(fmt.Sprint(out["data"]), "English") {
		t.Fatalf("community labels: %d %v", st, out)
	}
}

// Twenty requests at once give one person twenty labels: exactly five pass.
func TestLabelsAPILimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	x := newLabelsAPIEnv(t)
	for i := range 20 {
		if st, _ := x.api(x.owner, "POST", x.path("/labels"), fmt.Sprintf(`{"name":"L%d"}`, i)); st != 201 {
			t.Fatal(st)
		}
	}
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range 20 {
		wg.Go(func() {
			codes[i], _ = x.api(x.mod, "POST", x.path(fmt.Sprintf("/people/%d/labels", x.person)), fmt.Sprintf(`{"label":"L%d"}`, i))
		})
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
			conflict++
		}
	}
	if ok != 5 || conflict != 15 {
		t.Fatalf("%d accepted and %d refused (%v), want 5 and 15", ok, conflict, codes)
	}
	if n := x.count("SELECT count(*) FROM person_labels WHERE community_id = $1 AND identity_id = $2", x.cid, x.person); n != 5 {
		t.Fatalf("the person has %d labels", n)
	}
}

func TestLabelsAPIBulkBothModes(t *testing.T) {
	t.Parallel()
	x := newLabelsAPIEnv(t)
	x.api(x.owner, "POST", x.path("/labels"), `{"name":"VIP"}`)
	st, out := x.api(x.owner, "POST", x.path("/labels"), `{"name":"Artist"}`)
	artist := int(out["data"].(map[string]any)["id"].(float64))
	if st != 201 {
		t.Fatal(st)
	}
	ops := fmt.Sprintf(`[
		{"op":"add","person":%d,"label":"VIP"},
		{"op":"add","person":{"platform":"twitch","name":"Alice"},"label":%d},
		{"op":"add","person":{"platform":"twitch","account":"100"},"label":"vip"},
		{"op":"fly","person":%d,"label":"VIP"},
		{"op":"add","person":-3,"label":"VIP"},
		{"op":"add","person":{"platform":"twitch","name":"ghost"},"label":"VIP"},
		{"op":"add","person":%d,"label":"ghost"},
		{"op":"add","person":%d,"label":true},
		{"op":"add","person":{"platform":"irc","name":"x"},"label":"VIP"},
		"not an object"
	]`, x.person, artist, x.person, x.person, x.person)
	st, out = x.api(x.mod, "POST", x.path("/labels/bulk"), `{"operations":`+ops+`}`)
	if st != http.StatusUnprocessableEntity {
		t.Fatalf("all or nothing: %d %v", st, out)
	}
	items := out["data"].(map[string]any)["items"].([]any)
	wants := []string{"Not applied", "Not applied", "Not applied", `"fly"`, "positive", `no one called "ghost" has been seen here on twitch.`, `no label "ghost"`, "label:", `"irc"`, "operation must be an object"}
	for i, it := range items {
		m := it.(map[string]any)
		if m["ok"] != false || int(m["index"].(float64)) != i || !strings.Contains(fmt.Sprint(m["error"]), wants[i]) {
			t.Errorf("item %d: %v, want it to say %q", i, m, wants[i])
		}
	}
	if n := x.count("SELECT count(*) FROM person_labels WHERE community_id = $1", x.cid); n != 0 {
		t.Fatalf("all or nothing wrote %d labels", n)
	}
	st, out = x.api(x.mod, "POST", x.path("/labels/bulk"), `{"partial":true,"operations":`+ops+`}`)
	if st != 200 {
		t.Fatalf("partial: %d %v", st, out)
	}
	data := out["data"].(map[string]any)
	if data["added"] != float64(2) || data["applied"] != true {
		t.Fatalf("partial: %v", data)
	}
	for i, it := range data["items"].([]any) {
		if ok := it.(map[string]any)["ok"] == true; ok != (i < 3) {
			t.Errorf("partial item %d: %v", i, it)
		}
	}
	if n := x.count("SELECT count(*) FROM person_labels WHERE community_id = $1", x.cid); n != 2 {
		t.Fatalf("partial wrote %d labels, want 2", n)
	}
	// Range and size checks on the whole request.
	many := strings.Repeat(fmt.Sprintf(`{"op":"add","person":%d,"label":"VIP"},`, x.person), 1001)
	if st, out := x.api(x.mod, "POST", x.path("/labels/bulk"), `{"operations":[`+strings.TrimSuffix(many, ",")+`]}`); st != 400 || !strings.Contains(fmt.Sprint(out["message"]), "at most 1000") {
		t.Fatalf("1001 operations: %d %v", st, out["message"])
	}
	if st, out := x.api(x.mod, "POST", x.path("/labels/bulk"), `{"operations":["`+strings.Repeat("x", 600<<10)+`"]}`); st != 400 || !strings.Contains(fmt.Sprint(out["message"]), "too large") {
		t.Fatalf("a huge body: %d %v", st, out["message"])
	}
	if st, _ := x.api(x.mod, "POST", x.path("/labels/bulk"), `{"operations":[]}`); st != 400 {
		t.Fatalf("no operations: %d", st)
	}
	// Search sees the change.
	st, out = x.api(x.mb, "GET", x.path("/labels/search?labels=VIP,Artist&match=all"), "")
	if st != 200 || out["data"].(map[string]any)["total"] != float64(1) || !strings.Contains(fmt.Sprint(out["data"]), "alice") {
		t.Fatalf("search: %d %v", st, out)
	}
}

// mustLabelledPerson gives community cid a label "vip" and a person (a
// Twitch account) carrying it; it returns both ids.
func mustLabelledPerson(t *testing.T, e *env, cid int64) (label, person int64) {
	t.Helper()
	ctx := context.Background()
	l, err := e.cfg.Labels.Create(ctx, audit.Actor{}, cid, labels.Input{Name: "vip"})
	if err != nil {
		t.Fatal(err)
	}
	person = e.mustPerson(t, cid, "twitch", fmt.Sprintf("labelled-%d", cid), "labelled", 0, 0)
	if _, err := e.cfg.Labels.Add(ctx, audit.Actor{}, cid, person, "vip"); err != nil {
		t.Fatal(err)
	}
	return l.ID, person
}
