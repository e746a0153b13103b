package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/workflow"
)

// The workflow the builder test places: a trigger and two nodes after it.
// The raid workflow has an action_chat_message and an
// action_browser_source after the trigger; until those node types are on
// main, pass-through nodes stand in for them (change builderSteps only).
var (
	builderTrigger = "trigger_event"
	builderSteps   = []string{"flow_noop", "flow_noop"}
)

// rectCenter is the centre of sel in the viewport, scrolled into view.
func (b *tab) rectCenter(sel string) (float64, float64) {
	b.t.Helper()
	xy := run1(b, "locate "+sel, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) { return []; }
		el.scrollIntoView({block: "nearest", inline: "nearest"});
		const r = el.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})()`, sel)))
	if len(xy) != 2 {
		b.fail("locate "+sel, fmt.Errorf("no element"))
	}
	return xy[0], xy[1]
}

// drag presses the mouse at (x0, y0), moves it in steps and releases it at (x1, y1).
func (b *tab) drag(step string, x0, y0, x1, y1 float64) {
	b.t.Helper()
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(chromedp.MouseMoved, x0, y0),
		chromedp.MouseEvent(chromedp.MousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	}
	for i := 1; i <= 8; i++ {
		f := float64(i) / 8
		acts = append(acts, chromedp.MouseEvent(chromedp.MouseMoved, x0+(x1-x0)*f, y0+(y1-y0)*f, func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }))
	}
	acts = append(acts, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	b.do(step, acts...)
}

func mustDraft(t *testing.T, flows *workflow.Service, cid, id int64) workflow.Definition {
	t.Helper()
	w, err := flows.Get(t.Context(), cid, id)
	if err != nil {
		t.Fatal(err)
	}
	return w.Definition
}

// TestWorkflowBuilderBrowser builds a three-node workflow on the canvas as a
// community manager does: new workflow, drag nodes from the palette, connect
// them by dragging between ports, configure the trigger in the side panel
// (a bad configuration first, shown on the node), undo a deletion, save and
// publish. The pages must cause no console errors.
func TestWorkflowBuilderBrowser(t *testing.T) {
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
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool})

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
	b.open(fmt.Sprintf("/c/%d/workflows", c.ID))
	b.do("name the workflow", fill(tid("workflow-name"), "Thank raiders"))
	b.submit("create it", tid("workflow-create"))
	list, err := flows.List(t.Context(), c.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("workflows: %+v, %v", list, err)
	}
	id := list[0].ID
	b.wantPath(fmt.Sprintf("/c/%d/workflows/%d/edit", c.ID, id))
	b.waitFor("wait for the canvas", `!!window.waddleBuilder && !!document.querySelector(".drawflow")`)

	// Drag the trigger and the steps from the palette onto the canvas.
	panelFor := func(node string) string {
		return fmt.Sprintf(`!!document.querySelector('#wf-panel [data-testid="node-form"][data-node-id=%q]')`, node)
	}
	ids := []string{}
	places := [][2]float64{{0.1, 0.15}, {0.55, 0.1}, {0.55, 0.5}} // fractions of the canvas
	for i, typ := range append([]string{builderTrigger}, builderSteps...) {
		x, y := b.rectCenter(fmt.Sprintf(`[data-testid="palette-%s"] .wf-kind-title`, typ))
		r := run1(b, "measure the canvas", chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector("#wf-canvas").getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`))
		b.drag("drag "+typ+" onto the canvas", x, y, r[0]+r[2]*places[i][0], r[1]+r[3]*places[i][1])
		b.waitFor("wait for node "+typ, fmt.Sprintf(`window.waddleBuilder.definition().nodes.length === %d`, i+1))
		node := run1(b, "read the new node's id", chromedp.Evaluate[string](fmt.Sprintf(`window.waddleBuilder.definition().nodes[%d].id`, i)))
		ids = append(ids, node)
		// A new node is saved with the draft and opens in the side panel.
		b.waitFor("wait for the panel of "+node, panelFor(node))
	}
	trigger := ids[0]
	if got := mustDraft(t, flows, c.ID, id); len(got.Nodes) != 3 {
		t.Fatalf("after placing: the draft has %d nodes, want 3", len(got.Nodes))
	}

	// Connect the trigger's output to each step's input, by dragging.
	for i, to := range ids[1:] {
		x0, y0 := b.rectCenter(fmt.Sprintf(`[data-node-id=%q] .outputs .output`, trigger))
		x1, y1 := b.rectCenter(fmt.Sprintf(`[data-node-id=%q] .inputs .input`, to))
		b.drag("connect "+trigger+" to "+to, x0, y0, x1, y1)
		b.waitFor("wait for the connection to "+to, fmt.Sprintf(`window.waddleBuilder.definition().connections.length === %d`, i+1))
	}
	if !b.js(`document.querySelector('[data-node-id] .output[data-port="out"]') !== null`) {
		t.Error("ports are not labelled with their names")
	}

	// The trigger's default configuration is not valid: no event kind. The
	// node says so on the canvas, and the panel beside the field.
	x, y := b.rectCenter(fmt.Sprintf(`[data-node-id=%q] .wf-node-title`, trigger))
	b.do("select the trigger", chromedp.MouseClickXY(x, y))
	b.waitFor("wait for the trigger's panel", panelFor(trigger))
	b.do("save the trigger unchanged", chromedp.Click(tid("node-save")))
	b.waitFor("wait for the saved form", `!!document.querySelector('[data-testid="node-saved"]')`)
	b.waitFor("wait for the error on the node", fmt.Sprintf(`document.querySelector('[data-node-id=%q]').classList.contains("wf-has-error")`, trigger))
	b.wantText(chromedp.CSS(fmt.Sprintf(`[data-node-id=%q] [data-testid="wf-node-issue"]`, trigger)), "Choose at least one kind of event.")
	b.wantText(chromedp.CSS(`#wf-panel [data-testid="form-error"][data-field="kinds"]`), "Choose at least one kind of event.")
	b.wantText(tid("wf-issue-list"), trigger)

	// Fixed in the panel: raids, on Twitch only, with a label.
	b.do("configure the trigger",
		fill(tid("node-label"), "Big raids"),
		chromedp.Click(tid("node-choice-kinds-raid")),
		chromedp.Click(tid("node-choice-platforms-discord")),
		chromedp.Click(tid("node-choice-platforms-slack")),
		chromedp.Click(tid("node-save")))
	b.waitFor("wait for the error to go", fmt.Sprintf(`!document.querySelector('[data-node-id=%q]').classList.contains("wf-has-error")`, trigger))
	b.wantText(chromedp.CSS(fmt.Sprintf(`[data-node-id=%q] .wf-node-title`, trigger)), "Big raids")
	if !b.js(`document.querySelector('[data-testid="wf-issues"]').hidden`) {
		t.Errorf("the problem list still shows: %s", b.text(tid("wf-issue-list")))
	}

	// Delete the last step with the keyboard, then undo it with Ctrl+Z.
	x, y = b.rectCenter(fmt.Sprintf(`[data-node-id=%q] .wf-node-title`, ids[2]))
	b.do("select the last step", chromedp.MouseClickXY(x, y))
	b.waitFor("wait for its panel", panelFor(ids[2]))
	b.do("focus the canvas", chromedp.Focus(chromedp.CSS("#wf-canvas")))
	b.do("press Delete", chromedp.KeyEvent(kb.Delete))

	b.waitFor("wait for the node to go", `window.waddleBuilder.definition().nodes.length === 2 && window.waddleBuilder.definition().connections.length === 1`)
	b.do("press Ctrl+Z", chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitFor("wait for the node to come back", `window.waddleBuilder.definition().nodes.length === 3 && window.waddleBuilder.definition().connections.length === 2`)

	b.do("save the draft", chromedp.Click(tid("wf-save")))
	b.waitFor("wait for the save", `document.querySelector('[data-testid="wf-message"]').textContent === "Draft saved." && !window.waddleBuilder.isDirty()`)
	got := mustDraft(t, flows, c.ID, id)
	var conns []string
	for _, cn := range got.Connections {
		conns = append(conns, cn.From+"."+cn.FromPort+">"+cn.To+"."+cn.ToPort)
	}
	if want := trigger + ".out>" + ids[1] + ".in," + trigger + ".out>" + ids[2] + ".in"; strings.Join(conns, ",") != want && strings.Join(conns, ",") != trigger+".out>"+ids[2]+".in,"+trigger+".out>"+ids[1]+".in" {
		t.Errorf("stored connections %v, want %s", conns, want)
	}
	n, _ := got.Node(trigger)
	var cfg workflow.EventConfig
	if err := json.Unmarshal(n.Config, &cfg); err != nil || n.Label != "Big raids" || strings.Join(cfg.Kinds, ",") != "raid" || strings.Join(cfg.Platforms, ",") != "twitch" {
		t.Errorf("stored trigger: %+v %s (%v)", n, n.Config, err)
	}

	b.do("publish", chromedp.Click(tid("wf-publish")))
	b.waitFor("wait for the publish", `document.querySelector('[data-testid="workflow-status"]').textContent === "published"`)
	b.wantText(tid("wf-message"), "Published as version 1")
	if w, err := flows.Get(t.Context(), c.ID, id); err != nil || w.Status != workflow.StatusPublished || w.Version != 1 {
		t.Errorf("after publish: %+v, %v", w, err)
	}
	if !b.js(`!document.querySelector('[data-testid="wf-draft"]').hidden`) {
		t.Error("no way back to draft after publishing")
	}
	// A test run lights every node up on the canvas as it runs.
	b.do("write a sample payload", chromedp.SetValue(tid("wf-test-payload"), `{"viewers": 42}`))
	b.do("run the test", chromedp.Click(tid("wf-test-run")))
	b.waitFor("wait for every node's status", `document.querySelectorAll('.drawflow-node[data-run-status="succeeded"]').length === 3 && !!document.querySelector('[data-testid="wf-test-run-link"]')`)
	if got := b.js(`document.querySelector('[data-node-id=` + strconv.Quote(trigger) + `] [data-testid="wf-node-run"]').textContent.includes('"viewers":42')`); !got {
		t.Error("the trigger node does not show its output on the canvas")
	}
	// With a node's form in the panel and the nodes on the canvas.
	x, y = b.rectCenter(fmt.Sprintf(`[data-node-id=%q] .wf-node-title`, trigger))
	b.do("select the trigger again", chromedp.MouseClickXY(x, y))
	b.waitFor("wait for its panel", panelFor(trigger))
	b.checkA11y("the workflow builder")
}
