package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CustomPlans has the rest of tx's statements planned for their own
// arguments. After five runs PostgreSQL may keep a prepared statement's
// generic plan, which guesses a few rows for each array argument: for a
// batch of thousands it then joins by nested loop (one 10,000-viewer tick
// took 9 s instead of 0.3 s), and a search by labels scans the whole
// community instead of the labels' index. Statements over arrays whose size
// varies widely run after this.
func CustomPlans(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
		return fmt.Errorf("plan for the arguments: %w", err)
	}
	return nil
}
