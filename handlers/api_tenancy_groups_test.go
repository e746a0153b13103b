package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/router"
)

// groupsFixture is what the matrix's entity group routes work on: a label
// of A, its mapping to a Discord role of A's guild, and a member of the
// guild who has the role without the label (so that every re-sync finds a
// difference).
type groupsFixture struct {
	label int64
	group int64
	guild *discordtest.Guild
}

// labelGroupFingerprint sums up A's entity groups for the fingerprint.
const labelGroupFingerprint = `(SELECT count(*) || '/' || coalesce(string_agg(id || ':' || group_id, ',' ORDER BY id), '') FROM label_groups WHERE community_id = $1),
		(SELECT coalesce(string_agg(account_id || ':' || state || ':' || want || ':' || updated_at, ',' ORDER BY id), '') FROM label_assignments WHERE community_id = $1),
		(SELECT count(*) FROM person_labels WHERE community_id = $1)`

func (x *tenancyEnv) groupsFixtures(t *testing.T) {
	t.Helper()
	x.groups.guild = x.env.discordGuild(t, x.a.ID)
	x.groups.guild.SetMember("3001", tgFans)
	x.groups.label = x.env.labelOf(t, x.a.ID, "VIP")
	x.env.labelOf(t, x.b.ID, "VIP")
	x.ensureMapped(t)
}

// ensureMapped maps A's label to the role unless it is.
func (x *tenancyEnv) ensureMapped(t *testing.T) {
	t.Helper()
	var id int64
	err := x.pool.QueryRow(context.Background(), "SELECT coalesce(max(id), 0) FROM label_groups WHERE community_id = $1 AND label_id = $2",
		x.a.ID, x.groups.label).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	if id != 0 {
		x.groups.group = id
		return
	}
	g, err := x.env.cfg.Groups.Map(context.Background(), audit.Actor{Name: "test"}, x.a.ID, x.groups.label, router.Discord, tgGuild, tgFans)
	if err != nil {
		t.Fatal(err)
	}
	x.groups.group = g.ID
}

