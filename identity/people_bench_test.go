package identity_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waddle/waddle/identity"
)

// BenchmarkPeopleSearch searches a community of 100,000 people (with as many
// accounts again in another community) by the start of a name: a rare
// prefix, a common one (the first page of thousands), and the list without
// a search. Run: go test -run '^$' -bench PeopleSearch ./identity
func BenchmarkPeopleSearch(b *testing.B) {
	e := newPeopleEnv(b)
	ctx := context.Background()
	for _, c := range []struct {
		cid  int64
		from int
	}{{e.a, 0}, {e.b, 100000}} {
		if _, err := e.pool.Exec(ctx, `WITH acct AS (
				INSERT INTO identity_accounts (platform, account_id, user_name)
				SELECT (ARRAY['twitch','discord','slack'])[1 + n % 3], 'acct' || n, 'viewer' || md5(n::text)
				FROM generate_series($2::int, $2::int + 99999) n
				RETURNING identity_id)
			INSERT INTO community_people (community_id, identity_id, last_seen)
			SELECT $1, identity_id, now() - random() * interval '30 days' FROM acct`, c.cid, c.from); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.pool.Exec(ctx, "ANALYZE identity_accounts; ANALYZE community_people"); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"viewerc4ca", "viewer", ""} {
		b.Run(fmt.Sprintf("q=%q", q), func(b *testing.B) {
			for b.Loop() {
				p, err := e.ids.People(ctx, e.a, identity.PeopleQuery{Search: q})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.People) == 0 {
					b.Fatal("nobody found")
				}
			}
		})
	}
}
