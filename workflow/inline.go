package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Outcome is how a run this process ran while a caller waited ended.
type Outcome struct {
	RunID  int64  `json:"run_id"`
	Status string `json:"status"` // succeeded, failed, waiting, running (still going when the wait ended)
	Error  string `json:"error,omitempty"`
	Node   string `json:"failed_node,omitempty"`
	Output any    `json:"output,omitempty"` // the answering node's output, or the run's last
	// OutputJSON is Output's encoding when the run has it (the answering
	// node's, as its trace stores it); nil: encode Output.
	OutputJSON []byte  `json:"-"`
	Traces     []Trace `json:"traces,omitempty"`
}

// RunInline runs a published version's run in this process while the
// caller waits (a synchronous webhook), answering with the output of the
// node respond (empty: the run's last output). A run whose nodes touch the
// world is stored and claimed before it starts, and checkpointed as any run
// is; one that only computes is stored, with its trace, once it ends,
// through the batched writer. If ctx ends first, the run goes on as a job.
func (s *Service) RunInline(ctx context.Context, req StartRequest, respond string, observe func(Trace)) (Outcome, error) {
	c, err := s.compiledVersion(ctx, req.CommunityID, req.WorkflowID, req.Version)
	if err != nil {
		return Outcome{}, err
	}
	payload, trig := req.Payload, req.PayloadJSON
	if trig == nil {
		if payload, trig, err = roundTripRaw(req.Payload); err != nil {
			return Outcome{}, err
		}
	}
	if !c.pure() || req.DedupKey != "" {
		return s.runStored(ctx, c, req, respond, observe)
	}
	ids, err := s.ids.take(ctx, s.pool, 1)
	if err != nil {
		return Outcome{}, err
	}
	info := RunInfo{CommunityID: req.CommunityID, WorkflowID: req.WorkflowID, RunID: ids[0], Version: req.Version}
	r := s.fresh(c, info, req.Node, payload)
	r.st.Pending[0].raw = trig
	r.observe = observe
	started := time.Now()
	o := r.run(ctx)
	ended := time.Now()
	out := r.outcome(o, respond)
	if o.status == "interrupted" {
		o.status, o.err = "failed", "the caller stopped waiting before the run ended"
		out.Status, out.Error = o.status, o.err
	}
	// Nothing is left to resume: only the run's answer is kept of its state.
	raw, _ := json.Marshal(state{Result: r.st.Result, Steps: r.st.Steps, Trace: r.st.Trace})
	// Its trace is stored off the caller's path: nothing it did needs it.
	s.done.store(finishItem{info: info, traces: r.traces, insert: &db.WorkflowRunCopyDoneParams{
		ID: info.RunID, CommunityID: info.CommunityID, WorkflowID: info.WorkflowID, Version: info.Version, Status: o.status,
		TriggerKind: req.Kind, TriggerNode: req.Node, Trigger: trig, State: raw, Error: o.err, FailedNode: o.failedNode,
		NodeCount: int32(r.st.Steps), StartedAt: &started, FinishedAt: &ended, BusyUs: r.busy.Microseconds(), Claims: 1, DedupKey: req.DedupKey}})
	return out, nil
}

// runStored stores and claims a run in one transaction, then runs it here.
func (s *Service) runStored(ctx context.Context, c *compiled, req StartRequest, respond string, observe func(Trace)) (Outcome, error) {
	var row db.WorkflowRun
	var started Started
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out, err := s.startTx(ctx, tx, []StartRequest{req}, false)
		if err != nil {
			return err
		}
		started = out[0]
		if !started.New {
			return nil
		}
		row, err = db.New(tx).WorkflowRunClaim(ctx, db.WorkflowRunClaimParams{Owner: s.owner, ID: started.RunID})
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	if !started.New { // a repeated delivery: answer with the first run as it stands
		return s.outcomeOf(ctx, req.CommunityID, started.RunID, respond)
	}
	s.mu.Lock()
	s.active[row.ID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.active, row.ID)
		s.mu.Unlock()
	}()
	r, err := s.runnerFor(ctx, row)
	if err != nil {
		return Outcome{}, err
	}
	r.checkpoint, r.observe = s.checkpoint, observe
	o := r.run(ctx)
	out := r.outcome(o, respond)
	if err := s.settle(ctx, row, r, o); err != nil && !errors.Is(err, errRunTaken) {
		return out, err
	}
	if o.status == "interrupted" {
		out.Status = RunRunning
	}
	return out, nil
}

