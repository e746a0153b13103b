package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/workflow"
)

// scheduleAPI is a community with a published scheduled workflow and a
// user key of one of its admins.
func scheduleAPI(t *testing.T) (*env, string, int64, int64) {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	owner := e.user("owner@example.com", false)
	c := e.community(root, "sched", map[auth.User]community.Role{owner: community.Admin})
	key := e.apiKey(owner, auth.RoleUser)
	ctx := context.Background()
	d, err := workflow.ParseDefinition([]byte(matrixScheduleFlow))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := e.flows.Create(ctx, c.ID, audit.Actor{Name: "test"}, workflow.Input{Name: "daily", Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.flows.Publish(ctx, c.ID, w.ID, audit.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	return e, key, c.ID, w.ID
}

// Bad schedule settings get a 400 whose message names the field.
func TestScheduleAPIValidationErrors(t *testing.T) {
	t.Parallel()
	e, key, cid, wid := scheduleAPI(t)
	var sid int64
	if err := e.pool.QueryRow(context.Background(), "SELECT id FROM workflow_schedules WHERE workflow_id = $1", wid).Scan(&sid); err != nil {
		t.Fatal(err)
	}
	post := fmt.Sprintf("/schedules?community_id=%d", cid)
	put := fmt.Sprintf("/schedules/%d?community_id=%d", sid, cid)
	cases := []struct {
		name, method, path, body, field string
		want                            int
	}{
		{"no workflow", "POST", post, `{"kind": "interval", "every_seconds": 60}`, "workflow_id", 400},
		{"bad kind", "POST", post, fmt.Sprintf(`{"workflow_id": %d, "kind": "weekly"}`, wid), "kind", 400},
		{"bad cron", "PUT", put, `{"kind": "cron", "cron": "every day"}`, "cron", 400},
		{"bad zone", "PUT", put, `{"kind": "cron", "cron": "0 12 * * *", "timezone": "Nowhere/Land"}`, "timezone", 400},
		{"short interval", "PUT", put, `{"kind": "interval", "every_seconds": 1}`, "every_seconds", 400},
		{"bad time", "PUT", put, `{"kind": "once", "at": "soon"}`, "at", 400},
		{"grace", "PUT", put, `{"kind": "interval", "every_seconds": 60, "grace_seconds": 100000}`, "grace_seconds", 400},
		{"concurrency", "PUT", put, `{"kind": "interval", "every_seconds": 60, "max_concurrent": 101}`, "max_concurrent", 400},
		{"wrong type", "PUT", put, `{"kind": "interval", "every_seconds": "sixty"}`, "every_seconds", 400},
		{"unknown field", "PUT", put, `{"kind": "interval", "every_seconds": 60, "hourly": true}`, "hourly", 400},
		{"unknown node", "POST", post, fmt.Sprintf(`{"workflow_id": %d, "node_id": "end", "kind": "interval", "every_seconds": 60}`, wid), "node_id", 400},
		{"taken node", "POST", post, fmt.Sprintf(`{"workflow_id": %d, "kind": "interval", "every_seconds": 60}`, wid), "node_id", 409},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, body := e.apiBody(key, c.method, c.path, c.body)
			var env struct {
				Success bool   `json:"success"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil {
				t.Fatalf("not an envelope: %s", body)
			}
			if st != c.want || env.Success || !strings.Contains(env.Message, c.field) {
				t.Errorf("status %d (want %d), message %q does not name %s", st, c.want, env.Message, c.field)
			}
		})
	}
	// nothing changed
	st, body := e.apiBody(key, "GET", fmt.Sprintf("/schedules/workflow/%d?community_id=%d", wid, cid), "")
	var list struct {
		Data []workflow.Schedule `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || st != 200 {
		t.Fatalf("list: %d %s", st, body)
	}
	if len(list.Data) != 1 || list.Data[0].Kind != "cron" || list.Data[0].Cron != "0 12 * * *" || list.Data[0].Overridden || list.Data[0].NextFireAt == nil {
		t.Errorf("after refused changes: %+v", list.Data)
	}
}

// A schedule changed, listed and deleted over HTTP.
func TestScheduleAPIRoundTrip(t *testing.T) {
	t.Parallel()
	e, key, cid, wid := scheduleAPI(t)
	var sid int64
	if err := e.pool.QueryRow(context.Background(), "SELECT id FROM workflow_schedules WHERE workflow_id = $1", wid).Scan(&sid); err != nil {
		t.Fatal(err)
	}
	st, body := e.apiBody(key, "PUT", fmt.Sprintf("/schedules/%d?community_id=%d", sid, cid), `{"kind": "interval", "every_seconds": 3600, "max_count": 3}`)
	if st != 200 || !strings.Contains(body, `"every_seconds":3600`) || !strings.Contains(body, `"overridden":true`) {
		t.Fatalf("put: %d %s", st, body)
	}
	if st, body = e.apiBody(key, "DELETE", fmt.Sprintf("/schedules/%d?community_id=%d", sid, cid), ""); st != 200 {
		t.Fatalf("delete: %d %s", st, body)
	}
	if st, body = e.apiBody(key, "GET", fmt.Sprintf("/schedules/workflow/%d?community_id=%d", wid, cid), ""); st != 200 || !strings.Contains(body, `"data":[]`) {
		t.Fatalf("list after delete: %d %s", st, body)
	}
	st, body = e.apiBody(key, "POST", fmt.Sprintf("/schedules?community_id=%d", cid), fmt.Sprintf(`{"workflow_id": %d, "kind": "cron", "cron": "0 9 * * 1", "timezone": "Europe/Paris"}`, wid))
	if st != 201 || !strings.Contains(body, `"node_id":"tick"`) || !strings.Contains(body, `"timezone":"Europe/Paris"`) {
		t.Fatalf("post: %d %s", st, body)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = $2", cid, audit.WorkflowSchedule).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d schedule changes audited, want 3 (%v)", n, err)
	}
}
