package handlers_test

import (
	"context"
	"fmt"
	"testing"
)

// counterFingerprint is what the counters API could change in a community.
const counterFingerprint = `(SELECT string_agg(name || ':' || value, ',' ORDER BY name) FROM counters WHERE community_id = $1)`

func counterTenancyRoutes() []tenancyRoute {
	noBody := func(*tenancyEnv, int) string { return "" }
	refused := [4]int{403, 403, 401, 403}
	ok := map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}
	list := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/counters", x.a.ID) }
	listU := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/counters", x.unknown) }
	one := func(x *tenancyEnv) string { return list(x) + "/matrix" }
	oneU := func(x *tenancyEnv) string { return listU(x) + "/matrix" }
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/communities/{cid}/counters", path: list, unknownPath: listU, body: noBody, want: ok},
		{method: "PUT", pattern: "/api/v1/communities/{cid}/counters/{name}", path: one, unknownPath: oneU,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"value": %d}`, n) }, want: ok},
		{method: "DELETE", pattern: "/api/v1/communities/{cid}/counters/{name}", path: one, unknownPath: oneU, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				if _, err := x.pool.Exec(context.Background(), `INSERT INTO counters (community_id, name, value) VALUES ($1, 'matrix', 1)
					ON CONFLICT (community_id, name) DO NOTHING`, x.a.ID); err != nil {
					t.Fatal(err)
				}
			}, want: ok},
	}
}
