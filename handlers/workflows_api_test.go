package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/workflow"
)

func TestWorkflowAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	admin := e.user("admin@example.com", false)
	member := e.user("member@example.com", false)
	c := e.community(root, "flows", map[auth.User]community.Role{admin: community.Admin, member: community.Member})
	ak := e.apiKey(admin, auth.RoleUser)
	mk := e.apiKey(member, auth.RoleUser)
	q := fmt.Sprintf("?community_id=%d", c.ID)

	// A draft with errors is stored, with its report.
	st, body := e.apiBody(ak, "POST", "/workflows"+q, `{"name": "Raids", "definition": {"nodes": [{"id": "x", "type": "flow_noop"}], "connections": []}}`)
	if st != 201 || !strings.Contains(body, "needs a trigger") {
		t.Fatalf("create: %d %s", st, body)
	}
	var created struct {
		Data struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	id := created.Data.ID
	wq := fmt.Sprintf("/workflows/%d%s", id, q)
	wp := func(suffix string) string { return fmt.Sprintf("/workflows/%d%s%s", id, suffix, q) }

	// Publishing it is refused with the report, naming the problem.
	if st, body := e.apiBody(ak, "POST", wp("/publish"), ""); st != 400 || !strings.Contains(body, "needs a trigger") {
		t.Errorf("publish invalid: %d %s", st, body)
	}
	// Running an unpublished workflow is a conflict.
	if st, body := e.apiBody(ak, "POST", wp("/execute"), `{}`); st != 409 || !strings.Contains(body, "Publish the workflow") {
		t.Errorf("execute draft: %d %s", st, body)
	}
	// A member reads but may not change or run it.
	if st, _ := e.apiBody(mk, "GET", wq, ""); st != 200 {
		t.Errorf("member read: %d", st)
	}
	if st, body := e.apiBody(mk, "PUT", wq, `{"name": "Mine", "definition": {"nodes": [], "connections": []}}`); st != 403 || !strings.Contains(body, "may not change") {
		t.Errorf("member write: %d %s", st, body)
	}
	// Fixed, it publishes and runs.
	good := `{"name": "Raids", "definition": {"nodes": [{"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}}, {"id": "x", "type": "flow_noop"}],
		"connections": [{"from": "hook", "from_port": "out", "to": "x", "to_port": "in"}]}}`
	if st, body := e.apiBody(ak, "PUT", wq, good); st != 200 || !strings.Contains(body, `"errors":[]`) && !strings.Contains(body, `"errors":null`) {
		t.Fatalf("update: %d %s", st, body)
	}
	if st, body := e.apiBody(ak, "POST", wp("/publish"), ""); st != 200 || !strings.Contains(body, "Published as version 1") {
		t.Fatalf("publish: %d %s", st, body)
	}
	if st, body := e.apiBody(ak, "POST", wp("/execute"), `{"payload": {"who": "alice"}}`); st != 202 || !strings.Contains(body, "execution_id") {
		t.Fatalf("execute: %d %s", st, body)
	}
	if st, body := e.apiBody(mk, "POST", wp("/execute"), `{}`); st != 403 {
		t.Errorf("member execute: %d %s", st, body)
	}
	if st, body := e.apiBody(ak, "GET", wp("/executions")+"&status=running", ""); st != 200 {
		t.Errorf("list runs: %d %s", st, body)
	}

	// Bad input: each gets a clear answer.
	cases := []struct {
		name, method, path, body string
		want                     int
		says                     string
	}{
		{"unknown status filter", "GET", wp("/executions") + "&status=sleeping", "", 400, "Unknown status"},
		{"bad since", "GET", wp("/executions") + "&since=yesterday", "", 400, "since"},
		{"unknown field", "POST", "/workflows" + q, `{"name": "x", "definitio": {}}`, 400, "definitio"},
		{"no name", "POST", "/workflows" + q, `{"name": " ", "definition": {"nodes": [], "connections": []}}`, 400, "Give the workflow a name"},
		{"not JSON", "POST", "/workflows/validate" + q, `{"definition": [}`, 400, "not valid JSON"},
		{"bad payload", "POST", wp("/execute"), `{"payload": }`, 400, "not valid JSON"},
		{"no community", "GET", "/workflows", "", 400, "community_id"},
		{"unknown id", "GET", "/workflows/99999" + q, "", 404, "no such workflow"},
		{"not a number", "GET", "/workflows/abc" + q, "", 404, "no such workflow"},
	}
	for _, tc := range cases {
		st, body := e.apiBody(ak, tc.method, tc.path, tc.body)
		if st != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s; want %d saying %q", tc.name, st, body, tc.want, tc.says)
		}
	}

	// The validate route answers with the report, storing nothing.
	st, body = e.apiBody(ak, "POST", "/workflows/validate"+q, `{"definition": {"nodes": [{"id": "a", "type": "flow_parallel", "config": {"branches": 40}}], "connections": []}}`)
	if st != 200 || !strings.Contains(body, `"valid":false`) || !strings.Contains(body, `"field":"branches"`) {
		t.Errorf("validate: %d %s", st, body)
	}
}

func TestPublishBeyondTheFreePlanIs402(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	admin := e.user("admin@example.com", false)
	c := e.community(root, "free", map[auth.User]community.Role{admin: community.Admin})
	// A second instance of the same deployment, with licensing on and no
	// licence key: the free plan.
	cfg := e.cfg
	cfg.Workflows = workflow.NewService(workflow.ServiceConfig{Pool: e.pool, Env: &workflow.Env{Pool: e.pool, Router: e.router},
		Instance: e.router.Instance(), Licensing: workflow.NewLicensing(workflow.LicensingConfig{Pool: e.pool})})
	cfg.Registry = prometheus.NewRegistry()
	srv := httptest.NewServer(handlers.New(cfg))
	t.Cleanup(srv.Close)
	key := e.apiKey(admin, auth.RoleUser)
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	q := fmt.Sprintf("?community_id=%d", c.ID)
	flow := `{"nodes": [{"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}}], "connections": []}`
	var ids []int64
	for _, name := range []string{"first", "second"} {
		st, body := call("POST", "/workflows"+q, fmt.Sprintf(`{"name": %q, "definition": %s}`, name, flow))
		if st != 201 {
			t.Fatalf("create: %d %s", st, body)
		}
		var out struct {
			Data struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		_ = json.Unmarshal([]byte(body), &out)
		ids = append(ids, out.Data.ID)
	}
	if st, body := call("POST", fmt.Sprintf("/workflows/%d/publish%s", ids[0], q), ""); st != 200 {
		t.Fatalf("the first publish: %d %s", st, body)
	}
	st, body := call("POST", fmt.Sprintf("/workflows/%d/publish%s", ids[1], q), "")
	if st != http.StatusPaymentRequired || !strings.Contains(body, "free plan publishes one workflow") {
		t.Fatalf("the second publish: %d %s; want 402 naming the free plan", st, body)
	}
	var status string
	if err := e.pool.QueryRow(context.Background(), "SELECT status FROM workflows WHERE id = $1", ids[1]).Scan(&status); err != nil || status != "draft" {
		t.Errorf("the refused workflow is %q (%v), want still a draft", status, err)
	}
	// Publishing the already published one again (a new version) is allowed.
	if st, body := call("POST", fmt.Sprintf("/workflows/%d/publish%s", ids[0], q), ""); st != 200 || !strings.Contains(body, "version 2") {
		t.Errorf("republish: %d %s", st, body)
	}
}
