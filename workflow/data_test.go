package workflow

import (
	"reflect"
	"strings"
	"testing"
)

func TestArrayPush(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, raw string
		want      any
		missing   []string
	}{
		{"onto an array", `{"array":"{{ trigger.tags }}","value":"{{ trigger.user }}"}`, []any{"duck", "pond", "bread", "Mallard"}, nil},
		{"keeps the value's type", `{"array":"{{ trigger.tags }}","value":"{{ vars.obj }}"}`, []any{"duck", "pond", "bread", map[string]any{"b": float64(2), "a": "x"}}, nil},
		{"text value", `{"array":"{{ nodes.n2 }}","value":"n{{ vars.count }}"}`, []any{"a", "b", "n3"}, nil},
		{"missing array starts one", `{"array":"{{ vars.names }}","value":"Teal"}`, []any{"Teal"}, []string{"vars.names"}},
		{"null array starts one", `{"array":"{{ trigger.note }}","value":"Teal"}`, []any{"Teal"}, nil},
	}
	for _, tc := range cases {
		x := &Exec{}
		res, err := runNode(t, "data_array_push", tc.raw, x)
		if err != nil || !reflect.DeepEqual(res.Output, tc.want) || !reflect.DeepEqual(x.Missing, tc.missing) {
			t.Errorf("%s: %#v, %v, missing %q; want %#v", tc.name, res.Output, err, x.Missing, tc.want)
		}
	}
	// The source array is not changed.
	scope := testScope()
	tags := scope["trigger"].(map[string]any)["tags"].([]any)
	if _, err := runNode(t, "data_array_push", `{"array":"{{ trigger.tags }}","value":"x"}`, &Exec{Scope: scope}); err != nil || len(tags) != 3 {
		t.Errorf("source changed: %v, %v", tags, err)
	}
	// Refusals.
	full := make([]any, MaxArrayItems)
	bad := []struct {
		scope map[string]any
		want  string
	}{
		{map[string]any{"a": "text"}, "array: a string is not an array"},
		{map[string]any{"a": map[string]any{}}, "array: an object is not an array"},
		{map[string]any{"a": full}, "at most 10000"},
		{map[string]any{"a": []any{}, "big": strings.Repeat("x", MaxOutput)}, "over the limit"},
	}
	for _, tc := range bad {
		_, err := runNode(t, "data_array_push", `{"array":"{{ a }}","value":"{{ big }}"}`, &Exec{Scope: tc.scope})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40v: %v, want %q", tc.scope, err, tc.want)
		}
	}
}

func TestObjectMerge(t *testing.T) {
	t.Parallel()
	scope := map[string]any{
		"a":    map[string]any{"name": "Mallard", "stats": map[string]any{"bits": float64(1), "subs": float64(2)}, "tags": []any{"x"}},
		"b":    map[string]any{"stats": map[string]any{"bits": float64(9)}, "tags": []any{"y"}, "new": true},
		"text": "hello",
	}
	cases := []struct {
		name, raw string
		want      map[string]any
		missing   []string
	}{
		{"shallow", `{"objects":["{{ a }}","{{ b }}"]}`, map[string]any{
			"name": "Mallard", "stats": map[string]any{"bits": float64(9)}, "tags": []any{"y"}, "new": true}, nil},
		{"deep", `{"objects":["{{ a }}","{{ b }}"],"deep":true}`, map[string]any{
			"name": "Mallard", "stats": map[string]any{"bits": float64(9), "subs": float64(2)}, "tags": []any{"y"}, "new": true}, nil},
		{"missing skipped", `{"objects":["{{ a.stats }}","{{ ghost }}"]}`, map[string]any{"bits": float64(1), "subs": float64(2)}, []string{"ghost"}},
	}
	for _, tc := range cases {
		x := &Exec{Scope: scope}
		res, err := runNode(t, "data_object_merge", tc.raw, x)
		if err != nil || !reflect.DeepEqual(res.Output, map[string]any(tc.want)) || !reflect.DeepEqual(x.Missing, tc.missing) {
			t.Errorf("%s: %#v, %v, missing %q; want %#v", tc.name, res.Output, err, x.Missing, tc.want)
		}
	}
	// Neither input changed by the deep merge.
	if s := scope["a"].(map[string]any)["stats"].(map[string]any); len(s) != 2 || s["bits"] != float64(1) {
		t.Errorf("the first object changed: %v", s)
	}
	_, err := runNode(t, "data_object_merge", `{"objects":["{{ a }}","{{ text }}"]}`, &Exec{Scope: scope})
	if err == nil || err.Error() != "objects[1]: a string is not an object" {
		t.Errorf("merging text: %v", err)
	}
	huge := map[string]any{"a": map[string]any{"x": strings.Repeat("y", MaxOutput)}}
	if _, err := runNode(t, "data_object_merge", `{"objects":["{{ a }}"]}`, &Exec{Scope: huge}); err == nil || !strings.Contains(err.Error(), "over the limit of 1048576") {
		t.Errorf("huge output: %v", err)
	}
}

