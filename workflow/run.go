package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
)

// RunWorker runs the runs of a RunArgs job, several at once.
type RunWorker struct {
	river.WorkerDefaults[RunArgs]
	Service *Service
}

// Timeout lets a job run its runs to their own limit.
func (w *RunWorker) Timeout(*river.Job[RunArgs]) time.Duration {
	return w.Service.limits.MaxDuration + time.Minute
}

// Work runs each run of the job; a run that fails fails alone (its status
// says so), so the job fails only when the database does. The runs are
// claimed in one statement; a run another live instance holds, one already
// over, or one still waiting (a job that came early) is left alone.
func (w *RunWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	s := w.Service
	ids := s.reserve(job.Args.IDs)
	defer s.release(ids)
	if len(ids) == 0 {
		return nil
	}
	rows, err := db.New(s.pool).WorkflowRunClaimMany(ctx, db.WorkflowRunClaimManyParams{Owner: s.owner, Ids: ids})
	if err != nil {
		return fmt.Errorf("claim runs: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(rows))
	sem := make(chan struct{}, 16)
	for i, row := range rows {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = s.runClaimed(ctx, row)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// reserve marks runs as being run by this instance, leaving out those it
// already runs (a job and a resumption of the same run at once).
func (s *Service) reserve(ids []int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !s.active[id] {
			s.active[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Service) release(ids []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.active, id)
	}
}

// runClaimed runs a run this instance claimed until it ends or waits.
func (s *Service) runClaimed(ctx context.Context, row db.WorkflowRun) error {
	r, err := s.runnerFor(ctx, row)
	if err != nil {
		info := RunInfo{CommunityID: row.CommunityID, WorkflowID: row.WorkflowID, RunID: row.ID, Version: row.Version}
		return s.done.finish(context.WithoutCancel(ctx), finishItem{info: info, state: row.State, steps: int(row.NodeCount),
			status: "failed", err: "the run cannot start: " + err.Error()})
	}
	r.checkpoint = s.checkpoint
	o := r.run(ctx)
	if err := s.settle(ctx, row, r, o); err != nil && !errors.Is(err, errRunTaken) {
		return err
	}
	return nil
}

// runnerFor rebuilds a run's runner from its row.
func (s *Service) runnerFor(ctx context.Context, row db.WorkflowRun) (*runner, error) {
	c, err := s.compiledVersion(ctx, row.CommunityID, row.WorkflowID, row.Version)
	if err != nil {
		return nil, err
	}
	var trigger any
	if err := json.Unmarshal(row.Trigger, &trigger); err != nil {
		return nil, fmt.Errorf("decode the trigger of run %d: %w", row.ID, err)
	}
	st := newState(trigger)
	if len(row.State) > 0 {
		if err := json.Unmarshal(row.State, st); err != nil {
			return nil, fmt.Errorf("decode the state of run %d: %w", row.ID, err)
		}
		st.Resumed = row.Claims > 1 && st.Waiting == nil
	} else {
		if _, ok := c.nodes[row.TriggerNode]; !ok {
			return nil, fmt.Errorf("version %d has no trigger node %q", row.Version, row.TriggerNode)
		}
		st.Seq = 1
		st.Pending = []*activation{{Seq: 1, Node: row.TriggerNode, Input: trigger}}
		st.Resumed = row.Claims > 1
	}
	ensureMaps(st)
	return &runner{c: c, st: st, env: s.env, trigger: trigger, limits: s.limits, busy: time.Duration(row.BusyUs) * time.Microsecond,
		info: RunInfo{CommunityID: row.CommunityID, WorkflowID: row.WorkflowID, RunID: row.ID, Version: row.Version}}, nil
}

func ensureMaps(st *state) {
	if st.Frames == nil {
		st.Frames = map[int]*frame{}
	}
	if st.Groups == nil {
		st.Groups = map[int]*group{}
	}
	if st.Outputs == nil {
		st.Outputs = map[string]any{}
	}
	if st.Vars == nil {
		st.Vars = map[string]any{}
	}
}

// compiledVersion loads a published version, from the cache when it can.
func (s *Service) compiledVersion(ctx context.Context, cid, wid int64, version int32) (*compiled, error) {
	key := versionKey{wid, version}
	if c := s.cache.get(key); c != nil {
		return c, nil
	}
	row, err := db.New(s.read).WorkflowVersionGet(ctx, db.WorkflowVersionGetParams{CommunityID: cid, WorkflowID: wid, Version: version})
	if err != nil {
		return nil, fmt.Errorf("load version %d of workflow %d: %w", version, wid, err)
	}
	w, err := db.New(s.read).WorkflowGet(ctx, db.WorkflowGetParams{CommunityID: cid, ID: wid})
	if err != nil {
		return nil, fmt.Errorf("load workflow %d: %w", wid, err)
	}
	var d Definition
	if err := json.Unmarshal(row.Definition, &d); err != nil {
		return nil, fmt.Errorf("decode version %d of workflow %d: %w", version, wid, err)
	}
	c, err := compile(wid, w.Name, version, d)
	if err != nil {
		return nil, err
	}
	s.cache.put(key, c)
	return c, nil
}

// checkpoint stores a running run's state and its traces so far, in one
// transaction: what it records as done is never run again.
func (s *Service) checkpoint(ctx context.Context, r *runner) error {
	raw, err := json.Marshal(r.st)
	if err != nil {
		return fmt.Errorf("encode the state of run %d: %w", r.info.RunID, err)
	}
	return pgx.BeginFunc(context.WithoutCancel(ctx), s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		n, err := q.WorkflowRunCheckpoint(ctx, db.WorkflowRunCheckpointParams{ID: r.info.RunID, Owner: s.owner, State: raw,
			NodeCount: int32(r.st.Steps), BusyUs: r.busy.Microseconds()})
		if err != nil {
			return fmt.Errorf("checkpoint run %d: %w", r.info.RunID, err)
		}
		if n != 1 {
			return errRunTaken
		}
		if err := copyTraces(ctx, q, r.info, r.traces); err != nil {
			return err
		}
		r.traces = nil
		return nil
	})
}

// errRunTaken stops a run that is no longer this instance's (cancelled, or
// taken over while this instance was thought dead).
var errRunTaken = errors.New("the run was cancelled or taken over")

// settle stores how a stretch of running ended: a finished run through the
// batched finisher; a waiting one with its job to resume it; an interrupted
// one queued again.
func (s *Service) settle(ctx context.Context, row db.WorkflowRun, r *runner, o outcome) error {
	raw, err := json.Marshal(r.st)
	if err != nil {
		return fmt.Errorf("encode the state of run %d: %w", row.ID, err)
	}
	ctx = context.WithoutCancel(ctx)
	switch o.status {
	case "succeeded", "failed":
		return s.done.finish(ctx, finishItem{info: r.info, state: raw, steps: r.st.Steps, busy: r.busy, status: o.status,
			err: o.err, node: o.failedNode, traces: r.traces})
	case "waiting":
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			q := db.New(tx)
			n, err := q.WorkflowRunWait(ctx, db.WorkflowRunWaitParams{ID: row.ID, Owner: s.owner, State: raw, NodeCount: int32(r.st.Steps),
				BusyUs: r.busy.Microseconds(), WaitUntil: &o.waitUntil})
			if err != nil || n != 1 {
				return errors.Join(err, errRunTakenIf(n))
			}
			if err := copyTraces(ctx, q, r.info, r.traces); err != nil {
				return err
			}
			return s.enqueueTx(ctx, tx, []int64{row.ID}, o.waitUntil)
		})
	}
	// interrupted (shutting down, or a checkpoint failed): queue it again
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		n, err := q.WorkflowRunRequeue(ctx, db.WorkflowRunRequeueParams{ID: row.ID, Owner: s.owner, State: raw,
			NodeCount: int32(r.st.Steps), BusyUs: r.busy.Microseconds()})
		if err != nil || n != 1 {
			return errors.Join(err, errRunTakenIf(n))
		}
		if err := copyTraces(ctx, q, r.info, r.traces); err != nil {
			return err
		}
		return s.enqueueTx(ctx, tx, []int64{row.ID}, time.Time{})
	})
}

func errRunTakenIf(n int64) error {
	if n == 1 {
		return nil
	}
	return errRunTaken
}
