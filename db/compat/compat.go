// Package compat proves that Waddle's migrations are written
// expand-then-contract: the previous release's queries, snapshotted at the
// release (previous/), must still prepare and write on the newest schema,
// so old and new instances can run side by side during a rolling upgrade.
// It also holds the rule check for migrations that remove things.
package compat

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// Query is one SQL statement a release sends, as sqlc generated it.
type Query struct {
	Name string `json:"name"` // the sqlc query name, e.g. CommunityCreate
	Kind string `json:"kind"` // the sqlc command: :one, :many, :exec, :execrows, :batchexec, :copyfrom
	File string `json:"file"` // the generated file it comes from
	// SQL is the statement with positional parameters ($1, $2…), exactly as
	// the release sends it. For :copyfrom it is the INSERT equivalent of
	// the COPY (same table and columns), which can be prepared.
	SQL string `json:"sql"`
}

// Snapshot is the previous release's queries.
type Snapshot struct {
	Release string  // the commit (and tag, if any) the snapshot was taken at
	Queries []Query // sorted by name
}

//go:embed previous/queries.json
var previousQueries []byte

//go:embed previous/RELEASE
var previousRelease string

// Previous returns the snapshot of the previous release's queries that
// scripts/release-snapshot.sh wrote into previous/.
func Previous() (Snapshot, error) {
	var qs []Query
	dec := json.NewDecoder(bytes.NewReader(previousQueries))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&qs); err != nil {
		return Snapshot{}, fmt.Errorf("read previous/queries.json: %w", err)
	}
	if len(qs) == 0 {
		return Snapshot{}, fmt.Errorf("previous/queries.json holds no queries")
	}
	return Snapshot{Release: strings.TrimSpace(previousRelease), Queries: qs}, nil
}

// Find returns the query of that name.
func (s Snapshot) Find(name string) (Query, bool) {
	for _, q := range s.Queries {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}
