package workflow

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// mustConfig decodes and checks a node's configuration, failing on any
// error.
func mustConfig(t *testing.T, typ, raw string) (*Kind, Config) {
	t.Helper()
	k, ok := KindOf(typ)
	if !ok {
		t.Fatalf("no node type %s", typ)
	}
	cfg, err := DecodeConfig(k, json.RawMessage(raw))
	if err != nil {
		t.Fatalf("%s %s: %v", typ, raw, err)
	}
	c := &Checker{node: "n1"}
	cfg.Check(c)
	if len(c.errors) > 0 {
		t.Fatalf("%s %s: %v", typ, raw, c.errors)
	}
	return k, cfg
}

// runNode runs a node of the type with the configuration on the scope.
func runNode(t *testing.T, typ, raw string, x *Exec) (Result, error) {
	t.Helper()
	k, cfg := mustConfig(t, typ, raw)
	if x.Scope == nil {
		x.Scope = testScope()
	}
	return k.Run(context.Background(), x, cfg)
}

// checkErrors decodes and checks a configuration, returning its errors.
func checkErrors(t *testing.T, typ, raw string) []Issue {
	t.Helper()
	k, _ := KindOf(typ)
	cfg, err := DecodeConfig(k, json.RawMessage(raw))
	if err != nil {
		t.Fatalf("%s %s: %v", typ, raw, err)
	}
	c := &Checker{node: "n1"}
	cfg.Check(c)
	return c.errors
}

func TestBadConfigsNameTheirField(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", MaxDataTemplate+1)
	cases := []struct {
		typ, raw, field, msg string
	}{
		{"condition_if", `{}`, "rules", "at least one rule"},
		{"condition_if", `{"rules":[{"left":"{{ a }}","op":"matches","right":"[a-"}]}`, "rules[0].right", "Invalid regular expression"},
		{"condition_switch", `{"cases":[{"name":"a","op":"equals","right":"1"}]}`, "value", "Say what to compare"},
		{"condition_switch", `{"value":"{{ a }}"}`, "cases", "at least one case"},
		{"condition_switch", `{"value":"{{ a }}","cases":[{"name":"Big One","op":"equals"}]}`, "cases[0].name", "lower-case"},
		{"condition_switch", `{"value":"{{ a }}","cases":[{"name":"default","op":"equals"}]}`, "cases[0].name", `"default" is the output`},
		{"condition_switch", `{"value":"{{ a }}","cases":[{"name":"a","op":"equals"},{"name":"a","op":"equals"}]}`, "cases[1].name", `Another case is named "a"`},
		{"condition_switch", `{"value":"{{ a }}","cases":[{"name":"a","op":"like"}]}`, "cases[0].op", "Unknown operator"},
		{"condition_switch", `{"value":"{{ a | uper }}","cases":[{"name":"a","op":"equals"}]}`, "value", "unknown filter"},
		{"condition_filter", `{"rules":[]}`, "rules", "at least one rule"},
		{"condition_filter", `{"array":"items: {{ a }}","rules":[{"left":"{{ item }}","op":"is_empty"}]}`, "array", "one path"},
		{"data_variable_set", `{"name":"1st","value":"x"}`, "name", "variable name"},
		{"data_variable_set", `{"name":"","value":"x"}`, "name", "variable name"},
		{"data_variable_set", `{"name":"` + strings.Repeat("a", 65) + `","value":"x"}`, "name", "variable name"},
		{"data_variable_set", `{"name":"a","value":"x","scope":"global"}`, "scope", `"run", "workflow" or "community"`},
		{"data_variable_set", `{"name":"a","value":"{{ b"}`, "value", "unclosed"},
		{"data_variable_set", `{"name":"a","value":"` + long + `"}`, "value", "at most 4096"},
		{"data_variable_get", `{"name":"a-b"}`, "name", "variable name"},
		{"data_variable_get", `{"name":"a","scope":"team"}`, "scope", "scope is"},
		{"data_variable_get", `{"name":"a","default":"{{ x | truncate }}"}`, "default", "needs an argument"},
		{"data_array_push", `{"value":"x"}`, "array", "one path"},
		{"data_array_push", `{"array":"{{ a | first }}","value":"x"}`, "array", "one path"},
		{"data_array_push", `{"array":"{{ a }}","value":"{{ }}"}`, "value", "empty expression"},
		{"data_object_merge", `{}`, "objects", "at least one object"},
		{"data_object_merge", `{"objects":["{{ a }}","{ \"x\": 1 }"]}`, "objects[1]", "one path"},
		{"data_object_merge", `{"objects":["{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}","{{ a }}"]}`, "objects", "At most 20"},
	}
	for _, tc := range cases {
		errs := checkErrors(t, tc.typ, tc.raw)
		if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Message, tc.msg) || errs[0].Node != "n1" {
			t.Errorf("%s %s: %v, want one error on %s containing %q", tc.typ, tc.raw, errs, tc.field, tc.msg)
		}
	}
}

func TestUnknownConfigFieldsAreRefused(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"condition_if", "condition_switch", "condition_filter", "data_variable_set", "data_variable_get", "data_array_push", "data_object_merge"} {
		k, _ := KindOf(typ)
		if _, err := DecodeConfig(k, json.RawMessage(`{"bogus": 1}`)); err == nil {
			t.Errorf("%s took an unknown field", typ)
		}
	}
}

