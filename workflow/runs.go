package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Run is a stored run as the hub and the API show it.
type Run struct {
	ID          int64      `json:"id"`
	WorkflowID  int64      `json:"workflow_id"`
	Version     int32      `json:"version"`
	Status      string     `json:"status"`
	TriggerKind string     `json:"trigger_kind"`
	TriggerNode string     `json:"trigger_node"`
	Trigger     any        `json:"trigger,omitempty"`
	Error       string     `json:"error,omitempty"`
	FailedNode  string     `json:"failed_node,omitempty"`
	NodeCount   int32      `json:"node_count"`
	ReplayOf    *int64     `json:"replay_of,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	WaitUntil   *time.Time `json:"wait_until,omitempty"`
	Busy        string     `json:"busy"` // time spent running, delays excluded
	Result      any        `json:"result,omitempty"`
	Traces      []Trace    `json:"traces,omitempty"`
}

// Run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunWaiting   = "waiting"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// RunStatuses lists the statuses of a run, for filters.
var RunStatuses = []string{RunQueued, RunRunning, RunWaiting, RunSucceeded, RunFailed, RunCancelled}

// TriggerKinds lists the trigger kinds of a run, for filters.
var TriggerKinds = []string{TriggerCommand, TriggerEvent, TriggerWebhook, TriggerSchedule, TriggerManual, TriggerReplay}

// GetRun returns one run of the community with its trace.
func (s *Service) GetRun(ctx context.Context, cid, id int64) (*Run, error) {
	q := db.New(s.pool)
	row, err := q.WorkflowRunGet(ctx, db.WorkflowRunGetParams{CommunityID: cid, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrRunNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load run %d: %w", id, err)
	}
	r := &Run{ID: row.ID, WorkflowID: row.WorkflowID, Version: row.Version, Status: row.Status, TriggerKind: row.TriggerKind,
		TriggerNode: row.TriggerNode, Error: row.Error, FailedNode: row.FailedNode, NodeCount: row.NodeCount, ReplayOf: row.ReplayOf,
		CreatedAt: row.CreatedAt, StartedAt: row.StartedAt, FinishedAt: row.FinishedAt, WaitUntil: row.WaitUntil,
		Busy: (time.Duration(row.BusyUs) * time.Microsecond).String()}
	_ = json.Unmarshal(row.Trigger, &r.Trigger)
	if len(row.State) > 0 {
		var st state
		if json.Unmarshal(row.State, &st) == nil {
			r.Result = st.Result
		}
	}
	traces, err := q.WorkflowNodeRunList(ctx, db.WorkflowNodeRunListParams{CommunityID: cid, RunID: id})
	if err != nil {
		return nil, fmt.Errorf("load the trace of run %d: %w", id, err)
	}
	for _, t := range traces {
		tr := Trace{Seq: int(t.Seq), Node: t.NodeID, Type: t.NodeType, Status: t.Status, Error: t.Error, Notes: t.Notes,
			Ports: t.Ports, Repeated: t.Repeated, Started: t.StartedAt, Duration: time.Duration(t.DurationUs) * time.Microsecond}
		_ = json.Unmarshal(t.Input, &tr.Input)
		_ = json.Unmarshal(t.Output, &tr.Output)
		r.Traces = append(r.Traces, tr)
	}
	return r, nil
}

// RunFilter narrows a list of runs.
type RunFilter struct {
	WorkflowID int64
	Status     string
	Trigger    string
	Since      *time.Time
	BeforeID   int64 // for the next page
	Limit      int
}

// ListRuns lists the community's runs, newest first.
func (s *Service) ListRuns(ctx context.Context, cid int64, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	since := time.Time{}
	if f.Since != nil {
		since = *f.Since
	}
	rows, err := db.New(s.read).WorkflowRunList(ctx, db.WorkflowRunListParams{CommunityID: cid, WorkflowID: f.WorkflowID,
		Status: f.Status, TriggerKind: f.Trigger, Since: since, BeforeID: f.BeforeID, Lim: int32(f.Limit)})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]Run, len(rows))
	for i, row := range rows {
		out[i] = Run{ID: row.ID, WorkflowID: row.WorkflowID, Version: row.Version, Status: row.Status, TriggerKind: row.TriggerKind,
			TriggerNode: row.TriggerNode, Error: row.Error, FailedNode: row.FailedNode, NodeCount: row.NodeCount, ReplayOf: row.ReplayOf,
			CreatedAt: row.CreatedAt, StartedAt: row.StartedAt, FinishedAt: row.FinishedAt,
			Busy: (time.Duration(row.BusyUs) * time.Microsecond).String()}
	}
	return out, nil
}

// Cancel stops a queued, running or waiting run: it runs no further node.
func (s *Service) Cancel(ctx context.Context, cid, id int64, by audit.Actor) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, err := db.New(tx).WorkflowRunCancel(ctx, db.WorkflowRunCancelParams{CommunityID: cid, ID: id, By: actorName(by)})
		if err != nil {
			return fmt.Errorf("cancel run %d: %w", id, err)
		}
		if n == 0 {
			if _, err := s.GetRun(ctx, cid, id); err != nil {
				return err
			}
			return problem.New(problem.Conflict, "Only a queued, running or waiting run can be cancelled.")
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowRunCancel, Target: fmt.Sprintf("run %d", id)})
	})
}

func actorName(a audit.Actor) string {
	switch {
	case a.Email != "":
		return a.Email
	case a.Name != "":
		return a.Name
	}
	return "an API key"
}

// Retry runs a failed run again from the node that failed; the nodes that
// completed before it are not run again.
func (s *Service) Retry(ctx context.Context, cid, id int64, by audit.Actor) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := db.New(tx).WorkflowRunRetry(ctx, db.WorkflowRunRetryParams{CommunityID: cid, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.GetRun(ctx, cid, id); err != nil {
				return err
			}
			return problem.New(problem.Conflict, "Only a failed run can be retried.")
		}
		if err != nil {
			return fmt.Errorf("retry run %d: %w", id, err)
		}
		if err := s.enqueueTx(ctx, tx, []int64{id}, time.Time{}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowRunStart, Target: fmt.Sprintf("retry of run %d", id)})
	})
}

// Replay starts a new run with a run's original trigger payload, on its
// original version or on the one published now.
func (s *Service) Replay(ctx context.Context, cid, id int64, original bool, by audit.Actor) (int64, error) {
	old, err := db.New(s.pool).WorkflowRunGet(ctx, db.WorkflowRunGetParams{CommunityID: cid, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrRunNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("load run %d: %w", id, err)
	}
	version := old.Version
	if !original {
		w, err := s.Get(ctx, cid, old.WorkflowID)
		if err != nil {
			return 0, err
		}
		if w.Version == 0 {
			return 0, problem.New(problem.Conflict, "The workflow has no published version to replay on.")
		}
		version = w.Version
	}
	if version == 0 {
		return 0, problem.New(problem.Conflict, "This run was a test of a draft; publish the workflow to replay it.")
	}
	var payload any
	_ = json.Unmarshal(old.Trigger, &payload)
	var runID int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out, err := s.StartTx(ctx, tx, []StartRequest{{CommunityID: cid, WorkflowID: old.WorkflowID, Version: version, Kind: TriggerReplay,
			Node: old.TriggerNode, Payload: payload, ReplayOf: id, StartedBy: by.UserID}})
		if err != nil {
			return err
		}
		runID = out[0].RunID
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowRunStart,
			Target: fmt.Sprintf("replay of run %d as run %d (version %d)", id, runID, version)})
	})
	return runID, err
}

// Execute starts a run of a published workflow by hand, with a payload.
func (s *Service) Execute(ctx context.Context, cid, id int64, payload any, by audit.Actor) (int64, error) {
	w, err := s.Get(ctx, cid, id)
	if err != nil {
		return 0, err
	}
	if w.Status != StatusPublished {
		return 0, problem.New(problem.Conflict, "Publish the workflow before running it; use a test run to try a draft.")
	}
	def, err := s.Version(ctx, cid, id, w.Version)
	if err != nil {
		return 0, err
	}
	node := firstTrigger(&def)
	if node == "" {
		return 0, problem.New(problem.Conflict, "The workflow has no trigger.")
	}
	var runID int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out, err := s.StartTx(ctx, tx, []StartRequest{{CommunityID: cid, WorkflowID: id, Version: w.Version, Kind: TriggerManual,
			Node: node, Payload: payload, StartedBy: by.UserID}})
		if err != nil {
			return err
		}
		runID = out[0].RunID
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowRunStart,
			Target: fmt.Sprintf("%s: run %d by hand", w.Name, runID)})
	})
	return runID, err
}

func firstTrigger(d *Definition) string {
	for _, n := range d.Nodes {
		if k, ok := KindOf(n.Type); ok && k.Category == CategoryTrigger && !n.Disabled {
			return n.ID
		}
	}
	return ""
}

// Run keeps this instance's share of the runs going until ctx ends: it
// resumes runs whose instance died.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	first := time.NewTimer(2 * time.Second)
	defer first.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-first.C:
		case <-t.C:
		}
		if err := s.resumeOrphans(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "resume the runs of stopped instances", "err", err)
		}
	}
}

// resumeOrphans queues the runs whose instance died while running them.
func (s *Service) resumeOrphans(ctx context.Context) error {
	ids, err := db.New(s.pool).WorkflowRunOrphans(ctx, s.owner)
	if err != nil || len(ids) == 0 {
		return err
	}
	s.logger.InfoContext(ctx, "resuming workflow runs whose instance stopped", "runs", len(ids))
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.enqueueTx(ctx, tx, ids, time.Time{}) })
}

// SweepArgs is the job that deletes runs past their retention.
type SweepArgs struct{}

// Kind is the job kind.
func (SweepArgs) Kind() string { return "workflow_sweep" }

// SweepWorker deletes finished runs (and their traces) older than Keep.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
	Keep    time.Duration
}

// Work deletes in slices until none is left.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	before := time.Now().Add(-w.Keep)
	for {
		n, err := db.New(w.Service.pool).WorkflowRunSweep(ctx, before)
		if err != nil {
			return fmt.Errorf("sweep workflow runs: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// RunCounts counts a workflow's runs by status, and the trace rows stored
// for them.
func (s *Service) RunCounts(ctx context.Context, cid, wid int64) (map[string]int64, int64, error) {
	q := db.New(s.pool)
	rows, err := q.WorkflowRunCounts(ctx, db.WorkflowRunCountsParams{CommunityID: cid, WorkflowID: wid})
	if err != nil {
		return nil, 0, fmt.Errorf("count runs: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Status] = r.Runs
	}
	traces, err := q.WorkflowNodeRunCount(ctx, db.WorkflowNodeRunCountParams{CommunityID: cid, WorkflowID: wid})
	if err != nil {
		return nil, 0, fmt.Errorf("count traces: %w", err)
	}
	return out, traces, nil
}
