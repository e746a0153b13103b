package workflow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Limits of condition rules.
const (
	MaxRules        = 50
	MaxRuleTemplate = 2048 // characters of a rule's left or right side
	MaxPattern      = 512  // bytes of a matches pattern
)

// Rule is one condition: Left Op Right, both sides templates. Rules are
// shared by condition_if, condition_switch, condition_filter and loop_while.
type Rule struct {
	Left  string `json:"left"`
	Op    string `json:"op"`
	Right string `json:"right"`
}

// The rule operators.
const (
	OpEquals         = "equals"
	OpNotEquals      = "not_equals"
	OpContains       = "contains"
	OpMatches        = "matches"
	OpGreaterThan    = "greater_than"
	OpLessThan       = "less_than"
	OpGreaterOrEqual = "greater_or_equal"
	OpLessOrEqual    = "less_or_equal"
	OpInList         = "in_list"
	OpIsEmpty        = "is_empty"
	OpIsNotEmpty     = "is_not_empty"
)

// Ops lists the rule operators, in the builder's order.
var Ops = []string{OpEquals, OpNotEquals, OpContains, OpMatches, OpGreaterThan, OpLessThan, OpGreaterOrEqual, OpLessOrEqual, OpInList, OpIsEmpty, OpIsNotEmpty}

func knownOp(op string) bool {
	for _, o := range Ops {
		if o == op {
			return true
		}
	}
	return false
}

// checkRules checks a rule list in a field ("rules"); each finding names the
// rule's own field, as in rules[2].op.
func checkRules(c *Checker, field string, rules []Rule) {
	if len(rules) == 0 {
		c.Errorf(field, "Add at least one rule.")
		return
	}
	if len(rules) > MaxRules {
		c.Errorf(field, "At most %d rules.", MaxRules)
		return
	}
	for i, r := range rules {
		checkRule(c, fmt.Sprintf("%s[%d]", field, i), r, true)
	}
}

// checkRule checks one rule; withLeft is false where the left side is given
// elsewhere (a switch case compares the switch's value).
func checkRule(c *Checker, field string, r Rule, withLeft bool) {
	if withLeft {
		if strings.TrimSpace(r.Left) == "" {
			c.Errorf(field+".left", "Say what to compare, such as {{ trigger.viewers }}.")
		} else {
			c.Template(field+".left", r.Left, MaxRuleTemplate)
		}
	}
	if !knownOp(r.Op) {
		c.Errorf(field+".op", "Unknown operator %q: use one of %s.", r.Op, strings.Join(Ops, ", "))
		return
	}
	if r.Op == OpIsEmpty || r.Op == OpIsNotEmpty {
		if r.Right != "" {
			c.Warnf(field+".right", "The %s operator ignores the right side.", r.Op)
		}
		return
	}
	c.Template(field+".right", r.Right, MaxRuleTemplate)
	if r.Op == OpMatches {
		if len(r.Right) > MaxPattern {
			c.Errorf(field+".right", "A pattern has at most %d bytes.", MaxPattern)
		} else if !hasExpr(r.Right) {
			if _, err := compilePattern(r.Right); err != nil {
				c.Errorf(field+".right", "Invalid regular expression: %s.", err.Error())
			}
		}
	}
}

// evalRules reports whether every rule holds (AND); missing paths are noted
// on the execution.
func evalRules(x *Exec, rules []Rule) bool {
	for _, r := range rules {
		if !evalRule(x, renderValue(x, r.Left), r.Op, r.Right) {
			return false
		}
	}
	return true
}

// evalRule compares an already-read left value with the rule's right side.
func evalRule(x *Exec, left any, op, rightTmpl string) bool {
	switch op {
	case OpIsEmpty:
		return isEmpty(left)
	case OpIsNotEmpty:
		return !isEmpty(left)
	}
	right := renderValue(x, rightTmpl)
	switch op {
	case OpEquals:
		return equal(left, right)
	case OpNotEquals:
		return !equal(left, right)
	case OpContains:
		if a, ok := asArray(left); ok {
			for _, e := range a {
				if equal(e, right) {
					return true
				}
			}
			return false
		}
		return strings.Contains(String(left), String(right))
	case OpMatches:
		re, err := compilePattern(String(right))
		if err != nil {
			x.Notes = appendOnce(x.Notes, fmt.Sprintf("pattern %q: %s", String(right), err.Error()))
			return false
		}
		return re.MatchString(String(left))
	case OpGreaterThan, OpLessThan, OpGreaterOrEqual, OpLessOrEqual:
		l, ok1 := number(left)
		r, ok2 := number(right)
		if !ok1 || !ok2 {
			return false
		}
		switch op {
		case OpGreaterThan:
			return l > r
		case OpLessThan:
			return l < r
		case OpGreaterOrEqual:
			return l >= r
		}
		return l <= r
	case OpInList:
		for _, e := range listOf(right) {
			if equal(left, e) {
				return true
			}
		}
	}
	return false
}

// equal compares as numbers when both sides are numbers, else as text.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			return x == y
		}
	}
	return String(a) == String(b)
}

// isEmpty: nothing, blank text, an empty array or object.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case map[string]any:
		return len(x) == 0
	}
	if a, ok := asArray(v); ok {
		return len(a) == 0
	}
	return false
}

// listOf reads in_list's right side: an array, a JSON array as text, or
// comma-separated text.
func listOf(v any) []any {
	if a, ok := asArray(v); ok {
		return a
	}
	s := strings.TrimSpace(String(v))
	if strings.HasPrefix(s, "[") {
		var a []any
		if json.Unmarshal([]byte(s), &a) == nil {
			return a
		}
	}
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSpace(p)
	}
	return out
}

// The compiled patterns, bounded like the template cache.
const patternCacheEntries = 512

var patternCache = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: map[string]*regexp.Regexp{}}

// compilePattern compiles an RE2 pattern of at most MaxPattern bytes,
// through the cache.
func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > MaxPattern {
		return nil, fmt.Errorf("a pattern has at most %d bytes", MaxPattern)
	}
	patternCache.Lock()
	re, ok := patternCache.m[p]
	patternCache.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	patternCache.Lock()
	defer patternCache.Unlock()
	for k := range patternCache.m {
		if len(patternCache.m) < patternCacheEntries {
			break
		}
		delete(patternCache.m, k)
	}
	patternCache.m[p] = re
	return re, nil
}
