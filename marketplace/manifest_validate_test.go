package marketplace_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/waddle/waddle/marketplace"
)

// goodManifest is a valid webhook module; each bad case changes one thing.
func goodManifest() map[string]any {
	return map[string]any{
		"slug": "trivia-night", "name": "Trivia Night", "summary": "Quiz your chat.",
		"description": "# Trivia\nAsk questions.", "homepage": "https://example.com/trivia",
		"category": []any{"Games", "Chat games"}, "labels": []any{"quiz", "fun"},
		"price":    map[string]any{"kind": "free"},
		"version":  "1.2.0",
		"commands": []any{map[string]any{"name": "trivia", "aliases": []any{"quiz"}, "usage": "[start|stop]", "permission": "moderator", "user_cooldown_seconds": 5, "platforms": []any{"twitch", "discord"}}, map[string]any{"name": "answer"}},
		"events":   []any{"follow"},
		"executor": map[string]any{"kind": "webhook", "url": "https://trivia.example.com/hook", "timeout_ms": 2000},
		"config": map[string]any{"type": "object", "properties": map[string]any{
			"rounds":  map[string]any{"type": "number", "minimum": 1, "maximum": 20},
			"api_key": map[string]any{"type": "secret"}}, "required": []any{"api_key"}},
		"capabilities": []any{"chat", "points:write"},
		"changelog":    "First release.",
	}
}

