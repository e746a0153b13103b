package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/workflow"
)

// TestChatShowsWorkflows: waddle chat lists the published workflows an
// event would start with their dry-run traces, and stores no run.
func TestChatShowsWorkflows(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "setup") // creates the "demo" community
	a := openTestApp(t, vars)
	ctx := t.Context()
	c, err := db.New(a.pool).CommunityGetBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	d, err := workflow.ParseDefinition([]byte(`{"nodes": [
 {"id": "raid", "type": "trigger_event", "config": {"platforms": ["twitch"], "kinds": ["raid"]}},
 {"id": "thank", "type": "flow_noop"}
], "connections": [{"from": "raid", "from_port": "out", "to": "thank", "to_port": "in"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool})
	w, _, err := flows.Create(ctx, c.ID, audit.Actor{}, workflow.Input{Name: "Thank raiders", Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := flows.Publish(ctx, c.ID, w.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(rctx, []string{"chat", "--community", "demo"}, getenvFrom(vars), strings.NewReader("/raid 30\n/follow\n"), &out); err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	got := out.String()
	if strings.Count(got, "workflows this would start") != 1 {
		t.Errorf("want one workflows section, for the raid and not the follow:\n%s", got)
	}
	for _, want := range []string{"Thank raiders (event raid): succeeded", "raid trigger_event succeeded → {", `"viewers":30`, "thank flow_noop succeeded"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := countRows(t, a, "SELECT count(*) FROM workflow_runs"); n != 0 {
		t.Errorf("%d runs stored by waddle chat's dry run, want none", n)
	}
}
