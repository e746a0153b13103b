package workflow

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/waddle/waddle/problem"
)

// Limits of a definition.
const (
	MaxNodes       = 200
	MaxConnections = 1000
	MaxDefinition  = 1 << 20 // bytes of JSON
	MaxLabel       = 100
	MaxName        = 100
	MaxDescription = 1000
)

// Status of a workflow.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
	StatusArchived  = "archived"
)

// Definition is what a workflow does: its nodes and the connections between
// their ports. It is the JSON the API takes and export writes.
type Definition struct {
	Nodes       []Node       `json:"nodes"`
	Connections []Connection `json:"connections"`
}

// Node is one step of a workflow.
type Node struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Label    string          `json:"label,omitempty"`
	Position Position        `json:"position"`
	Disabled bool            `json:"disabled,omitempty"` // a disabled node passes its input on unchanged
	Config   json.RawMessage `json:"config,omitempty"`
}

// Position is where a node sits on the canvas.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Connection joins an output port of one node to an input port of another.
type Connection struct {
	From     string `json:"from"`
	FromPort string `json:"from_port"`
	To       string `json:"to"`
	ToPort   string `json:"to_port"`
}

// Workflow is a stored workflow with its current (draft) definition.
type Workflow struct {
	ID          int64      `json:"id"`
	CommunityID int64      `json:"community_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	Version     int32      `json:"version"`    // the latest published version; 0: never published
	Definition  Definition `json:"definition"` // the draft being edited
	Published   *time.Time `json:"published_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Export is a workflow as export writes and import reads it.
type Export struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Definition  Definition `json:"definition"`
}

// ParseDefinition decodes a definition's JSON, refusing unknown fields and
// anything too large; it does not validate the graph (see Validate).
func ParseDefinition(raw []byte) (Definition, error) {
	var d Definition
	if len(raw) > MaxDefinition {
		return d, problem.Invalidf("definition", "A workflow definition has at most %d bytes of JSON.", MaxDefinition)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, problem.JSON(err, "workflow definition")
	}
	if dec.More() {
		return d, problem.Invalidf("definition", "The workflow definition has data after its end.")
	}
	return d, nil
}

// Node returns the node with the id, if any.
func (d *Definition) Node(id string) (*Node, bool) {
	for i := range d.Nodes {
		if d.Nodes[i].ID == id {
			return &d.Nodes[i], true
		}
	}
	return nil, false
}
