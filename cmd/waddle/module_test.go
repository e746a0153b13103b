package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleValidateGoodManifest(t *testing.T) {
	t.Parallel()
	out := mustRunWaddle(t, nil, "module", "validate", filepath.Join("testdata", "manifest.json"))
	for _, want := range []string{"ok: trivia-night 1.0.0 (Trivia Night)", "commands: trivia, answer", "capabilities: chat, points:write, overlay", "price: monthly 2.99 USD"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestModuleValidateListsEveryError(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.NewReplacer(`"slug": "trivia-night"`, `"slug": "Trivia Night"`, `"version": "1.0.0"`, `"version": "1.0"`,
		`"permission": "moderator"`, `"permission": "king"`).Replace(string(raw))
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runWaddle(t, nil, "module", "validate", path)
	if err == nil {
		t.Fatalf("a bad manifest passed:\n%s", out)
	}
	for _, want := range []string{"slug: ", "version: ", "commands[0].permission: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ok") {
		t.Errorf("output says ok:\n%s", out)
	}
}

func TestModuleValidateBadUse(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"module"}, {"module", "check", "x"}, {"module", "validate"}, {"module", "validate", "a", "b"},
		{"module", "validate", filepath.Join(t.TempDir(), "missing.json")}} {
		if out, err := runWaddle(t, nil, args...); err == nil {
			t.Errorf("%v succeeded: %s", args, out)
		}
	}
}
