package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/workflow"
)

// TestSimulatorShowsWorkflows: a simulated raid lists the published
// workflow it would start with its dry-run trace, and stores no run; an
// event no workflow wants lists none.
func TestSimulatorShowsWorkflows(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	d, err := workflow.ParseDefinition([]byte(`{"nodes": [
 {"id": "raid", "type": "trigger_event", "config": {"platforms": ["twitch"], "kinds": ["raid"]}},
 {"id": "thank", "type": "flow_noop"}
], "connections": [{"from": "raid", "from_port": "out", "to": "thank", "to_port": "in"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := b.flows.Create(ctx, b.c.ID, audit.Actor{}, workflow.Input{Name: "Thank raiders", Definition: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.flows.Publish(ctx, b.c.ID, w.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	draft, _, err := b.flows.Create(ctx, b.c.ID, audit.Actor{}, workflow.Input{Name: "Not published", Definition: d})
	if err != nil || draft == nil {
		t.Fatal(err)
	}

	_, doc := b.sim(t, url.Values{"kind": {"raid"}, "amount": {"30"}, "dry_run": {"on"}})
	flows := doc.Find(`[data-testid=sim-workflow]`)
	if flows.Length() != 1 || flows.Find(`[data-testid=sim-workflow-name]`).Text() != "Thank raiders" ||
		flows.Find(`[data-testid=sim-workflow-status]`).Text() != workflow.RunSucceeded {
		t.Fatalf("workflows shown: %q, want Thank raiders, succeeded", flows.Text())
	}
	var nodes []string
	flows.Find(`[data-testid=sim-workflow-node]`).Each(func(_ int, s *goquery.Selection) {
		nodes = append(nodes, strings.Fields(s.Text())[0])
	})
	if strings.Join(nodes, ",") != "raid,thank" {
		t.Errorf("dry-run nodes %v, want raid, thank", nodes)
	}
	if !strings.Contains(flows.Text(), `"viewers":30`) {
		t.Errorf("the trigger's output summary %q lacks the raid's viewers", flows.Text())
	}
	runs, err := b.flows.ListRuns(ctx, b.c.ID, workflow.RunFilter{Limit: 10})
	if err != nil || len(runs) != 0 {
		t.Errorf("%d runs stored by a dry run (%v), want none", len(runs), err)
	}

	_, doc = b.sim(t, url.Values{"kind": {"follow"}, "dry_run": {"on"}})
	if n := doc.Find(`[data-testid=sim-workflows]`).Length(); n != 0 {
		t.Errorf("a follow lists %d workflow sections, want none", n)
	}
}
