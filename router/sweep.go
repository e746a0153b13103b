package router

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
)

// SweepArgs is the periodic job that forgets event ids older than the
// 24-hour de-duplication window and platform deliveries handled a week ago.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "router.sweep" }

// SweepWorker runs SweepArgs jobs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Pool *pgxpool.Pool
}

// Work deletes old event ids.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	q := db.New(w.Pool)
	if _, err := q.ProcessedEventDeleteOld(ctx); err != nil {
		return fmt.Errorf("delete old event ids: %w", err)
	}
	// Platform webhook deliveries handled more than a week ago.
	if _, err := q.DeliveryDeleteOld(ctx); err != nil {
		return fmt.Errorf("delete old deliveries: %w", err)
	}
	return nil
}