func TestVariableRunScope(t *testing.T) {
	t.Parallel()
	x := &Exec{}
	res, err := runNode(t, "data_variable_set", `{"name":"best","value":"{{ vars.obj }}"}`, x)
	want := VarWrite{Scope: "run", Name: "best", Value: map[string]any{"b": float64(2), "a": "x"}}
	if err != nil || !reflect.DeepEqual(res.Output, want) {
		t.Errorf("set: %#v, %v", res.Output, err)
	}
	res, err = runNode(t, "data_variable_set", `{"name":"greeting","value":"hi {{ trigger.user }}","scope":"run"}`, &Exec{})
	if err != nil || res.Output != (VarWrite{Scope: "run", Name: "greeting", Value: "hi Mallard"}) {
		t.Errorf("set text: %#v, %v", res.Output, err)
	}
	_, err = runNode(t, "data_variable_set", `{"name":"big","value":"{{ big }}"}`, &Exec{Scope: map[string]any{"big": strings.Repeat("x", MaxVariableValue)}})
	if err == nil || !strings.Contains(err.Error(), "over the limit of 65536") {
		t.Errorf("a huge value: %v", err)
	}

	cases := []struct {
		raw   string
		want  any
		notes int
	}{
		{`{"name":"count"}`, float64(3), 0},
		{`{"name":"obj","scope":"run"}`, map[string]any{"b": float64(2), "a": "x"}, 0},
		{`{"name":"nope"}`, nil, 1},
		{`{"name":"nope","default":7}`, float64(7), 1},
		{`{"name":"nope","default":"{{ trigger.user }}"}`, "Mallard", 1},
		{`{"name":"nope","default":{"a":[1]}}`, map[string]any{"a": []any{float64(1)}}, 1},
	}
	for _, tc := range cases {
		x := &Exec{}
		res, err := runNode(t, "data_variable_get", tc.raw, x)
		if err != nil || !reflect.DeepEqual(res.Output, tc.want) || len(x.Notes) != tc.notes {
			t.Errorf("get %s: %#v, %v, notes %q; want %#v", tc.raw, res.Output, err, x.Notes, tc.want)
		}
	}
	kset, _ := KindOf("data_variable_set")
	kget, _ := KindOf("data_variable_get")
	if !kset.Effect || kget.Effect {
		t.Errorf("effects: set %v, get %v", kset.Effect, kget.Effect)
	}
}

func TestOutputSizeLimit(t *testing.T) {
	t.Parallel()
	if err := checkOutputSize(strings.Repeat("x", MaxOutput-2)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if err := checkOutputSize(strings.Repeat("x", MaxOutput-1)); err == nil {
		t.Error("a byte over the limit passed")
	}
	if err := checkOutputSize(map[string]any{"f": func() {}}); err == nil {
		t.Error("a value that is not JSON passed")
	}
}
