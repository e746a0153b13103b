package workflow

import (
	"fmt"
	"strings"
	"testing"
)

func TestRuleOps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		left, op, right string
		want            bool
	}{
		{"{{ trigger.user }}", "equals", "Mallard", true},
		{"{{ trigger.user }}", "equals", "mallard", false},
		{"{{ trigger.viewers }}", "equals", "25.0", true}, // both numbers: compared as numbers
		{"{{ trigger.live }}", "equals", "true", true},
		{"{{ trigger.user }}", "not_equals", "Teal", true},
		{"{{ trigger.user }}", "not_equals", "Mallard", false},
		{"{{ trigger.user }}", "contains", "lar", true},
		{"{{ trigger.user }}", "contains", "goose", false},
		{"{{ trigger.tags }}", "contains", "pond", true}, // an array: one of its items
		{"{{ trigger.tags }}", "contains", "on", false},
		{"{{ trigger.user }}", "matches", "^Mal+ard$", true},
		{"{{ trigger.user }}", "matches", "^[0-9]+$", false},
		{"{{ trigger.user }}", "matches", "(", false}, // bad pattern at run time: false, noted
		{"{{ trigger.viewers }}", "greater_than", "20", true},
		{"{{ trigger.viewers }}", "greater_than", "25", false},
		{"{{ trigger.viewers }}", "greater_than", "3", true}, // numbers, not text ("25" < "3")
		{"{{ trigger.viewers }}", "less_than", "100", true},
		{"{{ trigger.viewers }}", "less_than", "25", false},
		{"{{ trigger.viewers }}", "greater_or_equal", "25", true},
		{"{{ trigger.viewers }}", "greater_or_equal", "26", false},
		{"{{ trigger.viewers }}", "less_or_equal", "25", true},
		{"{{ trigger.viewers }}", "less_or_equal", "24.5", false},
		{"{{ trigger.user }}", "greater_than", "1", false}, // not a number: false
		{"{{ trigger.nope }}", "less_than", "1", false},
		{"{{ trigger.user }}", "in_list", "Teal, Mallard,Pintail", true},
		{"{{ trigger.user }}", "in_list", "Teal, Pintail", false},
		{"{{ trigger.viewers }}", "in_list", `[10, 25, 30]`, true},
		{"{{ trigger.user }}", "in_list", `["Mallard"]`, true},
		{"{{ trigger.user }}", "in_list", "{{ trigger.tags }}", false},
		{"duck", "in_list", "{{ trigger.tags }}", true},
		{"{{ trigger.user }}", "in_list", "", false},
		{"{{ trigger.empty }}", "is_empty", "", true},
		{"{{ trigger.note }}", "is_empty", "", true},
		{"{{ trigger.nope }}", "is_empty", "", true},
		{"{{ trigger.pad }}", "is_empty", "", false},
		{"{{ trigger.tags }}", "is_empty", "", false},
		{"{{ trigger.tags }}", "is_not_empty", "", true},
		{"{{ trigger.empty }}", "is_not_empty", "", false},
		{"{{ trigger.user }}", "no_such_op", "x", false},
	}
	for _, tc := range cases {
		x := &Exec{Scope: testScope()}
		if got := evalRules(x, []Rule{{Left: tc.left, Op: tc.op, Right: tc.right}}); got != tc.want {
			t.Errorf("%s %s %q = %v, want %v", tc.left, tc.op, tc.right, got, tc.want)
		}
	}
}

func TestRulesAreJoinedWithAnd(t *testing.T) {
	t.Parallel()
	yes := Rule{Left: "{{ trigger.viewers }}", Op: "greater_than", Right: "20"}
	no := Rule{Left: "{{ trigger.user }}", Op: "equals", Right: "Teal"}
	x := &Exec{Scope: testScope()}
	if !evalRules(x, []Rule{yes, yes}) || evalRules(x, []Rule{yes, no}) || evalRules(x, []Rule{no, yes}) {
		t.Error("rules are not joined with AND")
	}
}

func TestRuleNotesMissingAndBadPattern(t *testing.T) {
	t.Parallel()
	x := &Exec{Scope: testScope()}
	evalRules(x, []Rule{{Left: "{{ trigger.nope }}", Op: "matches", Right: "{{ trigger.pad | trim }}("}})
	if len(x.Missing) != 1 || x.Missing[0] != "trigger.nope" {
		t.Errorf("missing %q", x.Missing)
	}
	if len(x.Notes) != 1 || !strings.Contains(x.Notes[0], "quack(") {
		t.Errorf("notes %q", x.Notes)
	}
}

