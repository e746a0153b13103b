package workflow

import (
	"context"
	"fmt"
	"maps"
)

// FilterConfig is condition_filter's configuration: the array to filter
// (the input when empty) and the rules an item must meet, which read the
// item as {{ item }}.
type FilterConfig struct {
	Array string `json:"array"`
	Rules []Rule `json:"rules"`
}

// Check implements Config.
func (c *FilterConfig) Check(ck *Checker) {
	if c.Array != "" {
		if _, ok := singlePath(c.Array); !ok {
			ck.Errorf("array", "Give the array as one path, such as {{ trigger.items }}.")
		} else {
			ck.Template("array", c.Array, MaxDataTemplate)
		}
	}
	inner := *ck
	inner.paths = withItem(ck.paths)
	checkRules(&inner, "rules", c.Rules)
	ck.errors, ck.warnings = inner.errors, inner.warnings
}

// withItem lets rules read item.* besides what the workflow has.
func withItem(paths func(string) bool) func(string) bool {
	if paths == nil {
		return nil
	}
	return func(p string) bool {
		return p == "item" || len(p) > 5 && p[:5] == "item." || paths(p)
	}
}

func init() {
	register(&Kind{
		Type:     "condition_filter",
		Category: CategoryCondition,
		Title:    "Filter",
		Summary:  "Keeps the items of an array that meet every rule.",
		New:      func() Config { return &FilterConfig{} },
		Run: func(_ context.Context, x *Exec, cfg Config) (Result, error) {
			c := cfg.(*FilterConfig)
			src := x.Input
			if c.Array != "" {
				src = renderValue(x, c.Array)
			}
			items, ok := asArray(src)
			if !ok {
				if src == nil {
					return Result{}, fmt.Errorf("array: there is no array to filter")
				}
				return Result{}, fmt.Errorf("array: %s is not an array", kindOf(src))
			}
			kept := []any{}
			scope := maps.Clone(x.Scope)
			if scope == nil {
				scope = map[string]any{}
			}
			sub := *x
			sub.Scope = scope
			for _, it := range items {
				scope["item"] = it
				if evalRules(&sub, c.Rules) {
					kept = append(kept, it)
				}
			}
			x.Missing, x.Notes = sub.Missing, sub.Notes
			if err := checkOutputSize(kept); err != nil {
				return Result{}, err
			}
			return Result{Output: kept}, nil
		},
	})
}

// kindOf names a value's JSON kind for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "true or false"
	case map[string]any:
		return "an object"
	}
	if _, ok := number(v); ok {
		return "a number"
	}
	if _, ok := asArray(v); ok {
		return "an array"
	}
	return "an object"
}
