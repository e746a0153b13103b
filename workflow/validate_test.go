package workflow_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/waddle/waddle/workflow"
)

func TestValidate(t *testing.T) {
	hook := `{"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}}`
	noop := func(id string) string { return fmt.Sprintf(`{"id": %q, "type": "flow_noop"}`, id) }
	conn := func(from, port, to string) string {
		return fmt.Sprintf(`{"from": %q, "from_port": %q, "to": %q, "to_port": "in"}`, from, port, to)
	}
	flow := func(nodes []string, conns ...string) string {
		return `{"nodes": [` + strings.Join(nodes, ",") + `], "connections": [` + strings.Join(conns, ",") + `]}`
	}
	cases := []struct {
		name      string
		def       string
		wantNode  string
		wantField string
		wantMsg   string // in the error's message; "" : valid
		warning   bool
	}{
		{name: "valid", def: flow([]string{hook, noop("a")}, conn("hook", "out", "a"))},
		{name: "no trigger", def: flow([]string{noop("a")}), wantField: "nodes", wantMsg: "needs a trigger"},
		{name: "unknown type", def: flow([]string{hook, `{"id": "x", "type": "action_teleport"}`}, conn("hook", "out", "x")),
			wantNode: "x", wantField: "type", wantMsg: `Unknown node type "action_teleport"`},
		{name: "ill-typed config", def: flow([]string{hook, `{"id": "p", "type": "flow_parallel", "config": {"branches": "two"}}`}, conn("hook", "out", "p")),
			wantNode: "p", wantField: "branches", wantMsg: "must be"},
		{name: "config out of range", def: flow([]string{hook, `{"id": "p", "type": "flow_parallel", "config": {"branches": 50}}`}, conn("hook", "out", "p")),
			wantNode: "p", wantField: "branches", wantMsg: "2 to 10"},
		{name: "unknown config field", def: flow([]string{hook, `{"id": "p", "type": "flow_parallel", "config": {"branch": 2}}`}, conn("hook", "out", "p")),
			wantNode: "p", wantMsg: "branch"},
		{name: "connection to a missing node", def: flow([]string{hook}, conn("hook", "out", "ghost")),
			wantNode: "hook", wantField: "connections[0]", wantMsg: `"ghost", which does not exist`},
		{name: "missing output port", def: flow([]string{hook, noop("a")}, conn("hook", "yes", "a")),
			wantNode: "hook", wantField: "connections[0]", wantMsg: `no output port "yes"`},
		{name: "into a trigger", def: flow([]string{hook, noop("a")}, conn("hook", "out", "a"), `{"from": "a", "from_port": "out", "to": "hook", "to_port": "in"}`),
			wantNode: "hook", wantMsg: "is a trigger"},
		{name: "cycle without a loop", def: flow([]string{hook, noop("a"), noop("b")}, conn("hook", "out", "a"), conn("a", "out", "b"), conn("b", "out", "a")),
			wantNode: "a", wantField: "connections", wantMsg: "form a cycle"},
		{name: "cycle through a loop", def: flow([]string{hook, `{"id": "l", "type": "loop_foreach"}`, noop("b")},
			conn("hook", "out", "l"), conn("l", "item", "b"), conn("b", "out", "l"))},
		{name: "duplicate id", def: flow([]string{hook, noop("a"), noop("a")}, conn("hook", "out", "a")), wantNode: "a", wantField: "id", wantMsg: "Two nodes"},
		{name: "bad id", def: flow([]string{hook, noop("a b")}), wantNode: "a b", wantField: "id", wantMsg: "node id"},
		{name: "invalid cron", def: flow([]string{`{"id": "s", "type": "trigger_schedule", "config": {"kind": "cron", "cron": "61 * * * *", "grace_seconds": 900, "max_concurrent": 1}}`}),
			wantNode: "s", wantField: "cron", wantMsg: "Not a cron expression"},
		{name: "unknown time zone", def: flow([]string{`{"id": "s", "type": "trigger_schedule", "config": {"kind": "cron", "cron": "0 12 * * *", "timezone": "Mars/Base", "grace_seconds": 900, "max_concurrent": 1}}`}),
			wantNode: "s", wantField: "timezone", wantMsg: "Unknown time zone"},
		{name: "unreachable node warns", def: flow([]string{hook, noop("a"), noop("lost")}, conn("hook", "out", "a")),
			wantNode: "lost", wantMsg: "never runs", warning: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := workflow.ParseDefinition([]byte(c.def))
			if err != nil {
				t.Fatal(err)
			}
			rep := workflow.Validate(&d)
			list := rep.Errors
			if c.warning {
				list = rep.Warnings
				if !rep.OK() {
					t.Fatalf("errors %v, want none", rep.Errors)
				}
			}
			if c.wantMsg == "" {
				if !rep.OK() || len(rep.Warnings) > 0 {
					t.Fatalf("errors %v, warnings %v; want none", rep.Errors, rep.Warnings)
				}
				return
			}
			for _, i := range list {
				if i.Node == c.wantNode && (c.wantField == "" || i.Field == c.wantField) && strings.Contains(i.Message, c.wantMsg) {
					return
				}
			}
			t.Fatalf("want a finding on node %q field %q with %q; got %v", c.wantNode, c.wantField, c.wantMsg, list)
		})
	}
}

