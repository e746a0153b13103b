package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// transformInput is a raid as the trigger gives it, decoded from JSON.
func transformInput(t testing.TB) (any, map[string]any) {
	t.Helper()
	var in any
	if err := json.Unmarshal([]byte(`{"user":"ada","viewers":25,"tags":["a","b"],"meta":{"first":true}}`), &in); err != nil {
		t.Fatal(err)
	}
	scope := map[string]any{
		"trigger": map[string]any{"platform": "twitch", "channel": "ducks"},
		"input":   in,
		"vars":    map[string]any{"greeting": "Thanks"},
		"nodes":   map[string]any{"n1": map[string]any{"output": []any{1.0, 2.0}}},
	}
	return in, scope
}

func checkTransform(cfg *TransformConfig) []Issue {
	c := &Checker{node: "t1"}
	cfg.Check(c)
	return c.errors
}

func TestTransformEachLanguage(t *testing.T) {
	want := map[string]any{
		"who":      "ada",
		"big":      true,
		"count":    26.0,
		"tags":     []any{"A", "B"},
		"text":     "Thanks ada on ducks",
		"previous": 2.0,
	}
	cases := []struct {
		name, language, code string
	}{
		{"jq", LanguageJQ, `{who: .user, big: (.viewers > 20), count: (.viewers + 1), tags: [.tags[] | ascii_upcase],
  text: "\($vars.greeting) \(.user) on \($trigger.channel)", previous: $nodes.n1.output[1]}`},
		{"javascript", LanguageJavaScript, `
const tags = input.tags.map(t => t.toUpperCase());
input.viewers += 1; // changes the run's copy only
return {who: input.user, big: input.viewers > 20, count: input.viewers, tags,
  text: vars.greeting + " " + input.user + " on " + trigger.channel, previous: nodes.n1.output[1], skipped: undefined};`},
		{"starlark", LanguageStarlark, `
def upper(xs):
    return [x.upper() for x in xs]

result = {
    "who": input["user"],
    "big": input["viewers"] > 20,
    "count": input["viewers"] + 1,
    "tags": upper(input["tags"]),
    "text": "%s %s on %s" % (vars["greeting"], input["user"], trigger["channel"]),
    "previous": nodes["n1"]["output"][1],
}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in, scope := transformInput(t)
			cfg := &TransformConfig{Language: tc.language, Code: tc.code, TimeoutMS: 1000}
			if errs := checkTransform(cfg); len(errs) > 0 {
				t.Fatalf("Check: %v", errs)
			}
			k, _ := KindOf("data_transform")
			x := &Exec{Input: in, Scope: scope}
			res, err := k.Run(context.Background(), x, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(want, res.Output); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if v := in.(map[string]any)["viewers"]; v != 25.0 {
				t.Errorf("the input was changed: viewers = %v", v)
			}
		})
	}
}

func TestTransformKind(t *testing.T) {
	k, ok := KindOf("data_transform")
	if !ok {
		t.Fatal("data_transform is not registered")
	}
	if k.Category != CategoryData || k.Effect || k.Title != "Transform" || k.Summary == "" {
		t.Errorf("kind = %+v", k)
	}
	cfg, err := DecodeConfig(k, json.RawMessage(`{"language":"jq","code":"."}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.(*TransformConfig).TimeoutMS; got != 1000 {
		t.Errorf("default timeout_ms = %d, want 1000", got)
	}
	if _, err := DecodeConfig(k, json.RawMessage(`{"language":"jq","code":".","memory":1}`)); err == nil {
		t.Error("an unknown field was accepted")
	}
}

func TestTransformCheck(t *testing.T) {
	cases := []struct {
		name      string
		cfg       TransformConfig
		wantField string
		wantText  string
	}{
		{"unknown language", TransformConfig{Language: "python", Code: "x", TimeoutMS: 1000}, "language", "jq, javascript, starlark"},
		{"no language", TransformConfig{Code: ".", TimeoutMS: 1000}, "language", "one of"},
		{"empty code", TransformConfig{Language: "jq", Code: "  \n", TimeoutMS: 1000}, "code", "required"},
		{"too long", TransformConfig{Language: "jq", Code: strings.Repeat(" ", MaxTransformCode) + ".", TimeoutMS: 1000}, "code", "16384 bytes"},
		{"timeout too short", TransformConfig{Language: "jq", Code: ".", TimeoutMS: 5}, "timeout_ms", "from 10 to 10000"},
		{"timeout too long", TransformConfig{Language: "jq", Code: ".", TimeoutMS: 10001}, "timeout_ms", "from 10 to 10000"},
		{"jq syntax", TransformConfig{Language: "jq", Code: "{a: .b,\n  c: (.d | }", TimeoutMS: 1000}, "code", "line 2"},
		{"jq unknown function", TransformConfig{Language: "jq", Code: "frobnicate(1)", TimeoutMS: 1000}, "code", "frobnicate"},
		{"jq input", TransformConfig{Language: "jq", Code: "input", TimeoutMS: 1000}, "code", "input"},
		{"jq inputs", TransformConfig{Language: "jq", Code: "[inputs]", TimeoutMS: 1000}, "code", "input"},
		{"jq import", TransformConfig{Language: "jq", Code: `import "a" as a; .`, TimeoutMS: 1000}, "code", "does not compile"},
		{"jq unknown variable", TransformConfig{Language: "jq", Code: "$secret", TimeoutMS: 1000}, "code", "$secret"},
		{"javascript syntax", TransformConfig{Language: "javascript", Code: "const a = 1;\nconst b = ;\nreturn a", TimeoutMS: 1000}, "code", "line 2"},
		{"starlark syntax", TransformConfig{Language: "starlark", Code: "a = 1\nb = (\n", TimeoutMS: 1000}, "code", "line 3"},
		{"starlark undefined", TransformConfig{Language: "starlark", Code: "a = 1\nresult = b", TimeoutMS: 1000}, "code", "line 2: undefined: b"},
		{"starlark load", TransformConfig{Language: "starlark", Code: "load('os.star', 'system')\nresult = 1", TimeoutMS: 1000}, "code", "load is not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := checkTransform(&tc.cfg)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one on %s", errs, tc.wantField)
			}
			if errs[0].Field != tc.wantField || errs[0].Node != "t1" || !strings.Contains(errs[0].Message, tc.wantText) {
				t.Errorf("error = %+v, want field %s saying %q", errs[0], tc.wantField, tc.wantText)
			}
		})
	}
	for _, lang := range Languages {
		code := map[string]string{LanguageJQ: ".", LanguageJavaScript: "return input", LanguageStarlark: "result = input"}[lang]
		if errs := checkTransform(&TransformConfig{Language: lang, Code: code, TimeoutMS: 10}); len(errs) > 0 {
			t.Errorf("%s: a good configuration has errors: %v", lang, errs)
		}
	}
}

