package labels

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

// benchPeople seeds a community with n people (Twitch accounts), ten labels
// L0…L9, and two labels on each person (L(i mod 10) and L(i/10 mod 10)),
// in set-based statements; it returns the service, the community and the
// people's identities.
func benchPeople(b *testing.B, n int) (*Service, int64, []int64) {
	b.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(b)
	rdb, prefix := dbtest.Redis(b)
	s := New(Config{Pool: pool, Redis: rdb, RedisPrefix: prefix})
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "bench", Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		if _, err := s.Create(ctx, audit.Actor{}, c.ID, Input{Name: fmt.Sprintf("L%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name) SELECT 'twitch', 'b' || g, 'user' || g FROM generate_series(1, $1::int) g`, n); err != nil {
		b.Fatalf("seed: %v", err)
	}
	for _, sql := range []string{
		`INSERT INTO community_people (community_id, identity_id) SELECT $1, identity_id FROM identity_accounts WHERE platform = 'twitch' AND account_id LIKE 'b%'`,
		`INSERT INTO person_labels (community_id, identity_id, label_id)
		 SELECT DISTINCT $1::bigint, a.identity_id, l.id FROM identity_accounts a
		 CROSS JOIN LATERAL (VALUES ('L' || (substr(a.account_id, 2)::int % 10)), ('L' || (substr(a.account_id, 2)::int / 10 % 10))) v (name)
		 JOIN labels l ON l.community_id = $1 AND l.name = v.name
		 WHERE a.platform = 'twitch' AND a.account_id LIKE 'b%'`,
	} {
		if _, err := pool.Exec(ctx, sql, c.ID); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var ids []int64
	rows, err := pool.Query(ctx, `SELECT identity_id FROM community_people WHERE community_id = $1 ORDER BY identity_id`, c.ID)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if rows.Err() != nil || len(ids) != n {
		b.Fatalf("seeded %d people, want %d: %v", len(ids), n, rows.Err())
	}
	return s, c.ID, ids
}

// reportP99 reports the 99th percentile of ds in milliseconds.
func reportP99(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	p := ds[len(ds)*99/100]
	b.ReportMetric(float64(p.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkSearch searches 100,000 labelled people, all of two labels and
// any of two labels, from the cache and (its entries dropped before each
// search) from PostgreSQL.
func BenchmarkSearch(b *testing.B) {
	s, cid, _ := benchPeople(b, 100_000)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		q      Query
		cached bool
	}{
		{"all/cached", Query{Labels: []string{"L1", "L2"}, MatchAll: true}, true},
		{"all/uncached", Query{Labels: []string{"L1", "L2"}, MatchAll: true}, false},
		{"any/cached", Query{Labels: []string{"L1", "L2"}}, true},
		{"any/uncached", Query{Labels: []string{"L1", "L2"}}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := s.Search(ctx, cid, tc.q)
			if err != nil || p.Total == 0 || len(p.People) != 50 {
				b.Fatalf("search: %d found, %v", p.Total, err)
			}
			ds := make([]time.Duration, 0, b.N)
			for b.Loop() {
				if !tc.cached {
					s.cache.dropAll()
				}
				t0 := time.Now()
				if _, err := s.Search(ctx, cid, tc.q); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
			}
			reportP99(b, ds)
		})
	}
}

// BenchmarkBulk applies 1,000 operations in one request: adds of a label to
// 1,000 people of the 100,000, then their removal, alternately.
func BenchmarkBulk(b *testing.B) {
	s, cid, ids := benchPeople(b, 100_000)
	ctx := context.Background()
	if _, err := s.Create(ctx, audit.Actor{}, cid, Input{Name: "Bulk"}); err != nil {
		b.Fatal(err)
	}
	var ops [2][]BulkOp
	for i := range MaxBulk {
		// Every 7th person by identity, named by id or by account name.
		ref := PersonRef{IdentityID: ids[i*7]}
		if i%2 == 1 {
			ref = PersonRef{Platform: "twitch", Name: fmt.Sprintf("user%d", i*7+1)}
		}
		ops[0] = append(ops[0], BulkOp{Give: true, Person: ref, Label: "Bulk"})
		ops[1] = append(ops[1], BulkOp{Person: ref, Label: "bulk"})
	}
	n := 0
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		res, err := s.Bulk(ctx, audit.Actor{}, cid, ops[n%2], false)
		ds = append(ds, time.Since(t0))
		if err != nil || !res.Applied || res.Added+res.Removed != MaxBulk {
			b.Fatalf("bulk: %+v %v", res.Items[0], err)
		}
		n++
	}
	reportP99(b, ds)
}
