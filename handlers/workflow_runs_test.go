package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

// loopFlow fails at "each" when the payload is not an array.
const loopFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "label": "Shop hook", "position": {"x": 40, "y": 40}, "config": {"mode": "async", "timeout_seconds": 5}},
 {"id": "a", "type": "flow_noop", "label": "Pass on", "position": {"x": 260, "y": 40}},
 {"id": "each", "type": "loop_foreach", "label": "Each item", "position": {"x": 480, "y": 40}, "config": {"concurrency": 1, "max_items": 10}},
 {"id": "body", "type": "flow_noop", "position": {"x": 700, "y": 40}}],
 "connections": [{"from": "hook", "from_port": "out", "to": "a", "to_port": "in"},
  {"from": "a", "from_port": "out", "to": "each", "to_port": "in"},
  {"from": "each", "from_port": "item", "to": "body", "to_port": "in"}]}`

// runsEnv is a community with workflows and runs of each kind.
type runsEnv struct {
	*botEnv
	pipe, other *workflow.Workflow
	failed      int64 // a webhook run of pipe v1 that failed at "each"
	queued      int64 // a manual run of pipe v1, never picked up (no workers)
	test        int64 // a test run of pipe's draft that failed at "each"
	ok          int64 // a webhook run of other that succeeded
	foreign     int64 // a run of another community
	foreignFlow int64 // its workflow
}

func (x *runsEnv) flow(t *testing.T, cid int64, name, src string, publish bool) *workflow.Workflow {
	t.Helper()
	ctx := context.Background()
	d, err := workflow.ParseDefinition([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w, rep, err := x.flows.Create(ctx, cid, audit.Actor{Name: "test"}, workflow.Input{Name: name, Definition: d})
	if err != nil || !rep.OK() {
		t.Fatalf("create %s: %v %v", name, err, rep.Errors)
	}
	if publish {
		if w, _, err = x.flows.Publish(ctx, cid, w.ID, audit.Actor{Name: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// inline runs a published workflow's webhook run in this process and waits
// until it is stored.
func (x *runsEnv) inline(t *testing.T, cid int64, w *workflow.Workflow, payload any) int64 {
	t.Helper()
	ctx := context.Background()
	out, err := x.flows.RunInline(ctx, workflow.StartRequest{CommunityID: cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: payload}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := x.flows.GetRun(ctx, cid, out.RunID); err == nil {
			return out.RunID
		} else if time.Now().After(deadline) {
			t.Fatalf("run %d not stored: %v", out.RunID, err)
		}
	}
}

func newRunsEnv(t *testing.T) *runsEnv {
	t.Helper()
	x := &runsEnv{botEnv: newBotEnv(t)}
	ctx := context.Background()
	x.pipe = x.flow(t, x.c.ID, "pipe", loopFlow, true)
	x.other = x.flow(t, x.c.ID, "other", loopFlow, true)
	x.failed = x.inline(t, x.c.ID, x.pipe, map[string]any{"x": 2})
	var err error
	if x.queued, err = x.flows.Execute(ctx, x.c.ID, x.pipe.ID, map[string]any{"n": 1}, audit.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	out, err := x.flows.TestRun(ctx, x.c.ID, x.pipe.ID, map[string]any{"x": 3}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.test = out.RunID
	x.ok = x.inline(t, x.c.ID, x.other, []any{1, 2})
	root := x.user("root2@example.com", true)
	geese := x.community(root, "geese", nil)
	gw := x.flow(t, geese.ID, "geese flow", loopFlow, true)
	x.foreign, x.foreignFlow = x.inline(t, geese.ID, gw, []any{1}), gw.ID
	return x
}

func runIDs(doc *goquery.Document) []string {
	var ids []string
	doc.Find(`[data-testid=run-row]`).Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, s.AttrOr("data-run", "")+" "+s.Find(`[data-testid=run-row-status]`).AttrOr("data-status", ""))
	})
	return ids
}

func TestRunsListFilters(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	row := func(id int64, st string) string { return fmt.Sprintf("%d %s", id, st) }
	all := []string{row(x.ok, "succeeded"), row(x.test, "failed"), row(x.queued, "queued"), row(x.failed, "failed")}
	tomorrow := time.Now().Add(36 * time.Hour).Format("2006-01-02")
	cases := []struct {
		name, path string
		want       []string
	}{
		{"all", "/runs", all},
		{"failed", "/runs?status=failed", []string{row(x.test, "failed"), row(x.failed, "failed")}},
		{"webhook", "/runs?trigger=webhook", []string{row(x.ok, "succeeded"), row(x.failed, "failed")}},
		{"manual queued", "/runs?trigger=manual&status=queued", []string{row(x.queued, "queued")}},
		{"workflow", fmt.Sprintf("/runs?workflow=%d", x.other.ID), []string{row(x.ok, "succeeded")}},
		{"since tomorrow", "/runs?since=" + tomorrow, nil},
		{"since last year", "/runs?since=2025-01-01", all},
		{"one workflow's page", fmt.Sprintf("/workflows/%d/runs", x.pipe.ID), all[1:]},
		{"one workflow's page, filtered", fmt.Sprintf("/workflows/%d/runs?status=queued", x.pipe.ID), []string{row(x.queued, "queued")}},
		{"a page before", fmt.Sprintf("/runs?before=%d", x.queued), []string{row(x.failed, "failed")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := x.member.get(x.path("%s", c.path), nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if d := cmp.Diff(c.want, runIDs(res.doc(t))); d != "" {
				t.Errorf("runs (-want +got):\n%s", d)
			}
		})
	}
	// The row says what a person needs to know.
	doc := x.member.get(x.path("/runs"), nil).doc(t)
	r := doc.Find(fmt.Sprintf(`[data-testid=run-row][data-run="%d"]`, x.failed))
	if got := r.Find(`[data-testid=run-row-workflow]`).Text(); !strings.Contains(got, "pipe") || !strings.Contains(got, "v1") {
		t.Errorf("workflow cell %q", got)
	}
	if got := r.Find(`[data-testid=run-row-status]`).Text(); got != "Failed" {
		t.Errorf("status %q, want Failed", got)
	}
	if got := r.Find(`[data-testid=run-row-trigger]`).Text(); got != "Webhook" {
		t.Errorf("trigger %q", got)
	}
	if got := r.Find(`[data-testid=run-row-error]`).Text(); !strings.Contains(got, "not an array") {
		t.Errorf("error summary %q", got)
	}
	if href := r.Find(`[data-testid=run-row-link]`).AttrOr("href", ""); href != x.path("/runs/%d", x.failed) {
		t.Errorf("link %q", href)
	}
	if got := doc.Find(fmt.Sprintf(`[data-testid=run-row][data-run="%d"] [data-testid=run-row-version]`, x.test)).Text(); got != "draft (test)" {
		t.Errorf("a test run's version %q", got)
	}
	if doc.Find(fmt.Sprintf(`[data-run="%d"]`, x.foreign)).Length() != 0 {
		t.Error("another community's run is listed")
	}
	// HTMX gets the table alone.
	res := x.member.get(x.path("/runs?status=queued"), http.Header{"Hx-Request": {"true"}, "Hx-Target": {"run-rows"}})
	if res.StatusCode != 200 || strings.Contains(res.body, "<html") || len(runIDs(res.doc(t))) != 1 {
		t.Errorf("HTMX filter: %d %q", res.StatusCode, res.body)
	}
}

func TestRunsListBadFilters(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	for q, want := range map[string]string{
		"status=sideways":   `Unknown status "sideways"`,
		"trigger=telepathy": `Unknown trigger "telepathy"`,
		"since=yesterday":   `Since is a date like`,
		"workflow=abc":      "Pick a workflow",
		"before=-3":         "Bad page marker",
	} {
		res := x.member.get(x.path("/runs?%s", q), nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), want) {
			t.Errorf("%s: %d %q, want 400 %q", q, res.StatusCode, formError(t, res), want)
		}
	}
}

func TestRunPage(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	ctx := context.Background()
	if _, err := x.pool.Exec(ctx, `UPDATE workflow_node_runs SET repeated = true,
		notes = ARRAY['missing: {{ trigger.user }} rendered empty'] WHERE run_id = $1 AND node_id = 'a'`, x.failed); err != nil {
		t.Fatal(err)
	}
	doc := x.member.get(x.path("/runs/%d", x.failed), nil).doc(t)
	if got := doc.Find(`[data-testid=run-status]`).Text(); got != "Failed" {
		t.Errorf("status %q", got)
	}
	if got := doc.Find(`[data-testid=run-failed-node]`).Text(); !strings.Contains(got, "Each item") || !strings.Contains(got, "each") {
		t.Errorf("failed node %q", got)
	}
	if got := doc.Find(`[data-testid=run-error]`).Text(); !strings.Contains(got, "not an array") {
		t.Errorf("error %q", got)
	}
	if got := doc.Find(`[data-testid=run-version]`).Text(); got != "v1" {
		t.Errorf("version %q", got)
	}
	if got := doc.Find(`[data-testid=run-payload] code`).Text(); !strings.Contains(got, `"x": 2`) {
		t.Errorf("payload %q", got)
	}
	var trace []string
	doc.Find(`[data-testid=trace-row]`).Each(func(_ int, s *goquery.Selection) {
		trace = append(trace, s.Find(`[data-testid=trace-seq]`).Text()+" "+s.AttrOr("data-node", "")+" "+s.Find(`[data-testid=trace-status]`).Text())
	})
	if d := cmp.Diff([]string{"1 hook Succeeded", "2 a Succeeded", "3 each Failed"}, trace); d != "" {
		t.Errorf("trace (-want +got):\n%s", d)
	}
	a := doc.Find(`[data-testid=trace-row][data-node=a]`)
	if a.Find(`[data-testid=trace-repeated]`).Length() != 1 {
		t.Error("the repeated node has no warning")
	}
	if got := a.Find(`[data-testid=trace-note]`).Text(); !strings.Contains(got, "missing: {{ trigger.user }}") {
		t.Errorf("notes %q", got)
	}
	if got := a.Find(`[data-testid=trace-ports]`).Text(); !strings.Contains(got, "out") {
		t.Errorf("ports %q", got)
	}
	if got := doc.Find(`[data-testid=trace-row][data-node=each] [data-testid=trace-error]`).Text(); !strings.Contains(got, "not an array") {
		t.Errorf("node error %q", got)
	}
	if got := doc.Find(`[data-testid=trace-row][data-node=hook] [data-testid=trace-output] code`).Text(); !strings.Contains(got, `"x": 2`) {
		t.Errorf("hook output %q", got)
	}
	// The canvas: every node, coloured by how it went; body never ran.
	canvas := map[string]string{}
	doc.Find(`[data-testid=canvas-node]`).Each(func(_ int, s *goquery.Selection) { canvas[s.AttrOr("data-node", "")] = s.AttrOr("data-status", "") })
	if d := cmp.Diff(map[string]string{"hook": "succeeded", "a": "succeeded", "each": "failed", "body": ""}, canvas); d != "" {
		t.Errorf("canvas (-want +got):\n%s", d)
	}
	// A member reads but may not act: no buttons.
	if doc.Find(`[data-testid=run-actions]`).Length() != 0 {
		t.Error("a member is offered actions")
	}
	admin := x.admin.get(x.path("/runs/%d", x.failed), nil).doc(t)
	for _, id := range []string{"run-retry", "run-replay-original"} {
		if admin.Find(`[data-testid=`+id+`]`).Length() != 1 {
			t.Errorf("an admin is not offered %s", id)
		}
	}
	if admin.Find(`[data-testid=run-cancel]`).Length() != 0 || admin.Find(`[data-testid=run-replay-current]`).Length() != 0 {
		t.Error("a failed run on the published version offers cancel or a replay on the same version")
	}
	q := x.admin.get(x.path("/runs/%d", x.queued), nil).doc(t)
	if q.Find(`[data-testid=run-cancel]`).Length() != 1 || q.Find(`[data-testid=run-retry]`).Length() != 0 {
		t.Error("a queued run: want cancel and no retry")
	}
	tr := x.admin.get(x.path("/runs/%d", x.test), nil).doc(t)
	if tr.Find(`[data-testid=run-retry]`).Length() != 0 || tr.Find(`[data-testid=run-replay-original]`).Length() != 0 {
		t.Error("a test run of the draft offers retry or replay on its version")
	}
	if got := tr.Find(`[data-testid=run-version]`).Text(); got != "draft (test)" {
		t.Errorf("test run version %q", got)
	}
}

func TestRunActions(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	ctx := context.Background()
	runStatus := func(id int64) string {
		t.Helper()
		var s string
		if err := x.pool.QueryRow(ctx, "SELECT status FROM workflow_runs WHERE id = $1", id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	audited := func(action string) int {
		return x.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2", x.c.ID, action)
	}

	// A member may look, not act.
	for _, p := range []string{"/runs/%d/retry", "/runs/%d/cancel", "/runs/%d/replay"} {
		if res := x.member.post(x.path(p, x.failed), url.Values{"on": {"original"}}, nil); res.StatusCode != 403 {
			t.Errorf("member POST %s: %d, want 403", p, res.StatusCode)
		}
	}
	if got := runStatus(x.failed); got != "failed" {
		t.Fatalf("after a member's tries the run is %s", got)
	}
	// Another community's run is not found, for reading and for acting.
	if res := x.admin.get(x.path("/runs/%d", x.foreign), nil); res.StatusCode != 404 {
		t.Errorf("another community's run: %d, want 404", res.StatusCode)
	}
	if res := x.admin.post(x.path("/runs/%d/cancel", x.foreign), nil, nil); res.StatusCode != 404 {
		t.Errorf("cancel another community's run: %d, want 404", res.StatusCode)
	}
	if res := x.admin.get(x.path("/workflows/%d/runs", x.foreignFlow), nil); res.StatusCode != 404 {
		t.Errorf("runs of another community's workflow: %d, want 404", res.StatusCode)
	}

	// Retry from the failed node: queued again, audited.
	before := audited(audit.WorkflowRunStart)
	res := x.admin.post(x.path("/runs/%d/retry", x.failed), nil, nil)
	if res.StatusCode != 303 || res.Header.Get("Location") != x.path("/runs/%d", x.failed) {
		t.Fatalf("retry: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := runStatus(x.failed); got != "queued" {
		t.Errorf("after retry the run is %s, want queued", got)
	}
	if audited(audit.WorkflowRunStart) != before+1 {
		t.Error("the retry is not in the audit log")
	}
	// Retry again: refused with the page and the reason.
	res = x.admin.post(x.path("/runs/%d/retry", x.failed), nil, nil)
	if res.StatusCode != 409 || !strings.Contains(formError(t, res), "Only a failed run can be retried") {
		t.Errorf("second retry: %d %q", res.StatusCode, formError(t, res))
	}

	// Replay on the original version: a new run with the same payload.
	res = x.admin.post(x.path("/runs/%d/replay", x.ok), url.Values{"on": {"original"}}, nil)
	if res.StatusCode != 303 {
		t.Fatalf("replay: %d %s", res.StatusCode, res.body)
	}
	var id int64
	if _, err := fmt.Sscanf(res.Header.Get("Location"), x.path("/runs/%%d"), &id); err != nil || id == x.ok {
		t.Fatalf("replay went to %q", res.Header.Get("Location"))
	}
	var replayOf int64
	var kind, trig string
	if err := x.pool.QueryRow(ctx, "SELECT replay_of, trigger_kind, trigger::text FROM workflow_runs WHERE id = $1 AND community_id = $2", id, x.c.ID).Scan(&replayOf, &kind, &trig); err != nil {
		t.Fatal(err)
	}
	if replayOf != x.ok || kind != "replay" || trig != "[1, 2]" {
		t.Errorf("replay run: of %d, %s, payload %s", replayOf, kind, trig)
	}
	page := x.admin.get(x.path("/runs/%d", id), nil).doc(t)
	if href := page.Find(`[data-testid=run-replay-of]`).AttrOr("href", ""); href != x.path("/runs/%d", x.ok) {
		t.Errorf("the replay links to %q", href)
	}
	// Replay of a test run on its version (the draft) is refused.
	res = x.admin.post(x.path("/runs/%d/replay", x.test), url.Values{"on": {"original"}}, nil)
	if res.StatusCode != 409 || !strings.Contains(formError(t, res), "publish the workflow to replay it") {
		t.Errorf("replay a test run: %d %q", res.StatusCode, formError(t, res))
	}
	res = x.admin.post(x.path("/runs/%d/replay", x.ok), url.Values{"on": {"tomorrow"}}, nil)
	if res.StatusCode != 400 || !strings.Contains(formError(t, res), "original or the current") {
		t.Errorf("replay on a bad version: %d %q", res.StatusCode, formError(t, res))
	}

	// Cancel the queued run.
	res = x.admin.post(x.path("/runs/%d/cancel", x.queued), nil, nil)
	if res.StatusCode != 303 {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	if got := runStatus(x.queued); got != "cancelled" {
		t.Errorf("after cancel the run is %s", got)
	}
	if audited(audit.WorkflowRunCancel) != 1 {
		t.Error("the cancel is not in the audit log")
	}
	res = x.admin.post(x.path("/runs/%d/cancel", x.queued), nil, nil)
	if res.StatusCode != 409 || !strings.Contains(formError(t, res), "can be cancelled") {
		t.Errorf("cancel twice: %d %q", res.StatusCode, formError(t, res))
	}
}

// A manager of a community that requires two-factor authentication acts
// on runs only with it, as on the community's other forms.
func TestRunActionsNeedTwoFactorWhereRequired(t *testing.T) {
	t.Parallel()
	x := newRunsEnv(t)
	if _, err := x.pool.Exec(context.Background(), "UPDATE communities SET require_two_factor = true WHERE id = $1", x.c.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/runs/%d/retry", x.failed), fmt.Sprintf("/runs/%d/cancel", x.queued), fmt.Sprintf("/workflows/%d/test", x.pipe.ID)} {
		res := x.admin.post(x.path("%s", p), url.Values{"payload": {"[1]"}}, nil)
		if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/account/two-factor/required") {
			t.Errorf("POST %s without two-factor: %d to %q", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if n := x.count("SELECT count(*) FROM workflow_runs WHERE community_id = $1 AND status IN ('failed', 'queued')", x.c.ID); n != 3 {
		t.Errorf("%d runs failed or queued, want the 3 untouched", n)
	}
	if n := x.count("SELECT count(*) FROM workflow_runs WHERE workflow_id = $1", x.pipe.ID); n != 3 {
		t.Errorf("%d runs of pipe, want 3: a test run started", n)
	}
}
