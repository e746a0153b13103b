package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// MaxTraceValue is the most of a node's input or output a trace keeps.
const MaxTraceValue = 64 << 10

// traceJSON encodes a trace value (or takes its known encoding), cut to a
// preview when it is large.
func traceJSON(v any, known []byte) []byte {
	if v == nil {
		return nil
	}
	raw := known
	if raw == nil {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			raw, _ = json.Marshal(map[string]any{"unencodable": err.Error()})
		}
	}
	if len(raw) > MaxTraceValue {
		raw, _ = json.Marshal(map[string]any{"truncated": true, "bytes": len(raw), "preview": string(raw[:2000])})
	}
	return raw
}

func traceRows(info RunInfo, traces []Trace) []db.WorkflowNodeRunCopyParams {
	rows := make([]db.WorkflowNodeRunCopyParams, len(traces))
	for i, t := range traces {
		rows[i] = db.WorkflowNodeRunCopyParams{CommunityID: info.CommunityID, RunID: info.RunID, Seq: int32(t.Seq), NodeID: t.Node,
			NodeType: t.Type, Status: t.Status, Input: traceJSON(t.Input, t.inRaw), Output: traceJSON(t.Output, t.outRaw), Error: t.Error,
			Notes: nonNil(t.Notes), Ports: nonNil(t.Ports), Repeated: t.Repeated, StartedAt: t.Started, DurationUs: t.Duration.Microseconds()}
	}
	return rows
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func copyTraces(ctx context.Context, q *db.Queries, info RunInfo, traces []Trace) error {
	if len(traces) == 0 {
		return nil
	}
	if _, err := q.WorkflowNodeRunCopy(ctx, traceRows(info, traces)); err != nil {
		return fmt.Errorf("store the trace of run %d: %w", info.RunID, err)
	}
	return nil
}

// finishItem is a run that ended, to store: its final state and the traces
// not yet stored. insert is set for a run never stored before (a
// synchronous webhook's run whose nodes touched nothing outside it).
type finishItem struct {
	info   RunInfo
	state  []byte
	steps  int
	busy   time.Duration
	status string
	err    string
	node   string
	traces []Trace
	insert *db.WorkflowRunCopyDoneParams
	done   chan error
	stored bool // handed over by store: nobody waits on done
}

// finisher stores ended runs in batches: one transaction for the runs that
// end at the same moment, their traces in one COPY. Two writers commit at
// once, so that one batch is being written while the other waits for its
// round trips: with one, a busy instance's synchronous webhooks queued
// behind the writer. Batches hold distinct runs, so the two never touch
// the same rows.
type finisher struct {
	s    *Service
	in   chan *finishItem
	once sync.Once
	// stored counts the runs handed over by store and not yet written.
	stored sync.WaitGroup
}

func newFinisher(s *Service) *finisher { return &finisher{s: s, in: make(chan *finishItem, 1024)} }

const (
	finishBatch   = 256
	finishWriters = 2
)

func (f *finisher) start() {
	f.once.Do(func() {
		for range finishWriters {
			go f.loop()
		}
	})
}

// finish stores a run's end and returns once it is committed.
func (f *finisher) finish(ctx context.Context, it finishItem) error {
	f.start()
	it.done = make(chan error, 1)
	f.in <- &it
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// store hands a run's end to the writer without waiting for the commit: for
// a run that touched nothing outside itself, whose caller has its answer.
// It blocks only while the writer is a full queue behind.
func (f *finisher) store(it finishItem) {
	f.start()
	it.done = make(chan error, 1)
	it.stored = true
	f.stored.Add(1)
	f.in <- &it
}

// drain waits until every run handed over by store is written (or failed
// to be, which the writer logs), or ctx ends.
func (f *finisher) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		f.stored.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store finished workflow runs: %w", ctx.Err())
	}
}

func (f *finisher) loop() {
	for first := range f.in {
		batch := []*finishItem{first}
	more:
		for len(batch) < finishBatch {
			select {
			case it := <-f.in:
				batch = append(batch, it)
			default:
				break more
			}
		}
		err := f.commit(batch)
		if err != nil {
			f.s.logger.Error("store finished workflow runs", "runs", len(batch), "err", err)
		}
		for _, it := range batch {
			it.done <- err
			if it.stored {
				f.stored.Done()
			}
		}
	}
}

func (f *finisher) commit(batch []*finishItem) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pgx.BeginFunc(ctx, f.s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		var inserts []db.WorkflowRunCopyDoneParams
		var finishes []db.WorkflowRunFinishParams
		var rows []db.WorkflowNodeRunCopyParams
		for _, it := range batch {
			if it.insert != nil {
				inserts = append(inserts, *it.insert)
			} else {
				finishes = append(finishes, db.WorkflowRunFinishParams{State: it.state, NodeCount: int32(it.steps), BusyUs: it.busy.Microseconds(),
					Status: it.status, Error: it.err, FailedNode: it.node, ID: it.info.RunID, Owner: f.s.owner})
			}
			rows = append(rows, traceRows(it.info, it.traces)...)
		}
		var errs []error
		if len(inserts) > 0 {
			if _, err := q.WorkflowRunCopyDone(ctx, inserts); err != nil {
				return fmt.Errorf("store finished runs: %w", err)
			}
		}
		if len(finishes) > 0 {
			q.WorkflowRunFinish(ctx, finishes).Exec(func(_ int, err error) { errs = append(errs, err) })
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("store run ends: %w", err)
		}
		if len(rows) > 0 {
			if _, err := q.WorkflowNodeRunCopy(ctx, rows); err != nil {
				return fmt.Errorf("store traces: %w", err)
			}
		}
		return nil
	})
}
