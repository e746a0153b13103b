package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/workflow"
)

const parallelFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "sync", "timeout_seconds": 5}},
 {"id": "fan", "type": "flow_parallel", "config": {"branches": 2}},
 {"id": "a", "type": "flow_noop"}, {"id": "b", "type": "flow_noop"},
 {"id": "each", "type": "loop_foreach", "config": {"concurrency": 2, "max_items": 10}},
 {"id": "body", "type": "flow_noop"},
 {"id": "end", "type": "flow_noop"}
], "connections": [
 {"from": "hook", "from_port": "out", "to": "fan", "to_port": "in"},
 {"from": "fan", "from_port": "branch_1", "to": "a", "to_port": "in"},
 {"from": "fan", "from_port": "branch_2", "to": "b", "to_port": "in"},
 {"from": "fan", "from_port": "done", "to": "each", "to_port": "in"},
 {"from": "each", "from_port": "item", "to": "body", "to_port": "in"},
 {"from": "each", "from_port": "done", "to": "end", "to_port": "in"}
]}`

func TestRunJoinsBranchesAndLoops(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w := h.publish(t, "fan", def(t, parallelFlow))
	out, err := h.svc.RunInline(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"x": 1}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != workflow.RunSucceeded {
		t.Fatalf("status %s: %s", out.Status, out.Error)
	}
	// the parallel node's done carries both branches' results; the loop runs over them
	if got, want := asJSON(out.Output), `[{"x":1},{"x":1}]`; got != want {
		t.Errorf("output %s, want the loop's results over the two branch results", got)
	}
	run := h.waitRun(t, out.RunID)
	seen := map[string]int{}
	for _, tr := range run.Traces {
		seen[tr.Node]++
	}
	if seen["body"] != 2 || seen["a"] != 1 || seen["b"] != 1 || seen["end"] != 1 {
		t.Errorf("node executions %v, want body twice and a, b, end once", seen)
	}
}

func TestQueuedRunRunsOnTheJobQueue(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w := h.publish(t, "queued", def(t, parallelFlow))
	st, err := h.svc.Start(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"x": 2}, DedupKey: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.svc.Start(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"x": 2}, DedupKey: "d1"})
	if err != nil {
		t.Fatal(err)
	}
	if !st.New || again.New || again.RunID != st.RunID {
		t.Fatalf("starts %+v then %+v: the same dedup key must give the same run once", st, again)
	}
	run := h.waitRun(t, st.RunID)
	if run.Status != workflow.RunSucceeded || run.Version != w.Version {
		t.Fatalf("run %s (version %d): %s", run.Status, run.Version, run.Error)
	}
	if len(run.Traces) != 8 {
		t.Errorf("%d trace rows, want 8 (7 nodes, the loop's body twice)", len(run.Traces))
	}
}

func TestForeachRefusesANonArray(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w := h.publish(t, "bad loop", def(t, `{"nodes": [
	 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}},
	 {"id": "each", "type": "loop_foreach", "config": {"concurrency": 1, "max_items": 10}}],
	 "connections": [{"from": "hook", "from_port": "out", "to": "each", "to_port": "in"}]}`))
	st, err := h.svc.Start(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"x": 2}})
	if err != nil {
		t.Fatal(err)
	}
	run := h.waitRun(t, st.RunID)
	if run.Status != workflow.RunFailed || run.FailedNode != "each" || !strings.Contains(run.Error, "not an array") {
		t.Fatalf("run %s at %q: %s; want failed at each, not an array", run.Status, run.FailedNode, run.Error)
	}
}

const delayFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}},
 {"id": "wait", "type": "action_delay", "config": {"seconds": 1}},
 {"id": "after", "type": "flow_noop"}
], "connections": [
 {"from": "hook", "from_port": "out", "to": "wait", "to_port": "in"},
 {"from": "wait", "from_port": "out", "to": "after", "to_port": "in"}
]}`

