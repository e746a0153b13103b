package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	imagebuild "github.com/waddle/waddle/deploy/image/build"
)

// instruction is one Dockerfile line: the keyword and the rest, with
// continuation lines joined.
type instruction struct {
	cmd, args string
}

func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var cur string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur += rest + " "
			continue
		}
		cur += line
		cmd, args, _ := strings.Cut(cur, " ")
		cur = ""
		in := instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", path, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// finalOnly returns the args of the stage's only instruction cmd.
func finalOnly(t *testing.T, stage []instruction, cmd string) string {
	t.Helper()
	var found []string
	for _, in := range stage {
		if in.cmd == cmd {
			found = append(found, in.args)
		}
	}
	if len(found) != 1 {
		t.Fatalf("final stage has %d %s instructions, want 1", len(found), cmd)
	}
	return found[0]
}

func jsonArray(t *testing.T, s string) []string {
	t.Helper()
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatalf("%q is not an exec-form JSON array: %v", s, err)
	}
	return a
}

// TestDockerfileMatchesBuilder: the Dockerfile makes the image `make image`
// makes: the builder's files (it runs the builder with -rootfs rather than
// a go build of its own, so flags cannot drift), from scratch, with the
// same user, entrypoint, command, environment, port, health check and labels.
func TestDockerfileMatchesBuilder(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t, "../Dockerfile")
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and the final one", len(stages))
	}
	build, final := stages[0], stages[1]

	var runsBuilder bool
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			t.Errorf("build stage runs its own %q: use go run ./deploy/image -rootfs so the flags are the builder's", in.args)
		}
		if in.cmd == "RUN" && strings.HasPrefix(in.args, "go run ./deploy/image -rootfs /rootfs ") {
			runsBuilder = true
			for _, flag := range []string{`-arch "$TARGETARCH"`, `-version "$VERSION"`, `-commit "$COMMIT"`} {
				if !strings.Contains(in.args, flag) {
					t.Errorf("builder run %q lacks %s", in.args, flag)
				}
			}
		}
	}
	if !runsBuilder {
		t.Error("build stage does not run go run ./deploy/image -rootfs /rootfs")
	}

	if from := finalOnly(t, final, "FROM"); from != "scratch" {
		t.Errorf("final stage FROM %s, want scratch (no shell, no packages)", from)
	}
	if cp := finalOnly(t, final, "COPY"); cp != "--from=build /rootfs/ /" {
		t.Errorf("final stage COPY %s, want only the builder's files", cp)
	}
	if u := finalOnly(t, final, "USER"); u != imagebuild.User {
		t.Errorf("USER %s, want %s", u, imagebuild.User)
	}
	if e := jsonArray(t, finalOnly(t, final, "ENTRYPOINT")); !slices.Equal(e, imagebuild.Entrypoint) {
		t.Errorf("ENTRYPOINT %q, want %q", e, imagebuild.Entrypoint)
	}
	if c := jsonArray(t, finalOnly(t, final, "CMD")); !slices.Equal(c, imagebuild.Cmd) {
		t.Errorf("CMD %q, want %q", c, imagebuild.Cmd)
	}
	if env := strings.Fields(finalOnly(t, final, "ENV")); !slices.Equal(env, imagebuild.Env) {
		t.Errorf("ENV %q, want %q", env, imagebuild.Env)
	}
	if p := finalOnly(t, final, "EXPOSE"); p != imagebuild.ExposedPort {
		t.Errorf("EXPOSE %s, want %s", p, imagebuild.ExposedPort)
	}

	hc := imagebuild.HealthConfig
	wantHealth := fmt.Sprintf("--interval=%s --timeout=%s --start-period=%s --retries=%d CMD %s",
		dockerDuration(hc.Interval), dockerDuration(hc.Timeout), dockerDuration(hc.StartPeriod), hc.Retries,
		mustJSON(t, hc.Test[1:]))
	if h := finalOnly(t, final, "HEALTHCHECK"); h != wantHealth {
		t.Errorf("HEALTHCHECK %s, want %s", h, wantHealth)
	}

	labels := map[string]string{}
	for _, kv := range splitLabels(finalOnly(t, final, "LABEL")) {
		k, v, _ := strings.Cut(kv, "=")
		labels[k] = strings.Trim(v, `"`)
	}
	want := imagebuild.Labels(imagebuild.Options{Version: "${VERSION}", Commit: "${COMMIT}",
		Source: imagebuild.DefaultSource, License: "NOASSERTION"})
	want["org.opencontainers.image.created"] = "${CREATED}"
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("LABEL (-builder +Dockerfile):\n%s", diff)
	}
}

// splitLabels splits `k="v w" k2="x"` at the spaces outside quotes.
func splitLabels(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func dockerDuration(d time.Duration) string { return fmt.Sprintf("%ds", int(d/time.Second)) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), `","`, `", "`)
}