// outcomeOf describes a stored run for a caller that asked again.
func (s *Service) outcomeOf(ctx context.Context, cid, id int64, respond string) (Outcome, error) {
	run, err := s.GetRun(ctx, cid, id)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{RunID: id, Status: run.Status, Error: run.Error, Node: run.FailedNode, Output: run.Result, Traces: run.Traces}
	if respond != "" {
		for _, t := range run.Traces {
			if t.Node == respond {
				out.Output = t.Output
			}
		}
	}
	return out, nil
}

func (r *runner) outcome(o outcome, respond string) Outcome {
	out := Outcome{RunID: r.info.RunID, Status: o.status, Error: o.err, Node: o.failedNode, Output: r.st.Result, Traces: r.traces}
	if respond != "" {
		out.Output = r.st.Outputs[respond]
		for i := len(r.traces) - 1; i >= 0; i-- {
			if t := &r.traces[i]; t.Node == respond {
				if t.Status == "succeeded" {
					out.OutputJSON = t.outRaw
				}
				break
			}
		}
	}
	return out
}

// fresh is a runner for a new run that starts at a trigger node.
func (s *Service) fresh(c *compiled, info RunInfo, node string, payload any) *runner {
	st := newState(payload)
	st.Seq = 1
	st.Pending = []*activation{{Seq: 1, Node: node, Input: payload}}
	return &runner{c: c, st: st, env: s.env, trigger: payload, limits: s.limits, info: info}
}

// pure reports whether no node of the version touches the world or waits:
// such a run can be run whole before it is stored.
func (c *compiled) pure() bool {
	for id, k := range c.kinds {
		if k.Effect || k.Type == "action_delay" {
			if !c.nodes[id].Disabled {
				return false
			}
		}
	}
	return true
}

// roundTrip makes a payload the JSON values a run reads.
func roundTrip(v any) (any, error) {
	out, _, err := roundTripRaw(v)
	return out, err
}

// roundTripRaw is roundTrip that also returns the payload's encoding.
func roundTripRaw(v any) (any, []byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the trigger payload: %w", err)
	}
	if jsonValues(v) {
		return v, raw, nil
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("decode the trigger payload: %w", err)
	}
	return out, raw, nil
}

// TestRun runs a draft definition once in this process with a sample
// payload, sending each trace to observe as it is made, and stores the run
// (version 0) when it ends. Its nodes really run: messages are sent.
func (s *Service) TestRun(ctx context.Context, cid, id int64, payload any, userID int64, observe func(Trace)) (Outcome, error) {
	w, err := s.Get(ctx, cid, id)
	if err != nil {
		return Outcome{}, err
	}
	if rep := Validate(&w.Definition); !rep.OK() {
		return Outcome{}, invalidReport(rep, "testing")
	}
	c, err := compile(w.ID, w.Name, 0, w.Definition)
	if err != nil {
		return Outcome{}, err
	}
	node := firstTrigger(&w.Definition)
	if payload, err = roundTrip(payload); err != nil {
		return Outcome{}, err
	}
	ids, err := s.ids.take(ctx, s.pool, 1)
	if err != nil {
		return Outcome{}, err
	}
	info := RunInfo{CommunityID: cid, WorkflowID: id, RunID: ids[0]}
	r := s.fresh(c, info, node, payload)
	r.observe = observe
	started := time.Now()
	o := r.run(ctx)
	ended := time.Now()
	if o.status == "interrupted" || o.status == "waiting" {
		o.status, o.err = "failed", "a test run stops at a delay or when its page closes"
	}
	out := r.outcome(o, "")
	raw, _ := json.Marshal(r.st)
	trig, _ := json.Marshal(payload)
	err = s.done.finish(context.WithoutCancel(ctx), finishItem{info: info, traces: r.traces, insert: &db.WorkflowRunCopyDoneParams{
		ID: info.RunID, CommunityID: cid, WorkflowID: id, Status: o.status, TriggerKind: TriggerManual, TriggerNode: node,
		Trigger: trig, State: raw, Error: o.err, FailedNode: o.failedNode, NodeCount: int32(r.st.Steps), StartedAt: &started,
		FinishedAt: &ended, BusyUs: r.busy.Microseconds(), Claims: 1, StartedBy: userRef(userID)}})
	return out, err
}

// DryRun runs a definition's trigger node and what follows with nothing
// sent and nothing stored: the simulator's preview.
func (s *Service) DryRun(ctx context.Context, cid int64, w *Workflow, def *Definition, node string, payload any) (Outcome, error) {
	c, err := compile(w.ID, w.Name, w.Version, *def)
	if err != nil {
		return Outcome{}, err
	}
	if payload, err = roundTrip(payload); err != nil {
		return Outcome{}, err
	}
	r := s.fresh(c, RunInfo{CommunityID: cid, WorkflowID: w.ID, Version: w.Version, DryRun: true}, node, payload)
	o := r.run(ctx)
	return r.outcome(o, ""), nil
}
