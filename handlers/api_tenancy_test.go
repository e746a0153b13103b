package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
)

// The API tenancy matrix: every /api/v1 route, called on community A's
// resources with a key of each role held in each situation:
//
//   - own: the key belongs to A: a user key of one of A's admins, a trigger
//     or action key of A, a core or admin key of a global admin who owns A;
//   - other: the key belongs to community B only: a user key of B's owner,
//     a trigger or action key of B, a core or admin key of a global admin
//     who owns B;
//   - none: the key's owner has no membership: a user key of a user of no
//     community; a trigger or action key of A whose creator was since removed
//     from A; a core or admin key of a user who was since made a plain user;
//   - gadmin: the key of a global admin who is a member of nothing (trigger
//     and action keys installation-wide).
//
// Each case checks the status; every refusal is byte for byte the answer to
// the same request for an id or server that does not exist; a refused write
// changes nothing in A, an accepted one changes A, and B never changes. A
// route the table does not cover fails the test.

var situations = []string{"own", "other", "none", "gadmin"}

// tenancyRoute is one /api/v1 route and what each role gets in each situation.
type tenancyRoute struct {
	method, pattern string
	path            func(x *tenancyEnv) string // on A's resources
	unknownPath     func(x *tenancyEnv) string // the same with an id that does not exist
	body            func(x *tenancyEnv, n int) string
	unknownBody     func(x *tenancyEnv, n int) string // nil: body
	prep            func(t *testing.T, x *tenancyEnv) // run before a write, so that an accepted one changes A
	readOnly        bool                              // a POST that only reads (validation)
	want            map[string][4]int                 // role → status for own, other, none, gadmin

	headers func(x *tenancyEnv, body string) http.Header // extra request headers (a webhook's signature)
}

type tenancyEnv struct {
	*env
	a, b    community.Community
	ovA     overlay.Source
	victim  int64 // a plain member of A, the target of member routes
	keys    map[string]map[string]string
	unknown int64 // an id nothing has
	wf      workflowFixture
	hooks   webhookFixture
	sched   scheduleFixture
	social  socialFixture
	people  peopleFixture
	labels  labelsFixture
	groups  groupsFixture
	timers  timersFixture
	imports importsFixture
}

func newTenancyEnv(t *testing.T) *tenancyEnv {
	t.Helper()
	e := newEnv(t, withRateLimits(map[string]int{})) // no limits: the matrix sends ~450 requests
	ctx := context.Background()
	root := e.user("root@example.com", true)
	ua := e.user("a-admin@example.com", false)    // admin of A
	ub := e.user("b-owner@example.com", false)    // owner of B only
	un := e.user("nobody@example.com", false)     // member of nothing
	ux := e.user("ex-admin@example.com", false)   // admin of A, since removed
	ga := e.user("global@example.com", true)      // global admin, member of nothing
	gown := e.user("g-owner-a@example.com", true) // global admin, owner of A
	gb := e.user("g-owner-b@example.com", true)   // global admin, owner of B
	gx := e.user("ex-global@example.com", true)   // global admin, since made a plain user
	victim := e.user("carol@example.com", false)
	x := &tenancyEnv{env: e, unknown: 1 << 40, victim: victim.ID}
	x.a = e.community(root, "alpha", map[auth.User]community.Role{ua: community.Admin, ux: community.Admin, gown: community.Owner, victim: community.Member})
	x.b = e.community(root, "beta", map[auth.User]community.Role{ub: community.Owner, gb: community.Owner})
	for _, l := range []struct {
		c      community.Community
		server string
	}{{x.a, "alphachan"}, {x.b, "betachan"}} {
		if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, l.c.ID, router.Twitch, l.server, ""); err != nil {
			t.Fatal(err)
		}
	}
	x.ovA, _ = e.mustOverlay(t, x.a.ID, overlay.Ticker, "Ticker")
	e.mustOverlay(t, x.b.ID, overlay.Ticker, "Ticker")

	x.keys = map[string]map[string]string{
		auth.RoleUser: {"own": e.apiKey(ua, auth.RoleUser), "other": e.apiKey(ub, auth.RoleUser), "none": e.apiKey(un, auth.RoleUser), "gadmin": e.apiKey(ga, auth.RoleUser)},
	}
	for _, role := range []string{auth.RoleTrigger, auth.RoleAction} {
		x.keys[role] = map[string]string{"own": e.communityKey(ua, role, x.a.ID), "other": e.communityKey(ub, role, x.b.ID),
			"none": e.communityKey(ux, role, x.a.ID), "gadmin": e.apiKey(ga, role)}
	}
	for _, role := range []string{auth.RoleCore, auth.RoleAdmin} {
		x.keys[role] = map[string]string{"own": e.apiKey(gown, role), "other": e.apiKey(gb, role), "none": e.apiKey(gx, role), "gadmin": e.apiKey(ga, role)}
	}
	if err := e.comm.RemoveMember(ctx, community.Actor{User: root, Role: community.Owner}, x.a.ID, ux.ID); err != nil {
		t.Fatal(err)
	}
	x.workflowFixtures(t)
	x.webhookFixtures(t)
	x.scheduleFixtures(t)
	x.socialFixtures(t)
	x.peopleFixtures(t)
	x.labelsFixtures(t)
	x.groupsFixtures(t)
	x.timersFixtures(t)
	x.importsFixtures(t)
	if _, err := e.pool.Exec(ctx, "UPDATE users SET is_admin = false WHERE id = $1", gx.ID); err != nil {
		t.Fatal(err)
	}
	return x
}

