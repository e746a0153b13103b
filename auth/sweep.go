package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
)

// SweepArgs is the periodic job that deletes expired sessions, stale reset
// tokens and long-expired invitations. River's leader election makes each
// scheduled run happen once across instances.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "auth.sweep" }

// SweepInterval is how often the sweep runs.
const SweepInterval = 15 * time.Minute

// SweepWorker runs SweepArgs jobs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work deletes what has expired.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	q := db.New(w.Service.pool)
	sessions, err := q.SessionDeleteExpired(ctx)
	if err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	resets, err := q.PasswordResetDeleteStale(ctx)
	if err != nil {
		return fmt.Errorf("delete stale reset tokens: %w", err)
	}
	invites, err := q.InvitationDeleteStale(ctx)
	if err != nil {
		return fmt.Errorf("delete stale invitations: %w", err)
	}
	w.Service.logger.InfoContext(ctx, "swept expired records", "sessions", sessions, "reset_tokens", resets, "invitations", invites)
	return nil
}
