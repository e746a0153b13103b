package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersions returns the newest Waddle migration applied to the database
// (0 for none) and the newest this binary holds.
func SchemaVersions(ctx context.Context, pool *pgxpool.Pool) (applied, known int64, err error) {
	p, err := newProvider(pool)
	if err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	applied, known, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return applied, known, nil
}
