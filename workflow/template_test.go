package workflow

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func testScope() map[string]any {
	return map[string]any{
		"trigger": map[string]any{
			"user":    "Mallard",
			"viewers": float64(25),
			"ratio":   2.5,
			"live":    true,
			"note":    nil,
			"empty":   "",
			"tags":    []any{"duck", "pond", "bread"},
			"pad":     "  quack  ",
		},
		"nodes": map[string]any{
			"n1": map[string]any{"items": []any{map[string]any{"name": "first"}, map[string]any{"name": "second"}}},
			"n2": []string{"a", "b"},
			"n3": VarWrite{Scope: "run", Name: "x", Value: float64(3)},
		},
		"vars": map[string]any{"count": float64(3), "obj": map[string]any{"b": float64(2), "a": "x"}},
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, tmpl, want string
		missing          []string
	}{
		{"text only", "hello", "hello", nil},
		{"string", "hi {{ trigger.user }}!", "hi Mallard!", nil},
		{"no spaces", "{{trigger.user}}", "Mallard", nil},
		{"integral number", "{{ trigger.viewers }}", "25", nil},
		{"fraction", "{{ trigger.ratio }}", "2.5", nil},
		{"bool", "{{ trigger.live }}", "true", nil},
		{"null", "[{{ trigger.note }}]", "[]", nil},
		{"array as JSON", "{{ trigger.tags }}", `["duck","pond","bread"]`, nil},
		{"map as JSON", "{{ vars.obj }}", `{"a":"x","b":2}`, nil},
		{"index", "{{ nodes.n1.items.1.name }}", "second", nil},
		{"typed slice index", "{{ nodes.n2.1 }}", "b", nil},
		{"struct field by JSON name", "{{ nodes.n3.value }}", "3", nil},
		{"missing key", "a{{ trigger.nope }}b", "ab", []string{"trigger.nope"}},
		{"missing root", "{{ nothing }}", "", []string{"nothing"}},
		{"index out of range", "{{ nodes.n1.items.5.name }}", "", []string{"nodes.n1.items.5.name"}},
		{"index on a string", "{{ trigger.user.0 }}", "", []string{"trigger.user.0"}},
		{"negative index", "{{ trigger.tags.-1 }}", "", []string{"trigger.tags.-1"}},
		{"missing listed once", "{{ a.b }}{{ a.b }}", "", []string{"a.b"}},
		{"upper", "{{ trigger.user | upper }}", "MALLARD", nil},
		{"lower", "{{ trigger.user | lower }}", "mallard", nil},
		{"trim", "[{{ trigger.pad | trim }}]", "[quack]", nil},
		{"default on missing", `{{ trigger.nope | default:"anon" }}`, "anon", []string{"trigger.nope"}},
		{"default on empty", `{{ trigger.empty | default:"anon" }}`, "anon", nil},
		{"default on null", `{{ trigger.note | default:'n/a' }}`, "n/a", nil},
		{"default kept value", `{{ trigger.user | default:"anon" }}`, "Mallard", nil},
		{"default number", `{{ trigger.nope | default:0 }}`, "0", []string{"trigger.nope"}},
		{"json string", "{{ trigger.user | json }}", `"Mallard"`, nil},
		{"json null", "{{ trigger.note | json }}", `null`, nil},
		{"length text", "{{ trigger.user | length }}", "7", nil},
		{"length array", "{{ trigger.tags | length }}", "3", nil},
		{"length object", "{{ vars.obj | length }}", "2", nil},
		{"length missing", "{{ trigger.nope | length }}", "0", []string{"trigger.nope"}},
		{"truncate", "{{ trigger.user | truncate:4 }}", "Mall", nil},
		{"truncate runes", "{{ trigger.x | default:\"ééé\" | truncate:2 }}", "éé", []string{"trigger.x"}},
		{"truncate longer", "{{ trigger.user | truncate:40 }}", "Mallard", nil},
		{"round", "{{ trigger.ratio | round }}", "3", nil},
		{"round digits", `{{ trigger.x | default:"3.14159" | round:2 }}`, "3.14", []string{"trigger.x"}},
		{"round not a number", "{{ trigger.user | round }}", "Mallard", nil},
		{"join default", "{{ trigger.tags | join }}", "duck, pond, bread", nil},
		{"join sep", `{{ trigger.tags | join:" / " }}`, "duck / pond / bread", nil},
		{"join pipe in arg", `{{ trigger.tags | join:"|" }}`, "duck|pond|bread", nil},
		{"first", "{{ trigger.tags | first }}", "duck", nil},
		{"last", "{{ trigger.tags | last | upper }}", "BREAD", nil},
		{"first of text", "{{ trigger.user | first }}", "M", nil},
		{"closing braces in arg", `{{ trigger.nope | default:"}}" }}`, "}}", []string{"trigger.nope"}},
		{"escaped quote", `{{ trigger.nope | default:"say \"hi\"" }}`, `say "hi"`, []string{"trigger.nope"}},
		{"stray closing", "a }} b", "a }} b", nil},
		// Bad parts render as written and are listed.
		{"unclosed", "hi {{ trigger.user", "hi {{ trigger.user", []string{"{{ trigger.user"}},
		{"unknown filter", "x{{ trigger.user | uper }}y", "x{{ trigger.user | uper }}y", []string{"{{ trigger.user | uper }}"}},
		{"bad part beside a good one", "{{ }} {{ trigger.user }}", "{{ }} Mallard", []string{"{{ }}"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, missing := Render(tc.tmpl, testScope())
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.tmpl, got, tc.want)
			}
			if !reflect.DeepEqual(missing, tc.missing) {
				t.Errorf("Render(%q) missing %q, want %q", tc.tmpl, missing, tc.missing)
			}
		})
	}
}

