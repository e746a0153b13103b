package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// SchemaTooNewError is returned by MigrateUp and MigrateDown when the
// database has migrations applied that this binary does not know: a newer
// release migrated it. This binary then changes nothing, and `waddle serve`
// does not start, because its queries were written for an older schema.
type SchemaTooNewError struct {
	Known   int64   // the highest migration embedded in this binary
	Applied int64   // the highest migration applied to the database
	Unknown []int64 // every applied migration this binary does not know, in order
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("the database schema is at migration %d but this waddle knows only up to %d: "+
		"it was upgraded by a newer release; run that release, or restore a backup taken before the upgrade "+
		"(migrations unknown to this waddle: %s; see `waddle migrate status`)",
		e.Applied, e.Known, versionList(e.Unknown))
}

// versionList writes migration versions as goose names them: 00034, 00035.
func versionList(vs []int64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%05d", v)
	}
	return strings.Join(parts, ", ")
}

func (p *migrator) latestKnown() int64 {
	var latest int64
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	return latest
}

// appliedVersions lists the versions goose's table records as applied,
// in ascending order, without goose's initial version 0.
func (p *migrator) appliedVersions(ctx context.Context) ([]int64, error) {
	rows, err := p.store.ListMigrations(ctx, p.db)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	// Newest row first: the first row of a version says whether it is applied
	// (old goose versions recorded a roll-back as a row with is_applied false).
	seen := map[int64]bool{}
	var out []int64
	for _, r := range rows {
		if seen[r.Version] {
			continue
		}
		seen[r.Version] = true
		if r.IsApplied && r.Version > 0 {
			out = append(out, r.Version)
		}
	}
	slices.Sort(out)
	return out, nil
}

// refuseNewer returns a *SchemaTooNewError when the database has a migration
// applied above the highest this binary knows. On a fresh database it
// creates goose's version table, as migrating would.
func (p *migrator) refuseNewer(ctx context.Context) error {
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	known := p.latestKnown()
	if current <= known {
		return nil
	}
	applied, err := p.appliedVersions(ctx)
	if err != nil {
		return err
	}
	knownSet := map[int64]bool{}
	for _, s := range p.ListSources() {
		knownSet[s.Version] = true
	}
	e := &SchemaTooNewError{Known: known, Applied: current}
	for _, v := range applied {
		if !knownSet[v] {
			e.Unknown = append(e.Unknown, v)
		}
	}
	return e
}
