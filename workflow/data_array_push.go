package workflow

import (
	"context"
	"fmt"
)

// ArrayPushConfig is data_array_push's configuration: the array (one path;
// missing or null starts a new one) and the value to append.
type ArrayPushConfig struct {
	Array string `json:"array"`
	Value string `json:"value"`
}

// Check implements Config.
func (c *ArrayPushConfig) Check(ck *Checker) {
	if _, ok := singlePath(c.Array); !ok {
		ck.Errorf("array", "Give the array as one path, such as {{ vars.names }}.")
	} else {
		ck.Template("array", c.Array, MaxDataTemplate)
	}
	ck.Template("value", c.Value, MaxDataTemplate)
}

func init() {
	register(&Kind{
		Type:     "data_array_push",
		Category: CategoryData,
		Title:    "Append to array",
		Summary:  "Outputs an array with one more item at its end.",
		New:      func() Config { return &ArrayPushConfig{} },
		Run: func(_ context.Context, x *Exec, cfg Config) (Result, error) {
			c := cfg.(*ArrayPushConfig)
			src := renderValue(x, c.Array)
			var items []any
			if src != nil {
				a, ok := asArray(src)
				if !ok {
					return Result{}, fmt.Errorf("array: %s is not an array", kindOf(src))
				}
				items = a
			}
			if len(items) >= MaxArrayItems {
				return Result{}, fmt.Errorf("array: it has %d items already; an array has at most %d", len(items), MaxArrayItems)
			}
			out := make([]any, len(items), len(items)+1)
			copy(out, items)
			out = append(out, renderValue(x, c.Value))
			if err := checkOutputSize(out); err != nil {
				return Result{}, err
			}
			return Result{Output: out}, nil
		},
	})
}