// fingerprint sums up what a community holds that an API call could change.
func (x *tenancyEnv) fingerprint(cid int64) string {
	x.t.Helper()
	var s string
	err := x.pool.QueryRow(context.Background(), `SELECT concat_ws(' | ',
		(SELECT string_agg(user_id || ':' || role, ',' ORDER BY user_id) FROM community_members WHERE community_id = $1),
		(SELECT string_agg(email || ':' || role, ',' ORDER BY id) FROM community_invitations WHERE community_id = $1),
		(SELECT count(*) FROM commands WHERE community_id = $1),
		(SELECT count(*) || '/' || COALESCE(sum(delta), 0) FROM points_ledger WHERE community_id = $1),
		(SELECT count(*) FROM processed_events WHERE community_id = $1),
		(SELECT count(*) FROM overlay_updates u JOIN overlay_sources s ON s.id = u.source_id WHERE s.community_id = $1),
		(SELECT count(*) FROM audit_log WHERE community_id = $1),
		(SELECT string_agg(id || ':' || name || ':' || status || ':' || version, ',' ORDER BY id) FROM workflows WHERE community_id = $1),
		(SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM workflow_runs WHERE community_id = $1),
		(SELECT string_agg(id::text, ',' ORDER BY id) FROM workflow_webhooks WHERE community_id = $1),
		(SELECT string_agg(id || ':' || kind || ':' || enabled || ':' || updated_at, ',' ORDER BY id) FROM workflow_schedules WHERE community_id = $1),
		`+socialReviewFingerprint+`,
		`+labelsFingerprint+`,
		`+labelGroupFingerprint+`,
		`+counterFingerprint+`,
		`+timersFingerprint+`,
		`+importsFingerprint+`,
		(SELECT name || description FROM communities WHERE id = $1))`, cid).Scan(&s)
	if err != nil {
		x.t.Fatal(err)
	}
	return s
}

func withRateLimits(m map[string]int) envOption {
	return func(c *handlers.Config) { c.APIRateLimits = m }
}

