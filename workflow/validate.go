package workflow

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Report is what validation found: errors stop a publish; warnings do not.
type Report struct {
	Errors   []Issue `json:"errors"`
	Warnings []Issue `json:"warnings"`
}

// OK reports whether the definition has no errors.
func (r Report) OK() bool { return len(r.Errors) == 0 }

// ForNode lists the findings about one node, errors first.
func (r Report) ForNode(id string) []Issue {
	var out []Issue
	for _, i := range append(slices.Clone(r.Errors), r.Warnings...) {
		if i.Node == id {
			out = append(out, i)
		}
	}
	return out
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// MaxNesting is how deeply loop and flow nodes may nest before a warning.
const MaxNesting = 4

// scopeRoots are the names a template path may start with.
var scopeRoots = []string{"trigger", "input", "vars", "nodes", "item", "workflow", "run", "community"}

// Validate checks a definition: node types and configurations, connections
// and ports, triggers, cycles, sizes; then warns of unreachable nodes and
// deep nesting. Each finding names its node and field.
func Validate(d *Definition) Report {
	var rep Report
	errf := func(node, field, format string, args ...any) {
		rep.Errors = append(rep.Errors, Issue{Node: node, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if len(d.Nodes) > MaxNodes {
		errf("", "nodes", "A workflow has at most %d nodes; this one has %d.", MaxNodes, len(d.Nodes))
		return rep
	}
	if len(d.Connections) > MaxConnections {
		errf("", "connections", "A workflow has at most %d connections; this one has %d.", MaxConnections, len(d.Connections))
		return rep
	}
	ids := make(map[string]bool, len(d.Nodes))
	for _, n := range d.Nodes {
		ids[n.ID] = true
	}
	paths := func(p string) bool {
		root, rest, _ := strings.Cut(p, ".")
		if !slices.Contains(scopeRoots, root) {
			return false
		}
		if root == "nodes" && rest != "" {
			id, _, _ := strings.Cut(rest, ".")
			return ids[id]
		}
		return true
	}
	kindsOf := make(map[string]*Kind, len(d.Nodes))
	cfgs := make(map[string]Config, len(d.Nodes))
	seen := make(map[string]bool, len(d.Nodes))
	triggers := 0
	for _, n := range d.Nodes {
		switch {
		case !nodeIDPattern.MatchString(n.ID):
			errf(n.ID, "id", "A node id has 1 to 40 letters, digits, _ or -.")
			continue
		case seen[n.ID]:
			errf(n.ID, "id", "Two nodes have the id %q.", n.ID)
			continue
		}
		seen[n.ID] = true
		if len(n.Label) > MaxLabel {
			errf(n.ID, "label", "A label has at most %d characters.", MaxLabel)
		}
		k, ok := KindOf(n.Type)
		if !ok {
			errf(n.ID, "type", "Unknown node type %q.", n.Type)
			continue
		}
		cfg, err := DecodeConfig(k, n.Config)
		if err != nil {
			field := "config"
			if f := fieldOfProblem(err); f != "" {
				field = f
			}
			errf(n.ID, field, "%s", problemMessage(err))
			continue
		}
		ch := &Checker{node: n.ID, paths: paths, nodes: ids}
		cfg.Check(ch)
		rep.Errors = append(rep.Errors, ch.errors...)
		rep.Warnings = append(rep.Warnings, ch.warnings...)
		kindsOf[n.ID], cfgs[n.ID] = k, cfg
		if k.Category == CategoryTrigger && !n.Disabled {
			triggers++
		}
	}
	if triggers == 0 {
		errf("", "nodes", "A workflow needs a trigger: add a command, event, webhook or schedule trigger.")
	}
	next := map[string][]string{}
	type edge struct{ from, fromPort, to, toPort string }
	dup := map[edge]bool{}
	for i, cn := range d.Connections {
		field := fmt.Sprintf("connections[%d]", i)
		fk, fok := kindsOf[cn.From]
		tk, tok := kindsOf[cn.To]
		switch {
		case !ids[cn.From]:
			errf("", field, "A connection starts at node %q, which does not exist.", cn.From)
			continue
		case !ids[cn.To]:
			errf(cn.From, field, "A connection goes to node %q, which does not exist.", cn.To)
			continue
		case !fok || !tok:
			continue // the node's own error says why
		case !slices.Contains(fk.Outputs(cfgs[cn.From]), cn.FromPort):
			errf(cn.From, field, "Node %s has no output port %q (it has %s).", cn.From, cn.FromPort, strings.Join(fk.Outputs(cfgs[cn.From]), ", "))
			continue
		case !slices.Contains(tk.Inputs, cn.ToPort):
			if len(tk.Inputs) == 0 {
				errf(cn.To, field, "Node %s is a trigger: nothing connects into it.", cn.To)
			} else {
				errf(cn.To, field, "Node %s has no input port %q (it has %s).", cn.To, cn.ToPort, strings.Join(tk.Inputs, ", "))
			}
			continue
		}
		e := edge{cn.From, cn.FromPort, cn.To, cn.ToPort}
		if dup[e] {
			errf(cn.From, field, "This connection from %s to %s is there twice.", cn.From, cn.To)
			continue
		}
		dup[e] = true
		next[cn.From] = append(next[cn.From], cn.To)
	}
	for _, cycle := range cycles(d.Nodes, next) {
		if !slices.ContainsFunc(cycle, func(id string) bool { return isLoop(kindsOf[id]) }) {
			errf(cycle[0], "connections", "The nodes %s form a cycle; only a cycle through a loop node may repeat.", strings.Join(cycle, " → "))
		}
	}
	reach := map[string]bool{}
	var stack []string
	for _, n := range d.Nodes {
		if k := kindsOf[n.ID]; k != nil && k.Category == CategoryTrigger {
			reach[n.ID] = true
			stack = append(stack, n.ID)
		}
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, to := range next[id] {
			if !reach[to] {
				reach[to] = true
				stack = append(stack, to)
			}
		}
	}
	for _, n := range d.Nodes {
		if seen[n.ID] && !reach[n.ID] && kindsOf[n.ID] != nil {
			rep.Warnings = append(rep.Warnings, Issue{Node: n.ID, Message: "No trigger leads to this node: it never runs."})
		}
	}
	if depth, at := nesting(d.Nodes, kindsOf, next); depth > MaxNesting {
		rep.Warnings = append(rep.Warnings, Issue{Node: at, Message: fmt.Sprintf("Loops and flow nodes nest %d deep here; more than %d is hard to follow.", depth, MaxNesting)})
	}
	return rep
}

func isLoop(k *Kind) bool { return k != nil && k.Category == CategoryLoop }

// cycles returns the strongly connected components that form cycles
// (Tarjan's algorithm, iterative over the node order for stable output).
func cycles(nodes []Node, next map[string][]string) [][]string {
	index, low := map[string]int{}, map[string]int{}
	on := map[string]bool{}
	var st []string
	var out [][]string
	i := 0
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = i, i
		i++
		st = append(st, v)
		on[v] = true
		self := false
		for _, w := range next[v] {
			if w == v {
				self = true
			}
			if _, ok := index[w]; !ok {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := st[len(st)-1]
				st = st[:len(st)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 || self {
				slices.Reverse(comp)
				out = append(out, comp)
			}
		}
	}
	for _, n := range nodes {
		if _, ok := index[n.ID]; !ok {
			visit(n.ID)
		}
	}
	return out
}

// nesting is the deepest chain of loop and flow nodes one after another
// along the connections (an approximation of how deep bodies nest).
func nesting(nodes []Node, kindsOf map[string]*Kind, next map[string][]string) (int, string) {
	memo := map[string]int{}
	visiting := map[string]bool{}
	var depth func(id string) int
	depth = func(id string) int {
		if d, ok := memo[id]; ok {
			return d
		}
		if visiting[id] {
			return 0
		}
		visiting[id] = true
		best := 0
		for _, to := range next[id] {
			best = max(best, depth(to))
		}
		visiting[id] = false
		if k := kindsOf[id]; k != nil && (k.Category == CategoryLoop || k.Category == CategoryFlow) && k.Type != "flow_noop" {
			best++
		}
		memo[id] = best
		return best
	}
	deepest, at := 0, ""
	for _, n := range nodes {
		if d := depth(n.ID); d > deepest {
			deepest, at = d, n.ID
		}
	}
	return deepest, at
}
