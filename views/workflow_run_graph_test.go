package views

import (
	"math"
	"strings"
	"testing"
)

func TestRunGraphKeepsPositions(t *testing.T) {
	g := NewRunGraph([]GraphNode{{ID: "a", X: -100, Y: 50}, {ID: "b", X: 300, Y: 250}}, []GraphEdge{{From: "a", To: "b"}, {From: "a", To: "gone"}})
	if g.Nodes[0].X != graphPad || g.Nodes[0].Y != graphPad || g.Nodes[1].X != 400+graphPad || g.Nodes[1].Y != 200+graphPad {
		t.Errorf("nodes at %+v, want moved by (100, -50) and padded", g.Nodes)
	}
	if g.Width != 400+graphNodeW+2*graphPad || g.Height != 200+graphNodeH+2*graphPad {
		t.Errorf("size %vx%v", g.Width, g.Height)
	}
	if len(g.Edges) != 1 || !strings.HasPrefix(g.Edges[0].Path, "M 190 45 C") || !strings.HasSuffix(g.Edges[0].Path, "420 245") {
		t.Errorf("edges %+v: want one, from a's right side to b's left side", g.Edges)
	}
}

func TestRunGraphLaysOutUnplacedNodes(t *testing.T) {
	// All at the origin (made through the API): columns by distance, a loop's cycle bounded.
	g := NewRunGraph([]GraphNode{{ID: "t"}, {ID: "loop"}, {ID: "body"}, {ID: "end"}},
		[]GraphEdge{{From: "t", To: "loop"}, {From: "loop", To: "body"}, {From: "body", To: "loop"}, {From: "loop", To: "end"}})
	xs := map[string]float64{}
	for _, n := range g.Nodes {
		xs[n.ID] = n.X
	}
	if xs["t"] >= xs["loop"] || xs["loop"] >= xs["body"] {
		t.Errorf("columns %v: want t, then loop, then body", xs)
	}
	seen := map[[2]float64]bool{}
	for _, n := range g.Nodes {
		p := [2]float64{n.X, n.Y}
		if seen[p] {
			t.Errorf("two nodes at %v", p)
		}
		seen[p] = true
	}
}

func TestRunGraphClampsWildPositions(t *testing.T) {
	g := NewRunGraph([]GraphNode{{ID: "a", X: math.NaN(), Y: 1e300}, {ID: "b", X: -1e300}}, nil)
	if math.IsNaN(g.Width) || g.Width > 2*graphMax+graphNodeW+2*graphPad || g.Height > 2*graphMax+graphNodeH+2*graphPad {
		t.Errorf("size %vx%v", g.Width, g.Height)
	}
	if g := NewRunGraph(nil, nil); len(g.Nodes) != 0 || g.Width != 0 {
		t.Errorf("an empty graph: %+v", g)
	}
}
