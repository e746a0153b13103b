package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/router"
)

func TestModerationRules(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	path := b.path("/moderation/rules")
	good := url.Values{"priority": {"20"}, "match": {"word"}, "pattern": {"heck"}, "action": {"timeout"}, "timeout_seconds": {"600"},
		"response": {""}, "exempt_moderators": {"on"}}
	if res := hub.post(path, good, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %.400s", res.StatusCode, res.body)
	}
	if res := hub.post(path, url.Values{"priority": {"5"}, "match": {"regex"}, "pattern": {`^(?:buy|cheap)\b`}, "action": {"reply"},
		"response": {"{user}, no ads please"}, "exempt_subscribers": {"on"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create regex rule: %d %.400s", res.StatusCode, res.body)
	}
	rules, err := b.settings.Rules(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []router.Rule{
		{Priority: 5, Match: "regex", Pattern: `^(?:buy|cheap)\b`, Action: "reply", Response: "{user}, no ads please", ExemptSubscribers: true, Enabled: true},
		{Priority: 20, Match: "word", Pattern: "heck", Action: "timeout", TimeoutSeconds: 600, ExemptModerators: true, Enabled: true},
	}
	for i := range rules {
		rules[i].ID = 0
	}
	if d := cmp.Diff(want, rules); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	doc := hub.get(b.path("/moderation"), nil).doc(t)
	var patterns []string
	doc.Find(`[data-testid=rule-row-pattern]`).Each(func(_ int, s *goquery.Selection) { patterns = append(patterns, s.Text()) })
	if !cmp.Equal(patterns, []string{`^(?:buy|cheap)\b`, "heck"}) {
		t.Errorf("rules shown in order %v", patterns)
	}
	if got := doc.Find(`[data-testid=rule-row-action]`).Last().Text(); !strings.Contains(got, "timeout 600s") {
		t.Errorf("timeout rule shows %q", got)
	}

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
		{"over-long regex", with("match", "regex", "pattern", strings.Repeat("a", 301)), "at most 300 characters"},
		{"bad glob", with("match", "glob", "pattern", "[a-"), "The glob pattern is malformed"},
		{"unknown match", with("match", "fuzzy"), "Choose how to match"},
		{"empty pattern", with("pattern", "  "), "A pattern has 1 to 500 characters."},
		{"unknown action", with("action", "shame"), "Choose an action"},
		{"no timeout", with("timeout_seconds", "0"), "A timeout lasts 1 second to 14 days."},
		{"over-long timeout", with("timeout_seconds", "9999999"), "A timeout lasts 1 second to 14 days."},
		{"timeout not a number", with("timeout_seconds", "long"), "is a whole number"},
		{"reply without text", with("action", "reply", "response", ""), "An auto-response needs the text"},
		{"huge priority", with("priority", "99999999999"), "whole number"},
		{"priority out of range", with("priority", "2000000"), "The priority is between"},
	} {
		res := hub.post(path, cc.form, nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), cc.want) {
			t.Errorf("%s: %d %q, want 400 %q", cc.name, res.StatusCode, formError(t, res), cc.want)
		}
		if got := res.doc(t).Find(`[data-testid=rule-create] input[name=pattern]`).AttrOr("value", "?"); got != cc.form.Get("pattern") {
			t.Errorf("%s: the pattern field holds %q", cc.name, got)
		}
	}
	if n := b.count("SELECT count(*) FROM moderation_rules"); n != 2 {
		t.Errorf("%d rules after bad forms, want 2", n)
	}

	ids := []int64{}
	for _, rl := range mustRules(t, b) {
		ids = append(ids, rl.ID)
	}
	if res := hub.post(b.path("/moderation/rules/%d/delete", ids[0]), nil, htmx); res.StatusCode != 200 || res.body != "" {
		t.Errorf("HTMX delete: %d %q", res.StatusCode, res.body)
	}
	if res := hub.post(b.path("/moderation/rules/%d/delete", ids[1]), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM moderation_rules"); n != 0 {
		t.Errorf("%d rules left", n)
	}
	if res := hub.post(b.path("/moderation/rules/%d/delete", ids[1]), nil, nil); res.StatusCode != 404 {
		t.Errorf("deleting again: %d", res.StatusCode)
	}
}

func mustRules(t *testing.T, b *botEnv) []router.Rule {
	t.Helper()
	rules, err := b.settings.Rules(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}
