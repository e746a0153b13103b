package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// mustRule creates a rule through the router: "heck" as a word, a 600 s timeout, moderators exempt.
func (b *botEnv) mustRule(t *testing.T) router.Rule {
	t.Helper()
	rl, err := b.settings.CreateRule(context.Background(), audit.Actor{}, b.c.ID, router.RuleInput{Priority: 10, Match: router.MatchWord,
		Pattern: "heck", Action: router.ActionTimeout, TimeoutSeconds: 600, ExemptModerators: true})
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

// rule reads a rule back from the router.
func (b *botEnv) rule(t *testing.T, id int64) router.Rule {
	t.Helper()
	for _, rl := range mustRules(t, b) {
		if rl.ID == id {
			return rl
		}
	}
	t.Fatalf("no rule %d", id)
	return router.Rule{}
}

// moderated reports whether the simulator, in a dry run, moderates a chat message.
func (b *botEnv) moderated(t *testing.T, text string) bool {
	t.Helper()
	_, doc := b.sim(t, url.Values{"user": {"eve"}, "text": {text}, "dry_run": {"on"}})
	return doc.Find(`[data-testid=sim-moderation]`).Length() != 0
}

func TestRuleEditWithPlainForms(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	rl := b.mustRule(t)

	// The edit link opens the page with the row as a form, filled from the rule.
	edit := hub.get(b.path("/moderation/rules/%d/edit", rl.ID), nil)
	form := edit.doc(t).Find(`[data-testid=rule-edit-form]`)
	if edit.StatusCode != 200 || form.Length() != 1 || form.Find(`input[name=pattern]`).AttrOr("value", "") != "heck" ||
		form.Find(`select[name=action] option[selected]`).AttrOr("value", "") != "timeout" ||
		form.Find(`input[name=timeout_seconds]`).AttrOr("value", "") != "600" || form.Find(`[data-testid=rule-enabled][checked]`).Length() != 1 {
		t.Fatalf("edit page: %d, form %q", edit.StatusCode, form.Text())
	}

	res := hub.post(b.path("/moderation/rules/%d", rl.ID), url.Values{"priority": {"3"}, "match": {"contains"}, "pattern": {"darn"},
		"action": {"warn"}, "response": {"{user}, language!"}, "exempt_subscribers": {"on"}, "enabled": {"on"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/moderation") {
		t.Fatalf("save: %d %q %.300s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	want := router.Rule{ID: rl.ID, Priority: 3, Match: "contains", Pattern: "darn", Action: "warn", Response: "{user}, language!",
		ExemptSubscribers: true, Enabled: true}
	if d := cmp.Diff(want, b.rule(t, rl.ID)); d != "" {
		t.Errorf("after save (-want +got):\n%s", d)
	}
	doc := hub.get(b.path("/moderation"), nil).doc(t)
	if f := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Rule saved.") {
		t.Errorf("flash %q", f)
	}
	row := doc.Find(fmt.Sprintf(`#rule-%d`, rl.ID))
	if row.Find(`[data-testid=rule-row-pattern]`).Text() != "darn" || row.Find(`[data-testid=rule-row-action]`).Text() != "warn" ||
		row.Find(`[data-testid=rule-row-priority]`).Text() != "3" || row.Find(`[data-testid=rule-row-response]`).Text() != "{user}, language!" ||
		row.Find(`[data-testid=rule-row-exempt]`).Text() != "subscribers" {
		t.Errorf("the row shows %q", row.Text())
	}
	if n := b.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2", b.c.ID, audit.RuleUpdated); n != 1 {
		t.Errorf("%d audit entries for the edit, want 1", n)
	}
	if !b.moderated(t, "oh darn it") || b.moderated(t, "what the heck") {
		t.Error("after the edit, the new pattern should act and the old one not")
	}

	// Bad edits show the form again with the reason next to it and change nothing.
	good := url.Values{"priority": {"3"}, "match": {"contains"}, "pattern": {"darn"}, "action": {"warn"}, "response": {"{user}, language!"},
		"exempt_subscribers": {"on"}, "enabled": {"on"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, x := range good {
			v[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, cc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"bad regex", with("match", "regex", "pattern", "(unclosed"), "The regular expression does not compile"},
		{"bad glob", with("match", "glob", "pattern", "[a-"), "The glob pattern is malformed"},
		{"unknown match", with("match", "fuzzy"), "Choose how to match"},
		{"empty pattern", with("pattern", "   "), "A pattern has 1 to 500 characters."},
		{"unknown action", with("action", "shame"), "Choose an action"},
		{"timeout of 0", with("action", "timeout", "timeout_seconds", "0"), "A timeout lasts 1 second to 14 days."},
		{"timeout not a number", with("timeout_seconds", "long"), "is a whole number"},
		{"reply without text", with("action", "reply", "response", " "), "An auto-response needs the text"},
		{"priority out of range", with("priority", "-2000000"), "The priority is between"},
	} {
		res := hub.post(b.path("/moderation/rules/%d", rl.ID), cc.form, nil)
		form := res.doc(t).Find(fmt.Sprintf(`#rule-%d [data-testid=rule-edit-form]`, rl.ID))
		if res.StatusCode != 400 || !strings.Contains(form.Find(`[data-testid=form-error]`).Text(), cc.want) {
			t.Errorf("%s: %d %q, want 400 %q next to the edit form", cc.name, res.StatusCode, formError(t, res), cc.want)
		}
		if got := form.Find(`input[name=pattern]`).AttrOr("value", "?"); got != cc.form.Get("pattern") {
			t.Errorf("%s: the pattern field holds %q", cc.name, got)
		}
	}
	if d := cmp.Diff(want, b.rule(t, rl.ID)); d != "" {
		t.Errorf("bad edits changed the rule (-want +got):\n%s", d)
	}

	// Toggle off: the rule is kept, shown off, and no longer acts.
	if res := hub.post(b.path("/moderation/rules/%d/toggle", rl.ID), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("toggle: %d", res.StatusCode)
	}
	if b.rule(t, rl.ID).Enabled {
		t.Error("toggle did not disable the rule")
	}
	doc = hub.get(b.path("/moderation"), nil).doc(t)
	if doc.Find(`[data-testid=rule-row-off]`).Length() != 1 || strings.TrimSpace(doc.Find(`[data-testid=rule-toggle]`).Text()) != "Enable" ||
		!strings.Contains(doc.Find(`[data-testid=flash]`).Text(), "Rule disabled.") {
		t.Errorf("after disabling the page shows %q", doc.Find(`[data-testid=rules]`).Text())
	}
	if b.moderated(t, "oh darn it") {
		t.Error("a disabled rule still acts")
	}
	// And on again, with everything else as it was.
	hub.post(b.path("/moderation/rules/%d/toggle", rl.ID), nil, nil)
	if d := cmp.Diff(want, b.rule(t, rl.ID)); d != "" {
		t.Errorf("toggling back (-want +got):\n%s", d)
	}
	if !b.moderated(t, "oh darn it") {
		t.Error("an enabled rule does not act")
	}
	// Unticking "Enabled" in the edit form disables too.
	hub.post(b.path("/moderation/rules/%d", rl.ID), with("enabled", ""), nil)
	if b.rule(t, rl.ID).Enabled || b.moderated(t, "oh darn it") {
		t.Error("saving with Enabled unticked left the rule acting")
	}
	if n := b.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2", b.c.ID, audit.RuleUpdated); n != 4 {
		t.Errorf("%d audit entries, want 4 (edit, off, on, off)", n)
	}
}

func TestRuleEditWithHTMX(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	rl := b.mustRule(t)

	res := hub.get(b.path("/moderation/rules/%d/edit", rl.ID), htmx)
	doc := res.row(t)
	if res.StatusCode != 200 || doc.Find(`tr[data-testid=rule-edit-row]`).Length() != 1 ||
		doc.Find(`form[hx-post]`).AttrOr("hx-post", "") != b.path("/moderation/rules/%d", rl.ID) || strings.Contains(res.body, "<html") {
		t.Fatalf("edit fragment: %d %s", res.StatusCode, res.body)
	}
	// Cancel brings the row back.
	if res := hub.get(b.path("/moderation/rules/%d", rl.ID), htmx); res.row(t).Find(`tr[data-testid=rule-row]`).Length() != 1 {
		t.Errorf("cancel: %s", res.body)
	}
	if res := hub.get(b.path("/moderation/rules/%d", rl.ID), nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the row without HTMX: %d, want a redirect to the page", res.StatusCode)
	}

	res = hub.post(b.path("/moderation/rules/%d", rl.ID), url.Values{"priority": {"7"}, "match": {"glob"}, "pattern": {"*casino*"},
		"action": {"ban"}, "enabled": {"on"}}, htmx)
	doc = res.row(t)
	if res.StatusCode != 200 || doc.Find(`[data-testid=rule-row-pattern]`).Text() != "*casino*" || doc.Find(`[data-testid=rule-row-action]`).Text() != "ban" ||
		doc.Find(`[data-testid=rule-row-exempt]`).Text() != "nobody" {
		t.Fatalf("save: %d %s", res.StatusCode, res.body)
	}
	want := router.Rule{ID: rl.ID, Priority: 7, Match: "glob", Pattern: "*casino*", Action: "ban", Enabled: true}
	if d := cmp.Diff(want, b.rule(t, rl.ID)); d != "" {
		t.Errorf("after save (-want +got):\n%s", d)
	}

	// Errors stay in the row, as the edit form keeping what was typed, with 200 so HTMX swaps it.
	res = hub.post(b.path("/moderation/rules/%d", rl.ID), url.Values{"priority": {"7"}, "match": {"regex"}, "pattern": {"(oops"}, "action": {"ban"}}, htmx)
	doc = res.row(t)
	if res.StatusCode != 200 || doc.Find(`tr[data-testid=rule-edit-row]`).Length() != 1 ||
		!strings.Contains(doc.Find(`[data-testid=form-error]`).Text(), "The regular expression does not compile") ||
		doc.Find(`input[name=pattern]`).AttrOr("value", "") != "(oops" {
		t.Errorf("bad edit: %d %s", res.StatusCode, res.body)
	}
	if d := cmp.Diff(want, b.rule(t, rl.ID)); d != "" {
		t.Errorf("a bad edit changed the rule (-want +got):\n%s", d)
	}

	res = hub.post(b.path("/moderation/rules/%d/toggle", rl.ID), nil, htmx)
	doc = res.row(t)
	if doc.Find(`[data-testid=rule-row-off]`).Length() != 1 || strings.TrimSpace(doc.Find(`[data-testid=rule-toggle]`).Text()) != "Enable" {
		t.Errorf("toggle row: %s", res.body)
	}
	if b.rule(t, rl.ID).Enabled || b.moderated(t, "best casino deals") {
		t.Error("the disabled rule still acts")
	}
	res = hub.post(b.path("/moderation/rules/%d/toggle", rl.ID), nil, htmx)
	if res.row(t).Find(`[data-testid=rule-row-off]`).Length() != 0 || !b.moderated(t, "best casino deals") {
		t.Errorf("enabling again: %s", res.body)
	}

	hub.post(b.path("/moderation/rules/%d/delete", rl.ID), nil, htmx)
	for _, p := range []string{"/moderation/rules/%d/toggle", "/moderation/rules/%d"} {
		if res := hub.post(b.path(p, rl.ID), url.Values{"match": {"contains"}, "pattern": {"x"}, "action": {"ban"}}, htmx); res.StatusCode != 404 {
			t.Errorf("POST %s of a deleted rule: %d, want 404", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/moderation/rules/%d/edit", "/moderation/rules/%d"} {
		if res := hub.get(b.path(p, rl.ID), htmx); res.StatusCode != 404 {
			t.Errorf("GET %s of a deleted rule: %d, want 404", p, res.StatusCode)
		}
	}
	if res := hub.post(b.path("/moderation/rules/abc/toggle"), nil, nil); res.StatusCode != 404 {
		t.Errorf("a rule id that is no number: %d, want 404", res.StatusCode)
	}
}

func TestMemberCannotEditRules(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	rl := b.mustRule(t)
	doc := b.member.get(b.path("/moderation"), nil).doc(t)
	if doc.Find(`[data-testid=rule-row]`).Length() != 1 || doc.Find(`[data-testid=rule-edit], [data-testid=rule-toggle], [data-testid=rule-delete]`).Length() != 0 {
		t.Error("a member should see the rule and no buttons")
	}
	if res := b.member.get(b.path("/moderation/rules/%d", rl.ID), htmx); res.StatusCode != 200 || res.row(t).Find(`[data-testid=rule-edit]`).Length() != 0 {
		t.Errorf("the member's row: %d %s", res.StatusCode, res.body)
	}
	for _, w := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", fmt.Sprintf("/moderation/rules/%d/edit", rl.ID), nil},
		{"POST", fmt.Sprintf("/moderation/rules/%d", rl.ID), url.Values{"priority": {"1"}, "match": {"contains"}, "pattern": {"x"}, "action": {"ban"}, "enabled": {"on"}}},
		{"POST", fmt.Sprintf("/moderation/rules/%d/toggle", rl.ID), nil},
	} {
		for _, hdr := range []http.Header{nil, htmx} {
			var res response
			if w.method == "GET" {
				res = b.member.get(b.path("%s", w.path), hdr)
			} else {
				res = b.member.post(b.path("%s", w.path), w.form, hdr)
			}
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("member %s %s (HTMX %v): %d, want 403", w.method, w.path, hdr != nil, res.StatusCode)
			}
		}
	}
	if d := cmp.Diff(rl, b.rule(t, rl.ID)); d != "" {
		t.Errorf("a member changed the rule (-want +got):\n%s", d)
	}
}
