package workflow

import (
	"context"
	"fmt"
	"regexp"
)

// MaxCases is the most cases a switch has.
const MaxCases = 32

var caseName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// SwitchConfig is condition_switch's configuration: a value compared with
// each case in turn; the first that holds takes the input, else "default".
type SwitchConfig struct {
	Value string       `json:"value"`
	Cases []SwitchCase `json:"cases"`
}

// SwitchCase is one case: its output port's name and the comparison.
type SwitchCase struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Right string `json:"right"`
}

// Check implements Config.
func (c *SwitchConfig) Check(ck *Checker) {
	if c.Value == "" {
		ck.Errorf("value", "Say what to compare, such as {{ trigger.reward }}.")
	} else {
		ck.Template("value", c.Value, MaxRuleTemplate)
	}
	if len(c.Cases) == 0 {
		ck.Errorf("cases", "Add at least one case.")
	}
	if len(c.Cases) > MaxCases {
		ck.Errorf("cases", "At most %d cases.", MaxCases)
		return
	}
	seen := map[string]bool{}
	for i, cs := range c.Cases {
		field := fmt.Sprintf("cases[%d]", i)
		switch {
		case !caseName.MatchString(cs.Name):
			ck.Errorf(field+".name", "A case name has 1 to 32 lower-case letters, digits or underscores.")
		case cs.Name == "default":
			ck.Errorf(field+".name", "\"default\" is the output taken when no case holds; name the case otherwise.")
		case seen[cs.Name]:
			ck.Errorf(field+".name", "Another case is named %q.", cs.Name)
		}
		seen[cs.Name] = true
		checkRule(ck, field, Rule{Op: cs.Op, Right: cs.Right}, false)
	}
}

func init() {
	register(&Kind{
		Type:     "condition_switch",
		Category: CategoryCondition,
		Title:    "Switch",
		Summary:  "Sends its input on the first case whose comparison with the value holds, else on \"default\".",
		New:      func() Config { return &SwitchConfig{} },
		Outputs: func(cfg Config) []string {
			var out []string
			if c, ok := cfg.(*SwitchConfig); ok {
				for _, cs := range c.Cases {
					out = append(out, cs.Name)
				}
			}
			return append(out, "default")
		},
		Run: func(_ context.Context, x *Exec, cfg Config) (Result, error) {
			c := cfg.(*SwitchConfig)
			value := renderValue(x, c.Value)
			for _, cs := range c.Cases {
				if evalRule(x, value, cs.Op, cs.Right) {
					return Result{Output: x.Input, Ports: []string{cs.Name}}, nil
				}
			}
			return Result{Output: x.Input, Ports: []string{"default"}}, nil
		},
	})
}