func encode(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseManifestAcceptsAGoodOne(t *testing.T) {
	m, errs := marketplace.ParseManifest(encode(t, goodManifest()))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if m.Slug != "trivia-night" || len(m.Commands) != 2 || m.Commands[0].Aliases[0] != "quiz" || m.Executor.TimeoutMS != 2000 {
		t.Errorf("decoded %+v", m)
	}
}

func TestParseManifestNamesEachBadPath(t *testing.T) {
	set := func(path string, v any) func(map[string]any) {
		return func(m map[string]any) {
			parts := strings.Split(path, ".")
			cur := m
			for _, p := range parts[:len(parts)-1] {
				if i := strings.Index(p, "["); i >= 0 {
					cur = cur[p[:i]].([]any)[int(p[i+1]-'0')].(map[string]any)
					continue
				}
				cur = cur[p].(map[string]any)
			}
			if v == nil {
				delete(cur, parts[len(parts)-1])
				return
			}
			cur[parts[len(parts)-1]] = v
		}
	}
	cmd := func(fields map[string]any) []any { return []any{fields} }
	cases := []struct {
		name   string
		change func(map[string]any)
		path   string
	}{
		{"unknown top field", set("colour", "red"), "colour"},
		{"unknown nested field", set("commands[0].colour", "red"), "commands[0].colour"},
		{"unknown executor field", set("executor.secret", "x"), "executor.secret"},
		{"slug with capitals", set("slug", "Trivia"), "slug"},
		{"slug too short", set("slug", "t"), "slug"},
		{"slug starting with hyphen", set("slug", "-trivia"), "slug"},
		{"slug of wrong type", set("slug", 5), "slug"},
		{"name missing", set("name", nil), "name"},
		{"name too long", set("name", strings.Repeat("n", 101)), "name"},
		{"summary too long", set("summary", strings.Repeat("s", 201)), "summary"},
		{"description too long", set("description", strings.Repeat("d", 20001)), "description"},
		{"homepage over http", set("homepage", "http://example.com"), "homepage"},
		{"homepage not a url", set("homepage", "example"), "homepage"},
		{"category too deep", set("category", []any{"a", "b", "c", "d"}), "category"},
		{"category level empty", set("category", []any{"Games", ""}), "category[1]"},
		{"category level too long", set("category", []any{strings.Repeat("g", 41)}), "category[0]"},
		{"too many labels", set("labels", []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}), "labels"},
		{"label with a space", set("labels", []any{"fun", "two words"}), "labels[1]"},
		{"label in capitals", set("labels", []any{"Fun"}), "labels[0]"},
		{"label twice", set("labels", []any{"fun", "fun"}), "labels[1]"},
		{"price kind unknown", set("price.kind", "weekly"), "price.kind"},
		{"price kind missing", set("price.kind", nil), "price.kind"},
		{"free with cents", set("price.cents", 100), "price.cents"},
		{"paid without cents", set("price", map[string]any{"kind": "monthly"}), "price.cents"},
		{"paid negative", set("price", map[string]any{"kind": "one_time", "cents": -5}), "price.cents"},
		{"cents fractional", set("price", map[string]any{"kind": "one_time", "cents": 1.5}), "price.cents"},
		{"currency bad", set("price", map[string]any{"kind": "one_time", "cents": 500, "currency": "EURO"}), "price.currency"},
		{"version missing", set("version", nil), "version"},
		{"version two parts", set("version", "1.2"), "version"},
		{"version with v", set("version", "v1.2.0"), "version"},
		{"version with metadata", set("version", "1.2.0+build5"), "version"},
		{"version leading zero", set("version", "01.2.0"), "version"},
		{"no commands", set("commands", []any{}), "commands"},
		{"commands not an array", set("commands", "trivia"), "commands"},
		{"too many commands", func(m map[string]any) {
			var c []any
			for i := range 21 {
				c = append(c, map[string]any{"name": "c" + strings.Repeat("x", i)})
			}
			m["commands"] = c
		}, "commands"},
		{"command name with capitals", set("commands", cmd(map[string]any{"name": "Trivia"})), "commands[0].name"},
		{"command name too long", set("commands", cmd(map[string]any{"name": strings.Repeat("a", 33)})), "commands[0].name"},
		{"command name clashing", set("commands[1].name", "trivia"), "commands[1].name"},
		{"alias clashing with a name", set("commands[1].name", "quiz"), "commands[1].name"},
		{"alias clashing with its own command", set("commands[0].aliases", []any{"trivia"}), "commands[0].aliases[0]"},
		{"alias bad", set("commands[0].aliases", []any{"q z"}), "commands[0].aliases[0]"},
		{"permission unknown", set("commands[0].permission", "king"), "commands[0].permission"},
		{"user cooldown negative", set("commands[0].user_cooldown_seconds", -1), "commands[0].user_cooldown_seconds"},
		{"global cooldown too long", set("commands[0].global_cooldown_seconds", 86401), "commands[0].global_cooldown_seconds"},
		{"platform unknown", set("commands[0].platforms", []any{"twitch", "myspace"}), "commands[0].platforms[1]"},
		{"platform twice", set("commands[0].platforms", []any{"slack", "slack"}), "commands[0].platforms[1]"},
		{"usage too long", set("commands[0].usage", strings.Repeat("u", 201)), "commands[0].usage"},
		{"event unknown", set("events", []any{"follow", "earthquake"}), "events[1]"},
		{"event twice", set("events", []any{"raid", "raid"}), "events[1]"},
		{"executor kind unknown", set("executor.kind", "ftp"), "executor.kind"},
		{"executor kind missing", set("executor", map[string]any{"url": "https://x.example"}), "executor.kind"},
		{"webhook without url", set("executor.url", nil), "executor.url"},
		{"webhook over http", set("executor.url", "http://trivia.example.com/hook"), "executor.url"},
		{"webhook url not http", set("executor.url", "ftp://trivia.example.com/hook"), "executor.url"},
		{"webhook naming a module", set("executor.module", "points"), "executor.module"},
		{"timeout too short", set("executor.timeout_ms", 50), "executor.timeout_ms"},
		{"timeout too long", set("executor.timeout_ms", 30001), "executor.timeout_ms"},
		{"builtin unknown", set("executor", map[string]any{"kind": "builtin", "module": "nosuch"}), "executor.module"},
		{"openwhisk without action", set("executor", map[string]any{"kind": "openwhisk", "url": "https://ow.example.com"}), "executor.action"},
		{"lambda without function", set("executor", map[string]any{"kind": "lambda", "region": "us-east-1"}), "executor.function"},
		{"lambda bad region", set("executor", map[string]any{"kind": "lambda", "function": "f", "region": "mars"}), "executor.region"},
		{"config field bad type", set("config.properties.rounds.type", "date"), "config.properties.rounds.type"},
		{"config required unknown", set("config.required", []any{"nope"}), "config.required[0]"},
		{"capability unknown", set("capabilities", []any{"chat", "teleport"}), "capabilities[1]"},
		{"capability twice", set("capabilities", []any{"dm", "dm"}), "capabilities[1]"},
		{"changelog too long", set("changelog", strings.Repeat("c", 10001)), "changelog"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := goodManifest()
			tc.change(m)
			_, errs := marketplace.ParseManifest(encode(t, m))
			if len(errs) == 0 {
				t.Fatalf("accepted; want an error at %s", tc.path)
			}
			var paths []string
			for _, e := range errs {
				paths = append(paths, e.Path)
				if e.Message == "" {
					t.Errorf("%s has no message", e.Path)
				}
			}
			if len(errs) != 1 || errs[0].Path != tc.path {
				t.Errorf("errors at %v (%v); want exactly %s", paths, errs, tc.path)
			}
		})
	}
}

