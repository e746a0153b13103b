package handlers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

// scheduleFixture is what the matrix's schedule routes work on: a published
// workflow with a schedule trigger in A, and one in B.
type scheduleFixture struct {
	wfA, wfB int64
}

const matrixScheduleFlow = `{"nodes": [
 {"id": "tick", "type": "trigger_schedule", "config": {"kind": "cron", "cron": "0 12 * * *", "timezone": "UTC", "grace_seconds": 900, "max_concurrent": 1}},
 {"id": "end", "type": "flow_noop"}],
 "connections": [{"from": "tick", "from_port": "out", "to": "end", "to_port": "in"}]}`

func (x *tenancyEnv) scheduleFixtures(t *testing.T) {
	t.Helper()
	x.sched.wfA = x.mustScheduleWorkflow(t, x.a.ID)
	x.sched.wfB = x.mustScheduleWorkflow(t, x.b.ID)
}

// mustScheduleWorkflow creates and publishes a workflow with a schedule
// trigger in a community; publishing makes its schedule.
func (x *tenancyEnv) mustScheduleWorkflow(t *testing.T, cid int64) int64 {
	t.Helper()
	ctx := context.Background()
	d, err := workflow.ParseDefinition([]byte(matrixScheduleFlow))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := x.flows.Create(ctx, cid, audit.Actor{Name: "test"}, workflow.Input{Name: "matrix schedule", Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.flows.Publish(ctx, cid, w.ID, audit.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := x.pool.QueryRow(ctx, "SELECT count(*) FROM workflow_schedules WHERE workflow_id = $1 AND enabled", w.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("publishing made %d schedules (%v)", n, err)
	}
	return w.ID
}

// scheduleA returns the id of A's schedule, making it again first when a
// DELETE case removed it.
func (x *tenancyEnv) scheduleA(t testing.TB) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := x.pool.Exec(ctx, `INSERT INTO workflow_schedules (community_id, workflow_id, node_id, kind, cron, timezone, next_fire_at)
		VALUES ($1, $2, 'tick', 'cron', '0 12 * * *', 'UTC', now() + interval '1 day') ON CONFLICT (workflow_id, node_id) DO NOTHING`,
		x.a.ID, x.sched.wfA); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := x.pool.QueryRow(ctx, `SELECT id FROM workflow_schedules WHERE workflow_id = $1 AND node_id = 'tick'`, x.sched.wfA).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func scheduleTenancyRoutes() []tenancyRoute {
	noBody := func(*tenancyEnv, int) string { return "" }
	refused := [4]int{403, 403, 401, 403}
	ok := func(st int) map[string][4]int {
		return map[string][4]int{"user": {st, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {st, st, 401, st}}
	}
	list := func(x *tenancyEnv) string { return fmt.Sprintf("/schedules?community_id=%d", x.a.ID) }
	listU := func(x *tenancyEnv) string { return fmt.Sprintf("/schedules?community_id=%d", x.unknown) }
	one := func(x *tenancyEnv) string {
		return fmt.Sprintf("/schedules/%d?community_id=%d", x.scheduleA(x.t), x.a.ID)
	}
	oneU := func(x *tenancyEnv) string { return fmt.Sprintf("/schedules/%d?community_id=%d", x.unknown, x.a.ID) }
	ofWf := func(x *tenancyEnv) string {
		return fmt.Sprintf("/schedules/workflow/%d?community_id=%d", x.sched.wfA, x.a.ID)
	}
	ofWfU := func(x *tenancyEnv) string {
		return fmt.Sprintf("/schedules/workflow/%d?community_id=%d", x.unknown, x.a.ID)
	}
	ensure := func(t *testing.T, x *tenancyEnv) { x.scheduleA(t) }
	return []tenancyRoute{
		{method: "POST", pattern: "/api/v1/schedules/", path: list, unknownPath: listU,
			body: func(x *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"workflow_id": %d, "node_id": "tick", "kind": "interval", "every_seconds": %d}`, x.sched.wfA, 60+n)
			},
			prep: func(t *testing.T, x *tenancyEnv) {
				x.exec(t, "DELETE FROM workflow_schedules WHERE workflow_id = $1", x.sched.wfA)
			}, want: ok(201)},
		{method: "PUT", pattern: "/api/v1/schedules/{id}", path: one, unknownPath: oneU, prep: ensure,
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"kind": "interval", "every_seconds": %d, "max_concurrent": 2}`, 60+n)
			}, want: ok(200)},
		{method: "DELETE", pattern: "/api/v1/schedules/{id}", path: one, unknownPath: oneU, prep: ensure, body: noBody, want: ok(200)},
		{method: "GET", pattern: "/api/v1/schedules/workflow/{id}", path: ofWf, unknownPath: ofWfU, body: noBody, want: ok(200)},
	}
}