func TestTemplatePathsAreCheckedAgainstTheWorkflow(t *testing.T) {
	t.Parallel()
	k, _ := KindOf("condition_filter")
	cfg, _ := DecodeConfig(k, json.RawMessage(`{"rules":[{"left":"{{ item.name }}","op":"equals","right":"{{ nodes.ghost.x }}"}]}`))
	c := &Checker{node: "n1", paths: func(p string) bool { return strings.HasPrefix(p, "trigger.") }}
	cfg.Check(c)
	if len(c.errors) != 1 || c.errors[0].Field != "rules[0].right" || !strings.Contains(c.errors[0].Message, "nodes.ghost.x") {
		t.Errorf("errors %v: want item.name allowed and nodes.ghost.x refused", c.errors)
	}
}

func TestConditionIf(t *testing.T) {
	t.Parallel()
	in := map[string]any{"raid": true}
	cases := []struct {
		rules string
		port  string
	}{
		{`[{"left":"{{ trigger.viewers }}","op":"greater_than","right":"20"}]`, "true"},
		{`[{"left":"{{ trigger.viewers }}","op":"greater_than","right":"20"},{"left":"{{ trigger.user }}","op":"equals","right":"Teal"}]`, "false"},
		{`[{"left":"{{ trigger.missing }}","op":"is_not_empty"}]`, "false"},
	}
	for _, tc := range cases {
		x := &Exec{Input: in}
		res, err := runNode(t, "condition_if", `{"rules":`+tc.rules+`}`, x)
		if err != nil || !reflect.DeepEqual(res.Ports, []string{tc.port}) || !reflect.DeepEqual(res.Output, in) {
			t.Errorf("%s: %+v, %v; want port %s and the input passed on", tc.rules, res, err, tc.port)
		}
	}
	k, _ := KindOf("condition_if")
	if got := k.Outputs(nil); !reflect.DeepEqual(got, []string{"true", "false"}) || k.Effect {
		t.Errorf("outputs %q, effect %v", got, k.Effect)
	}
}

func TestConditionSwitch(t *testing.T) {
	t.Parallel()
	raw := `{"value":"{{ trigger.viewers }}","cases":[
		{"name":"huge","op":"greater_than","right":"100"},
		{"name":"big","op":"greater_than","right":"20"},
		{"name":"also_big","op":"greater_than","right":"10"},
		{"name":"duck","op":"equals","right":"Mallard"}]}`
	k, cfg := mustConfig(t, "condition_switch", raw)
	if got := k.Outputs(cfg); !reflect.DeepEqual(got, []string{"huge", "big", "also_big", "duck", "default"}) {
		t.Errorf("outputs %q", got)
	}
	cases := []struct {
		viewers any
		port    string
	}{
		{float64(500), "huge"},
		{float64(25), "big"}, // first matching case wins over also_big
		{float64(15), "also_big"},
		{float64(1), "default"},
		{"many", "default"},
	}
	for _, tc := range cases {
		x := &Exec{Input: "in", Scope: map[string]any{"trigger": map[string]any{"viewers": tc.viewers}}}
		res, err := k.Run(context.Background(), x, cfg)
		if err != nil || !reflect.DeepEqual(res.Ports, []string{tc.port}) || res.Output != "in" {
			t.Errorf("viewers %v: %+v, %v; want %s", tc.viewers, res, err, tc.port)
		}
	}
	// A missing value goes to default and is listed.
	x := &Exec{Scope: map[string]any{}}
	res, _ := k.Run(context.Background(), x, cfg)
	if !reflect.DeepEqual(res.Ports, []string{"default"}) || !reflect.DeepEqual(x.Missing, []string{"trigger.viewers"}) {
		t.Errorf("missing value: ports %q, missing %q", res.Ports, x.Missing)
	}
}

func TestConditionFilter(t *testing.T) {
	t.Parallel()
	items := []any{
		map[string]any{"name": "Mallard", "bits": float64(500)},
		map[string]any{"name": "Teal", "bits": float64(10)},
		map[string]any{"name": "Pintail", "bits": float64(900)},
		map[string]any{"bits": float64(1000)},
	}
	rules := `"rules":[{"left":"{{ item.bits }}","op":"greater_or_equal","right":"500"},{"left":"{{ item.name }}","op":"is_not_empty"}]`
	want := []any{items[0], items[2]}

	// From the input.
	x := &Exec{Input: items}
	res, err := runNode(t, "condition_filter", `{`+rules+`}`, x)
	if err != nil || !reflect.DeepEqual(res.Output, want) {
		t.Errorf("from input: %v, %v", res.Output, err)
	}
	if !reflect.DeepEqual(x.Missing, []string{"item.name"}) {
		t.Errorf("missing %q, want item.name once", x.Missing)
	}
	if _, ok := x.Scope["item"]; ok {
		t.Error("the filter left item in the node's scope")
	}
	// From a path; nothing kept is an empty array, not null.
	x = &Exec{Scope: map[string]any{"trigger": map[string]any{"cheers": items}}}
	res, err = runNode(t, "condition_filter", `{"array":"{{ trigger.cheers }}",`+rules+`}`, x)
	if err != nil || !reflect.DeepEqual(res.Output, want) {
		t.Errorf("from a path: %v, %v", res.Output, err)
	}
	res, err = runNode(t, "condition_filter", `{"array":"{{ trigger.cheers }}","rules":[{"left":"{{ item.bits }}","op":"less_than","right":"0"}]}`, x)
	if err != nil || !reflect.DeepEqual(res.Output, []any{}) {
		t.Errorf("none kept: %#v, %v", res.Output, err)
	}
	// Not an array.
	_, err = runNode(t, "condition_filter", `{"array":"{{ trigger.user }}",`+rules+`}`, &Exec{})
	if err == nil || !strings.Contains(err.Error(), "array: a string is not an array") {
		t.Errorf("a string: %v", err)
	}
	_, err = runNode(t, "condition_filter", `{`+rules+`}`, &Exec{})
	if err == nil || !strings.Contains(err.Error(), "no array") {
		t.Errorf("no input: %v", err)
	}
}
