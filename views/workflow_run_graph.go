package views

import (
	"fmt"
	"math"
)

// RunGraph is a run's workflow drawn read-only: each node a box where the
// builder placed it, coloured by the status of its last execution in the
// run, and each connection a curve from an output to an input.
type RunGraph struct {
	Width, Height float64
	Nodes         []GraphNode
	Edges         []GraphEdge
}

// GraphNode is one node of the drawing. X and Y are the builder's position
// on input; NewRunGraph moves them into the drawing.
type GraphNode struct {
	ID, Label, Type string
	X, Y            float64
	Status          string // of its last execution; "" if it did not run
	Disabled        bool
}

// GraphEdge is one connection, by node ids; Path is filled in by NewRunGraph.
type GraphEdge struct {
	From, To string
	Path     string
	Taken    bool // the run sent something along it
}

// Sizes of the drawing, in its own units.
const (
	graphNodeW = 170.0
	graphNodeH = 50.0
	graphPad   = 20.0
	graphMax   = 20000.0 // positions beyond this are clamped
)

// NewRunGraph lays out nodes and edges: positions as the builder saved them,
// moved so the drawing starts at its padding; when every node sits at the
// same place (made through the API, never opened in the builder), in columns
// by distance from the nodes nothing leads to.
func NewRunGraph(nodes []GraphNode, edges []GraphEdge) RunGraph {
	g := RunGraph{Nodes: nodes}
	if len(nodes) == 0 {
		return g
	}
	if samePlace(nodes) {
		autoLayout(nodes, edges)
	}
	minX, minY := math.Inf(1), math.Inf(1)
	for i := range nodes {
		n := &nodes[i]
		n.X, n.Y = clamp(n.X), clamp(n.Y)
		minX, minY = math.Min(minX, n.X), math.Min(minY, n.Y)
	}
	at := map[string]*GraphNode{}
	for i := range nodes {
		n := &nodes[i]
		n.X, n.Y = n.X-minX+graphPad, n.Y-minY+graphPad
		g.Width = math.Max(g.Width, n.X+graphNodeW+graphPad)
		g.Height = math.Max(g.Height, n.Y+graphNodeH+graphPad)
		at[n.ID] = n
	}
	for _, e := range edges {
		a, b := at[e.From], at[e.To]
		if a == nil || b == nil {
			continue
		}
		x1, y1 := a.X+graphNodeW, a.Y+graphNodeH/2
		x2, y2 := b.X, b.Y+graphNodeH/2
		bend := math.Max(40, math.Abs(x2-x1)/2)
		e.Path = fmt.Sprintf("M %.0f %.0f C %.0f %.0f, %.0f %.0f, %.0f %.0f", x1, y1, x1+bend, y1, x2-bend, y2, x2, y2)
		g.Edges = append(g.Edges, e)
	}
	return g
}

func clamp(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(-graphMax, math.Min(graphMax, v))
}

func samePlace(nodes []GraphNode) bool {
	for _, n := range nodes[1:] {
		if n.X != nodes[0].X || n.Y != nodes[0].Y {
			return false
		}
	}
	return len(nodes) > 1
}

// autoLayout puts each node in the column of its distance from the nodes
// nothing leads to (breadth first, so a loop's cycle does not stretch it),
// one under another within a column.
func autoLayout(nodes []GraphNode, edges []GraphEdge) {
	next := map[string][]string{}
	into := map[string]bool{}
	for _, e := range edges {
		next[e.From] = append(next[e.From], e.To)
		into[e.To] = true
	}
	col := map[string]int{}
	var queue []string
	for _, n := range nodes {
		if !into[n.ID] {
			col[n.ID] = 0
			queue = append(queue, n.ID)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, to := range next[id] {
			if _, seen := col[to]; !seen {
				col[to] = col[id] + 1
				queue = append(queue, to)
			}
		}
	}
	rows := map[int]int{}
	for i := range nodes {
		c := col[nodes[i].ID] // a node no source reaches: the first column
		nodes[i].X = float64(c) * (graphNodeW + 60)
		nodes[i].Y = float64(rows[c]) * (graphNodeH + 30)
		rows[c]++
	}
}

// box geometry for the template.
func (n GraphNode) w() string      { return fmt.Sprintf("%.0f", graphNodeW) }
func (n GraphNode) h() string      { return fmt.Sprintf("%.0f", graphNodeH) }
func (n GraphNode) x() string      { return fmt.Sprintf("%.0f", n.X) }
func (n GraphNode) y() string      { return fmt.Sprintf("%.0f", n.Y) }
func (n GraphNode) textX() string  { return fmt.Sprintf("%.0f", n.X+10) }
func (n GraphNode) line1Y() string { return fmt.Sprintf("%.0f", n.Y+21) }
func (n GraphNode) line2Y() string { return fmt.Sprintf("%.0f", n.Y+39) }

func (g RunGraph) viewBox() string { return fmt.Sprintf("0 0 %.0f %.0f", g.Width, g.Height) }
func (g RunGraph) width() string   { return fmt.Sprintf("%.0f", g.Width) }
func (g RunGraph) height() string  { return fmt.Sprintf("%.0f", g.Height) }

// short cuts a label to what fits in a box.
func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