// TestTransformLimits runs code that never ends, or makes too much, in each
// language: each is stopped within its limit and says why.
func TestTransformLimits(t *testing.T) {
	const limit = 200 * time.Millisecond
	cases := []struct {
		name, language, code string
		timeout              time.Duration
		want                 string
	}{
		{"javascript loop", LanguageJavaScript, "while (true) {}", limit, "timed out after 200 ms"},
		{"javascript recursion", LanguageJavaScript, "function f() { return f() + 1 }\nreturn f()", limit, "JavaScript error at line 1: RangeError"},
		{"starlark loop", LanguageStarlark, "def f():\n  while True: pass\nf()", 10 * time.Second, "exceeded 10000000 steps"},
		{"starlark loop timed", LanguageStarlark, "def f():\n  while True: sorted(list(range(1000)), reverse=True)\nf()", limit, "timed out after 200 ms"},
		{"starlark recursion", LanguageStarlark, "def f(): return f()\nresult = f()", 10 * time.Second, "starlark error at line 1: Starlark stack overflow"},
		{"jq recursion", LanguageJQ, "def f: f; f", limit, "timed out after 200 ms"},
		{"jq repeat", LanguageJQ, "last(repeat(1))", limit, "timed out after 200 ms"},
		{"jq range", LanguageJQ, "[range(1e12)]", limit, "timed out after 200 ms"},
		{"jq outputs", LanguageJQ, "range(1001)", limit, "more than 1000 outputs"},
		{"javascript huge string", LanguageJavaScript, "return 'x'.repeat(2e6)", time.Second, "the transform's output is over 2000002 bytes, more than the 1 MiB limit"},
		{"javascript huge repeat", LanguageJavaScript, "return 'xy'.repeat(1e9)", time.Second, "RangeError: String.prototype.repeat would make 2000000000 characters"},
		{"javascript shared", LanguageJavaScript, "let a = ['x'.repeat(1000)]\nfor (let i = 0; i < 100; i++) a = [a, a]\nreturn a", time.Second, "more than the 1 MiB limit"},
		{"jq huge array", LanguageJQ, "[range(1e6)]", 10 * time.Second, "more than the 1 MiB limit"},
		{"jq shared", LanguageJQ, "reduce range(100) as $i ([\"x\" * 1000]; [., .])", time.Second, "more than the 1 MiB limit"},
		{"starlark huge", LanguageStarlark, "result = 'x' * 2000000", time.Second, "the transform's output is over 2000002 bytes, more than the 1 MiB limit"},
		{"starlark shared", LanguageStarlark, "a = ['x' * 1000]\nfor i in range(100):\n  a = [a, a]\nresult = a", time.Second, "more than the 1 MiB limit"},
		{"starlark cycle", LanguageStarlark, "a = []\na.append(a)\nresult = a", time.Second, "nests deeper than 1000 levels"},
		{"javascript cycle", LanguageJavaScript, "const a = {}\na.self = a\nreturn a", time.Second, "nests deeper than 1000 levels"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, err := Transform(context.Background(), tc.language, tc.code, nil, nil, tc.timeout)
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (output %.100v), want %q", err, out, tc.want)
			}
			if took > 5*tc.timeout {
				t.Errorf("took %v, more than 5× the %v limit", took, tc.timeout)
			}
		})
	}
}

