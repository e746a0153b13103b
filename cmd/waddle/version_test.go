package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersionDefaults(t *testing.T) {
	t.Parallel()
	out := mustRunWaddle(t, nil, "version")
	// A test binary gets no ldflags: the defaults show, and the line names
	// the Go that built it.
	if !strings.HasPrefix(out, "waddle dev (commit ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version printed %q, want waddle dev (commit …, built …, %s)", out, runtime.Version())
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("version printed %d lines, want one: %q", strings.Count(out, "\n"), out)
	}
	if _, err := runWaddle(t, nil, "version", "extra"); err == nil || !strings.Contains(err.Error(), "no arguments") {
		t.Errorf("version with an argument: %v, want a usage error", err)
	}
}

// TestVersionLdflags builds waddle the way the image builder does (same
// flags, so the two share the build cache) and runs `waddle version`: what
// -X sets is what it prints.
func TestVersionLdflags(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "waddle")
	ldflags := "-X main.version=v9.8.7-test -X main.commit=0123456789abcdef -X main.buildTime=2026-01-02T03:04:05Z"
	build := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-tags", "timetzdata", "-ldflags", ldflags, "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("waddle version: %v\n%s", err, out)
	}
	want := "waddle v9.8.7-test (commit 0123456789abcdef, built 2026-01-02T03:04:05Z, go"
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("waddle version printed %q, want it to start %q", out, want)
	}
}
