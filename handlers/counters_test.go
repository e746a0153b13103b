package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// counterValues reads a community's counters as "name=value" by name.
func (b *botEnv) counterValues(t *testing.T) string {
	t.Helper()
	cs, err := b.settings.Counters(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s=%d", c.Name, c.Value))
	}
	return strings.Join(out, ",")
}

func TestCountersPage(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	if _, err := b.settings.SetCounter(ctx, audit.Actor{}, b.c.ID, "deaths", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, "INSERT INTO imports (community_id, source, bundle) VALUES ($1, 'nightbot', '{}')", b.c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pool.Exec(ctx, "INSERT INTO counters (community_id, name, value, import_id) SELECT $1, 'wins', 12, id FROM imports WHERE community_id = $1", b.c.ID); err != nil {
		t.Fatal(err)
	}

	// The commands page leads here; members see the values, not the forms.
	if href, _ := b.member.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=counters-link]`).Attr("href"); href != b.path("/counters") {
		t.Errorf("the commands page links to %q, want %s", href, b.path("/counters"))
	}
	doc := b.member.get(b.path("/counters"), nil).doc(t)
	var rows []string
	doc.Find(`[data-testid=counter-row]`).Each(func(_ int, s *goquery.Selection) {
		rows = append(rows, s.Find(`[data-testid=counter-row-name]`).Text()+"="+s.Find(`[data-testid=counter-row-value]`).Text())
	})
	if strings.Join(rows, ",") != "deaths=3,wins=12" {
		t.Errorf("member sees rows %v, want deaths=3,wins=12", rows)
	}
	if doc.Find(`[data-testid=counter-set]`).Length() != 0 || doc.Find(`[data-testid=counter-reset]`).Length() != 0 {
		t.Error("a member sees the counter forms")
	}
	if got := doc.Find(`[data-testid=community-nav] a[aria-current=page]`).Text(); got != "Commands" {
		t.Errorf("the navigation marks %q, want Commands", got)
	}
	if !strings.Contains(doc.Find(`#counter-wins`).Text(), "imported") {
		t.Error("the imported counter is not marked")
	}
	for _, w := range []struct {
		path string
		form url.Values
	}{{"/counters", url.Values{"name": {"deaths"}, "value": {"0"}}}, {"/counters/deaths/delete", nil}} {
		if res := b.member.post(b.path("%s", w.path), w.form, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("member POST %s: %d, want 403", w.path, res.StatusCode)
		}
	}
	if got := b.counterValues(t); got != "deaths=3,wins=12" {
		t.Errorf("after the member's tries: %s", got)
	}

	// The manager sets, creates, resets and deletes.
	if b.admin.get(b.path("/counters"), nil).doc(t).Find(`[data-testid=counter-set]`).Length() != 1 {
		t.Error("the manager does not see the set form")
	}
	steps := []struct {
		form url.Values
		want string
	}{
		{url.Values{"name": {"deaths"}, "value": {"40"}}, "deaths=40,wins=12"},
		{url.Values{"name": {" Boss_Kills "}, "value": {"-2"}}, "boss_kills=-2,deaths=40,wins=12"},
		{url.Values{"name": {"wins"}, "value": {"0"}}, "boss_kills=-2,deaths=40,wins=0"},
		{url.Values{"name": {"deaths"}, "value": {""}}, "boss_kills=-2,deaths=0,wins=0"},
	}
	for _, s := range steps {
		res := b.admin.post(b.path("/counters"), s.form, nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/counters") {
			t.Errorf("set %v: %d %q", s.form, res.StatusCode, res.Header.Get("Location"))
		}
		if got := b.counterValues(t); got != s.want {
			t.Errorf("after %v: %s, want %s", s.form, got, s.want)
		}
	}
	if f := b.admin.get(b.path("/counters"), nil).doc(t).Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Counter deaths set to 0.") {
		t.Errorf("flash %q", f)
	}
	res := b.admin.post(b.path("/counters/boss_kills/delete"), nil, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", res.StatusCode)
	}
	if res := b.admin.post(b.path("/counters/boss_kills/delete"), nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("delete again: %d, want 404", res.StatusCode)
	}
	if res := b.admin.post(b.path("/counters/no-way/delete"), nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("delete of an invalid name: %d, want 404", res.StatusCode)
	}
	if got := b.counterValues(t); got != "deaths=0,wins=0" {
		t.Errorf("after the delete: %s", got)
	}
	items, err := audit.Log{Pool: b.pool}.ListCommunity(ctx, b.c.ID, audit.Filter{Action: audit.NamedCounterDeleted})
	if err != nil || len(items) != 1 || items[0].Target != "counter boss_kills" || items[0].ActorEmail != "ann@example.com" {
		t.Errorf("delete audit %+v, %v; want one by ann", items, err)
	}

	// Bad input: the page again, the error next to its field, nothing changed.
	bad := []struct {
		form        url.Values
		field, want string
	}{
		{url.Values{"name": {"no way"}, "value": {"1"}}, "name", "A counter name has 1 to 32 letters"},
		{url.Values{"name": {""}, "value": {"1"}}, "name", "A counter name has 1 to 32 letters"},
		{url.Values{"name": {strings.Repeat("x", 33)}, "value": {"1"}}, "name", "A counter name has 1 to 32 letters"},
		{url.Values{"name": {"deaths"}, "value": {"lots"}}, "value", `A counter is a whole number; "lots" is not.`},
		{url.Values{"name": {"deaths"}, "value": {"9007199254740992"}}, "value", "A counter is a whole number between"},
	}
	for _, c := range bad {
		res := b.admin.post(b.path("/counters"), c.form, nil)
		d := res.doc(t)
		got := d.Find(fmt.Sprintf(`[data-testid=form-error][data-field=%q]`, c.field)).Text()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(got, c.want) {
			t.Errorf("%v: %d, error on %s %q; want 400 and %q", c.form, res.StatusCode, c.field, got, c.want)
		}
		if v := d.Find(`[data-testid=counter-name]`).AttrOr("value", "-"); v != strings.TrimSpace(c.form.Get("name")) {
			t.Errorf("%v: the form shows the name %q again, want what was typed", c.form, v)
		}
	}
	if got := b.counterValues(t); got != "deaths=0,wins=0" {
		t.Errorf("after bad input: %s", got)
	}
}

func TestCountersAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	adm := e.user("adm@example.com", false)
	mem := e.user("mem@example.com", false)
	a := e.community(root, "ducks", map[auth.User]community.Role{adm: community.Admin, mem: community.Member})
	admKey, memKey := e.apiKey(adm, auth.RoleUser), e.apiKey(mem, auth.RoleUser)
	base := fmt.Sprintf("/communities/%d/counters", a.ID)

	if st, out := e.api(admKey, "PUT", base+"/Deaths", `{"value": 5}`); st != 200 || out["data"].(map[string]any)["name"] != "deaths" || out["data"].(map[string]any)["value"].(float64) != 5 {
		t.Errorf("PUT: %d %v", st, out)
	}
	if st, out := e.api(admKey, "PUT", base+"/wins", `{"value": 0}`); st != 200 {
		t.Errorf("PUT wins: %d %v", st, out)
	}
	st, out := e.api(memKey, "GET", base, "")
	list, _ := out["data"].(map[string]any)["counters"].([]any)
	if st != 200 || len(list) != 2 || list[0].(map[string]any)["name"] != "deaths" || list[0].(map[string]any)["value"].(float64) != 5 ||
		list[1].(map[string]any)["name"] != "wins" || list[0].(map[string]any)["imported"] != false {
		t.Errorf("GET: %d %v", st, out)
	}
	// Members read; they do not change.
	if st, _ := e.api(memKey, "PUT", base+"/deaths", `{"value": 1}`); st != 403 {
		t.Errorf("member PUT: %d, want 403", st)
	}
	if st, _ := e.api(memKey, "DELETE", base+"/deaths", ""); st != 403 {
		t.Errorf("member DELETE: %d, want 403", st)
	}
	bad := []struct {
		path, body string
		want       int
		message    string // part of the answer's message
	}{
		{base + "/deaths", `{}`, 400, `The field "value" is required.`},
		{base + "/deaths", `{"value": "5"}`, 400, ""},
		{base + "/deaths", `{"value": 1.5}`, 400, ""},
		{base + "/deaths", `{"value": 9007199254740992}`, 400, "A counter is a whole number between"},
		{base + "/deaths", `not json`, 400, ""},
		{base + "/no-way", `{"value": 1}`, 400, "A counter name has 1 to 32 letters"},
		{base + "/" + strings.Repeat("x", 33), `{"value": 1}`, 400, "A counter name has 1 to 32 letters"},
	}
	for _, c := range bad {
		st, out := e.api(admKey, "PUT", c.path, c.body)
		if st != c.want || out["success"] != false {
			t.Errorf("PUT %s %s: %d %v, want %d", c.path, c.body, st, out, c.want)
		}
		if msg, _ := out["message"].(string); !strings.Contains(msg, c.message) || msg == "" {
			t.Errorf("PUT %s %s: message %q, want %q", c.path, c.body, msg, c.message)
		}
	}
	if st, _ := e.api(admKey, "DELETE", base+"/deaths", ""); st != 200 {
		t.Errorf("DELETE: %d", st)
	}
	if st, _ := e.api(admKey, "DELETE", base+"/deaths", ""); st != 404 {
		t.Errorf("DELETE again: %d, want 404", st)
	}
	if n := e.count("SELECT count(*) FROM counters WHERE community_id = $1", a.ID); n != 1 {
		t.Errorf("%d counters left, want wins only", n)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action IN ('counter_set', 'counter_deleted') AND actor_id = $2", a.ID, adm.ID); n != 3 {
		t.Errorf("%d counter audit entries by the admin, want 3", n)
	}
}
