package db

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

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

// LatestMigration returns the newest Waddle migration this binary holds,
// without a database.
func LatestMigration() int64 {
	names, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	var latest int64
	for _, n := range names {
		num, _, _ := strings.Cut(strings.TrimPrefix(n, "migrations/"), "_")
		if v, err := strconv.ParseInt(num, 10, 64); err == nil && v > latest {
			latest = v
		}
	}
	return latest
}
