package workflow_test

import (
	"context"
	"strings"
	"testing"

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
	run := h.waitRunStored(t, out.RunID)
	seen := map[string]int{}
	for _, tr := range run.Traces {
		seen[tr.Node]++
	}
	if seen["body"] != 2 || seen["a"] != 1 || seen["b"] != 1 || seen["end"] != 1 {
		t.Errorf("node executions %v, want body twice and a, b, end once", seen)
	}
}

func (h *harness) waitRunStored(t *testing.T, id int64) *workflow.Run {
	t.Helper()
	return h.waitRun(t, id)
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
