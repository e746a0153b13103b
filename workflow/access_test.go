package workflow_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

func licCreateWorkflow(ctx context.Context, t testing.TB, pool *pgxpool.Pool, communityID int64, name string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO workflows (community_id, name, draft) VALUES ($1, $2, '{"nodes":[],"connections":[]}') RETURNING id`,
		communityID, name).Scan(&id); err != nil {
		t.Fatalf("create workflow %s: %v", name, err)
	}
	return id
}

func licAddMember(ctx context.Context, t testing.TB, pool *pgxpool.Pool, communityID int64, email, role string) int64 {
	t.Helper()
	id := licCreateUser(ctx, t, pool, email)
	if err := db.New(pool).MemberAdd(ctx, db.MemberAddParams{CommunityID: communityID, UserID: id, Role: role}); err != nil {
		t.Fatalf("add %s as %s: %v", email, role, err)
	}
	return id
}

type accessEnv struct {
	pool   *pgxpool.Pool
	perms  *workflow.Permissions
	a, b   int64 // communities
	wf, wb int64 // a workflow in each
	users  map[string]int64
}

func newAccessEnv(t *testing.T) accessEnv {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	e := accessEnv{pool: pool, perms: workflow.NewPermissions(pool), users: map[string]int64{}}
	e.a = licCreateCommunity(ctx, t, pool, "alpha")
	e.b = licCreateCommunity(ctx, t, pool, "beta")
	e.wf = licCreateWorkflow(ctx, t, pool, e.a, "Thank raiders")
	e.wb = licCreateWorkflow(ctx, t, pool, e.b, "Daily announcement")
	for _, role := range []string{"owner", "admin", "moderator", "member"} {
		e.users[role] = licAddMember(ctx, t, pool, e.a, role+"@alpha.example.com", role)
	}
	e.users["member2"] = licAddMember(ctx, t, pool, e.a, "member2@alpha.example.com", "member")
	e.users["outsider"] = licAddMember(ctx, t, pool, e.b, "outsider@beta.example.com", "member")
	return e
}

func (e accessEnv) rights(ctx context.Context, t *testing.T, who string) workflow.Rights {
	t.Helper()
	role := strings.TrimRight(who, "0123456789")
	got, err := e.perms.Access(ctx, e.a, e.wf, e.users[who], role)
	if err != nil {
		t.Fatalf("Access(%s): %v", who, err)
	}
	return got
}

var (
	rightsNone = workflow.Rights{}
	rightsR    = workflow.Rights{Read: true}
	rightsRW   = workflow.Rights{Read: true, Write: true}
	rightsRX   = workflow.Rights{Read: true, Execute: true}
	rightsRWX  = workflow.Rights{Read: true, Write: true, Execute: true}
)

func TestAccessDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newAccessEnv(t)
	want := map[string]workflow.Rights{"owner": rightsRWX, "admin": rightsRWX, "moderator": rightsR, "member": rightsR}
	for who, w := range want {
		if got := e.rights(ctx, t, who); got != w {
			t.Errorf("%s's rights = %+v, want %+v", who, got, w)
		}
		if got := workflow.DefaultRights(who); got != w {
			t.Errorf("DefaultRights(%s) = %+v, want %+v", who, got, w)
		}
	}
	for _, role := range []string{"", "viewer", "OWNER"} {
		if _, err := e.perms.Access(ctx, e.a, e.wf, e.users["member"], role); !problem.Is(err, problem.Forbidden) {
			t.Errorf("role %q: %v, want forbidden", role, err)
		}
	}
}

func TestAccessGrantsAddToDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newAccessEnv(t)
	grants := []workflow.Grant{
		{Kind: workflow.GrantRole, Subject: "moderator", Execute: true},
		{Kind: workflow.GrantRole, Subject: "admin", Read: true}, // takes nothing from admins
		{Kind: workflow.GrantUser, Subject: strconv.FormatInt(e.users["member2"], 10), Write: true},
	}
	if err := e.perms.SetPermissions(ctx, audit.Actor{UserID: e.users["admin"]}, e.a, e.wf, grants); err != nil {
		t.Fatalf("SetPermissions: %v", err)
	}
	want := map[string]workflow.Rights{"owner": rightsRWX, "admin": rightsRWX, "moderator": rightsRX, "member": rightsR, "member2": rightsRW}
	for who, w := range want {
		if got := e.rights(ctx, t, who); got != w {
			t.Errorf("%s's rights = %+v, want %+v", who, got, w)
		}
	}
	// A user grant follows the user, whatever role they are asked with.
	if got, err := e.perms.Access(ctx, e.a, e.wf, e.users["member2"], "moderator"); err != nil || got != rightsRWX {
		t.Errorf("member2 as moderator = %+v, %v; want %+v", got, err, rightsRWX)
	}
	// The member role's grant reaches every member.
	if err := e.perms.SetPermissions(ctx, audit.Actor{}, e.a, e.wf, []workflow.Grant{{Kind: "role", Subject: "member", Execute: true}}); err != nil {
		t.Fatal(err)
	}
	for who, w := range map[string]workflow.Rights{"member": rightsRX, "member2": rightsRX, "moderator": rightsR} {
		if got := e.rights(ctx, t, who); got != w {
			t.Errorf("after replacing: %s's rights = %+v, want %+v", who, got, w)
		}
	}
}

func TestRightsCheck(t *testing.T) {
	t.Parallel()
	if err := rightsRX.Check(workflow.RightExecute); err != nil {
		t.Errorf("rightsRX execute: %v", err)
	}
	err := rightsRX.Check(workflow.RightWrite)
	if p := problem.As(err); p == nil || p.Code != problem.Forbidden || !strings.Contains(p.Message, "change this workflow") {
		t.Errorf("rightsRX write: %v, want forbidden", err)
	}
	if err := rightsNone.Check(workflow.RightRead); !problem.Is(err, problem.Forbidden) {
		t.Errorf("none read: %v, want forbidden", err)
	}
	if err := rightsRWX.Check("delete"); err == nil || problem.As(err) != nil {
		t.Errorf("unknown right: %v, want an internal error", err)
	}
}

func TestSetPermissionsReplaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newAccessEnv(t)
	m2 := strconv.FormatInt(e.users["member2"], 10)
	first := []workflow.Grant{
		{Kind: "user", Subject: m2, Read: true, Execute: true},
		{Kind: "role", Subject: "member", Write: true},
		{Kind: "role", Subject: "moderator"}, // no right: dropped
	}
	if err := e.perms.SetPermissions(ctx, audit.Actor{UserID: e.users["owner"], Email: "owner@alpha.example.com"}, e.a, e.wf, first); err != nil {
		t.Fatal(err)
	}
	got, err := e.perms.Grants(ctx, e.a, e.wf)
	if err != nil {
		t.Fatal(err)
	}
	want := []workflow.Grant{{Kind: "role", Subject: "member", Write: true}, {Kind: "user", Subject: m2, Read: true, Execute: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
	if err := e.perms.SetPermissions(ctx, audit.Actor{}, e.a, e.wf, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.perms.Grants(ctx, e.a, e.wf); len(got) != 0 {
		t.Errorf("grants after clearing = %+v", got)
	}
	var n int
	var before, after string
	if err := e.pool.QueryRow(ctx, `SELECT count(*) OVER (), before::text, after::text FROM audit_log WHERE community_id = $1 AND action = $2 AND target = $3 ORDER BY id DESC LIMIT 1`,
		e.a, audit.WorkflowPermissionsChanged, `workflow "Thank raiders"`).Scan(&n, &before, &after); err != nil {
		t.Fatal(err)
	}
	if n != 2 || !strings.Contains(before, `"subject": "member"`) || after != `{"grants": []}` {
		t.Errorf("audit: %d entries, last before %s after %s", n, before, after)
	}
}

func TestSetPermissionsRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newAccessEnv(t)
	m := strconv.FormatInt(e.users["member"], 10)
	many := make([]workflow.Grant, workflow.MaxGrants+1)
	for i := range many {
		many[i] = workflow.Grant{Kind: "user", Subject: fmt.Sprint(i + 1), Read: true}
	}
	cases := []struct {
		name   string
		grants []workflow.Grant
		field  string
		want   string
	}{
		{"unknown kind", []workflow.Grant{{Kind: "group", Subject: "x", Read: true}}, "grants[0].kind", "want role or user"},
		{"owner role", []workflow.Grant{{Kind: "role", Subject: "owner", Read: true}}, "grants[0].subject", "Owners always have every right"},
		{"unknown role", []workflow.Grant{{Kind: "role", Subject: "vip", Read: true}}, "grants[0].subject", `"vip" is not a role`},
		{"user id not a number", []workflow.Grant{{Kind: "user", Subject: "ann", Read: true}}, "grants[0].subject", "not a user id"},
		{"user id with a leading zero", []workflow.Grant{{Kind: "user", Subject: "0" + m, Read: true}}, "grants[0].subject", "not a user id"},
		{"user id zero", []workflow.Grant{{Kind: "user", Subject: "0", Read: true}}, "grants[0].subject", "not a user id"},
		{"duplicate", []workflow.Grant{{Kind: "user", Subject: m, Read: true}, {Kind: "user", Subject: m, Write: true}}, "grants[1].subject", "two grants"},
		{"too many", many, "grants", "at most 100 grants"},
		{"user of another community", []workflow.Grant{{Kind: "role", Subject: "member"}, {Kind: "user", Subject: strconv.FormatInt(e.users["outsider"], 10), Read: true}},
			"grants[1].subject", "not a member of this community"},
	}
	ok := []workflow.Grant{{Kind: "role", Subject: "moderator", Execute: true}}
	if err := e.perms.SetPermissions(ctx, audit.Actor{}, e.a, e.wf, ok); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := e.perms.SetPermissions(ctx, audit.Actor{}, e.a, e.wf, tc.grants)
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != tc.field || !strings.Contains(p.Message, tc.want) {
				t.Fatalf("error = %v (field %q), want invalid %s containing %q", err, licField(err), tc.field, tc.want)
			}
			// Nothing changed.
			if got, _ := e.perms.Grants(ctx, e.a, e.wf); !cmp.Equal(got, ok) {
				t.Errorf("grants after a refused change = %+v", got)
			}
		})
	}
}

func licField(err error) string {
	if p := problem.As(err); p != nil {
		return p.Field
	}
	return ""
}

func TestAccessTenancy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newAccessEnv(t)
	grant := []workflow.Grant{{Kind: "role", Subject: "member", Write: true, Execute: true}}
	if err := e.perms.SetPermissions(ctx, audit.Actor{}, e.b, e.wb, grant); err != nil {
		t.Fatal(err)
	}
	// A's workflow through B, and B's through A: not found.
	if _, err := e.perms.Access(ctx, e.b, e.wf, e.users["outsider"], "member"); !problem.Is(err, problem.NotFound) {
		t.Errorf("A's workflow from B: %v, want not found", err)
	}
	if _, err := e.perms.Access(ctx, e.a, e.wb, e.users["owner"], "owner"); !problem.Is(err, problem.NotFound) {
		t.Errorf("B's workflow from A, even as owner: %v, want not found", err)
	}
	if err := e.perms.SetPermissions(ctx, audit.Actor{}, e.a, e.wb, nil); !problem.Is(err, problem.NotFound) {
		t.Errorf("clearing B's grants from A: %v, want not found", err)
	}
	if got, _ := e.perms.Grants(ctx, e.a, e.wb); len(got) != 0 {
		t.Errorf("B's grants listed from A: %+v", got)
	}
	if got, _ := e.perms.Grants(ctx, e.b, e.wb); len(got) != 1 {
		t.Errorf("B's grants = %+v, want the one grant kept", got)
	}
	// B's grant to members does not reach A's members.
	if got := e.rights(ctx, t, "member"); got != rightsR {
		t.Errorf("A's member = %+v, want read only", got)
	}
	if got, err := e.perms.Access(ctx, e.b, e.wb, e.users["outsider"], "member"); err != nil || got != rightsRWX {
		t.Errorf("B's member = %+v, %v; want %+v", got, err, rightsRWX)
	}
	if _, err := e.perms.Access(ctx, e.a, 1<<40, e.users["owner"], "owner"); !problem.Is(err, problem.NotFound) {
		t.Errorf("a missing workflow: %v, want not found", err)
	}
}