func TestTransformStoppedByCaller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Transform(ctx, LanguageJavaScript, "while (true) {}", nil, nil, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "the transform was stopped: context canceled") {
		t.Fatalf("err = %v", err)
	}
}

func TestTransformNoIO(t *testing.T) {
	cases := []struct {
		name, language, code string
		want                 any // the result, or the error text
	}{
		{"javascript require", LanguageJavaScript, "return typeof require + ' ' + typeof process + ' ' + typeof fetch + ' ' + typeof setTimeout", "undefined undefined undefined undefined"},
		{"javascript calls require", LanguageJavaScript, "const a = 1\nconst b = 2\nreturn require('fs')", "JavaScript error at line 3: ReferenceError: require is not defined"},
		{"javascript globals do not leak", LanguageJavaScript, "return typeof leaked", "undefined"},
		{"jq env", LanguageJQ, "[$ENV, env]", []any{map[string]any{}, map[string]any{}}},
		{"starlark load", LanguageStarlark, "load('x.star', 'y')\nresult = y", "load is not available"},
		{"starlark open", LanguageStarlark, "result = open('/etc/passwd')", "undefined: open"},
	}
	// A run that leaves a global and changes a prototype: the next run must
	// not see either.
	if _, err := Transform(context.Background(), LanguageJavaScript, "leaked = 1; Object.prototype.evil = 1; return null", nil, nil, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Transform(context.Background(), tc.language, tc.code, nil, nil, time.Second)
			if s, ok := tc.want.(string); ok && err != nil {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("err = %v, want %q", err, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTransformResults(t *testing.T) {
	cases := []struct {
		name, language, code string
		input                any
		want                 any
	}{
		{"jq several outputs", LanguageJQ, ".[] | . * 2", []any{1.0, 2.0}, []any{2.0, 4.0}},
		{"jq no output", LanguageJQ, "empty", 1.0, nil},
		{"jq halt", LanguageJQ, "1, halt", nil, 1.0},
		{"jq nan", LanguageJQ, "[nan, infinite]", nil, []any{nil, 1.7976931348623157e308}},
		{"jq big number", LanguageJQ, "100000000000000000000 + 1", nil, 1e20},
		{"javascript no return", LanguageJavaScript, "input.x = 1", map[string]any{}, nil},
		{"javascript date and function", LanguageJavaScript, "return [new Date(0), function () {}, NaN, {f() {}, u: undefined, n: null}]", nil,
			[]any{"1970-01-01T00:00:00.000Z", nil, nil, map[string]any{"n": nil}}},
		{"javascript string builtins", LanguageJavaScript, "return ['ab'.repeat(3), '5'.padStart(3, '0'), 'x'.padEnd(2) + '|', 'q'.repeat()]", nil,
			[]any{"ababab", "005", "x |", ""}},
		{"javascript sparse", LanguageJavaScript, "const a = []; a[2] = 1; return a", nil, []any{nil, nil, 1.0}},
		{"starlark types", LanguageStarlark, "result = [None, True, 1.5, input * 2, (1, 2), {'a': 'b'}, 1000000 * 1000000 * 1000000 * 1000000 * 1000000]", 3.0,
			[]any{nil, true, 1.5, 6.0, []any{1.0, 2.0}, map[string]any{"a": "b"}, 1e30}},
		{"starlark whole number is int", LanguageStarlark, "result = ['a', 'b', 'c'][input]", 1.0, "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Transform(context.Background(), tc.language, tc.code, tc.input, nil, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTransformErrors(t *testing.T) {
	cases := []struct {
		name, language, code, want string
	}{
		{"javascript throw", LanguageJavaScript, "\n\nthrow new TypeError('bad raid')", "JavaScript error at line 3: TypeError: bad raid"},
		{"javascript bigint", LanguageJavaScript, "return 1n", "BigInt"},
		{"jq error", LanguageJQ, `error("bad raid")`, "jq error: bad raid"},
		{"jq type error", LanguageJQ, `.a + 1`, "jq error"},
		{"starlark error", LanguageStarlark, "a = 1\nb = {}\nresult = b['missing']", "starlark error at line 3: key \"missing\" not in dict"},
		{"starlark no result", LanguageStarlark, "a = 1", "sets no global named result"},
		{"starlark non-string key", LanguageStarlark, "result = {1: 2}", "dict key int, which is not a string"},
		{"starlark function", LanguageStarlark, "def f(): pass\nresult = f", "holds a function"},
		{"unknown language", "python", "x", `unknown language "python"`},
		{"does not compile", LanguageJQ, ".[", "the jq code does not compile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Transform(context.Background(), tc.language, tc.code, map[string]any{"a": "x"}, nil, time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTransformNotes(t *testing.T) {
	k, _ := KindOf("data_transform")
	x := &Exec{Input: 1.0, Scope: map[string]any{}}
	cfg := &TransformConfig{Language: LanguageJavaScript, Code: "for (let i = 0; i < 30; i++) console.log('line', i, {a: 1})\nreturn input", TimeoutMS: 1000}
	if _, err := k.Run(context.Background(), x, cfg); err != nil {
		t.Fatal(err)
	}
	if len(x.Notes) != maxTransformNotes+1 || x.Notes[0] != "line 0 [object Object]" || !strings.Contains(x.Notes[maxTransformNotes], "only the first 20") {
		t.Errorf("notes = %q", x.Notes)
	}
	x = &Exec{Input: 1.0, Scope: map[string]any{}}
	cfg = &TransformConfig{Language: LanguageStarlark, Code: "print('hello', input)\nresult = input", TimeoutMS: 1000}
	if _, err := k.Run(context.Background(), x, cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hello 1"}, x.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestTransformInputNotJSONLike(t *testing.T) {
	type raid struct {
		User    string `json:"user"`
		Viewers int64  `json:"viewers"`
	}
	for _, lang := range Languages {
		code := map[string]string{LanguageJQ: ".viewers", LanguageJavaScript: "return input.viewers", LanguageStarlark: "result = input['viewers']"}[lang]
		out, err := Transform(context.Background(), lang, code, raid{"ada", 25}, map[string]any{"vars": map[string]int64{"a": 1}}, time.Second)
		if err != nil || out != 25.0 {
			t.Errorf("%s: %v, %v; want 25", lang, out, err)
		}
	}
	if _, err := Transform(context.Background(), LanguageJQ, ".", func() {}, nil, time.Second); err == nil || !strings.Contains(err.Error(), "the transform's input") {
		t.Errorf("err = %v", err)
	}
}

func TestProgramCache(t *testing.T) {
	c := newProgramCache(2)
	c.put("a", 1)
	c.put("b", 2)
	c.get("a")
	c.put("c", 3) // b is the least recently used
	if _, ok := c.get("b"); ok {
		t.Error("b was kept")
	}
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Error("a was dropped")
	}
	if c.len() != 2 {
		t.Errorf("len = %d", c.len())
	}
	p1, _ := compileTransform(LanguageJQ, ".cache_test")
	p2, _ := compileTransform(LanguageJQ, ".cache_test")
	if p1 == nil || p1 != p2 {
		t.Error("the compiled program was not reused")
	}
}

func TestTransformConcurrent(t *testing.T) {
	done := make(chan error)
	for i := range 8 {
		go func() {
			for j := range 20 {
				for _, lang := range Languages {
					code := map[string]string{LanguageJQ: ".n * 2", LanguageJavaScript: "return input.n * 2", LanguageStarlark: "result = input['n'] * 2"}[lang]
					out, err := Transform(context.Background(), lang, code, map[string]any{"n": float64(i*100 + j)}, nil, time.Second)
					if err == nil && out != float64(2*(i*100+j)) {
						err = fmt.Errorf("%s: got %v", lang, out)
					}
					if err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkTransform(b *testing.B) {
	codes := map[string]string{
		LanguageJQ:         `{who: .user, big: (.viewers > 20), text: "\($vars.greeting) \(.user)"}`,
		LanguageJavaScript: `return {who: input.user, big: input.viewers > 20, text: vars.greeting + " " + input.user}`,
		LanguageStarlark:   `result = {"who": input["user"], "big": input["viewers"] > 20, "text": vars["greeting"] + " " + input["user"]}`,
	}
	for _, lang := range Languages {
		b.Run(lang, func(b *testing.B) {
			in, scope := transformInput(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := Transform(context.Background(), lang, codes[lang], in, scope, time.Second); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func FuzzTransformJQ(f *testing.F) {
	f.Add(".", `{"a":1}`)
	f.Add(`.a | tostring | ascii_downcase`, `{"a":"X"}`)
	f.Add(`[.[] | select(. > 1)]`, `[1,2,3]`)
	f.Add(`def f: f; f`, `null`)
	f.Add(`$__loc__, input_filename, $ENV, now, debug, stderr`, `1`)
	f.Add(`limit(3; repeat(.))`, `"x"`)
	f.Add(`.[`, `{`)
	f.Fuzz(func(t *testing.T, code, input string) {
		var in any
		if json.Unmarshal([]byte(input), &in) != nil {
			in = input
		}
		out, err := Transform(context.Background(), LanguageJQ, code, in, map[string]any{"vars": map[string]any{"k": in}}, 50*time.Millisecond)
		if err != nil {
			return
		}
		if n, err := jsonSize(out); err != nil || n > MaxTransformOutput {
			t.Fatalf("output %d bytes, %v", n, err)
		}
	})
}
