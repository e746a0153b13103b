package timers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Poster sends a message to one of a community's linked channels: the
// router's Send, through the bots' send queues.
type Poster interface {
	Send(ctx context.Context, communityID int64, m router.Message, opts router.Options) (router.Result, error)
}

// Scheduler fires due timers, built like the workflow schedules.
//
// Every instance runs one, and they share the work: each pass claims the
// due timers with FOR UPDATE SKIP LOCKED and, in that transaction, records
// the tick of each fire time (its primary key makes a tick happen once),
// decides the outcome and moves the next fire time on. Another instance
// skips the locked rows, and once the transaction commits they are no
// longer due. Fire times missed while no instance ran are not replayed: the
// latest is handled (posted, or skipped_late when more than Grace past) and
// the earlier ones are recorded as skipped_late. The message is sent after
// the claim commits; a send that fails marks the tick and the timer failed,
// so a timer posts at most once per fire time.
type Scheduler struct {
	pool   *pgxpool.Pool
	poster Poster
	now    func() time.Time
	poll   time.Duration
	grace  time.Duration
	logger *slog.Logger
}

// SchedulerConfig builds a Scheduler.
type SchedulerConfig struct {
	Pool   *pgxpool.Pool
	Poster Poster
	Now    func() time.Time // the clock; nil: time.Now
	Poll   time.Duration    // how often to look for due timers; zero: 5 seconds
	Grace  time.Duration    // a fire time further past than this is skipped as late; zero: 2 minutes
	Logger *slog.Logger
}

// NewScheduler returns a Scheduler.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{pool: cfg.Pool, poster: cfg.Poster, now: cfg.Now, poll: cfg.Poll, grace: cfg.Grace, logger: cfg.Logger}
}

// Run fires due timers until ctx ends.
func (sc *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(sc.poll)
	defer t.Stop()
	for {
		if _, err := sc.Fire(ctx); err != nil && ctx.Err() == nil {
			sc.logger.WarnContext(ctx, "fire timers", "err", err)
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
	dueBatch    = 100 // timers claimed per transaction
	lateKept    = 20  // earlier missed fire times recorded per timer and pass
	ticksStored = 200 // ticks kept per timer

	sendTimeout = 30 * time.Second // handing one message to its bot
)

// post is a message to send once the claim committed.
type post struct {
	timerID     int64
	communityID int64
	fireAt      time.Time
	msg         router.Message
}

// Fire handles every timer due now and returns how many messages it posted.
func (sc *Scheduler) Fire(ctx context.Context) (int, error) {
	total := 0
	for {
		posts, claimed, err := sc.claim(ctx)
		if err != nil {
			return total, err
		}
		for _, p := range posts {
			if sc.send(ctx, p) {
				total++
			}
		}
		if claimed < dueBatch {
			return total, nil
		}
	}
}

// claim handles one batch of due timers in one transaction and returns the
// messages to post.
func (sc *Scheduler) claim(ctx context.Context) (posts []post, claimed int, err error) {
	now := sc.now()
	err = pgx.BeginFunc(ctx, sc.pool, func(tx pgx.Tx) error {
		posts, claimed = nil, 0
		q := db.New(tx)
		due, err := q.TimerDue(ctx, db.TimerDueParams{Now: &now, Max: dueBatch})
		if err != nil {
			return fmt.Errorf("claim due timers: %w", err)
		}
		claimed = len(due)
		for _, d := range due {
			p, err := sc.fireOne(ctx, q, d.Timer, d.Live, now)
			if err != nil {
				return fmt.Errorf("timer %d: %w", d.Timer.ID, err)
			}
			if p != nil {
				posts = append(posts, *p)
			}
		}
		return nil
	})
	return posts, claimed, err
}

// fireOne decides what becomes of a claimed timer's fire times up to now.
func (sc *Scheduler) fireOne(ctx context.Context, q *db.Queries, t db.Timer, live bool, now time.Time) (*post, error) {
	every := time.Duration(t.IntervalMinutes) * time.Minute
	if t.NextFireAt == nil { // written by an import: its first fire time is one interval from now
		next := now.Truncate(time.Second).Add(every).UTC()
		return nil, q.TimerAdvance(ctx, db.TimerAdvanceParams{ID: t.ID, NextFireAt: &next, FiredAt: now})
	}
	first := *t.NextFireAt
	missed := int64(now.Sub(first)/every) + 1 // fire times from first up to now
	last := first.Add(time.Duration(missed-1) * every)
	next := last.Add(every).UTC()

	var fires []time.Time
	var outcomes []string
	for k := max(0, missed-1-lateKept); k < missed-1; k++ {
		fires, outcomes = append(fires, first.Add(time.Duration(k)*every)), append(outcomes, SkippedLate)
	}
	outcome := Posted
	switch {
	case now.Sub(last) > sc.grace:
		outcome = SkippedLate
	case t.OnlyLive && !live:
		outcome = SkippedOffline
	case t.LinesSince < int64(t.MinLines):
		outcome = SkippedLines
	}
	fires, outcomes = append(fires, last), append(outcomes, outcome)
	n, err := q.TimerTickInsertMany(ctx, db.TimerTickInsertManyParams{TimerID: t.ID, CommunityID: t.CommunityID, FireAts: fires, Outcomes: outcomes})
	if err != nil {
		return nil, fmt.Errorf("record ticks: %w", err)
	}
	if n == 0 { // every one of these fire times was handled already
		return nil, q.TimerAdvance(ctx, db.TimerAdvanceParams{ID: t.ID, NextFireAt: &next, FiredAt: last})
	}
	if err := q.TimerTickTrim(ctx, db.TimerTickTrimParams{TimerID: t.ID, Keep: ticksStored}); err != nil {
		return nil, fmt.Errorf("trim ticks: %w", err)
	}
	if err := q.TimerAdvance(ctx, db.TimerAdvanceParams{ID: t.ID, NextFireAt: &next, ResetLines: outcome == Posted,
		Outcome: outcome, FiredAt: last}); err != nil {
		return nil, fmt.Errorf("advance: %w", err)
	}
	if outcome != Posted {
		return nil, nil
	}
	ch := t.Channel
	if t.Platform == router.Twitch {
		ch = t.Server
	}
	return &post{timerID: t.ID, communityID: t.CommunityID, fireAt: last,
		msg: router.Message{Platform: t.Platform, Server: t.Server, Channel: ch, Text: t.Message}}, nil
}

// send posts a claimed message; a refusal is recorded on the tick and the
// timer.
func (sc *Scheduler) send(ctx context.Context, p post) bool {
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	_, err := sc.poster.Send(sctx, p.communityID, p.msg, router.Options{})
	cancel()
	if err == nil {
		return true
	}
	sc.logger.WarnContext(ctx, "a timer's message was not sent", "timer", p.timerID, "err", err)
	// The reason is shown in the hub: a refusal says what it is; anything
	// else stays in the log.
	reason := "The message could not be sent; the server log has the details."
	if pr := problem.As(err); pr != nil {
		reason = runes.Truncate(pr.Message, maxErrorLength, "…")
	}
	wctx := context.WithoutCancel(ctx)
	werr := pgx.BeginFunc(wctx, sc.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.TimerTickFailed(wctx, db.TimerTickFailedParams{TimerID: p.timerID, FireAt: p.fireAt}); err != nil {
			return err
		}
		return q.TimerFailed(wctx, db.TimerFailedParams{ID: p.timerID, FiredAt: p.fireAt, Error: reason})
	})
	if werr != nil {
		sc.logger.WarnContext(ctx, "record a timer's failure", "timer", p.timerID, "err", werr)
	}
	return false
}
