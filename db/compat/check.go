package compat

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// QueryError is a query of an older release that fails on the new schema.
type QueryError struct {
	Query Query
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query %s (%s, %s) fails on the new schema: %v", e.Query.Name, e.Query.Kind, e.Query.File, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// Prepare prepares every query on one connection of pool, as the old release
// would at its first use: PostgreSQL resolves each table, column, type and
// function then, so a query that names something the schema no longer has,
// or has changed incompatibly, fails. It returns every failure, joined, each
// a *QueryError.
func Prepare(ctx context.Context, pool *pgxpool.Pool, qs []Query) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	var errs []error
	for _, q := range qs {
		// The unnamed statement: each Parse replaces the previous one.
		if _, err := conn.Conn().PgConn().Prepare(ctx, "", q.SQL, nil); err != nil {
			errs = append(errs, &QueryError{Query: q, Err: err})
		}
	}
	return errors.Join(errs...)
}
