package workflow

import (
	"context"
	"fmt"
	"time"
)

// ForeachConfig configures loop_foreach.
type ForeachConfig struct {
	Items       string `json:"items"`       // a template naming the array; empty: the input
	Concurrency int    `json:"concurrency"` // items run at once
	MaxItems    int    `json:"max_items"`
}

func (c *ForeachConfig) Check(ch *Checker) {
	if c.Items != "" {
		ch.Template("items", c.Items, 1000)
	}
	if c.Concurrency < 1 || c.Concurrency > 20 {
		ch.Errorf("concurrency", "Run 1 to 20 items at once.")
	}
	if c.MaxItems < 1 || c.MaxItems > 10000 {
		ch.Errorf("max_items", "The maximum is between 1 and 10000 items.")
	}
}

// WhileConfig configures loop_while.
type WhileConfig struct {
	Rules         []Rule `json:"rules"`
	MaxIterations int    `json:"max_iterations"`
}

func (c *WhileConfig) Check(ch *Checker) {
	if len(c.Rules) == 0 {
		ch.Errorf("rules", "Give at least one rule: the loop runs while they all hold.")
	}
	checkRules(ch, "rules", c.Rules)
	if c.MaxIterations < 1 || c.MaxIterations > 10000 {
		ch.Errorf("max_iterations", "The maximum is between 1 and 10000 iterations.")
	}
}

// ParallelConfig configures flow_parallel.
type ParallelConfig struct {
	Branches int `json:"branches"`
}

func (c *ParallelConfig) Check(ch *Checker) {
	if c.Branches < 2 || c.Branches > 10 {
		ch.Errorf("branches", "A parallel node has 2 to 10 branches.")
	}
}

// SequenceConfig configures flow_sequence.
type SequenceConfig struct {
	Steps int `json:"steps"`
}

func (c *SequenceConfig) Check(ch *Checker) {
	if c.Steps < 2 || c.Steps > 10 {
		ch.Errorf("steps", "A sequence has 2 to 10 steps.")
	}
}

// NoopConfig configures flow_noop: nothing.
type NoopConfig struct{}

func (*NoopConfig) Check(*Checker) {}

func numbered(prefix string, n int) []string {
	out := make([]string, 0, n+1)
	for i := 1; i <= n; i++ {
		out = append(out, portN(prefix, i))
	}
	return append(out, "done")
}

func init() {
	register(&Kind{Type: "loop_foreach", Category: CategoryLoop, Title: "For each",
		Summary: "Runs the nodes on its item port once per array item, a few at a time, then sends every result on done.",
		New:     func() Config { return &ForeachConfig{Concurrency: 1, MaxItems: 1000} },
		Outputs: func(Config) []string { return []string{"item", "done"} }})
	register(&Kind{Type: "loop_while", Category: CategoryLoop, Title: "While",
		Summary: "Runs the nodes on its body port again and again while its rules hold, up to a maximum.",
		New:     func() Config { return &WhileConfig{MaxIterations: 100} },
		Outputs: func(Config) []string { return []string{"body", "done"} }})
	register(&Kind{Type: "flow_parallel", Category: CategoryFlow, Title: "Parallel",
		Summary: "Runs its branches at the same time and continues on done when all have finished.",
		New:     func() Config { return &ParallelConfig{Branches: 2} },
		Outputs: func(c Config) []string { return numbered("branch_", c.(*ParallelConfig).Branches) }})
	register(&Kind{Type: "flow_sequence", Category: CategoryFlow, Title: "Sequence",
		Summary: "Runs its steps one after another, each after the previous one has finished, then continues on done.",
		New:     func() Config { return &SequenceConfig{Steps: 2} },
		Outputs: func(c Config) []string { return numbered("step_", c.(*SequenceConfig).Steps) }})
	register(&Kind{Type: "flow_noop", Category: CategoryFlow, Title: "Pass through",
		Summary: "Does nothing: passes its input on. Useful to join lines or to hold a place.",
		New:     func() Config { return &NoopConfig{} },
		Run: func(_ context.Context, x *Exec, _ Config) (Result, error) {
			return Result{Output: x.Input}, nil
		}})
}

// whileHolds evaluates a loop_while's rules against its last result.
func (r *runner) whileHolds(g *group) (bool, error) {
	cfg := r.c.cfgs[g.Node].(*WhileConfig)
	a := &activation{Node: g.Node, Input: g.Last, Frames: g.Frames}
	scope := r.scope(a) // a fresh map: the shared state is only read
	scope["item"] = map[string]any{"value": g.Next, "index": g.Next}
	x := &Exec{Run: r.info, Node: r.c.nodes[g.Node], Input: g.Last, Scope: scope, Env: r.env}
	return evalRules(x, cfg.Rules), nil
}

// describe names a JSON value's kind for a message.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case string:
		return "text"
	case float64, int, int64:
		return "a number"
	case bool:
		return "true or false"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

func now() time.Time { return time.Now() }
