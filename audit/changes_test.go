package audit_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
)

func TestChanges(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 250)
	cases := []struct {
		name          string
		before, after string // "" for none
		want          []string
	}{
		{"update shows only what differs", `{"name":"hug","response":"hugs","enabled":true}`, `{"name":"hug","response":"big hugs","enabled":false}`,
			[]string{`enabled: true → false`, `response: "hugs" → "big hugs"`}},
		{"creation shows every field", "", `{"b":1,"a":"x","list":["twitch","slack"]}`,
			[]string{`a: "x"`, `b: 1`, `list: ["twitch","slack"]`}},
		{"deletion shows every field", `{"pattern":"spam","priority":5}`, "",
			[]string{`pattern: "spam"`, `priority: 5`}},
		{"nested fields by path", `{"alerts":{"follow":{"template":"{user} followed","seconds":5}}}`,
			`{"alerts":{"follow":{"template":"{user} followed!","seconds":5},"raid":{"template":"raid","seconds":8}}}`,
			[]string{`alerts.follow.template: "{user} followed" → "{user} followed!"`, `alerts.raid.seconds: (none) → 8`, `alerts.raid.template: (none) → "raid"`}},
		{"a field that went away", `{"text":"hi","top":3}`, `{"top":3}`, []string{`text: "hi" → (none)`}},
		{"secret markers read as words", "", `{"secret":"(set)","url":"(changed)"}`, []string{`secret: (set)`, `url: (changed)`}},
		{"HTML is shown, not escaped twice", "", `{"text":"<b>hi</b> & bye"}`, []string{`text: "<b>hi</b> & bye"`}},
		{"a value that is not an object", `"old"`, `"new"`, []string{`value: "old" → "new"`}},
		{"unchanged", `{"prefix":"!"}`, `{"prefix":"!"}`, []string{}},
		{"nothing recorded", "", "", []string{}},
		{"long values are cut", "", `{"text":"` + long + `"}`, []string{`text: "` + strings.Repeat("é", 199) + `…`}},
		{"large numbers stay exact", `{"counter":9007199254740993}`, `{"counter":9007199254740994}`, []string{`counter: 9007199254740993 → 9007199254740994`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it := audit.Item{}
			if tc.before != "" {
				it.Before = json.RawMessage(tc.before)
			}
			if tc.after != "" {
				it.After = json.RawMessage(tc.after)
			}
			got := []string{}
			for _, c := range it.Changes() {
				got = append(got, c.String())
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestWho(t *testing.T) {
	t.Parallel()
	cases := []struct {
		item audit.Item
		want string
	}{
		{audit.Item{ActorEmail: "ann@example.com"}, "ann@example.com"},
		{audit.Item{ActorName: "twitch user alice (id 1)"}, "twitch user alice (id 1)"},
		{audit.Item{ActorEmail: "ann@example.com", ActorName: "simulator, as twitch user bob (id sim:bob)"},
			"ann@example.com (simulator, as twitch user bob (id sim:bob))"},
	}
	for _, tc := range cases {
		if got := tc.item.Who(); got != tc.want {
			t.Errorf("Who() = %q, want %q", got, tc.want)
		}
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	if audit.Secret(true) != "(set)" || audit.Secret(false) != "" {
		t.Errorf("Secret(true) = %q, Secret(false) = %q", audit.Secret(true), audit.Secret(false))
	}
}
