package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// An event's database effects go through one transaction, begun at its
// first write. The transaction of a claimed event (see claim.go) also stores
// its answer and the execution-log rows of the commands it ran, so a crash
// leaves the effects, the answer and the log rows all stored or none of them.

// begin returns the event's transaction, begun on first use.
func (h *handling) begin(ctx context.Context) (pgx.Tx, error) {
	if h.dry {
		return nil, errors.New("a dry run has no transaction")
	}
	if h.tx == nil {
		tx, err := h.r.pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin the transaction of event %q: %w", h.ev.ID, err)
		}
		h.tx = tx
	}
	return h.tx, nil
}

// writer is the event's transaction, begun on first use, as queries.
func (h *handling) writer(ctx context.Context) (*db.Queries, error) {
	tx, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	return db.New(tx), nil
}

// read is where the event looks things up: its transaction once it has one
// (it then sees its own writes, and never waits for a second connection of
// the pool while it holds one), the read pool before.
func (h *handling) read() *db.Queries {
	if h.tx != nil {
		return db.New(h.tx)
	}
	return db.New(h.r.read)
}

// readPrimary is read, but on the primary before the transaction begins: for
// what a write of the same event depends on.
func (h *handling) readPrimary() *db.Queries {
	if h.tx != nil {
		return db.New(h.tx)
	}
	return db.New(h.r.pool)
}

// errClaimLost means another instance took the event over, believing this
// one dead (its lock connection was lost): the effects are rolled back.
var errClaimLost = errors.New("the event was taken over by another instance")

// commit tells a TxObserver that wants the event of it and writes, in the
// event's transaction, the execution-log rows of the commands it ran and,
// for a claimed event, its answer; then commits. A
// claimed event without a transaction leaves both to its batch (batched).
func (h *handling) commit(ctx context.Context) error {
	if err := h.observeTx(ctx); err != nil {
		h.failed(ctx)
		return fmt.Errorf("commit event %q: %w", h.ev.ID, err)
	}
	if h.tx == nil {
		h.batched = h.claimed
		return nil
	}
	err := h.store(ctx)
	if err == nil {
		err = h.tx.Commit(ctx)
		h.tx = nil
	}
	if err != nil {
		h.failed(ctx)
		return fmt.Errorf("commit event %q: %w", h.ev.ID, err)
	}
	h.executions = nil
	return nil
}

func (h *handling) store(ctx context.Context) error {
	q := db.New(h.tx)
	if !h.claimed {
		if len(h.executions) == 0 {
			return nil
		}
		if _, err := q.CommandExecutionInsert(ctx, h.executions); err != nil {
			return fmt.Errorf("log its commands: %w", err)
		}
		return nil
	}
	raw, err := json.Marshal(h.res)
	if err != nil {
		return fmt.Errorf("encode its answer: %w", err)
	}
	execs, err := executionsJSON(h.executions, "")
	if err != nil {
		return fmt.Errorf("encode its executions: %w", err)
	}
	n, err := q.ProcessedEventAnswer(ctx, db.ProcessedEventAnswerParams{CommunityID: h.s.communityID, EventID: h.ev.ID,
		Owner: h.r.owner, Result: raw, Executions: execs})
	if err != nil {
		return fmt.Errorf("store its answer: %w", err)
	}
	if n != 1 {
		return errClaimLost
	}
	return nil
}

// execRow is an execution-log row as ProcessedEventAnswer(Many) reads it.
type execRow struct {
	CommunityID int64     `json:"community_id,omitempty"`
	EventID     string    `json:"event_id,omitempty"`
	Command     string    `json:"command"`
	Platform    string    `json:"platform"`
	UserID      string    `json:"user_id"`
	UserName    string    `json:"user_name"`
	Args        string    `json:"args"`
	Executor    string    `json:"executor"`
	Outcome     string    `json:"outcome"`
	DurationUs  int64     `json:"duration_us"`
	Error       string    `json:"error"`
	CreatedAt   time.Time `json:"created_at"`
	// ModuleVersionID is the installed module's version that ran, if one did.
	ModuleVersionID *int64   `json:"module_version_id,omitempty"`
	Refused         []string `json:"refused"`
}

func toExecRow(e db.CommandExecutionInsertParams, eventID string) execRow {
	r := execRow{Command: e.Command, Platform: e.Platform, UserID: e.UserID, UserName: e.UserName, Args: e.Args,
		Executor: e.Executor, Outcome: e.Outcome, DurationUs: e.DurationUs, Error: e.Error, CreatedAt: e.CreatedAt,
		ModuleVersionID: e.ModuleVersionID, Refused: e.Refused}
	if eventID != "" {
		r.CommunityID, r.EventID = e.CommunityID, eventID
	}
	return r
}

// executionsJSON encodes execution-log rows; with an event id, each names it.
func executionsJSON(es []db.CommandExecutionInsertParams, eventID string) ([]byte, error) {
	rows := make([]execRow, len(es))
	for i, e := range es {
		rows[i] = toExecRow(e, eventID)
	}
	return json.Marshal(rows)
}

// rollback ends the event's transaction, if it has one, undoing its effects.
func (h *handling) rollback(ctx context.Context) {
	if h.tx == nil {
		return
	}
	// On error pgx closes the connection, which PostgreSQL rolls back.
	_ = h.tx.Rollback(ctx)
	h.tx = nil
}

// afterCommit does what must wait for the event's effects to be stored:
// other instances drop the commands they cached, the execution log gets the
// rows not written in a transaction, overlays show the event, the Observer
// hears of it.
func (h *handling) afterCommit(ctx context.Context) {
	if h.reconfig {
		h.r.invalidate(ctx, h.s.communityID)
	}
	h.logQueued()
	h.toOverlays(ctx)
	h.observe(ctx)
}

// failed undoes what it can of a failed event: its transaction is rolled
// back, its chat points' once-a-minute gate is given back (a retry may earn
// them), and its executions go to the log all the same.
func (h *handling) failed(ctx context.Context) {
	h.rollback(ctx)
	if h.paidKey != "" {
		h.r.paid.forget(h.paidKey)
		h.r.limiter.Reset(context.WithoutCancel(ctx), h.paidKey, chatPointsEvery)
		h.paidKey = ""
	}
	h.logQueued()
}

// logQueued hands the execution-log rows not written with the event to the
// batched writer: those of an event without de-duplication or database
// effects (an IRC chat command, which no platform redelivers), or of a
// failed one.
func (h *handling) logQueued() {
	for _, e := range h.executions {
		h.r.log.add(h.ctx, e)
	}
	h.executions = nil
}

// fail records an error of a write made where it could not be returned (a
// template's {count}); the event then fails.
func (h *handling) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.err = err
	}
}

// reconfigured notes that the event changed the community's commands.
func (h *handling) reconfigured() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reconfig = true
}

// addPoints adds a points change to the answer.
func (h *handling) addPoints(pc PointsChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res.Points = append(h.res.Points, pc)
}