func tenancyRoutes() []tenancyRoute {
	cpath := func(suffix string) (func(*tenancyEnv) string, func(*tenancyEnv) string) {
		return func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d%s", x.a.ID, suffix) },
			func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d%s", x.unknown, suffix) }
	}
	memberPath := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/members/%d", x.a.ID, x.victim) }
	memberUnknown := func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/members/%d", x.unknown, x.victim) }
	fixed := func(p string) func(*tenancyEnv) string { return func(*tenancyEnv) string { return p } }
	noBody := func(*tenancyEnv, int) string { return "" }
	ticker := func(*tenancyEnv, int) string { return `{"type":"ticker","message":"matrix"}` }
	cGet, cGetU := cpath("/")
	mGet, mGetU := cpath("/members")
	aGet, aGetU := cpath("/audit")
	// Roles that the route refuses (403) keep 401 for keys that no longer work.
	refused := [4]int{403, 403, 401, 403}
	userRefused := [4]int{403, 403, 403, 403}
	return append(append(append(append(append(append(workflowTenancyRoutes(), importTenancyRoutes()...), webhookTenancyRoutes()...), scheduleTenancyRoutes()...),
		installTenancyRoutes()...), append(socialTenancyRoutes(), peopleTenancyRoutes()...)...), append(append(append(append(append(catalogTenancyRoutes(), labelsTenancyRoutes()...), groupTenancyRoutes()...), counterTenancyRoutes()...), timersTenancyRoutes()...), []tenancyRoute{
		{method: "GET", pattern: "/api/v1/me", path: fixed("/me"), unknownPath: fixed("/me"), body: noBody,
			want: map[string][4]int{"user": {200, 200, 200, 200}, "trigger": {200, 200, 401, 200}, "action": {200, 200, 401, 200},
				"core": {200, 200, 401, 200}, "admin": {200, 200, 401, 200}}},
		{method: "POST", pattern: "/api/v1/events", path: fixed("/events"), unknownPath: fixed("/events"),
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"id":"m%d","platform":"twitch","kind":"follow","server":"alphachan","user":{"id":"fan%d","name":"fan"}}`, n, n)
			},
			unknownBody: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"id":"m%d","platform":"twitch","kind":"follow","server":"nobody-linked-this","user":{"id":"fan%d","name":"fan"}}`, n, n)
			},
			want: map[string][4]int{"user": userRefused, "trigger": {200, 404, 401, 200}, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "POST", pattern: "/api/v1/overlays/{id}/events",
			path:        func(x *tenancyEnv) string { return fmt.Sprintf("/overlays/%d/events", x.ovA.ID) },
			unknownPath: func(x *tenancyEnv) string { return fmt.Sprintf("/overlays/%d/events", x.unknown) }, body: ticker,
			want: map[string][4]int{"user": userRefused, "trigger": refused, "action": {200, 404, 401, 200}, "core": {200, 404, 401, 404}, "admin": {200, 200, 401, 200}}},
		{method: "GET", pattern: "/api/v1/communities", path: fixed("/communities"), unknownPath: fixed("/communities"), body: noBody,
			want: map[string][4]int{"user": {200, 200, 200, 200}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "GET", pattern: "/api/v1/communities/{cid}/", path: cGet, unknownPath: cGetU, body: noBody,
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "GET", pattern: "/api/v1/communities/{cid}/members", path: mGet, unknownPath: mGetU, body: noBody,
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "POST", pattern: "/api/v1/communities/{cid}/members", path: mGet, unknownPath: mGetU,
			body: func(_ *tenancyEnv, n int) string {
				return fmt.Sprintf(`{"email":"invitee%d@example.com","role":"member"}`, n)
			},
			want: map[string][4]int{"user": {201, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {201, 201, 401, 201}}},
		{method: "PATCH", pattern: "/api/v1/communities/{cid}/members/{uid}", path: memberPath, unknownPath: memberUnknown,
			body: func(*tenancyEnv, int) string { return `{"role":"moderator"}` },
			prep: func(t *testing.T, x *tenancyEnv) {
				if _, err := x.pool.Exec(context.Background(), "UPDATE community_members SET role = 'member' WHERE community_id = $1 AND user_id = $2", x.a.ID, x.victim); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "DELETE", pattern: "/api/v1/communities/{cid}/members/{uid}", path: memberPath, unknownPath: memberUnknown, body: noBody,
			prep: func(t *testing.T, x *tenancyEnv) {
				if _, err := x.pool.Exec(context.Background(), `INSERT INTO community_members (community_id, user_id, role) VALUES ($1, $2, 'member')
					ON CONFLICT (community_id, user_id) DO UPDATE SET role = 'member'`, x.a.ID, x.victim); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "GET", pattern: "/api/v1/communities/{cid}/audit", path: aGet, unknownPath: aGetU, body: noBody,
			want: map[string][4]int{"user": {200, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {200, 200, 401, 200}}},
		{method: "POST", pattern: "/api/v1/communities/{cid}/overlays/{id}/events",
			path: func(x *tenancyEnv) string { return fmt.Sprintf("/communities/%d/overlays/%d/events", x.a.ID, x.ovA.ID) },
			unknownPath: func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/overlays/%d/events", x.unknown, x.ovA.ID)
			}, body: ticker,
			want: map[string][4]int{"user": userRefused, "trigger": refused, "action": {200, 404, 401, 200}, "core": {200, 404, 401, 404}, "admin": {200, 200, 401, 200}}},
	}...)...)
}

func TestAPITenancyMatrix(t *testing.T) {
	t.Parallel()
	x := newTenancyEnv(t)
	routes := tenancyRoutes()

	covered := map[string]bool{}
	for _, rt := range routes {
		covered[rt.method+" "+rt.pattern] = true
	}
	walked := map[string]bool{}
	err := chi.Walk(x.srvRoutes(), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/api/v1/") {
			walked[method+" "+pattern] = true
			if !covered[method+" "+pattern] {
				t.Errorf("route %s %s is not covered by the API tenancy matrix", method, pattern)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := range covered {
		if !walked[r] {
			t.Errorf("the matrix covers %s, which the router does not serve", r)
		}
	}

	n := 0
	for _, rt := range routes {
		for _, role := range auth.APIRoles {
			want, ok := rt.want[role]
			if !ok {
				t.Errorf("%s %s: no expectations for %s keys", rt.method, rt.pattern, role)
				continue
			}
			for i, sit := range situations {
				n++
				t.Run(fmt.Sprintf("%s %s/%s key/%s", rt.method, rt.pattern, role, sit), func(t *testing.T) {
					x.check(t, rt, role, sit, want[i], n)
				})
			}
		}
	}
}

// check sends one case and checks its status, its refusal and its effect.
func (x *tenancyEnv) check(t *testing.T, rt tenancyRoute, role, sit string, want, n int) {
	t.Helper()
	key := x.keys[role][sit]
	write := rt.method != "GET" && !rt.readOnly
	if write && rt.prep != nil {
		rt.prep(t, x)
	}
	beforeA, beforeB := x.fingerprint(x.a.ID), x.fingerprint(x.b.ID)
	var hdr http.Header
	if rt.headers != nil {
		hdr = rt.headers(x, rt.body(x, n))
	}
	st, got := x.apiBodyWith(key, rt.method, rt.path(x), rt.body(x, n), hdr)
	if st != want {
		t.Fatalf("status %d, want %d: %s", st, want, got)
	}
	afterA, afterB := x.fingerprint(x.a.ID), x.fingerprint(x.b.ID)
	if afterB != beforeB {
		t.Errorf("community B changed:\n%s\n%s", beforeB, afterB)
	}
	if st >= 400 {
		if afterA != beforeA {
			t.Errorf("a refused call changed A:\n%s\n%s", beforeA, afterA)
		}
		// The refusal says nothing an unknown id or server would not.
		body := rt.body
		if rt.unknownBody != nil {
			body = rt.unknownBody
		}
		if _, unknown := x.apiBody(key, rt.method, rt.unknownPath(x), body(x, n)); got != unknown {
			t.Errorf("the refusal differs from the answer for an unknown target:\n%s\n%s", got, unknown)
		}
		return
	}
	if write && afterA == beforeA {
		t.Errorf("an accepted %s changed nothing in A", rt.method)
	}
	if rt.pattern == "/api/v1/communities" {
		// Admin keys list every community; a user key its owner's only.
		if listsA := strings.Contains(got, `"slug":"alpha"`); listsA != (role == auth.RoleAdmin || sit == "own") {
			t.Errorf("the community list (A listed: %v): %s", listsA, got)
		}
	}
}