// freshDifference leaves A's mapping with no states and no holders, so that
// a re-sync finds the member with the role.
func (x *tenancyEnv) freshDifference(t *testing.T) {
	t.Helper()
	x.ensureMapped(t)
	for _, sql := range []string{"DELETE FROM label_assignments WHERE community_id = $1", "DELETE FROM person_labels WHERE community_id = $1"} {
		if _, err := x.pool.Exec(context.Background(), sql, x.a.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func groupTenancyRoutes() []tenancyRoute {
	refused := [4]int{403, 403, 401, 403}
	ok := func(st int) map[string][4]int {
		return map[string][4]int{"user": {st, 404, 404, 404}, "trigger": refused, "action": refused, "core": refused, "admin": {st, st, 401, st}}
	}
	path := func(rest string) func(x *tenancyEnv) string {
		return func(x *tenancyEnv) string {
			return fmt.Sprintf("/communities/%d/labels/%d/groups%s", x.a.ID, x.groups.label, rest)
		}
	}
	unknown := func(rest string) func(x *tenancyEnv) string {
		return func(x *tenancyEnv) string {
			return fmt.Sprintf("/communities/%d/labels/%d/groups%s", x.unknown, x.groups.label, rest)
		}
	}
	none := func(*tenancyEnv, int) string { return "" }
	return []tenancyRoute{
		{method: "GET", pattern: "/api/v1/communities/{cid}/labels/{label}/groups", path: path(""), unknownPath: unknown(""), body: none, want: ok(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/labels/{label}/groups", path: path(""), unknownPath: unknown(""),
			body: func(*tenancyEnv, int) string {
				return fmt.Sprintf(`{"platform":"discord","server":%q,"group":%q}`, tgGuild, tgFans)
			},
			prep: func(t *testing.T, x *tenancyEnv) {
				if _, err := x.pool.Exec(context.Background(), "DELETE FROM label_groups WHERE community_id = $1", x.a.ID); err != nil {
					t.Fatal(err)
				}
			},
			want: ok(201)},
		{method: "DELETE", pattern: "/api/v1/communities/{cid}/labels/{label}/groups/{gid}",
			path: func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/labels/%d/groups/%d", x.a.ID, x.groups.label, x.groups.group)
			},
			unknownPath: func(x *tenancyEnv) string {
				return fmt.Sprintf("/communities/%d/labels/%d/groups/%d", x.unknown, x.groups.label, x.groups.group)
			},
			body: none, prep: func(t *testing.T, x *tenancyEnv) { x.ensureMapped(t) }, want: ok(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/labels/{label}/groups/resync", path: path("/resync"), unknownPath: unknown("/resync"),
			body: none, prep: func(t *testing.T, x *tenancyEnv) { x.freshDifference(t) }, want: ok(200)},
		{method: "POST", pattern: "/api/v1/communities/{cid}/labels/{label}/groups/resolve", path: path("/resolve"), unknownPath: unknown("/resolve"),
			body: func(*tenancyEnv, int) string { return `{"keep":"platform"}` },
			prep: func(t *testing.T, x *tenancyEnv) {
				x.freshDifference(t)
				if r, err := x.env.cfg.Groups.Resync(context.Background(), x.a.ID, x.groups.label); err != nil || r.Differ != 1 {
					t.Fatalf("re-sync: %+v, %v", r, err)
				}
			},
			want: ok(200)},
	}
}

// TestLabelGroupsAPI: the API maps, lists, re-syncs and settles; bad input
// gets its own answer; a plain member's key reads but cannot change.
func TestLabelGroupsAPI(t *testing.T) {
	t.Parallel()
	x := newTenancyEnv(t)
	key := x.keys["user"]["own"]
	base := fmt.Sprintf("/communities/%d/labels/%d/groups", x.a.ID, x.groups.label)
	cases := []struct {
		name, method, path, body string
		want                     int
		says                     string
	}{
		{"bad json", "POST", base, `{"platform":`, 400, ""},
		{"unknown field", "POST", base, `{"platform":"discord","colour":"red"}`, 400, ""},
		{"bad platform", "POST", base, `{"platform":"irc","server":"x","group":"y"}`, 400, "Discord, Slack or Twitch"},
		{"refused role", "POST", base, fmt.Sprintf(`{"platform":"discord","server":%q,"group":%q}`, tgGuild, tgAdmin), 400, "at or above"},
		{"already mapped", "POST", base, fmt.Sprintf(`{"platform":"discord","server":%q,"group":%q}`, tgGuild, tgFans), 409, "already mapped"},
		{"bad choice", "POST", base + "/resolve", `{"keep":"both"}`, 400, "label or the platform"},
		{"unknown assignment", "POST", base + "/resolve", `{"assignment_id":99999,"keep":"label"}`, 404, "no such assignment"},
		{"unknown mapping", "DELETE", base + "/99999", "", 404, "no such mapping"},
		{"unknown label", "GET", fmt.Sprintf("/communities/%d/labels/99999/groups", x.a.ID), "", 404, "no such label"},
		{"bad label id", "GET", fmt.Sprintf("/communities/%d/labels/x/groups", x.a.ID), "", 404, ""},
	}
	for _, c := range cases {
		st, out := x.api(key, c.method, c.path, c.body)
		msg, _ := out["message"].(string)
		if st != c.want || (c.says != "" && !strings.Contains(msg, c.says)) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, st, msg, c.want, c.says)
		}
	}
	st, out := x.api(key, "POST", base+"/resync", "")
	data, _ := out["data"].(map[string]any)
	if st != 200 || data["differences"] != float64(1) {
		t.Fatalf("re-sync: %d %v", st, out)
	}
	st, out = x.api(key, "GET", base, "")
	data, _ = out["data"].(map[string]any)
	as, _ := data["assignments"].([]any)
	if st != 200 || len(as) != 1 || as[0].(map[string]any)["state"] != "differs" || as[0].(map[string]any)["account_id"] != "3001" {
		t.Fatalf("list: %d %v", st, out)
	}
	mkey := x.env.apiKey(auth.User{ID: x.victim, Email: "carol@example.com"}, auth.RoleUser) // a plain member of A
	if st, _ := x.api(mkey, "GET", base, ""); st != 200 {
		t.Errorf("member read: %d", st)
	}
	if st, _ := x.api(mkey, "POST", base+"/resync", ""); st != 403 {
		t.Errorf("member re-sync: %d, want 403", st)
	}
	st, out = x.api(key, "POST", base+"/resolve", `{"keep":"platform"}`)
	if data, _ := out["data"].(map[string]any); st != 200 || data["settled"] != float64(1) {
		t.Fatalf("resolve: %d %v", st, out)
	}
	if n := x.count("SELECT count(*) FROM person_labels WHERE community_id = $1 AND label_id = $2", x.a.ID, x.groups.label); n != 1 {
		t.Errorf("%d people have the label after keeping the platform's side, want 1", n)
	}
}
