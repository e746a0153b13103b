package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// PlannedPerCall wraps d so that every query through it is planned for its
// own arguments, in the same single round trip: the statement is described
// once per connection and then run unnamed (pgx's cache-describe mode),
// which PostgreSQL always plans afresh. For read queries whose best plan
// depends on the arguments (a rare word read through the search index, a
// common one by scanning) outside a transaction; CustomPlans is the
// transaction's equivalent.
func PlannedPerCall(d DBTX) DBTX { return perCall{d} }

type perCall struct{ DBTX }

func (p perCall) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return p.DBTX.Exec(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

func (p perCall) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.DBTX.Query(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}

func (p perCall) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return p.DBTX.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
}