func TestTemplatePaths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		tmpl    string
		want    []string
		wantErr string
	}{
		{"plain", nil, ""},
		{"{{ a.b }} and {{ c | upper }} and {{ a.b }}", []string{"a.b", "c"}, ""},
		{"{{ nodes.n1.items.0.name }}", []string{"nodes.n1.items.0.name"}, ""},
		{"{{ trigger.user | uper }}", nil, `unknown filter "uper" at {{ trigger.user | uper }}`},
		{"hi {{ trigger.user", nil, `unclosed "{{" at {{ trigger.user`},
		{"{{ }}", nil, "empty expression at {{ }}"},
		{"{{ | upper }}", nil, `missing path before "|"`},
		{"{{ a..b }}", nil, `path "a..b" has an empty key`},
		{"{{ a b }}", nil, `path "a b" has ' '`},
		{"{{ a | upper:1 }}", nil, `filter "upper" takes no argument`},
		{"{{ a | default }}", nil, `filter "default" needs an argument`},
		{"{{ a | truncate:-1 }}", nil, `filter "truncate" takes a whole number from 0 to 65536`},
		{"{{ a | truncate:2.5 }}", nil, `filter "truncate" takes a whole number`},
		{"{{ a | truncate:\"3\" }}", nil, `filter "truncate" takes a whole number`},
		{"{{ a | round:11 }}", nil, `filter "round" takes a whole number from 0 to 10`},
		{"{{ a | join:3 }}", nil, `filter "join" takes a quoted string`},
		{"{{ a | default:\"x }}", nil, `unclosed "{{"`},
		{"{{ a | default:abc }}", nil, `neither a quoted string nor a number`},
		{"{{ a | default:\"x\"y }}", nil, `unexpected text after string`},
		{"{{ a | }}", nil, `empty filter after "|"`},
		{strings.Repeat("x", MaxTemplate+1), nil, "at most 16384 bytes"},
	}
	for _, tc := range cases {
		got, err := TemplatePaths(tc.tmpl)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("TemplatePaths(%.40q) error %v, want %q", tc.tmpl, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("TemplatePaths(%q) = %q, %v, want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

func TestRenderValue(t *testing.T) {
	t.Parallel()
	scope := testScope()
	cases := []struct {
		tmpl    string
		want    any
		missing bool
	}{
		{"{{ vars.obj }}", map[string]any{"b": float64(2), "a": "x"}, false},
		{" {{ vars.count }}", " 3", false}, // text around: rendered as text
		{"{{ vars.count }}", float64(3), false},
		{"{{ trigger.tags | first }}", "duck", false},
		{"{{ trigger.tags | length }}", 3, false},
		{"{{ trigger.nope }}", nil, true},
		{"{{ trigger.nope | default:5 }}", float64(5), true},
		{"count: {{ vars.count }}", "count: 3", false},
	}
	for _, tc := range cases {
		got, missing := RenderValue(tc.tmpl, scope)
		if !reflect.DeepEqual(got, tc.want) || (len(missing) > 0) != tc.missing {
			t.Errorf("RenderValue(%q) = %#v, %q; want %#v, missing %v", tc.tmpl, got, missing, tc.want, tc.missing)
		}
	}
}

func TestRenderLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("é", 40<<10) // 80 KiB of two-byte runes
	out, missing := Render("{{ v }}{{ v }}", map[string]any{"v": big})
	if len(out) > MaxTemplateOutput || !utf8.ValidString(out) || len(missing) != 0 {
		t.Errorf("output of %d bytes (valid UTF-8: %v), missing %q", len(out), utf8.ValidString(out), missing)
	}
	long := strings.Repeat("a", MaxTemplate+1)
	out, missing = Render(long, nil)
	if out != long || len(missing) != 1 {
		t.Errorf("an over-long template rendered %d bytes, missing %q", len(out), missing)
	}
}

func TestTemplateCacheBounded(t *testing.T) {
	for i := range cacheEntries + 50 {
		Render("{{ a }}"+strings.Repeat("x", i), nil)
	}
	tmplCache.Lock()
	n, b := len(tmplCache.m), tmplCache.bytes
	tmplCache.Unlock()
	if n > cacheEntries || b > cacheBytes {
		t.Errorf("cache holds %d templates of %d bytes, over %d / %d", n, b, cacheEntries, cacheBytes)
	}
	// Still correct after evictions.
	if got, _ := Render("{{ a }}!", map[string]any{"a": "b"}); got != "b!" {
		t.Errorf("after evictions: %q", got)
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"hi {{ trigger.user | upper }}", "{{ a.0.b | default:\"x\" | truncate:3 }}", "{{", "}}{{}}", "{{ a | join:\"|\" }}", `{{ a | default:"\"" }}`, "{{ nodes.n1.items | first | json }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		out, missing := Render(tmpl, testScope())
		if len(out) > MaxTemplateOutput {
			t.Fatalf("output of %d bytes", len(out))
		}
		_, err := TemplatePaths(tmpl)
		if err == nil && len(tmpl) <= MaxTemplate && !strings.Contains(tmpl, "{{") && (out != tmpl || len(missing) > 0) {
			t.Fatalf("text without expressions changed: %q -> %q", tmpl, out)
		}
		RenderValue(tmpl, testScope())
	})
}

func FuzzTemplatePaths(f *testing.F) {
	for _, s := range []string{"{{ a.b }}", "{{ a | uper }}", "{{ a | truncate:1e9 }}", "{{ 'x' }}", "{{ a | default:'}}' }} {{ b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		paths, err := TemplatePaths(tmpl)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, p := range paths {
			if p == "" || strings.Contains(p, "..") {
				t.Fatalf("path %q from %q", p, tmpl)
			}
		}
		// A template that parses renders every part: nothing is listed
		// missing when each path is present as text.
		if _, missing := Render(tmpl, nil); len(missing) != len(paths) {
			t.Fatalf("%q: %d paths but %d missing %q", tmpl, len(paths), len(missing), missing)
		}
	})
}

func TestRenderOddValues(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	scope := map[string]any{"c": cyclic, "f": func() {}, "n": (*VarWrite)(nil), "big": 1e21, "neg": -3.0, "small": 0.000001}
	got, missing := Render("[{{ c }}][{{ f }}][{{ n }}][{{ n.name }}][{{ big }}][{{ neg }}][{{ small }}]", scope)
	if got != "[][][][][1000000000000000000000][-3][0.000001]" || !reflect.DeepEqual(missing, []string{"n.name"}) {
		t.Errorf("got %q, missing %q", got, missing)
	}
}

func BenchmarkRender(b *testing.B) {
	scope := testScope()
	tmpl := `Thanks {{ trigger.user | upper }} for the raid of {{ trigger.viewers }}! Tags: {{ trigger.tags | join:", " }} {{ nodes.n1.items.0.name | default:"none" }}`
	for b.Loop() {
		Render(tmpl, scope)
	}
}