func TestCheckRules(t *testing.T) {
	t.Parallel()
	many := make([]Rule, MaxRules+1)
	for i := range many {
		many[i] = Rule{Left: "a", Op: "equals"}
	}
	cases := []struct {
		name      string
		rules     []Rule
		wantField string
		wantMsg   string
	}{
		{"none", nil, "rules", "at least one rule"},
		{"too many", many, "rules", "At most 50 rules"},
		{"empty left", []Rule{{Op: "equals", Right: "x"}}, "rules[0].left", "Say what to compare"},
		{"bad left template", []Rule{{Left: "{{ a | uper }}", Op: "equals"}}, "rules[0].left", `unknown filter "uper"`},
		{"unknown op", []Rule{{Left: "a", Op: "equals"}, {Left: "a", Op: "bigger"}}, "rules[1].op", `Unknown operator "bigger"`},
		{"bad right template", []Rule{{Left: "a", Op: "equals", Right: "{{ b"}}, "rules[0].right", `unclosed "{{"`},
		{"bad pattern", []Rule{{Left: "a", Op: "matches", Right: "(ab"}}, "rules[0].right", "Invalid regular expression"},
		{"long pattern", []Rule{{Left: "a", Op: "matches", Right: strings.Repeat("a", MaxPattern+1)}}, "rules[0].right", "at most 512 bytes"},
		{"long left", []Rule{{Left: strings.Repeat("a", MaxRuleTemplate+1), Op: "equals"}}, "rules[0].left", "at most 2048"},
	}
	for _, tc := range cases {
		c := &Checker{node: "n1"}
		checkRules(c, "rules", tc.rules)
		if len(c.errors) != 1 || c.errors[0].Field != tc.wantField || !strings.Contains(c.errors[0].Message, tc.wantMsg) {
			t.Errorf("%s: %v, want one error on %s containing %q", tc.name, c.errors, tc.wantField, tc.wantMsg)
		}
	}
	// Good rules: no findings; a right side with is_empty only warns.
	c := &Checker{}
	checkRules(c, "rules", []Rule{{Left: "{{ a }}", Op: "matches", Right: `^\d{2}$`}, {Left: "{{ a }}", Op: "is_empty", Right: "x"}})
	if len(c.errors) != 0 || len(c.warnings) != 1 || c.warnings[0].Field != "rules[1].right" {
		t.Errorf("errors %v, warnings %v", c.errors, c.warnings)
	}
	// A pattern that is a template is checked when it runs.
	c = &Checker{}
	checkRules(c, "rules", []Rule{{Left: "a", Op: "matches", Right: "{{ vars.pattern }}"}})
	if len(c.errors) != 0 {
		t.Errorf("a templated pattern: %v", c.errors)
	}
}

func TestPatternCacheBounded(t *testing.T) {
	for i := range patternCacheEntries + 20 {
		if _, err := compilePattern(fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	patternCache.Lock()
	n := len(patternCache.m)
	patternCache.Unlock()
	if n > patternCacheEntries {
		t.Errorf("%d patterns cached, over %d", n, patternCacheEntries)
	}
}

func FuzzRule(f *testing.F) {
	f.Add("{{ trigger.viewers }}", "greater_than", "20")
	f.Add("{{ trigger.user }}", "matches", "^(a|b)*$")
	f.Add("{{ trigger.tags }}", "in_list", `["duck", 1, null]`)
	f.Add("{{ x", "contains", "{{ y | uper }}")
	f.Fuzz(func(t *testing.T, left, op, right string) {
		c := &Checker{}
		checkRules(c, "rules", []Rule{{Left: left, Op: op, Right: right}})
		x := &Exec{Scope: testScope()}
		got := evalRules(x, []Rule{{Left: left, Op: op, Right: right}})
		if got && !knownOp(op) {
			t.Fatalf("unknown operator %q held", op)
		}
		if (op == OpIsEmpty) == (op == OpIsNotEmpty) {
			return
		}
		neg := OpIsNotEmpty
		if op == OpIsNotEmpty {
			neg = OpIsEmpty
		}
		if evalRules(x, []Rule{{Left: left, Op: neg}}) == got {
			t.Fatalf("%s and %s agree on %q", op, neg, left)
		}
	})
}
