package workflow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waddle/waddle/db"
)

// VarWrite is data_variable_set's output for a run variable: the engine
// applies it to the run's variables (vars.<name>) and records it.
type VarWrite struct {
	Scope string `json:"scope"`
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// VariableSetConfig is data_variable_set's configuration.
type VariableSetConfig struct {
	Name  string `json:"name"`
	Value string `json:"value"` // a template; a lone {{ path }} keeps the value's type
	Scope string `json:"scope"` // run (default), workflow or community
}

// Check implements Config.
func (c *VariableSetConfig) Check(ck *Checker) {
	checkVariableName(ck, "name", c.Name)
	ck.Template("value", c.Value, MaxDataTemplate)
	checkScope(ck, "scope", &c.Scope)
}

func init() {
	register(&Kind{
		Type:     "data_variable_set",
		Category: CategoryData,
		Title:    "Set variable",
		Summary:  "Sets a variable for this run, this workflow or the whole community.",
		New:      func() Config { return &VariableSetConfig{Scope: ScopeRun} },
		Effect:   true,
		Run:      runVariableSet,
	})
}

func runVariableSet(ctx context.Context, x *Exec, cfg Config) (Result, error) {
	c := cfg.(*VariableSetConfig)
	value := renderValue(x, c.Value)
	raw, err := json.Marshal(value)
	if err != nil {
		return Result{}, fmt.Errorf("value: it cannot be stored as JSON: %w", err)
	}
	if len(raw) > MaxVariableValue {
		return Result{}, fmt.Errorf("value: %d bytes of JSON, over the limit of %d for a variable", len(raw), MaxVariableValue)
	}
	scope := c.Scope
	if scope == "" {
		scope = ScopeRun
	}
	if scope == ScopeRun {
		return Result{Output: VarWrite{Scope: scope, Name: c.Name, Value: value}}, nil
	}
	out := map[string]any{"name": c.Name, "value": value, "scope": scope}
	if x.Run.DryRun {
		x.Notes = append(x.Notes, "dry run: the variable was not stored")
		return Result{Output: out}, nil
	}
	owner, err := variableOwner(x.Run, scope)
	if err != nil {
		return Result{}, err
	}
	if x.Env == nil || x.Env.Pool == nil {
		return Result{}, fmt.Errorf("no database to store the variable in")
	}
	if err := setVariable(ctx, db.New(x.Env.Pool), x.Run.CommunityID, owner, c.Name, raw); err != nil {
		return Result{}, err
	}
	return Result{Output: out}, nil
}