func TestParseManifestListsEveryError(t *testing.T) {
	m := goodManifest()
	m["slug"] = "Bad Slug"
	m["version"] = "one"
	m["capabilities"] = []any{"teleport"}
	m["commands"].([]any)[1].(map[string]any)["permission"] = "king"
	_, errs := marketplace.ParseManifest(encode(t, m))
	want := map[string]bool{"slug": true, "version": true, "capabilities[0]": true, "commands[1].permission": true}
	for _, e := range errs {
		delete(want, e.Path)
	}
	if len(want) > 0 || len(errs) != 4 {
		t.Errorf("errors %v; missing %v", errs, want)
	}
}

func TestParseManifestRefusesWhatIsNotAManifest(t *testing.T) {
	cases := map[string][]byte{
		"not json":         []byte(`{"slug":`),
		"an array":         []byte(`[1,2]`),
		"two documents":    []byte(`{} {}`),
		"over the limit":   append(append([]byte(`{"description":"`), []byte(strings.Repeat("x", marketplace.MaxManifestBytes))...), '"', '}'),
		"null":             []byte(`null`),
		"a number":         []byte(`12`),
		"nested wrong":     []byte(`{"price": []}`),
		"command not obj":  []byte(`{"commands": [1]}`),
		"empty input":      nil,
		"cooldown as text": []byte(`{"commands": [{"name": "a", "user_cooldown_seconds": "5"}]}`),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			if _, errs := marketplace.ParseManifest(raw); len(errs) == 0 {
				t.Error("accepted")
			}
		})
	}
}

func TestHTTPWebhookOnlyForLoopback(t *testing.T) {
	for url, ok := range map[string]bool{"http://127.0.0.1:8080/hook": true, "http://localhost/hook": true, "http://[::1]/x": true,
		"http://10.0.0.1/hook": false, "http://example.com/hook": false, "https://example.com/hook": true} {
		m := goodManifest()
		m["executor"].(map[string]any)["url"] = url
		_, errs := marketplace.ParseManifest(encode(t, m))
		if (len(errs) == 0) != ok {
			t.Errorf("%s: errors %v, want ok=%v", url, errs, ok)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	good, _ := json.Marshal(goodManifest())
	f.Add(good)
	f.Add([]byte(`{"commands":[{"name":"a","aliases":["a"]}],"config":{"properties":{"x":{"type":"enum","enum":[]}}}}`))
	f.Add([]byte(`{"price":{"kind":"monthly","cents":99999999999999}}`))
	f.Add([]byte(`{"version":"1.0.0-alpha.1+x","executor":{"kind":"lambda","function":"arn:aws:lambda:"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, errs := marketplace.ParseManifest(raw)
		if len(errs) == 0 {
			if again := marketplace.ValidateManifest(&m); len(again) > 0 {
				t.Errorf("parsed cleanly but validation now says %v", again)
			}
		}
	})
}