func TestValidateRefusesTooManyNodes(t *testing.T) {
	d := workflow.Definition{}
	for i := range workflow.MaxNodes + 1 {
		d.Nodes = append(d.Nodes, workflow.Node{ID: fmt.Sprintf("n%d", i), Type: "flow_noop"})
	}
	rep := workflow.Validate(&d)
	if rep.OK() || !strings.Contains(rep.Errors[0].Message, "at most 200 nodes") {
		t.Fatalf("errors %v, want the node limit", rep.Errors)
	}
}

func TestParseDefinitionRefusesBadJSON(t *testing.T) {
	for _, raw := range []string{`{"nodes": [}`, `{"nodes": [], "extra": 1}`, `{"nodes": 3}`, `{} {}`, strings.Repeat(" ", workflow.MaxDefinition+1)} {
		if _, err := workflow.ParseDefinition([]byte(raw)); err == nil {
			t.Errorf("%.40q parsed; want an error", raw)
		}
	}
}

// chain50 is a valid 50-node workflow: a trigger, loops and flow nodes.
func chain50() workflow.Definition {
	d := workflow.Definition{Nodes: []workflow.Node{{ID: "t", Type: "trigger_webhook", Config: []byte(`{"mode":"sync","timeout_seconds":5}`)}}}
	prev, port := "t", "out"
	for i := 1; i < 50; i++ {
		id := fmt.Sprintf("n%d", i)
		n := workflow.Node{ID: id, Type: "flow_noop"}
		next := "out"
		if i%10 == 0 {
			n.Type, n.Config, next = "flow_parallel", []byte(`{"branches": 2}`), "done"
		}
		d.Nodes = append(d.Nodes, n)
		d.Connections = append(d.Connections, workflow.Connection{From: prev, FromPort: port, To: id, ToPort: "in"})
		prev, port = id, next
	}
	return d
}

func BenchmarkValidate50Nodes(b *testing.B) {
	d := chain50()
	if rep := workflow.Validate(&d); !rep.OK() {
		b.Fatal(rep.Errors)
	}
	b.ReportAllocs()
	for b.Loop() {
		workflow.Validate(&d)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(`{"nodes":[{"id":"t","type":"trigger_webhook","config":{"mode":"sync","timeout_seconds":5}}],"connections":[]}`)
	f.Add(`{"nodes":[{"id":"a","type":"loop_foreach","config":{"items":"{{ input"}}],"connections":[{"from":"a","from_port":"item","to":"a","to_port":"in"}]}`)
	f.Add(`{"nodes":[{"id":"s","type":"trigger_schedule","config":{"kind":"cron","cron":"* * * * *"}}]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := workflow.ParseDefinition([]byte(raw))
		if err != nil {
			return
		}
		rep := workflow.Validate(&d)
		for _, i := range append(rep.Errors, rep.Warnings...) {
			if i.Message == "" {
				t.Fatalf("a finding without a message: %+v", i)
			}
		}
	})
}
