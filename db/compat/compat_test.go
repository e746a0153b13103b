package compat_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db/compat"
	"github.com/waddle/waddle/dbtest"
)

func previous(t *testing.T) compat.Snapshot {
	t.Helper()
	snap, err := compat.Previous()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Release == "" {
		t.Fatal("previous/RELEASE names no release")
	}
	return snap
}

func find(t *testing.T, snap compat.Snapshot, name string) compat.Query {
	t.Helper()
	q, ok := snap.Find(name)
	if !ok {
		t.Fatalf("the previous release (%s) has no query %s: pick another write for this test", snap.Release, name)
	}
	return q
}

// oldWrites runs some of the previous release's writes — a community, a
// command, points, a command execution — in a transaction it rolls back.
// They fail when the new schema requires something the old code does not
// send (a NOT NULL column without a default) or refuses what it sends.
func oldWrites(ctx context.Context, t *testing.T, pool *pgxpool.Pool, snap compat.Snapshot) error {
	t.Helper()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// run runs the query with args and returns the first column of its
	// first row, if it returns rows.
	run := func(name string, args ...any) (any, error) {
		q := find(t, snap, name)
		var first any
		rows, err := tx.Query(ctx, q.SQL, args...)
		if err == nil {
			if rows.Next() {
				vs, verr := rows.Values()
				if verr == nil && len(vs) > 0 {
					first = vs[0]
				}
				err = verr
			}
			rows.Close()
			err = errors.Join(err, rows.Err())
		}
		if err != nil {
			return nil, &compat.QueryError{Query: q, Err: err}
		}
		return first, nil
	}
	id, err := run("CommunityCreate", "compat-check", "Compat check", "written by the previous release")
	if err != nil {
		return err
	}
	communityID, ok := id.(int64)
	if !ok {
		t.Fatalf("CommunityCreate of the previous release returned id %#v, want an int64", id)
	}
	if _, err := run("CommandCreate", communityID, "hello", "Hello, $(user)!", []string{}, false, "everyone", int32(5), int32(0), true, []string{}); err != nil {
		return err
	}
	if _, err := run("PointsValueSet", communityID, "chat", int64(3)); err != nil {
		return err
	}
	balance, err := run("PointsAdd", "twitch", "1001", "penguin", communityID, int64(42), "compat check")
	if err != nil {
		return err
	}
	if balance != int64(42) {
		t.Errorf("PointsAdd of the previous release returned balance %#v, want 42", balance)
	}
	_, err = run("CommandExecutionInsert", communityID, "hello", "twitch", "1001", "penguin", "", "builtin", "ok",
		int64(120), "", time.Now(), nil, []string{})
	return err
}

func applyTestdata(ctx context.Context, t *testing.T, pool *pgxpool.Pool, name string) {
	t.Helper()
	b, err := os.ReadFile("testdata/schema/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(b)); err != nil {
		t.Fatalf("apply testdata/schema/%s: %v", name, err)
	}
}

// queryErrors unpacks the joined errors of Prepare or one of oldWrites.
func queryErrors(t *testing.T, err error) []*compat.QueryError {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []*compat.QueryError
	for _, e := range errs {
		var qe *compat.QueryError
		if !errors.As(e, &qe) {
			t.Fatalf("error %v is not a *compat.QueryError", e)
		}
		out = append(out, qe)
	}
	return out
}

// The expand-then-contract proof: on a database migrated to the newest
// schema, every query of the previous release prepares, and its writes work.
func TestPreviousReleaseRunsOnNewSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	snap := previous(t)
	if err := compat.Prepare(ctx, pool, snap.Queries); err != nil {
		t.Errorf("the previous release (%s) cannot run on the new schema; "+
			"write the migration expand-then-contract (README, Upgrades):\n%v", snap.Release, err)
	}
	if err := oldWrites(ctx, t, pool, snap); err != nil {
		t.Errorf("the previous release (%s) cannot write on the new schema: %v", snap.Release, err)
	}
}

// The current code's own queries, read by the same extraction the release
// snapshot uses, prepare on the schema: the extraction finds real queries.
func TestCurrentQueriesPrepare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	qs, err := compat.Extract(os.DirFS(".."))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, q := range qs {
		kinds[q.Kind]++
		if !strings.HasPrefix(q.SQL, "-- name: "+q.Name+" "+q.Kind) {
			t.Errorf("query %s: SQL does not begin with its sqlc header: %q", q.Name, q.SQL)
		}
	}
	for _, k := range []string{":one", ":many", ":exec", ":execrows", ":batchexec", ":copyfrom"} {
		if kinds[k] == 0 {
			t.Errorf("no %s query extracted from the generated code (found %v)", k, kinds)
		}
	}
	if err := compat.Prepare(ctx, dbtest.Pool(t), qs); err != nil {
		t.Errorf("the current queries do not prepare on the current schema:\n%v", err)
	}
}

// The check fails, naming the query and PostgreSQL's error, when a migration
// contracts too early or expands wrongly.
func TestCheckFailsOnIncompatibleSchema(t *testing.T) {
	t.Parallel()
	snap := previous(t)
	cases := []struct {
		name        string
		file        string
		wantPrepare string // a query Prepare must report
		wantWrite   string // the write that must fail
		wantErr     string // in the reported error
	}{
		{"column dropped a release early", "drop_column.sql", "CommandCreate", "CommandCreate", `column "response"`},
		{"NOT NULL column without default", "not_null_without_default.sql", "", "CommunityCreate", `"region"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := dbtest.Pool(t)
			applyTestdata(ctx, t, pool, tc.file)

			err := compat.Prepare(ctx, pool, snap.Queries)
			if tc.wantPrepare == "" {
				if err != nil {
					t.Errorf("Prepare: %v, want every query to prepare", err)
				}
			} else {
				found := false
				for _, qe := range queryErrors(t, err) {
					if !strings.Contains(qe.Error(), tc.wantErr) {
						t.Errorf("Prepare reported %q, want only errors about %s", qe, tc.wantErr)
					}
					if qe.Query.Name == tc.wantPrepare {
						found = true
						if !strings.HasPrefix(qe.Error(), "query "+tc.wantPrepare+" (") {
							t.Errorf("error %q does not name the query first", qe)
						}
					}
				}
				if !found {
					t.Errorf("Prepare: %v, want it to report %s", err, tc.wantPrepare)
				}
			}

			werr := oldWrites(ctx, t, pool, snap)
			qes := queryErrors(t, werr)
			if werr == nil || len(qes) != 1 || qes[0].Query.Name != tc.wantWrite || !strings.Contains(werr.Error(), tc.wantErr) {
				t.Errorf("old writes: %v, want %s to fail with %s", werr, tc.wantWrite, tc.wantErr)
			}
		})
	}
}
