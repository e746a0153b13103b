package workflow

import "context"

// IfConfig is condition_if's configuration: rules joined with AND.
type IfConfig struct {
	Rules []Rule `json:"rules"`
}

// Check implements Config.
func (c *IfConfig) Check(ck *Checker) { checkRules(ck, "rules", c.Rules) }

func init() {
	register(&Kind{
		Type:     "condition_if",
		Category: CategoryCondition,
		Title:    "If",
		Summary:  "Sends its input on \"true\" when every rule holds, else on \"false\".",
		New:      func() Config { return &IfConfig{} },
		Outputs:  func(Config) []string { return []string{"true", "false"} },
		Run: func(_ context.Context, x *Exec, cfg Config) (Result, error) {
			port := "false"
			if evalRules(x, cfg.(*IfConfig).Rules) {
				port = "true"
			}
			return Result{Output: x.Input, Ports: []string{port}}, nil
		},
	})
}
