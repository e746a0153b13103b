package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// RecipientBudget counts the different accounts one sending account reached
// within a sliding window (Twitch: whispers to 40 people a day), in
// PostgreSQL so every instance spends the same budget. Sending again to an
// account reached within the window costs nothing.
type RecipientBudget struct {
	pool     *pgxpool.Pool
	platform string
	n        int
	per      time.Duration
	now      func() time.Time
}

// NewRecipientBudget allows n recipients per window per sending account.
func NewRecipientBudget(pool *pgxpool.Pool, platform string, n int, per time.Duration) *RecipientBudget {
	return &RecipientBudget{pool: pool, platform: platform, n: n, per: per, now: time.Now}
}

// SetClock replaces the budget's clock (tests).
func (r *RecipientBudget) SetClock(now func() time.Time) { r.now = now }

// BudgetSpent is the error of a send to a new recipient when the sending
// account reached its limit of recipients. It wraps a problem.TooMany whose
// message a person can read and whose RetryAfter runs to Until.
type BudgetSpent struct {
	Limit   int
	Until   time.Time // the first time a new recipient fits again
	Problem *problem.Error
}

func (e *BudgetSpent) Error() string { return e.Problem.Message }

func (e *BudgetSpent) Unwrap() error { return e.Problem }

// Spend records that sender sends to recipient now. It returns a
// *BudgetSpent, and records nothing, when recipient is new within the window
// and the budget is spent; describe words that error (it gets the limit and
// the time a recipient frees up).
func (r *RecipientBudget) Spend(ctx context.Context, sender, recipient string, describe func(limit int, until time.Time) string) error {
	if sender == "" || recipient == "" || len(sender) > 100 || len(recipient) > 100 {
		return problem.Invalidf("recipient", "A sender and a recipient have 1 to 100 characters.")
	}
	now := r.now()
	since := now.Add(-r.per)
	var spent *BudgetSpent
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.RecipientLock(ctx, "recipients:"+r.platform+":"+sender); err != nil {
			return err
		}
		prev, err := q.RecipientGet(ctx, db.RecipientGetParams{Platform: r.platform, Sender: sender, Recipient: recipient})
		if err == nil && prev.FirstAt.After(since) {
			return nil // reached within the window: costs nothing more
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		w, err := q.RecipientWindow(ctx, db.RecipientWindowParams{Platform: r.platform, Sender: sender, Since: since})
		if err != nil {
			return err
		}
		if int(w.N) >= r.n {
			until := w.Oldest.Add(r.per)
			spent = &BudgetSpent{Limit: r.n, Until: until, Problem: &problem.Error{Code: problem.TooMany, Message: describe(r.n, until), RetryAfter: until.Sub(now)}}
			return nil
		}
		if err := q.RecipientPrune(ctx, db.RecipientPruneParams{Platform: r.platform, Sender: sender, Since: since}); err != nil {
			return err
		}
		return q.RecipientUpsert(ctx, db.RecipientUpsertParams{Platform: r.platform, Sender: sender, Recipient: recipient, FirstAt: now})
	})
	if err != nil {
		return fmt.Errorf("spend the %s recipient budget of %q: %w", r.platform, sender, err)
	}
	if spent != nil {
		return spent
	}
	return nil
}
