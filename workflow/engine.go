package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Limits bound one run.
type Limits struct {
	MaxDuration time.Duration // time spent running, delays excluded
	MaxSteps    int           // node executions
	MaxParallel int           // activations run at once, and branches of a flow node
}

// DefaultLimits are the limits of a run unless configured otherwise.
var DefaultLimits = Limits{MaxDuration: 300 * time.Second, MaxSteps: 1000, MaxParallel: 10}

// MaxOutput is the largest output, as JSON, a node may give.
const MaxOutput = 1 << 20

// Trace is one node execution as the run's trace records it.
type Trace struct {
	Seq      int           `json:"seq"`
	Node     string        `json:"node"`
	Type     string        `json:"type"`
	Status   string        `json:"status"` // succeeded, failed, skipped, waiting
	Input    any           `json:"input,omitempty"`
	Output   any           `json:"output,omitempty"`
	Error    string        `json:"error,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
	Ports    []string      `json:"ports,omitempty"`
	Repeated bool          `json:"repeated,omitempty"`
	Started  time.Time     `json:"started_at"`
	Duration time.Duration `json:"duration"`

	inRaw, outRaw []byte // Input and Output as JSON, when known: stored as they are
}

// runner runs one run of a compiled workflow from its state.
type runner struct {
	c       *compiled
	st      *state
	info    RunInfo
	env     *Env
	trigger any
	limits  Limits
	traces  []Trace // not yet stored
	busy    time.Duration
	// checkpoint stores the state and the traces so far (nil: a dry run).
	checkpoint func(ctx context.Context, r *runner) error
	// observe hears each trace as it is made (a test run's live view).
	observe func(Trace)
	// groupErr collects failures of loop and flow nodes met while
	// settling (a loop_while past its maximum).
	groupErr []groupFailure
}

// outcome is how a stretch of running ended.
type outcome struct {
	status     string // succeeded, failed, waiting
	err        string
	failedNode string
	waitUntil  time.Time
}

type stepResult struct {
	res      Result
	err      error
	notes    []string
	started  time.Time
	duration time.Duration
	engine   bool   // a loop or flow node: the engine runs it while applying
	raw      []byte // the output as JSON, when it was encoded
}

func (r *runner) scope(a *activation) map[string]any {
	return map[string]any{
		"trigger":   r.trigger,
		"input":     a.Input,
		"vars":      r.st.Vars,
		"nodes":     r.st.Outputs,
		"item":      r.st.item(a.Frames),
		"workflow":  map[string]any{"id": r.info.WorkflowID, "name": r.c.name, "version": r.info.Version},
		"run":       map[string]any{"id": r.info.RunID},
		"community": map[string]any{"id": r.info.CommunityID},
	}
}

// run runs pending activations until the run ends, waits or fails.
func (r *runner) run(ctx context.Context) outcome {
	if w := r.st.Waiting; w != nil { // a delay ended: its node completes now
		r.st.Waiting = nil
		k := r.emit(w, nil, r.st.Outputs[w.Node])
		r.settle(w.Frames, k, r.st.Outputs[w.Node])
		if o, done := r.groupFailed(); done {
			return o
		}
	}
	for len(r.st.Pending) > 0 {
		if ctx.Err() != nil {
			return outcome{status: "interrupted"}
		}
		if r.busy > r.limits.MaxDuration {
			return r.fail(&limitError{fmt.Sprintf("the run took longer than its limit of %s (delays excluded)", r.limits.MaxDuration)}, "")
		}
		n := min(len(r.st.Pending), max(r.limits.MaxParallel, 1))
		wave := slices.Clone(r.st.Pending[:n])
		results := make([]stepResult, n)
		t0 := time.Now()
		if n == 1 {
			results[0] = r.step(ctx, wave[0])
		} else {
			var wg sync.WaitGroup
			for i, a := range wave {
				wg.Go(func() { results[i] = r.step(ctx, a) })
			}
			wg.Wait()
		}
		r.busy += time.Since(t0)
		waveEffect := false
		for i, a := range wave {
			if ctx.Err() != nil && results[i].err != nil {
				return outcome{status: "interrupted"} // stopped mid-node: run it again on resume
			}
			r.st.Pending = slices.DeleteFunc(r.st.Pending, func(p *activation) bool { return p == a })
			if k := r.c.kinds[a.Node]; k.Effect {
				waveEffect = true
			}
			if o, done := r.apply(ctx, a, results[i]); done {
				if o.status == "failed" {
					r.st.Pending = append([]*activation{a}, r.st.Pending...) // retry runs it again
				}
				return o
			}
		}
		r.st.Resumed = false
		if waveEffect && r.checkpoint != nil {
			if err := r.checkpoint(ctx, r); err != nil {
				return outcome{status: "interrupted", err: err.Error()}
			}
		}
	}
	return outcome{status: "succeeded"}
}

// step runs one node (not a loop or flow node: those are the engine's).
func (r *runner) step(ctx context.Context, a *activation) (sr stepResult) {
	sr.started = time.Now()
	n, k, cfg := r.c.nodes[a.Node], r.c.kinds[a.Node], r.c.cfgs[a.Node]
	if k.Run == nil {
		sr.engine = true
		return sr
	}
	if n.Disabled {
		sr.res = Result{Output: a.Input, Ports: firstPort(k, cfg)}
		sr.notes = []string{"disabled: its input passed on unchanged"}
		return sr
	}
	// A trigger passes its payload on (passTrigger): it needs no scope and no time limit.
	trigger := k.Category == CategoryTrigger
	x := &Exec{Run: r.info, Node: n, Seq: a.Seq, Input: a.Input, Env: r.env}
	if !trigger {
		x.Scope = r.scope(a)
	}
	defer func() {
		if p := recover(); p != nil {
			sr.err = &nodeError{node: n.ID, reason: fmt.Sprintf("the node failed unexpectedly: %v", p)}
		}
		sr.duration = time.Since(sr.started)
		sr.notes = append(sr.notes, x.Notes...)
		for _, m := range x.Missing {
			sr.notes = append(sr.notes, "missing: {{ "+m+" }} rendered empty")
		}
	}()
	nctx := ctx
	if !trigger {
		left := r.limits.MaxDuration - r.busy
		var cancel context.CancelFunc
		nctx, cancel = context.WithTimeout(ctx, max(left, time.Millisecond))
		defer cancel()
	}
	res, err := k.Run(nctx, x, cfg)
	if vw, ok := res.Output.(VarWrite); ok && err == nil && vw.Scope == ScopeRun {
		if res.Vars == nil {
			res.Vars = map[string]any{}
		}
		res.Vars[vw.Name] = vw.Value // data_variable_set on this run: {{ vars.name }} from here on
	}
	if err == nil && res.Output != nil && trigger && a.raw != nil {
		sr.raw = a.raw // a trigger passes its payload on: already JSON values, already encoded
	} else if err == nil && res.Output != nil {
		if raw, jerr := json.Marshal(res.Output); jerr != nil {
			err = fmt.Errorf("its output is not JSON: %w", jerr)
		} else if len(raw) > MaxOutput {
			err = fmt.Errorf("its output is %d bytes, more than the %d-byte limit", len(raw), MaxOutput)
		} else {
			if !jsonValues(res.Output) {
				var norm any // outputs are JSON values, as after a checkpoint
				_ = json.Unmarshal(raw, &norm)
				res.Output = norm
			}
			sr.raw = raw
		}
	}
	sr.res, sr.err = res, err
	return sr
}

func firstPort(k *Kind, cfg Config) []string {
	if ports := k.Outputs(cfg); len(ports) > 0 {
		return ports[:1]
	}
	return nil
}

// apply records a step's result and schedules what follows; done is true
// when the run stops here (failed, or waiting).
func (r *runner) apply(ctx context.Context, a *activation, sr stepResult) (outcome, bool) {
	r.st.Steps++
	n := r.c.nodes[a.Node]
	if r.st.Steps > r.limits.MaxSteps {
		return r.fail(&limitError{fmt.Sprintf("the run executed more than its limit of %d nodes", r.limits.MaxSteps)}, n.ID), true
	}
	if sr.engine {
		if err := r.startGroup(ctx, a); err != nil {
			r.record(a, Trace{Status: "failed", Error: err.Error(), Started: sr.started})
			return r.fail(err, n.ID), true
		}
		return r.groupFailed()
	}
	t := Trace{Status: "succeeded", Output: sr.res.Output, Ports: sr.res.Ports, Notes: sr.notes, Started: sr.started, Duration: sr.duration,
		outRaw: sr.raw}
	if sr.err != nil {
		t.Status, t.Error = "failed", sr.err.Error()
		r.record(a, t)
		return r.fail(sr.err, n.ID), true
	}
	r.st.Outputs[n.ID] = sr.res.Output
	for name, v := range sr.res.Vars {
		r.st.Vars[name] = v
	}
	if sr.res.Wait > 0 {
		t.Status = "waiting"
		r.record(a, t)
		r.st.Waiting = a
		return outcome{status: "waiting", waitUntil: time.Now().Add(sr.res.Wait)}, true
	}
	if t.Ports == nil {
		t.Ports = r.c.kinds[a.Node].Outputs(r.c.cfgs[a.Node])
	}
	r.record(a, t)
	k := r.emitRaw(a, sr.res.Ports, sr.res.Output, sr.raw)
	r.settle(a.Frames, k, sr.res.Output)
	return r.groupFailed()
}

// groupFailed fails the run when a loop or flow node failed while settling.
func (r *runner) groupFailed() (outcome, bool) {
	if len(r.groupErr) == 0 {
		return outcome{}, false
	}
	g := r.groupErr[0]
	r.groupErr = nil
	return r.fail(g.err, g.node), true
}

func (r *runner) fail(err error, node string) outcome {
	return outcome{status: "failed", err: err.Error(), failedNode: node}
}

// record adds a trace row for an activation.
func (r *runner) record(a *activation, t Trace) {
	r.st.Trace++
	t.Seq, t.Node, t.Type, t.Input, t.inRaw = r.st.Trace, a.Node, r.c.nodes[a.Node].Type, a.Input, a.raw
	if r.st.Resumed && r.c.kinds[a.Node].Effect {
		t.Repeated = true
		t.Notes = append(t.Notes, "the run resumed after its instance stopped; this node was in flight and may have run twice")
	}
	r.traces = append(r.traces, t)
	if r.observe != nil {
		r.observe(t)
	}
}

// emit schedules the nodes connected to the ports (nil: every output port)
// of a's node, within a's frames; it returns how many it scheduled.
func (r *runner) emit(a *activation, ports []string, output any) int {
	return r.emitFrom(a.Node, ports, output, a.Frames)
}

// emitRaw is emit for an output whose JSON encoding is known, which the
// trace then reuses.
func (r *runner) emitRaw(a *activation, ports []string, output any, raw []byte) int {
	before := len(r.st.Pending)
	k := r.emitFrom(a.Node, ports, output, a.Frames)
	for _, p := range r.st.Pending[before:] {
		p.raw = raw
	}
	return k
}

func (r *runner) emitFrom(node string, ports []string, output any, frames []int) int {
	if ports == nil {
		ports = r.c.kinds[node].Outputs(r.c.cfgs[node])
	}
	k := 0
	for _, p := range ports {
		for _, cn := range r.c.out[node][p] {
			r.st.Seq++
			r.st.Pending = append(r.st.Pending, &activation{Seq: r.st.Seq, Node: cn.To, Port: cn.ToPort, Input: output, Frames: frames})
			k++
		}
	}
	return k
}

// settle accounts for an activation that completed and scheduled k more in
// the same frames: a frame whose activations have all completed is done.
func (r *runner) settle(frames []int, k int, output any) {
	f := r.st.top(frames)
	if f == nil {
		if k == 0 {
			r.st.Result = output
		}
		return
	}
	f.Live += k - 1
	if k == 0 {
		f.Result = output
	}
	if f.Live == 0 {
		r.frameDone(frames[len(frames)-1])
	}
}

func portN(prefix string, i int) string { return prefix + strconv.Itoa(i) }

// jsonValues reports whether v is made only of the values encoding/json
// decodes into (so decoding its encoding again would change nothing).
func jsonValues(v any) bool {
	switch x := v.(type) {
	case nil, string, float64, bool:
		return true
	case map[string]any:
		for _, e := range x {
			if !jsonValues(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !jsonValues(e) {
				return false
			}
		}
		return true
	}
	return false
}
