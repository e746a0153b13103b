package workflow

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Limits of data nodes.
const (
	MaxVariableValue = 64 << 10 // bytes of a variable's value as JSON
	MaxArrayItems    = 10000    // items data_array_push builds
	MaxDataTemplate  = 4096     // characters of a data node's template
)

// variableName is what a variable may be called (the same rule as the
// workflow_variables table's check).
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Variable scopes.
const (
	ScopeRun       = "run"       // this run only: vars.<name>
	ScopeWorkflow  = "workflow"  // every run of this workflow
	ScopeCommunity = "community" // every workflow of the community
)

// checkOutputSize fails a node whose output is over MaxOutput as JSON.
func checkOutputSize(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("the output cannot be stored as JSON: %w", err)
	}
	if len(b) > MaxOutput {
		return fmt.Errorf("the output is %d bytes of JSON, over the limit of %d", len(b), MaxOutput)
	}
	return nil
}

func checkVariableName(c *Checker, field, name string) {
	if !variableName.MatchString(name) {
		c.Errorf(field, "A variable name starts with a letter or underscore and has at most 64 letters, digits or underscores.")
	}
}

func checkScope(c *Checker, field string, scope *string) {
	switch *scope {
	case "":
		*scope = ScopeRun
	case ScopeRun, ScopeWorkflow, ScopeCommunity:
	default:
		c.Errorf(field, "The scope is %q, %q or %q.", ScopeRun, ScopeWorkflow, ScopeCommunity)
	}
}
