package importer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// StalledAfter is how long an applying import may make no progress before
// another worker is queued for it. A batch of balances commits in well under
// a second; a killed process's job stays "running" in River for an hour, so
// without this the import would wait that long. Two workers on one import
// are safe: each batch locks the import's row and goes on from its cursor.
const StalledAfter = 30 * time.Second

// ResumeStalled queues a new apply job for each applying import that made
// no progress for StalledAfter, and returns how many it queued.
func (s *Service) ResumeStalled(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := db.New(tx).ImportsStalled(ctx, StalledAfter.Seconds())
		if err != nil {
			return err
		}
		for _, r := range rows {
			args := ApplyArgs{CommunityID: r.CommunityID, ImportID: r.ID, Resumed: s.now().UnixNano()}
			if _, err := s.jobs.InsertTx(ctx, tx, args, nil); err != nil {
				return fmt.Errorf("queue import %d again: %w", r.ID, err)
			}
			s.logger.WarnContext(ctx, "import apply stalled: queued again", "import", r.ID, "community", r.CommunityID)
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("resume stalled imports: %w", err)
	}
	return n, nil
}

// RunResumer looks for stalled imports every interval until ctx ends.
func (s *Service) RunResumer(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.ResumeStalled(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "resume stalled imports", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
