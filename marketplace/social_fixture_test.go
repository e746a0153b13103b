package marketplace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/marketplace"
)

// socialFixture makes the rows reviews and usage read, by direct inserts:
// users, communities, modules, versions, installs and executions.
type socialFixture struct {
	t    testing.TB
	pool *pgxpool.Pool
	svc  *marketplace.Service
	n    int
}

func newSocialFixture(t testing.TB) *socialFixture {
	t.Helper()
	pool := dbtest.Pool(t)
	return &socialFixture{t: t, pool: pool, svc: marketplace.New(marketplace.Config{Pool: pool})}
}

func (f *socialFixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.pool.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func (f *socialFixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *socialFixture) user(admin bool) int64 {
	f.t.Helper()
	f.n++
	return f.id("INSERT INTO users (email, display_name, is_admin) VALUES ($1, $2, $3) RETURNING id",
		fmt.Sprintf("u%d@example.com", f.n), fmt.Sprintf("User %d", f.n), admin)
}

// community makes a community with the users as members.
func (f *socialFixture) community(members ...int64) int64 {
	f.t.Helper()
	f.n++
	cid := f.id("INSERT INTO communities (slug, name) VALUES ($1, 'C') RETURNING id", fmt.Sprintf("c%d", f.n))
	for _, u := range members {
		f.exec("INSERT INTO community_members (community_id, user_id, role) VALUES ($1, $2, 'member')", cid, u)
	}
	return cid
}

// module makes a module by author (0: a core module) with the versions.
func (f *socialFixture) module(slug string, author int64, versions ...string) (int64, map[string]int64) {
	f.t.Helper()
	var aid *int64
	if author != 0 {
		aid = &author
	}
	mid := f.id(`INSERT INTO marketplace_modules (slug, name, summary, author_id, author_name) VALUES ($1, $1, 'A module', $2, 'Author') RETURNING id`, slug, aid)
	vids := map[string]int64{}
	for i, v := range versions {
		vids[v] = f.id(`INSERT INTO marketplace_versions (module_id, version, major, minor, patch, manifest) VALUES ($1, $2, 1, $3, 0, '{}') RETURNING id`, mid, v, i)
	}
	return mid, vids
}

func (f *socialFixture) install(cid, mid, vid int64) {
	f.t.Helper()
	f.exec("INSERT INTO marketplace_installs (community_id, module_id, version_id) VALUES ($1, $2, $3)", cid, mid, vid)
}

// execution logs one run of a module version, as the router writes it.
func (f *socialFixture) execution(cid, vid int64, at time.Time, outcome string, durationUs int64, refused ...string) {
	f.t.Helper()
	if refused == nil {
		refused = []string{}
	}
	f.exec(`INSERT INTO command_executions (community_id, command, platform, user_id, executor, outcome, duration_us, created_at, module_version_id, refused)
		VALUES ($1, 'cmd', 'twitch', 'viewer', 'remote', $2, $3, $4, $5, $6)`, cid, outcome, durationUs, at, vid, refused)
}

// rating reads a module's kept figures and a recount over its visible reviews.
func (f *socialFixture) rating(mid int64) (count, sum, recount, resum int) {
	f.t.Helper()
	err := f.pool.QueryRow(context.Background(), `SELECT m.rating_count, m.rating_sum,
		(SELECT count(*) FROM marketplace_reviews r WHERE r.module_id = m.id AND NOT r.hidden),
		(SELECT COALESCE(sum(stars), 0) FROM marketplace_reviews r WHERE r.module_id = m.id AND NOT r.hidden)
		FROM marketplace_modules m WHERE m.id = $1`, mid).Scan(&count, &sum, &recount, &resum)
	if err != nil {
		f.t.Fatal(err)
	}
	return
}
