package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/workflow"
)

// TestWorkflowRunsBrowser drives a workflow's test run in headless
// Chromium: a bad payload is refused next to the field, a good one shows
// each node's status live, and the run's page shows the trace and the
// canvas coloured by status, with no console errors.
func TestWorkflowRunsBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, h.vars)
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(t.Context(), ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := workflow.ParseDefinition([]byte(`{"nodes": [
	 {"id": "hook", "type": "trigger_webhook", "label": "Shop hook", "position": {"x": 40, "y": 40}, "config": {"mode": "async", "timeout_seconds": 5}},
	 {"id": "a", "type": "flow_noop", "label": "Pass on", "position": {"x": 260, "y": 40}},
	 {"id": "each", "type": "loop_foreach", "label": "Each item", "position": {"x": 480, "y": 40}, "config": {"concurrency": 1, "max_items": 10}}],
	 "connections": [{"from": "hook", "from_port": "out", "to": "a", "to_port": "in"},
	  {"from": "a", "from_port": "out", "to": "each", "to_port": "in"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool, Jobs: a.jobs})
	w, _, err := flows.Create(t.Context(), c.ID, audit.Actor{UserID: ada.ID, Email: email}, workflow.Input{Name: "Shop orders", Definition: d})
	if err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: h.base}
	defer func() {
		for _, e := range console.all() {
			t.Logf("browser console: %s", e)
		}
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()

	b.open("/signin")
	b.signIn(email, password)
	b.wantPath("/")
	b.open(fmt.Sprintf("/c/%d/workflows/%d/runs", c.ID, w.ID))
	b.wantText(chromedp.CSS("main h1"), "Runs of Shop orders")
	b.wantText(tid("runs-empty"), "No runs match")
	b.js(`window.__marker = 1; true`) // a page load would lose it

	b.do("send a payload that is not JSON", fill(tid("test-payload"), `{"x": `), chromedp.Click(tid("test-run-submit")))
	b.waitFor("wait for the field's error", `!!document.querySelector('[data-testid="test-run"] [data-testid="form-error"][data-field="payload"]')`)
	b.wantText(chromedp.CSS(`[data-testid="test-run"] [data-testid="form-error"]`), "not valid JSON")

	b.do("run the test", fill(tid("test-payload"), `{"x": 1, "who": "ada"}`), chromedp.Click(tid("test-run-submit")))
	b.waitFor("wait for the end of the run", `!!document.querySelector('[data-testid="test-run-result"]')`)
	nodes := `Array.from(document.querySelectorAll('[data-testid="test-node"]')).map(e => e.dataset.node + ":" + e.dataset.status).join(",")`
	if !b.js(nodes + ` === "hook:succeeded,a:succeeded,each:failed"`) {
		got := run1(b, "read the nodes", chromedp.Evaluate[string](nodes))
		t.Errorf("live nodes %q, want hook:succeeded,a:succeeded,each:failed", got)
	}
	b.wantText(tid("test-run-result"), "Failed")
	b.wantText(tid("test-run-error"), "not an array")
	if b.js(`document.querySelector('[data-testid="test-run"] [data-testid="form-error"]') !== null`) {
		t.Error("the payload's error is still shown after a good payload")
	}
	if !b.js(`window.__marker === 1`) {
		t.Error("the test run reloaded the page")
	}

	b.submit("open the run's page", tid("test-run-link"))
	b.wantText(tid("run-status"), "Failed")
	b.wantText(tid("run-failed-node"), "Each item")
	if !b.js(`document.querySelectorAll('[data-testid="trace-row"]').length === 3`) {
		t.Error("the trace does not have 3 rows")
	}
	canvas := `Array.from(document.querySelectorAll('[data-testid="canvas-node"]')).map(e => e.dataset.node + ":" + e.dataset.status).join(",")`
	if !b.js(canvas + ` === "hook:succeeded,a:succeeded,each:failed"`) {
		got := run1(b, "read the canvas", chromedp.Evaluate[string](canvas))
		t.Errorf("canvas %q", got)
	}
	// The trace's JSON opens on demand.
	b.do("open the hook's output", chromedp.Click(chromedp.CSS(`[data-testid="trace-row"][data-node="hook"] [data-testid="trace-output"] summary`)))
	b.wantText(chromedp.CSS(`[data-testid="trace-row"][data-node="hook"] [data-testid="trace-output"] code`), `"who": "ada"`)

	// The community's runs list it.
	b.open(fmt.Sprintf("/c/%d/runs", c.ID))
	b.wantText(tid("run-row-status"), "Failed")
	b.wantText(tid("run-row-workflow"), "Shop orders")
}
