package workflow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waddle/waddle/db"
)

// VariableGetConfig is data_variable_get's configuration. Default is any
// JSON value, taken when the variable is not set; a string default is a
// template.
type VariableGetConfig struct {
	Name    string `json:"name"`
	Scope   string `json:"scope"`
	Default any    `json:"default"`
}

// Check implements Config.
func (c *VariableGetConfig) Check(ck *Checker) {
	checkVariableName(ck, "name", c.Name)
	checkScope(ck, "scope", &c.Scope)
	if s, ok := c.Default.(string); ok {
		ck.Template("default", s, MaxDataTemplate)
	} else if b, err := json.Marshal(c.Default); err != nil || len(b) > MaxVariableValue {
		ck.Errorf("default", "The default has at most %d bytes of JSON.", MaxVariableValue)
	}
}

func init() {
	register(&Kind{
		Type:     "data_variable_get",
		Category: CategoryData,
		Title:    "Get variable",
		Summary:  "Reads a variable of this run, this workflow or the community, or a default.",
		New:      func() Config { return &VariableGetConfig{Scope: ScopeRun} },
		Run:      runVariableGet,
	})
}

func runVariableGet(ctx context.Context, x *Exec, cfg Config) (Result, error) {
	c := cfg.(*VariableGetConfig)
	var (
		v     any
		found bool
	)
	switch c.Scope {
	case ScopeRun, "":
		if vars, ok := x.Scope["vars"].(map[string]any); ok {
			v, found = vars[c.Name]
		}
	default:
		if x.Run.DryRun && c.Scope == ScopeWorkflow && x.Run.WorkflowID <= 0 {
			break // the simulator, on a workflow not yet stored: the default
		}
		owner, err := variableOwner(x.Run, c.Scope)
		if err != nil {
			return Result{}, err
		}
		if x.Env == nil || x.Env.Pool == nil {
			return Result{}, fmt.Errorf("no database to read the variable from")
		}
		v, found, err = getVariable(ctx, db.New(x.Env.Pool), x.Run.CommunityID, owner, c.Name)
		if err != nil {
			return Result{}, err
		}
	}
	if !found {
		v = c.Default
		if s, ok := v.(string); ok {
			v = renderValue(x, s)
		}
		x.Notes = append(x.Notes, fmt.Sprintf("variable %q is not set: the default was used", c.Name))
	}
	if err := checkOutputSize(v); err != nil {
		return Result{}, err
	}
	return Result{Output: v}, nil
}
