package handlers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

// workflowFixture is what the matrix's workflow routes work on: a published
// workflow of A with a run, and one of B.
type workflowFixture struct {
	wfA, wfB, runA int64
	wfDel          int64 // made again before each DELETE case
	made           int   // workflows made again for DELETE cases
}

const matrixFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}},
 {"id": "end", "type": "flow_noop"}],
 "connections": [{"from": "hook", "from_port": "out", "to": "end", "to_port": "in"}]}`

func (x *tenancyEnv) workflowFixtures(t *testing.T) {
	t.Helper()
	x.wf.wfA = x.mustWorkflow(t, x.a.ID, "matrix")
	x.wf.wfB = x.mustWorkflow(t, x.b.ID, "matrix")
	id, err := x.flows.Execute(context.Background(), x.a.ID, x.wf.wfA, map[string]any{"n": 1}, audit.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	x.wf.runA = id
}

// mustWorkflow creates and publishes a workflow in a community.
func (x *tenancyEnv) mustWorkflow(t *testing.T, cid int64, name string) int64 {
	t.Helper()
	ctx := context.Background()
	d, err := workflow.ParseDefinition([]byte(matrixFlow))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := x.flows.Create(ctx, cid, audit.Actor{Name: "test"}, workflow.Input{Name: name, Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.flows.Publish(ctx, cid, w.ID, audit.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

func (x *tenancyEnv) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := x.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func workflowTenancyRoutes() []tenancyRoute {
	// Paths name community A with ?community_id= for keys bound to none; a
	// key bound to B reaches B's workflows only, where A's ids are unknown.
	wpath := func(suffix string, id func(x *tenancyEnv) int64) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string {
				return fmt.Sprintf("/workflows%s?community_id=%d", fmt.Sprintf(suffix, id(x)), x.a.ID)
			},
			func(x *tenancyEnv) string {
				return fmt.Sprintf("/workflows%s?community_id=%d", fmt.Sprintf(suffix, x.unknown), x.a.ID)
			}
	}
	wfA := func(x *tenancyEnv) int64 { return x.wf.wfA }
	runA := func(x *tenancyEnv) int64 { return x.wf.runA }
	noBody := func(*tenancyEnv, int) string { return "" }
	empty := func(*tenancyEnv, int) string { return `{}` }
	refused := [4]int{403, 403, 401, 403}
	ok := func(st int) map[string][4]int {
		return map[string][4]int{"user": {st, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {st, st, 401, st}}
	}
	listP := func(x *tenancyEnv) string { return fmt.Sprintf("/workflows?community_id=%d", x.a.ID) }
	listU := func(x *tenancyEnv) string { return fmt.Sprintf("/workflows?community_id=%d", x.unknown) }
	get, getU := wpath("/%d", wfA)
	del, delU := wpath("/%d", func(x *tenancyEnv) int64 { return x.wf.wfDel })
	pub, pubU := wpath("/%d/publish", wfA)
	dr, drU := wpath("/%d/draft", wfA)
	val, valU := wpath("/%d/validate", wfA)
	ex, exU := wpath("/%d/execute", wfA)
	exs, exsU := wpath("/%d/executions", wfA)
	run, runU := wpath("/executions/%d", runA)
	cancel, cancelU := wpath("/executions/%d/cancel", runA)
	retry, retryU := wpath("/executions/%d/retry", runA)
	replay, replayU := wpath("/executions/%d/replay", runA)
	tpl := func(suffix string) func(*tenancyEnv) string {
		return func(x *tenancyEnv) string { return fmt.Sprintf("/templates%s?community_id=%d", suffix, x.a.ID) }
	}
	tplU := func(suffix string) func(*tenancyEnv) string {
		return func(x *tenancyEnv) string { return fmt.Sprintf("/templates%s?community_id=%d", suffix, x.unknown) }
	}
	vnew := func(x *tenancyEnv) string { return fmt.Sprintf("/workflows/validate?community_id=%d", x.a.ID) }
	vnewU := func(x *tenancyEnv) string { return fmt.Sprintf("/workflows/validate?community_id=%d", x.unknown) }
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/workflows/", path: listP, unknownPath: listU, body: noBody, want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/", path: listP, unknownPath: listU,
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"name": "made %d", "definition": %s}`, n, matrixFlow)
			}, want: ok(201)},
		{method: "POST", pattern: "/api/v1/workflows/validate", path: vnew, unknownPath: vnewU, readOnly: true,
			body: func(*tenancyEnv, int) string { return `{"definition": ` + matrixFlow + `}` }, want: ok(200)},
		{method: "GET", pattern: "/api/v1/workflows/{id}", path: get, unknownPath: getU, body: noBody, want: ok(200)},
		{method: "PUT", pattern: "/api/v1/workflows/{id}", path: get, unknownPath: getU,
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"name": "renamed %d", "definition": %s}`, n, matrixFlow)
			}, want: ok(200)},
		{method: "DELETE", pattern: "/api/v1/workflows/{id}", path: del, unknownPath: delU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				x.wf.made++
				x.wf.wfDel = x.mustWorkflow(t, x.a.ID, fmt.Sprintf("to delete %d", x.wf.made))
			},
			want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/{id}/publish", path: pub, unknownPath: pubU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "UPDATE workflows SET status = 'draft' WHERE id = $1", x.wf.wfA)
			}, want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/{id}/draft", path: dr, unknownPath: drU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "UPDATE workflows SET status = 'published' WHERE id = $1", x.wf.wfA)
			}, want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/{id}/validate", path: val, unknownPath: valU, body: noBody, readOnly: true, want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/{id}/execute", path: ex, unknownPath: exU, body: empty,
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "UPDATE workflows SET status = 'published', version = greatest(version, 1) WHERE id = $1", x.wf.wfA)
			}, want: ok(202)},
		{method: "GET", pattern: "/api/v1/workflows/{id}/executions", path: exs, unknownPath: exsU, body: noBody, want: ok(200)},
		{method: "GET", pattern: "/api/v1/workflows/executions/{execId}", path: run, unknownPath: runU, body: noBody, want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/executions/{execId}/cancel", path: cancel, unknownPath: cancelU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "UPDATE workflow_runs SET status = 'queued', finished_at = NULL WHERE id = $1", x.wf.runA)
			}, want: ok(200)},
		{method: "POST", pattern: "/api/v1/workflows/executions/{execId}/retry", path: retry, unknownPath: retryU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "UPDATE workflow_runs SET status = 'failed', error = 'matrix' WHERE id = $1", x.wf.runA)
			}, want: ok(202)},
		{method: "POST", pattern: "/api/v1/workflows/executions/{execId}/replay", path: replay, unknownPath: replayU, body: noBody, want: ok(202)},
		{method: "GET", pattern: "/api/v1/templates/", path: tpl(""), unknownPath: tplU(""), body: noBody, want: ok(200)},
		{method: "GET", pattern: "/api/v1/templates/{id}", path: tpl("/builtin:thank-raiders"), unknownPath: tplU("/builtin:thank-raiders"), body: noBody, want: ok(200)},
		{method: "POST", pattern: "/api/v1/templates/instantiate", path: tpl("/instantiate"), unknownPath: tplU("/instantiate"),
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"template_id": "builtin:welcome-followers", "name": "welcome %d"}`, n)
			}, want: ok(201)},
	}
}
