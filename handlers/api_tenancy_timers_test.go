package handlers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
)

// timersFixture is what the matrix's timer routes work on: a timer of A, a
// timer of B, and a timer of A that a DELETE removes (made again before each).
type timersFixture struct {
	a, b, del int64
}

func (x *tenancyEnv) timersFixtures(t *testing.T) {
	t.Helper()
	x.timers.a = x.mustTimer(t, x.a.ID, "matrix", "alphachan")
	x.timers.b = x.mustTimer(t, x.b.ID, "matrix", "betachan")
}

func (x *tenancyEnv) mustTimer(t *testing.T, cid int64, name, server string) int64 {
	t.Helper()
	tm, err := x.cfg.Timers.Create(context.Background(), audit.Actor{}, cid, timers.Input{Name: name, Message: "Matrix says hi",
		Platform: router.Twitch, Server: server, IntervalMinutes: 15, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return tm.ID
}

// timersFingerprint is the part of a community's fingerprint about timers.
const timersFingerprint = `(SELECT string_agg(id || ':' || name || ':' || message || ':' || enabled, ',' ORDER BY id) FROM timers WHERE community_id = $1)`

func timersTenancyRoutes() []tenancyRoute {
	refused := [4]int{403, 403, 401, 403}
	noBody := func(*tenancyEnv, int) string { return "" }
	member := func(ok int) map[string][4]int {
		return map[string][4]int{"user": {ok, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {ok, ok, 401, ok}}
	}
	list := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/timers", x.a.ID) }
	listU := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/timers", x.unknown) }
	one := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/timers/%d", x.a.ID, x.timers.a) }
	oneU := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/timers/%d", x.unknown, x.timers.a) }
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/communities/{cid}/timers", path: list, unknownPath: listU, body: noBody, want: member(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/timers", path: list, unknownPath: listU,
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"name":"m%d","message":"hello","platform":"twitch","server":"alphachan","interval_minutes":5}`, n)
			}, want: member(201)},
		{method: "GET", pattern: "/api/v1/communities/{cid}/timers/{tid}", path: one, unknownPath: oneU, body: noBody, want: member(200)},
		{method: "PATCH", pattern: "/api/v1/communities/{cid}/timers/{tid}", path: one, unknownPath: oneU,
			body: func(_ *tenancyEnv, n int) string { return fmt.Sprintf(`{"message":"matrix %d"}`, n) }, want: member(200)},
		{method: "DELETE", pattern: "/api/v1/communities/{cid}/timers/{tid}",
			path:        func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/timers/%d", x.a.ID, x.timers.del) },
			unknownPath: func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/timers/%d", x.unknown, x.timers.del) },
			prep: func(t *testing.T, x *tenancyEnv) {
				if x.timers.del != 0 {
					x.cfg.Timers.Delete(context.Background(), audit.Actor{}, x.a.ID, x.timers.del) // gone already when accepted
				}
				x.timers.del = x.mustTimer(t, x.a.ID, "matrix-del", "alphachan")
			},
			body: noBody, want: member(200)},
	}
}
