package workflow

import (
	"context"
	"fmt"
)

// MaxMergeObjects is the most objects data_object_merge takes.
const MaxMergeObjects = 20

// ObjectMergeConfig is data_object_merge's configuration: objects merged
// left to right, later keys winning; deep merges nested objects too
// (arrays are replaced, not joined).
type ObjectMergeConfig struct {
	Objects []string `json:"objects"`
	Deep    bool     `json:"deep"`
}

// Check implements Config.
func (c *ObjectMergeConfig) Check(ck *Checker) {
	if len(c.Objects) == 0 {
		ck.Errorf("objects", "Add at least one object, such as {{ trigger }}.")
	}
	if len(c.Objects) > MaxMergeObjects {
		ck.Errorf("objects", "At most %d objects.", MaxMergeObjects)
		return
	}
	for i, o := range c.Objects {
		field := fmt.Sprintf("objects[%d]", i)
		if _, ok := singlePath(o); !ok {
			ck.Errorf(field, "Give each object as one path, such as {{ nodes.n1 }}.")
			continue
		}
		ck.Template(field, o, MaxDataTemplate)
	}
}

func init() {
	register(&Kind{
		Type:     "data_object_merge",
		Category: CategoryData,
		Title:    "Merge objects",
		Summary:  "Merges objects into one, later keys winning, optionally deeply.",
		New:      func() Config { return &ObjectMergeConfig{} },
		Run: func(_ context.Context, x *Exec, cfg Config) (Result, error) {
			c := cfg.(*ObjectMergeConfig)
			out := map[string]any{}
			for i, tmpl := range c.Objects {
				v := renderValue(x, tmpl)
				if v == nil {
					continue // missing or null: nothing to merge (listed as missing)
				}
				m, ok := v.(map[string]any)
				if !ok {
					return Result{}, fmt.Errorf("objects[%d]: %s is not an object", i, kindOf(v))
				}
				merge(out, m, c.Deep)
			}
			if err := checkOutputSize(out); err != nil {
				return Result{}, err
			}
			return Result{Output: out}, nil
		},
	})
}

// merge copies src's keys into dst; deep merges nested objects into copies,
// so no input is changed.
func merge(dst, src map[string]any, deep bool) {
	for k, v := range src {
		if deep {
			if sm, ok := v.(map[string]any); ok {
				dm, ok := dst[k].(map[string]any)
				if !ok {
					dm = map[string]any{}
				} else {
					dm = cloneMap(dm)
				}
				merge(dm, sm, true)
				dst[k] = dm
				continue
			}
		}
		dst[k] = v
	}
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
