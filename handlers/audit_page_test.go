package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
)

// new actions and by a chat user's name, and reads the changes they show.
func TestAuditPageFiltersBotChanges(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	cmd := b.mustCommand(t, "hug", "hugs")
	for _, step := range []struct{ path, text string }{
		{fmt.Sprintf("/commands/%d/toggle", cmd.ID), ""},
		{"/prefix", "?"},
		{"/simulator", "?commands add wave o/"},
	} {
		form := url.Values{"prefix": {step.text}}
		if step.path == "/simulator" {
			form = url.Values{"platform": {"twitch"}, "user": {"Alice"}, "kind": {"chat_message"}, "badges": {"moderator"}, "text": {step.text}, "real_ok": {"1"}}
		}
		if res := hub.post(b.path("%s", step.path), form, nil); res.StatusCode >= 400 {
			t.Fatalf("%s: %d %q", step.path, res.StatusCode, formError(t, res))
		}
	}
	base := b.path("/audit")
	page := hub.get(base, nil).doc(t)
	var offered []string
	page.Find(`[data-testid=audit-action] option`).Each(func(_ int, s *goquery.Selection) {
		if v := s.AttrOr("value", ""); v != "" {
			offered = append(offered, v)
		}
	})
	if d := cmp.Diff(audit.Actions, offered); d != "" {
		t.Errorf("the action filter offers (-want +got):\n%s", d)
	}
	for _, a := range []string{audit.CommandCreated, audit.CommandUpdated, audit.OverlayURLRenewed, audit.PointsValueChanged, audit.QuoteDeleted} {
		if !slices.Contains(offered, a) {
			t.Errorf("the filter does not offer %s", a)
		}
	}

	type row struct {
		Who, Action, Target string
		Changes             []string
	}
	rows := func(doc *goquery.Document) []row {
		var out []row
		doc.Find(`[data-testid=audit-row]`).Each(func(_ int, s *goquery.Selection) {
			r := row{Who: s.Find(`[data-testid=audit-row-who]`).Text(), Action: s.Find(`[data-testid=audit-row-action]`).Text(),
				Target: s.Find(`[data-testid=audit-row-target]`).Text()}
			s.Find(`[data-testid=audit-change]`).Each(func(_ int, c *goquery.Selection) { r.Changes = append(r.Changes, c.Text()) })
			out = append(out, r)
		})
		return out
	}
	cases := []struct {
		query string
		htmx  bool
		want  []row
	}{
		{"?action=command_updated", true, []row{{"ann@example.com", "command_updated", "command hug", []string{"enabled: true → false"}}}},
		{"?action=prefix_changed", false, []row{{"ann@example.com", "prefix_changed", "command prefix", []string{`prefix: "!" → "?"`}}}},
		{"?action=command_created&actor=alice", false, []row{{"ann@example.com (simulator, as twitch user Alice (id sim:alice))", "command_created",
			"command wave", []string{`enabled: true`, `global_cooldown_seconds: 0`, `modules: []`, `name: "wave"`, `parallel: false`,
				`permission: "everyone"`, `platforms: ["twitch","discord","slack"]`, `response: "o/"`, `user_cooldown_seconds: 0`}}}},
		{"?actor=simulator", true, []row{{"ann@example.com (simulator, as twitch user Alice (id sim:alice))", "command_created", "command wave", nil}}},
		{"?action=overlay_deleted", false, nil},
	}
	for _, tc := range cases {
		var hdr http.Header
		if tc.htmx {
			hdr = http.Header{"Hx-Request": {"true"}, "Hx-Target": {"audit-rows"}}
		}
		res := hub.get(base+tc.query, hdr)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", tc.query, res.StatusCode)
			continue
		}
		doc := res.doc(t)
		got := rows(doc)
		if tc.query == "?actor=simulator" {
			for i := range got {
				got[i].Changes = nil // compared above
			}
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: rows (-want +got):\n%s", tc.query, d)
		}
		if tc.want == nil && doc.Find(`[data-testid=audit-empty]`).Length() != 1 {
			t.Errorf("%s: an empty result does not say so", tc.query)
		}
	}

	// The API filters the same way and gives the states as JSON.
	annUser, err := b.auth.UserByEmail(t.Context(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	key := b.apiKey(annUser, "user")
	st, out := b.api(key, "GET", fmt.Sprintf("/communities/%d/audit?action=command_updated", b.c.ID), "")
	data, _ := out["data"].([]any)
	if st != 200 || len(data) != 1 {
		t.Fatalf("API: %d %v", st, out)
	}
	entry := data[0].(map[string]any)
	before, _ := entry["before"].(map[string]any)
	after, _ := entry["after"].(map[string]any)
	if entry["action"] != "command_updated" || entry["actor"] != "ann@example.com" || before["enabled"] != true || after["enabled"] != false ||
		before["response"] != "hugs" || !cmp.Equal(entry["changes"], []any{"enabled: true → false"}) {
		t.Errorf("API entry: %v", entry)
	}
	st, out = b.api(key, "GET", fmt.Sprintf("/communities/%d/audit?actor=Alice", b.c.ID), "")
	data, _ = out["data"].([]any)
	if st != 200 || len(data) != 1 || data[0].(map[string]any)["actor_name"] != "simulator, as twitch user Alice (id sim:alice)" ||
		data[0].(map[string]any)["before"] != nil {
		t.Errorf("API filtered by a chat user: %d %v", st, out)
	}
	if st, out := b.api(key, "GET", fmt.Sprintf("/communities/%d/audit?action=command_renamed", b.c.ID), ""); st != 400 ||
		!strings.Contains(fmt.Sprint(out["message"]), "command_renamed") {
		t.Errorf("API with an unknown action: %d %v", st, out)
	}
}
