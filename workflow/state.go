package workflow

// A run's state is what a checkpoint stores: the activations still to run,
// the open loop and flow groups, every node's latest output and the run's
// variables. Resuming a run from its state runs what was pending; nodes
// whose effect was checkpointed are never run again.
type state struct {
	Seq     int              `json:"seq"`   // the last activation number given
	Steps   int              `json:"steps"` // node executions so far
	Pending []*activation    `json:"pending"`
	Frames  map[int]*frame   `json:"frames,omitempty"`
	Groups  map[int]*group   `json:"groups,omitempty"`
	NextID  int              `json:"next_id"`
	Outputs map[string]any   `json:"outputs"`
	Vars    map[string]any   `json:"vars"`
	Waiting *activation      `json:"waiting,omitempty"` // the delay node to complete on resume
	Result  any              `json:"result,omitempty"`  // the last leaf output: the run's answer
	Trace   int              `json:"trace"`             // trace rows written so far
	Resumed bool             `json:"-"`                 // loaded from a checkpoint of a run that was running
	Extra   map[string]int64 `json:"extra,omitempty"`
}

// activation is one pending execution of a node: what arrived, on which
// input port, within which loop or flow frames (innermost last).
type activation struct {
	Seq    int    `json:"seq"`
	Node   string `json:"node"`
	Port   string `json:"port"`
	Input  any    `json:"input"`
	Frames []int  `json:"frames,omitempty"`
	raw    []byte // Input as JSON, when known (not kept in a checkpoint)
}

// frame is one body execution of a group: one item of a loop_foreach, one
// iteration of a loop_while, one branch of a flow node.
type frame struct {
	Group  int `json:"group"`
	Index  int `json:"index"`
	Item   any `json:"item,omitempty"`
	Live   int `json:"live"` // its activations not yet completed
	Result any `json:"result,omitempty"`
}

// group is a loop or flow node in progress: the frames it opened and what
// they gave.
type group struct {
	Node     string `json:"node"`
	Kind     string `json:"kind"`
	Frames   []int  `json:"frames,omitempty"` // the frames the owner node ran in
	Input    any    `json:"input"`
	Items    []any  `json:"items,omitempty"`
	Next     int    `json:"next"`     // the next item, iteration or branch to open
	Open     int    `json:"open"`     // frames running
	Limit    int    `json:"limit"`    // concurrency (foreach), iterations (while), branches (flow)
	Results  []any  `json:"results"`  // per item or branch
	Last     any    `json:"last"`     // loop_while: the last iteration's result
	Finished bool   `json:"finished"` // emitted done
}

func newState(trigger any) *state {
	return &state{Frames: map[int]*frame{}, Groups: map[int]*group{}, Outputs: map[string]any{}, Vars: map[string]any{}}
}

func (s *state) top(frames []int) *frame {
	if len(frames) == 0 {
		return nil
	}
	return s.Frames[frames[len(frames)-1]]
}

// item is the innermost loop item an activation sees as {{ item.value }}.
func (s *state) item(frames []int) any {
	for i := len(frames) - 1; i >= 0; i-- {
		f := s.Frames[frames[i]]
		if f == nil {
			continue
		}
		if g := s.Groups[f.Group]; g != nil && (g.Kind == "loop_foreach" || g.Kind == "loop_while") {
			return map[string]any{"value": f.Item, "index": f.Index}
		}
	}
	return nil
}