func TestDelayFreesTheWorkerAndResumes(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w := h.publish(t, "delay", def(t, delayFlow))
	st, err := h.svc.Start(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	sawWaiting := false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r, err := h.svc.GetRun(ctx, h.cid, st.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == workflow.RunWaiting {
			sawWaiting = true
			if r.WaitUntil == nil {
				t.Error("a waiting run has no wait_until")
			}
		}
		if r.Status == workflow.RunSucceeded {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	run := h.waitRun(t, st.RunID)
	if !sawWaiting || run.Status != workflow.RunSucceeded {
		t.Fatalf("saw waiting: %v; final status %s (%s)", sawWaiting, run.Status, run.Error)
	}
	var nodes []string
	for _, tr := range run.Traces {
		nodes = append(nodes, tr.Node+":"+tr.Status)
	}
	if got := strings.Join(nodes, " "); got != "hook:succeeded wait:waiting after:succeeded" {
		t.Errorf("trace %s", got)
	}
}

func TestCancelAWaitingRun(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	d := def(t, strings.Replace(delayFlow, `"seconds": 1`, `"seconds": 3600`, 1))
	w := h.publish(t, "long delay", d)
	st, err := h.svc.Start(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := h.svc.GetRun(ctx, h.cid, st.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == workflow.RunWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run still %s", r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.svc.Cancel(ctx, h.cid, st.RunID, h.by); err != nil {
		t.Fatal(err)
	}
	run := h.waitRun(t, st.RunID)
	if run.Status != workflow.RunCancelled {
		t.Fatalf("status %s, want cancelled", run.Status)
	}
	if err := h.svc.Cancel(ctx, h.cid, st.RunID, h.by); err == nil || !strings.Contains(err.Error(), "Only a queued, running or waiting run") {
		t.Errorf("cancelling twice: %v", err)
	}
	if err := h.svc.Cancel(ctx, h.cid+1000, st.RunID, h.by); !errors.Is(err, workflow.ErrRunNotFound) {
		t.Errorf("cancelling from another community: %v, want not found", err)
	}
}

func TestRetryGoesOnFromTheFailedNode(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	// The loop fails on a non-array; after the retry the payload is the
	// same, so it fails again at the same node, not from the start.
	w := h.publish(t, "retry", def(t, `{"nodes": [
	 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}},
	 {"id": "first", "type": "flow_noop"},
	 {"id": "each", "type": "loop_foreach", "config": {"concurrency": 1, "max_items": 10}}],
	 "connections": [{"from": "hook", "from_port": "out", "to": "first", "to_port": "in"},
	  {"from": "first", "from_port": "out", "to": "each", "to_port": "in"}]}`))
	st, err := h.svc.Start(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"not": "an array"}})
	if err != nil {
		t.Fatal(err)
	}
	if run := h.waitRun(t, st.RunID); run.Status != workflow.RunFailed {
		t.Fatalf("status %s", run.Status)
	}
	if err := h.svc.Retry(ctx, h.cid, st.RunID, h.by); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	run := h.waitRun(t, st.RunID)
	count := map[string]int{}
	for _, tr := range run.Traces {
		count[tr.Node]++
	}
	if count["hook"] != 1 || count["first"] != 1 || count["each"] != 2 {
		t.Errorf("executions %v: the retry must run only the failed node again", count)
	}
	if err := h.svc.Retry(ctx, h.cid, st.RunID+999, h.by); !errors.Is(err, workflow.ErrRunNotFound) {
		t.Errorf("retry of an unknown run: %v", err)
	}
}

// Runs that only compute are answered before they are written; Drain,
// which serve calls once its HTTP server has shut down, returns only when
// every one of them is stored with its trace.
func TestDrainStoresEveryAnsweredRun(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w := h.publish(t, "drain", def(t, parallelFlow))
	const runs = 300
	var ids []int64
	for i := range runs {
		out, err := h.svc.RunInline(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
			Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"x": i}}, "", nil)
		if err != nil || out.Status != workflow.RunSucceeded {
			t.Fatalf("run %d: %v %+v", i, err, out)
		}
		ids = append(ids, out.RunID)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.svc.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	var stored, traced int
	if err := h.pool.QueryRow(ctx, `SELECT count(*), (SELECT count(DISTINCT run_id) FROM workflow_node_runs WHERE run_id = ANY($1))
		FROM workflow_runs WHERE id = ANY($1) AND status = 'succeeded'`, ids).Scan(&stored, &traced); err != nil {
		t.Fatal(err)
	}
	if stored != runs || traced != runs {
		t.Errorf("after Drain: %d of %d runs stored, %d traced", stored, runs, traced)
	}
}

// A run and its trace rows go with their community: through its
// workflows, whose runs cascade to their trace rows.
func TestRunsGoWithTheirCommunity(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	w := h.publish(t, "gone", def(t, parallelFlow))
	out, err := h.svc.RunInline(ctx, workflow.StartRequest{CommunityID: h.cid, WorkflowID: w.ID, Version: w.Version,
		Kind: workflow.TriggerWebhook, Node: "hook", Payload: map[string]any{"x": 1}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	h.waitRun(t, out.RunID)
	if _, err := h.pool.Exec(ctx, `DELETE FROM communities WHERE id = $1`, h.cid); err != nil {
		t.Fatal(err)
	}
	var runs, traces int
	if err := h.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM workflow_runs WHERE community_id = $1),
		(SELECT count(*) FROM workflow_node_runs WHERE community_id = $1)`, h.cid).Scan(&runs, &traces); err != nil {
		t.Fatal(err)
	}
	if runs != 0 || traces != 0 {
		t.Errorf("after deleting the community: %d runs and %d trace rows left", runs, traces)
	}
}
