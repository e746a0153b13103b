package workflow

// Placeholder until rules.go lands.
type Rule struct {
	Left  string `json:"left"`
	Op    string `json:"op"`
	Right string `json:"right"`
}

func checkRules(c *Checker, field string, rules []Rule) {}
func evalRules(x *Exec, rules []Rule) bool              { return false }

// RenderValue placeholder.
func RenderValue(tmpl string, scope map[string]any) (any, []string) { return nil, nil }
