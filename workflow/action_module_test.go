package workflow

import (
	"context"
	"strings"
	"testing"

	"github.com/waddle/waddle/problem"
)

func (e *actionEnv) quotes(t *testing.T, communityID int64) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM quotes WHERE community_id = $1", communityID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestModuleRunsOnceThroughTheRouter: the node runs the built-in module as
// chat would, its effect is stored, and the same node run again (as after a
// crash) is answered from the first run instead of adding a second quote.
func TestModuleRunsOnceThroughTheRouter(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	cfg := `{"module":"quote","args":"add Honk is a greeting","as":"bot"}`
	res, _, err := e.run(t, "action_module", "n1", cfg, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	out := outputOf(t, res)
	if out["text"] != "Quote #1 added." {
		t.Fatalf("output %v", out)
	}
	if n := e.quotes(t, e.cid); n != 1 {
		t.Fatalf("%d quotes, want 1", n)
	}
	again, x, err := e.run(t, "action_module", "n1", cfg, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if outputOf(t, again)["text"] != "Quote #1 added." || !hasNote(x, "already run") {
		t.Errorf("repeat: output %v, notes %v", again.Output, x.Notes)
	}
	if n := e.quotes(t, e.cid); n != 1 {
		t.Fatalf("the repeated node added a quote: %d, want 1", n)
	}
	// Another node (or a loop's next execution) is another run of the module.
	if _, _, err := e.run(t, "action_module", "n2", cfg, nil, false); err != nil {
		t.Fatal(err)
	}
	if n := e.quotes(t, e.cid); n != 2 {
		t.Errorf("%d quotes after a second node, want 2", n)
	}
	if n := e.quotes(t, e.other); n != 0 {
		t.Errorf("the other community has %d quotes", n)
	}
	// The execution log shows who ran it.
	var user string
	if err := e.pool.QueryRow(context.Background(), "SELECT user_id FROM command_executions WHERE community_id = $1 AND command = 'quote' LIMIT 1", e.cid).Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != "workflow" {
		t.Errorf("execution logged as %q", user)
	}
}

// TestModuleAsTheTriggerUser: run as the chat user who triggered the run, the
// module applies that user's permission.
func TestModuleAsTheTriggerUser(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	res, _, err := e.run(t, "action_module", "n1", `{"module":"quote","args":"add from ann","as":"trigger"}`, chatTriggerScope(), false)
	if err != nil {
		t.Fatal(err)
	}
	if text := outputOf(t, res)["text"].(string); !strings.Contains(text, "only a moderator") {
		t.Errorf("a viewer adding a quote: %q, want refused", text)
	}
	if n := e.quotes(t, e.cid); n != 0 {
		t.Errorf("%d quotes", n)
	}
	// A module above the user's level is refused before it runs.
	_, _, err = e.run(t, "action_module", "n2", `{"module":"give","args":"ann 5","as":"trigger"}`, chatTriggerScope(), false)
	if p := problem.As(err); p == nil || p.Code != problem.Forbidden {
		t.Errorf("give as a viewer: %v, want forbidden", err)
	}
	// A moderator may.
	scope := chatTriggerScope()
	scope["trigger"].(map[string]any)["user_roles"] = []any{"moderator"}
	if _, _, err := e.run(t, "action_module", "n3", `{"module":"quote","args":"add from a mod","as":"trigger"}`, scope, false); err != nil {
		t.Fatal(err)
	}
	if n := e.quotes(t, e.cid); n != 1 {
		t.Errorf("%d quotes after a moderator's, want 1", n)
	}
	// Without a chat user there is no one to run it as.
	if _, _, err := e.run(t, "action_module", "n4", `{"module":"points","as":"trigger"}`, nil, false); err == nil || !strings.HasPrefix(err.Error(), "as:") {
		t.Errorf("as trigger without a user: %v", err)
	}
}

func TestModuleUnknownModule(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	for _, name := range []string{"nosuch", "#nosuch"} {
		_, _, err := e.run(t, "action_module", "n1", `{"module":"`+name+`","as":"bot"}`, nil, false)
		if p := problem.As(err); p == nil || p.Field != "module" || !strings.Contains(err.Error(), "nosuch") {
			t.Errorf("%s: %v, want an error on module naming it", name, err)
		}
	}
}

func TestModuleDryRunStoresNothing(t *testing.T) {
	t.Parallel()
	e := newActionEnv(t)
	res, _, err := e.run(t, "action_module", "n1", `{"module":"quote","args":"add not really","as":"bot"}`, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	out := outputOf(t, res)
	if out["text"] != "Quote added." || len(out["changes"].([]string)) == 0 {
		t.Errorf("output %v", out)
	}
	if n := e.quotes(t, e.cid); n != 0 {
		t.Errorf("a dry run added %d quotes", n)
	}
}

func TestModuleBadConfig(t *testing.T) {
	t.Parallel()
	testBadConfigs(t, "action_module", []badConfig{
		{"no module", `{"as":"bot"}`, "module"},
		{"bad name", `{"module":"Quote!","as":"bot"}`, "module"},
		{"bad remote name", `{"module":"#","as":"bot"}`, "module"},
		{"unknown as", `{"module":"quote","as":"admin"}`, "as"},
		{"args too long", `{"module":"quote","as":"bot","args":"` + strings.Repeat("a", 1001) + `"}`, "args"},
	})
	if issues := checkIssues(t, "action_module", `{"module":"#shout","args":"hi"}`); len(issues) != 0 {
		t.Errorf("a good configuration: %v", issues)
	}
}
