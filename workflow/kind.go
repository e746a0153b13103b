package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/waddle/waddle/problem"
)

// Categories of node types, in the palette's order.
const (
	CategoryTrigger   = "trigger"
	CategoryCondition = "condition"
	CategoryAction    = "action"
	CategoryData      = "data"
	CategoryLoop      = "loop"
	CategoryFlow      = "flow"
)

// Categories lists the categories in the palette's order.
var Categories = []string{CategoryTrigger, CategoryCondition, CategoryAction, CategoryData, CategoryLoop, CategoryFlow}

// Config is a node type's typed configuration. Check reports every problem
// through the checker, naming the field (the JSON name).
type Config interface {
	Check(c *Checker)
}

// Kind is a node type: what it is called, its ports, its configuration and
// how it runs.
type Kind struct {
	Type     string // e.g. "condition_if"
	Category string
	Title    string // shown in the palette: "If"
	Summary  string // one sentence for the palette and README
	// New returns a configuration with its defaults, to decode into.
	New func() Config
	// Inputs are its input ports; a trigger has none.
	Inputs []string
	// Outputs are its output ports for a configuration (a switch has one
	// per case).
	Outputs func(Config) []string
	// Effect says whether running it touches the world outside the run
	// (sends, calls, stores): the run is checkpointed after it, so it is
	// never repeated once completed.
	Effect bool
	// Run runs the node. Loop and flow nodes are run by the engine itself
	// and have no Run.
	Run func(ctx context.Context, x *Exec, cfg Config) (Result, error)
}

// Result is what a node run gives: its output, recorded for later nodes as
// nodes.<id>, and the ports it sends it on.
type Result struct {
	Output any
	Ports  []string       // the output ports activated; nil: all of them
	Wait   time.Duration  // action_delay: resume after this long (the run waits)
	Vars   map[string]any // run variables to set (action_webhook's variable); the engine merges them into vars
}

// Exec is one node execution as a node's Run sees it.
type Exec struct {
	Run  RunInfo
	Node *Node
	// Seq numbers the execution within the run (the activation's number,
	// kept in the run's state): a node in a loop gets a new one each time,
	// and an execution run again after a crash keeps its own. Actions
	// derive their idempotency keys from it.
	Seq   int
	Input any            // what arrived on the connection
	Scope map[string]any // the template scope: trigger, input, vars, nodes, item, workflow, community
	Env   *Env           // the services actions use
	// Missing collects template paths that rendered empty.
	Missing []string
	// Notes are lines for the trace (a retry, a truncated response).
	Notes []string
}

// RunInfo identifies the run a node belongs to.
type RunInfo struct {
	CommunityID int64
	WorkflowID  int64
	RunID       int64
	Version     int32
	DryRun      bool // the simulator: nothing is sent or stored
}

// Render renders a template string against the execution's scope, noting
// the missing paths.
func (x *Exec) Render(tmpl string) string {
	out, missing := Render(tmpl, x.Scope)
	x.Missing = append(x.Missing, missing...)
	return out
}

var kinds = map[string]*Kind{}

// register adds a node type; each node type's file registers itself.
func register(k *Kind) {
	if _, dup := kinds[k.Type]; dup {
		panic("workflow: node type registered twice: " + k.Type)
	}
	if k.Inputs == nil && k.Category != CategoryTrigger {
		k.Inputs = []string{"in"}
	}
	if k.Outputs == nil {
		k.Outputs = func(Config) []string { return []string{"out"} }
	}
	kinds[k.Type] = k
}

// KindOf returns the node type with the name.
func KindOf(typ string) (*Kind, bool) {
	k, ok := kinds[typ]
	return k, ok
}

// Kinds lists the node types by category, then type.
func Kinds() []*Kind {
	out := make([]*Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	rank := map[string]int{}
	for i, c := range Categories {
		rank[c] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if rank[out[i].Category] != rank[out[j].Category] {
			return rank[out[i].Category] < rank[out[j].Category]
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// DecodeConfig decodes a node's configuration into its type's Config,
// starting from the defaults and refusing unknown fields.
func DecodeConfig(k *Kind, raw json.RawMessage) (Config, error) {
	cfg := k.New()
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return cfg, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return cfg, problem.JSON(err, "configuration")
	}
	return cfg, nil
}

// Issue is one validation finding, on a node's field or on the workflow.
type Issue struct {
	Node    string `json:"node,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (i Issue) String() string {
	switch {
	case i.Node != "" && i.Field != "":
		return fmt.Sprintf("node %s, %s: %s", i.Node, i.Field, i.Message)
	case i.Node != "":
		return fmt.Sprintf("node %s: %s", i.Node, i.Message)
	}
	return i.Message
}

// Checker collects the findings about one node's configuration.
type Checker struct {
	node     string
	errors   []Issue
	warnings []Issue
	// Paths are the template paths the node may read (see CheckTemplate).
	paths func(path string) bool
	nodes map[string]bool
}

// NodeExists reports whether the workflow has a node with the id.
func (c *Checker) NodeExists(id string) bool { return c.nodes[id] }

// Errorf reports an error in a field.
func (c *Checker) Errorf(field, format string, args ...any) {
	c.errors = append(c.errors, Issue{Node: c.node, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Warnf reports a warning about a field.
func (c *Checker) Warnf(field, format string, args ...any) {
	c.warnings = append(c.warnings, Issue{Node: c.node, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Template checks a template string in a field: its syntax, its size and
// that each path it reads can exist.
func (c *Checker) Template(field, tmpl string, max int) {
	if len(tmpl) > max {
		c.Errorf(field, "It has at most %d characters.", max)
		return
	}
	paths, err := TemplatePaths(tmpl)
	if err != nil {
		c.Errorf(field, "%s", err.Error())
		return
	}
	for _, p := range paths {
		if c.paths != nil && !c.paths(p) {
			c.Errorf(field, "The template reads %q, which this workflow never has.", p)
		}
	}
}
