package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion returns the newest Waddle migration applied to the
// database, 0 for none.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	p, err := newProvider(pool)
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	applied, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return applied, nil
}
