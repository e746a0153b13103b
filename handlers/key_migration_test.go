package handlers_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// keysMigration is the migration that binds trigger and action keys to communities.
const keysMigration = 7

// migrateTo moves the test's database to schema version v with the real
// migration files, on a pool of its own; then it drops the env's connections,
// whose prepared statements knew the old columns.
func (e *env) migrateTo(t *testing.T, v int64) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, e.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("../db/migrations"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v < cur {
		_, err = p.DownTo(ctx, v)
	} else {
		_, err = p.UpTo(ctx, v)
	}
	if err != nil {
		t.Fatalf("migrate from %d to %d: %v", cur, v, err)
	}
	e.pool.Reset()
}

// TestMigrationRevokesOverpoweredKeys writes keys of the shape the hub made
// before community keys (any user could make trigger and action keys, which
// reached every community) into a database at the schema before the
// migration, runs the real migration, and checks that exactly the keys that
// hold more than their owner may do are revoked, that their owner sees why,
// and that a rollback does not turn community keys into installation-wide ones.
func TestMigrationRevokesOverpoweredKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ann := e.user("ann@example.com", false)
	root := e.user("root@example.com", true)
	e.migrateTo(t, keysMigration-1)

	type oldKey struct {
		owner   auth.User
		role    string
		revoked bool // already revoked by its owner
		secret  string
	}
	keys := map[string]*oldKey{
		"ann trigger": {owner: ann, role: "trigger"}, "ann action": {owner: ann, role: "action"},
		"ann core": {owner: ann, role: "core"}, "ann admin": {owner: ann, role: "admin"},
		"ann user": {owner: ann, role: "user"}, "ann old": {owner: ann, role: "user", revoked: true},
		"root trigger": {owner: root, role: "trigger"}, "root admin": {owner: root, role: "admin"}, "root user": {owner: root, role: "user"},
	}
	for name, k := range keys {
		k.secret = "wdl_" + strings.ToLower(rand.Text()+rand.Text()[:22])
		_, err := e.pool.Exec(ctx, `INSERT INTO api_keys (user_id, name, prefix, key_hash, role, revoked_at)
			VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)`, k.owner.ID, name, k.secret[:12], auth.HashToken(k.secret), k.role, k.revoked)
		if err != nil {
			t.Fatal(err)
		}
	}
	e.migrateTo(t, keysMigration)
	// The hub's code needs the newest schema; later migrations leave keys alone.
	e.migrateTo(t, 1<<40)

	want := map[string]string{ // what each key's owner reads; "" works
		"ann trigger": "revoked: installation-wide trigger keys are for global admins; create one on your community's page",
		"ann action":  "revoked: installation-wide action keys are for global admins; create one on your community's page",
		"ann core":    "revoked: core keys are for global admins",
		"ann admin":   "revoked: admin keys are for global admins",
		"ann old":     "revoked",
	}
	reasons := map[string]string{}
	for _, who := range []auth.User{ann, root} {
		doc := e.signedIn(who.Email).get("/account", nil).doc(t)
		doc.Find(`[data-testid=key-row]`).Each(func(_ int, row *goquery.Selection) {
			name := strings.TrimSpace(row.Find("td").First().Text())
			reasons[name] = ""
			if row.Find(`[data-testid=key-revoked]`).Length() == 1 {
				reasons[name] = "revoked"
			}
			if r := row.Find(`[data-testid=key-revoked-reason]`); r.Length() == 1 {
				reasons[name] = r.Text()
			}
		})
	}
	for name, k := range keys {
		if reasons[name] != want[name] {
			t.Errorf("%s: the account page says %q, want %q", name, reasons[name], want[name])
		}
		st, _ := e.api(k.secret, "GET", "/me", "")
		if works := st == 200; works != (want[name] == "") {
			t.Errorf("%s: /me answered %d after the migration", name, st)
		}
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = 'api_key_revoked' AND actor_email = 'upgrade' AND target LIKE 'ann %'"); n != 4 {
		t.Errorf("%d revocations in the audit log, want ann's 4", n)
	}

	// A rollback revokes community keys rather than leaving them to reach every community.
	a := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Owner})
	communityKey := e.communityKey(ann, auth.RoleTrigger, a.ID)
	e.migrateTo(t, keysMigration-1)
	if n := e.count("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND role = 'trigger' AND user_id = $1", ann.ID); n != 0 {
		t.Errorf("after a rollback ann holds %d live trigger keys", n)
	}
	e.migrateTo(t, 1<<40) // and forward again, to the newest schema
	if st, _ := e.api(communityKey, "GET", "/me", ""); st != 401 {
		t.Errorf("the community key after a rollback: %d, want 401", st)
	}
}
