package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
)

// Trigger kinds of a run.
const (
	TriggerCommand  = "command"
	TriggerEvent    = "event"
	TriggerWebhook  = "webhook"
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerReplay   = "replay"
)

// StartRequest asks for a run of a published workflow version.
type StartRequest struct {
	CommunityID int64
	WorkflowID  int64
	Version     int32  // the version to run
	Kind        string // one of the trigger kinds
	Node        string // the trigger node it starts from
	Payload     any    // the trigger's payload: {{ trigger.… }}
	// PayloadJSON, when set, is Payload's encoding, and Payload is made of
	// JSON values only (as json.Unmarshal into an any makes them): a
	// caller that has both spares encoding and decoding it again.
	PayloadJSON []byte
	// DedupKey makes the start happen once: a second request with the same
	// key gets the first run's id (an event id, a webhook delivery id, a
	// schedule's fire time).
	DedupKey  string
	ReplayOf  int64
	StartedBy int64
}

// Started is a run a StartRequest made, or found already made.
type Started struct {
	RunID int64
	New   bool // false: the dedup key had started it before
}

// RunArgs is the job that runs (or resumes) runs.
type RunArgs struct {
	IDs []int64 `json:"ids"`
}

// Kind is the job kind.
func (RunArgs) Kind() string { return "workflow_runs" }

// InsertOpts puts runs on their own queue.
func (RunArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue, MaxAttempts: 5} }

// Queue is the job queue workflow runs use.
const Queue = "workflow"

// runsPerJob bounds the runs one job runs.
const runsPerJob = 50

// StartTx records runs and enqueues their job in the caller's transaction:
// when it commits, the runs are stored and will run.
func (s *Service) StartTx(ctx context.Context, tx pgx.Tx, reqs []StartRequest) ([]Started, error) {
	return s.startTx(ctx, tx, reqs, true)
}

func (s *Service) startTx(ctx context.Context, tx pgx.Tx, reqs []StartRequest, enqueue bool) ([]Started, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	ids, err := s.ids.take(ctx, tx, len(reqs))
	if err != nil {
		return nil, err
	}
	p := db.WorkflowRunInsertManyParams{}
	for i, r := range reqs {
		raw := r.PayloadJSON
		if raw == nil {
			if raw, err = json.Marshal(r.Payload); err != nil {
				return nil, fmt.Errorf("encode the trigger payload: %w", err)
			}
		}
		p.Ids = append(p.Ids, ids[i])
		p.CommunityIds = append(p.CommunityIds, r.CommunityID)
		p.WorkflowIds = append(p.WorkflowIds, r.WorkflowID)
		p.Versions = append(p.Versions, r.Version)
		p.Kinds = append(p.Kinds, r.Kind)
		p.Nodes = append(p.Nodes, r.Node)
		p.Triggers = append(p.Triggers, raw)
		p.DedupKeys = append(p.DedupKeys, r.DedupKey)
		p.ReplayOfs = append(p.ReplayOfs, r.ReplayOf)
		p.StartedBys = append(p.StartedBys, r.StartedBy)
	}
	q := db.New(tx)
	inserted, err := q.WorkflowRunInsertMany(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("insert runs: %w", err)
	}
	isNew := make(map[int64]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}
	out := make([]Started, len(reqs))
	var fresh []int64
	for i, r := range reqs {
		if isNew[ids[i]] {
			out[i] = Started{RunID: ids[i], New: true}
			fresh = append(fresh, ids[i])
			continue
		}
		id, err := q.WorkflowRunByDedup(ctx, db.WorkflowRunByDedupParams{WorkflowID: r.WorkflowID, DedupKey: r.DedupKey})
		if err != nil {
			return nil, fmt.Errorf("find the run of %q: %w", r.DedupKey, err)
		}
		out[i] = Started{RunID: id}
	}
	if !enqueue {
		return out, nil
	}
	if err := s.enqueueTx(ctx, tx, fresh, time.Time{}); err != nil {
		return nil, err
	}
	return out, nil
}

// enqueueTx inserts the jobs that run the runs (at a time, or now).
func (s *Service) enqueueTx(ctx context.Context, tx pgx.Tx, ids []int64, at time.Time) error {
	if s.jobs == nil || len(ids) == 0 {
		return nil
	}
	var params []river.InsertManyParams
	for len(ids) > 0 {
		n := min(len(ids), runsPerJob)
		opts := RunArgs{}.InsertOpts()
		opts.ScheduledAt = at
		params = append(params, river.InsertManyParams{Args: RunArgs{IDs: ids[:n]}, InsertOpts: &opts})
		ids = ids[n:]
	}
	if _, err := s.jobs.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue runs: %w", err)
	}
	return nil
}

// Start records one run and enqueues it, in a transaction of its own that
// it shares with other starts arriving at the same moment (so a burst of
// webhooks costs a few commits, not one each). It returns once the run is
// committed.
func (s *Service) Start(ctx context.Context, r StartRequest) (Started, error) {
	return s.starts.start(ctx, r)
}

// starter batches concurrent starts into one transaction.
type starter struct {
	s    *Service
	in   chan *startItem
	once sync.Once
}

type startItem struct {
	req  StartRequest
	done chan struct{}
	out  Started
	err  error
}

const startBatch = 256

func newStarter(s *Service) *starter { return &starter{s: s, in: make(chan *startItem, 4*startBatch)} }

func (st *starter) start(ctx context.Context, r StartRequest) (Started, error) {
	st.once.Do(func() { go st.loop() })
	it := &startItem{req: r, done: make(chan struct{})}
	select {
	case st.in <- it:
	case <-ctx.Done():
		return Started{}, ctx.Err()
	}
	select {
	case <-it.done:
		return it.out, it.err
	case <-ctx.Done():
		// the batch may still commit it; a retry with the same dedup key finds it
		return Started{}, ctx.Err()
	}
}

// loop commits what has arrived, then waits for more; it lives as long as
// the process (its items all have waiting callers, so none is lost unsaid).
func (st *starter) loop() {
	for first := range st.in {
		batch := []*startItem{first}
	more:
		for len(batch) < startBatch {
			select {
			case it := <-st.in:
				batch = append(batch, it)
			default:
				break more
			}
		}
		st.commit(batch)
	}
}

func (st *starter) commit(batch []*startItem) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reqs := make([]StartRequest, len(batch))
	for i, it := range batch {
		reqs[i] = it.req
	}
	var out []Started
	err := pgx.BeginFunc(ctx, st.s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = st.s.StartTx(ctx, tx, reqs)
		return err
	})
	for i, it := range batch {
		if err != nil {
			it.err = err
		} else {
			it.out = out[i]
		}
		close(it.done)
	}
}

// idBlock hands out run ids taken from the sequence in blocks.
type idBlock struct {
	mu   sync.Mutex
	free []int64
}

// take hands out n ids, refilling the block through q (the caller's
// transaction, when it has one: a caller holding a connection must not wait
// for a second one, or a burst of callers empties the pool and waits on
// itself).
func (b *idBlock) take(ctx context.Context, q db.DBTX, n int) ([]int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.free) < n {
		more, err := db.New(q).WorkflowRunIDs(ctx, int32(max(n, 512)))
		if err != nil {
			return nil, fmt.Errorf("take run ids: %w", err)
		}
		b.free = append(b.free, more...)
	}
	out := b.free[:n:n]
	b.free = b.free[n:]
	return out, nil
}
