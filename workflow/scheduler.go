package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Scheduler fires the schedules of published workflows.
//
// Every instance runs one, and they share the work rather than electing a
// leader: each pass claims the due schedules with FOR UPDATE SKIP LOCKED
// and, in that same transaction, records their ticks, starts their runs and
// moves their next fire time on. Another instance skips the locked rows, and
// once the transaction commits they are no longer due, so each tick fires
// once; the tick's primary key and the run's dedup key
// ("schedule:<id>:<unix time>") make sure of it even so.
type Scheduler struct {
	svc    *Service
	now    func() time.Time
	poll   time.Duration
	logger *slog.Logger
}

// SchedulerConfig builds a Scheduler.
type SchedulerConfig struct {
	Service *Service
	Now     func() time.Time // the clock; nil: time.Now
	Poll    time.Duration    // how often to look for due schedules; zero: a second
	Logger  *slog.Logger
}

// NewScheduler returns a Scheduler and keeps the schedules of the service's
// workflows in step with what is published.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sc := &Scheduler{svc: cfg.Service, now: cfg.Now, poll: cfg.Poll, logger: cfg.Logger}
	cfg.Service.OnPublish(sc.onPublish)
	return sc
}

// Run fires due schedules until ctx ends.
func (sc *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(sc.poll)
	defer t.Stop()
	for {
		if _, err := sc.Fire(ctx); err != nil && ctx.Err() == nil {
			sc.logger.WarnContext(ctx, "fire schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Limits of one pass.
const (
	dueBatch    = 100    // schedules claimed per transaction
	ticksKept   = 100    // ticks recorded one by one per outcome and pass (the rest are counted)
	ticksStored = 200    // ticks kept per schedule
	maxSteps    = 100000 // cron fire times walked through per schedule and pass
)

// Fire handles every schedule due now and returns how many runs it started.
func (sc *Scheduler) Fire(ctx context.Context) (int, error) {
	total := 0
	for {
		started, claimed, err := sc.fireBatch(ctx)
		total += started
		if err != nil || claimed < dueBatch {
			return total, err
		}
	}
}

func (sc *Scheduler) fireBatch(ctx context.Context) (started, claimed int, err error) {
	now := sc.now()
	err = pgx.BeginFunc(ctx, sc.svc.pool, func(tx pgx.Tx) error {
		started, claimed = 0, 0
		due, err := db.New(tx).WorkflowScheduleDue(ctx, db.WorkflowScheduleDueParams{Now: &now, Max: dueBatch})
		if err != nil {
			return fmt.Errorf("claim due schedules: %w", err)
		}
		claimed = len(due)
		for _, d := range due {
			ok, err := sc.fireOne(ctx, tx, d.WorkflowSchedule, d.Version, now)
			if err != nil {
				return fmt.Errorf("schedule %d: %w", d.WorkflowSchedule.ID, err)
			}
			if ok {
				started++
			}
		}
		return nil
	})
	return started, claimed, err
}

// latest keeps the last ticksKept times added and counts them all.
type latest struct {
	items []time.Time
	count int64
}

func (l *latest) add(t time.Time) {
	l.count++
	l.items = append(l.items, t)
	if len(l.items) >= 2*ticksKept {
		l.items = append(l.items[:0], l.items[len(l.items)-ticksKept:]...)
	}
}

func (l *latest) kept() []time.Time {
	if len(l.items) > ticksKept {
		return l.items[len(l.items)-ticksKept:]
	}
	return l.items
}

// fireOne handles one due schedule in the claiming transaction: the fire
// times it missed before the grace period are recorded as skipped; those
// within it are coalesced into one run, for the latest (skipped when the
// workflow already has its maximum of runs going).
func (sc *Scheduler) fireOne(ctx context.Context, tx pgx.Tx, row db.WorkflowSchedule, version int32, now time.Time) (bool, error) {
	q := db.New(tx)
	t, err := timingOf(configOf(row))
	if err != nil || row.NextFireAt == nil { // cannot happen through the API or a publish: turn it off, say so
		sc.logger.WarnContext(ctx, "a schedule cannot be computed; it is turned off", "schedule", row.ID, "err", err)
		return false, q.WorkflowScheduleAdvance(ctx, db.WorkflowScheduleAdvanceParams{ID: row.ID, FiredCount: row.FiredCount})
	}
	cutoff := now.Add(-time.Duration(row.GraceSeconds) * time.Second)
	var late, within latest
	f := *row.NextFireAt
	if t.kind == ScheduleInterval && f.Before(cutoff) {
		// jump over all but the last ticksKept late ticks, counting them
		if k := int64((cutoff.Sub(f)-1)/t.every) + 1 - ticksKept; k > 0 {
			late.count += k
			f = f.Add(time.Duration(k) * t.every)
		}
	}
	more := true
	for steps := 0; more && !f.After(now); steps++ {
		if f.Before(cutoff) {
			late.add(f)
		} else {
			within.add(f)
		}
		if steps == maxSteps && f.Before(cutoff) { // a fast cron down for long: go on from the grace period
			f, more = t.next(f, cutoff.Add(-time.Second))
			continue
		}
		f, more = t.next(f, f)
	}

	var fires []time.Time
	var outcomes []string
	var runs []int64
	record := func(at time.Time, outcome string, run int64) {
		fires, outcomes, runs = append(fires, at), append(outcomes, outcome), append(runs, run)
	}
	for _, at := range late.kept() {
		record(at, TickSkippedLate, 0)
	}
	skipped, fired, started := late.count, row.FiredCount, false
	if kept := within.kept(); len(kept) > 0 {
		last := kept[len(kept)-1]
		for _, at := range kept[:len(kept)-1] {
			record(at, TickCoalesced, 0)
		}
		active, err := q.WorkflowRunActiveCount(ctx, row.WorkflowID)
		if err != nil {
			return false, fmt.Errorf("count active runs: %w", err)
		}
		if active >= int64(row.MaxConcurrent) {
			record(last, TickSkippedBusy, 0)
			skipped++
		} else {
			out, err := sc.svc.StartTx(ctx, tx, []StartRequest{{CommunityID: row.CommunityID, WorkflowID: row.WorkflowID,
				Version: version, Kind: TriggerSchedule, Node: row.NodeID,
				Payload: map[string]any{"scheduled_for": last.UTC().Format(time.RFC3339), "schedule_id": row.ID,
					"fired_count": fired + 1, "coalesced": within.count - 1},
				DedupKey: fmt.Sprintf("schedule:%d:%d", row.ID, last.Unix())}})
			if err != nil {
				return false, err
			}
			record(last, TickStarted, out[0].RunID)
			fired++
			started = true
		}
	}

	enabled := more && row.Kind != ScheduleOnce
	if row.Kind == ScheduleInterval && row.MaxCount > 0 && fired >= int64(row.MaxCount) {
		enabled = false
	}
	var next *time.Time
	if enabled {
		next = &f
	}
	if len(fires) > 0 {
		if _, err := q.WorkflowScheduleTickInsertMany(ctx, db.WorkflowScheduleTickInsertManyParams{ScheduleID: row.ID,
			CommunityID: row.CommunityID, FireAts: fires, Outcomes: outcomes, RunIds: runs}); err != nil {
			return false, fmt.Errorf("record ticks: %w", err)
		}
		if err := q.WorkflowScheduleTickTrim(ctx, db.WorkflowScheduleTickTrimParams{ScheduleID: row.ID, Keep: ticksStored}); err != nil {
			return false, fmt.Errorf("trim ticks: %w", err)
		}
	}
	if err := q.WorkflowScheduleAdvance(ctx, db.WorkflowScheduleAdvanceParams{ID: row.ID, NextFireAt: next, Enabled: enabled,
		FiredCount: fired, Skipped: skipped}); err != nil {
		return false, fmt.Errorf("advance: %w", err)
	}
	return started, nil
}
