package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
)

// mustCommunity inserts a community with members directly: the community
// package builds on auth, so its tests cannot use it.
func mustCommunity(ctx context.Context, t *testing.T, pool *pgxpool.Pool, slug string, members map[int64]string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(ctx, "INSERT INTO communities (slug, name) VALUES ($1, $2) RETURNING id", slug, "Community "+slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for uid, role := range members {
		setRole(ctx, t, pool, id, uid, role)
	}
	return id
}

// setRole makes uid a member of community cid with role; "" removes them.
func setRole(ctx context.Context, t *testing.T, pool *pgxpool.Pool, cid, uid int64, role string) {
	t.Helper()
	var err error
	if role == "" {
		_, err = pool.Exec(ctx, "DELETE FROM community_members WHERE community_id = $1 AND user_id = $2", cid, uid)
	} else {
		_, err = pool.Exec(ctx, `INSERT INTO community_members (community_id, user_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (community_id, user_id) DO UPDATE SET role = excluded.role`, cid, uid, role)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestCreateCommunityAPIKeyRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	owner := mustCreateUser(ctx, t, e.s, "owner@example.com", "", false)
	admin := mustCreateUser(ctx, t, e.s, "admin@example.com", "", false)
	mod := mustCreateUser(ctx, t, e.s, "mod@example.com", "", false)
	member := mustCreateUser(ctx, t, e.s, "member@example.com", "", false)
	outsider := mustCreateUser(ctx, t, e.s, "outsider@example.com", "", false)
	root := mustCreateUser(ctx, t, e.s, "root@example.com", "", true)
	a := mustCommunity(ctx, t, e.pool, "alpha", map[int64]string{owner.ID: "owner", admin.ID: "admin", mod.ID: "moderator", member.ID: "member"})
	b := mustCommunity(ctx, t, e.pool, "beta", map[int64]string{outsider.ID: "owner"})
	cases := []struct {
		name      string
		user      auth.User
		community int64
		role      string
		wantErr   error  // a problem to get, or nil
		wantField string // a field error to get
	}{
		{name: "owner's trigger key", user: owner, community: a, role: auth.RoleTrigger},
		{name: "admin's action key", user: admin, community: a, role: auth.RoleAction},
		{name: "global admin who is not a member", user: root, community: a, role: auth.RoleTrigger},
		{name: "moderator", user: mod, community: a, role: auth.RoleTrigger, wantErr: auth.ErrKeyCommunity},
		{name: "plain member", user: member, community: a, role: auth.RoleTrigger, wantErr: auth.ErrKeyCommunity},
		{name: "owner of another community", user: outsider, community: a, role: auth.RoleAction, wantErr: auth.ErrKeyCommunity},
		{name: "no such community", user: root, community: b + 1000, role: auth.RoleTrigger, wantErr: auth.ErrKeyCommunity},
		{name: "user key in a community", user: owner, community: a, role: auth.RoleUser, wantField: "role"},
		{name: "admin key in a community", user: root, community: a, role: auth.RoleAdmin, wantField: "role"},
		{name: "core key in a community", user: root, community: a, role: auth.RoleCore, wantField: "role"},
		{name: "unknown role", user: owner, community: a, role: "god", wantField: "role"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.s.ListCommunityAPIKeys(ctx, a)
			k, secret, err := e.s.CreateCommunityAPIKey(ctx, tc.user, "192.0.2.1", tc.community, "bot", tc.role)
			after, _ := e.s.ListCommunityAPIKeys(ctx, a)
			switch {
			case tc.wantField != "":
				wantField(t, err, tc.wantField)
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("create: %v", err)
			}
			if tc.wantErr != nil || tc.wantField != "" {
				if secret != "" || len(after) != len(before) {
					t.Errorf("refused key was created: %+v", k)
				}
				return
			}
			if k.CommunityID != a || k.CommunityName != "Community alpha" || !k.Active || len(after) != len(before)+1 {
				t.Errorf("key %+v (%d keys after, %d before): want a live key of alpha", k, len(after), len(before))
			}
			id, err := e.s.AuthenticateAPIKey(ctx, secret)
			if err != nil || id.CommunityID != a || id.Role != tc.role || id.UserID != tc.user.ID {
				t.Errorf("authenticate: %+v, %v; want the key bound to community %d", id, err, a)
			}
		})
	}
	// Each creation is in alpha's audit log, by its creator; refusals left none.
	entries, err := audit.Log{Pool: e.pool}.ListCommunity(ctx, a, audit.Filter{Action: audit.APIKeyCreated})
	if err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, it := range entries {
		actors = append(actors, it.ActorEmail)
	}
	if got := strings.Join(actors, " "); got != "root@example.com admin@example.com owner@example.com" {
		t.Errorf("alpha's key creations were recorded by %q, want root, admin and owner", got)
	}
}

// TestCommunityAPIKeyFollowsItsCreatorsRole proves a community key works only
// while its creator is an owner or admin there, and that installation-wide
// keys work only while their owner is a global admin.
func TestCommunityAPIKeyFollowsItsCreatorsRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	bob := mustCreateUser(ctx, t, e.s, "bob@example.com", "", false)
	root := mustCreateUser(ctx, t, e.s, "root@example.com", "", true)
	a := mustCommunity(ctx, t, e.pool, "alpha", map[int64]string{ann.ID: "admin", bob.ID: "owner"})
	k, secret, err := e.s.CreateCommunityAPIKey(ctx, ann, "", a, "events", auth.RoleTrigger)
	if err != nil {
		t.Fatal(err)
	}
	works := func(secret string) bool {
		t.Helper()
		_, err := e.s.AuthenticateAPIKey(ctx, secret)
		if err != nil && !errors.Is(err, auth.ErrBadAPIKey) {
			t.Fatal(err)
		}
		return err == nil
	}
	active := func() (fromUser, fromCommunity bool) {
		t.Helper()
		mine, err := e.s.ListAPIKeys(ctx, ann.ID)
		if err != nil || len(mine) != 1 {
			t.Fatalf("ann's keys: %+v, %v", mine, err)
		}
		theirs, err := e.s.ListCommunityAPIKeys(ctx, a)
		if err != nil || len(theirs) != 1 || theirs[0].OwnerEmail != "ann@example.com" {
			t.Fatalf("alpha's keys: %+v, %v", theirs, err)
		}
		return mine[0].Active, theirs[0].Active
	}
	for _, step := range []struct {
		role string // ann's role in alpha; "" not a member
		want bool
	}{{"admin", true}, {"moderator", false}, {"member", false}, {"", false}, {"owner", true}} {
		setRole(ctx, t, e.pool, a, ann.ID, step.role)
		if got := works(secret); got != step.want {
			t.Errorf("ann %q in alpha: key works = %v, want %v", step.role, got, step.want)
		}
		if u, c := active(); u != step.want || c != step.want {
			t.Errorf("ann %q in alpha: listed active = %v (account) %v (community), want %v", step.role, u, c, step.want)
		}
	}
	// A key its owner may not hold is not regenerated.
	setRole(ctx, t, e.pool, a, ann.ID, "member")
	if _, _, err := e.s.RegenerateAPIKey(ctx, ann, "", k.ID); !errors.Is(err, auth.ErrKeyInactive) {
		t.Errorf("regenerate while a member: err = %v, want ErrKeyInactive", err)
	}
	if list, _ := e.s.ListAPIKeys(ctx, ann.ID); list[0].Inactive() != "its creator is no longer an owner or admin of Community alpha" {
		t.Errorf("inactive reason %q", list[0].Inactive())
	}
	setRole(ctx, t, e.pool, a, ann.ID, "admin")

	// Installation-wide keys of a global admin stop when they stop being one; a user key does not.
	trig := mustKey(ctx, t, e.s, root, auth.RoleTrigger)
	adm := mustKey(ctx, t, e.s, root, auth.RoleAdmin)
	usr := mustKey(ctx, t, e.s, root, auth.RoleUser)
	if !works(trig) || !works(adm) || !works(usr) {
		t.Fatal("a global admin's keys do not work")
	}
	if _, err := e.pool.Exec(ctx, "UPDATE users SET is_admin = false WHERE id = $1", root.ID); err != nil {
		t.Fatal(err)
	}
	if works(trig) || works(adm) || !works(usr) {
		t.Errorf("after losing global admin: trigger %v, admin %v, user %v; want only the user key to work", works(trig), works(adm), works(usr))
	}
}

func mustKey(ctx context.Context, t *testing.T, s *auth.Service, u auth.User, role string) string {
	t.Helper()
	_, secret, err := s.CreateAPIKey(ctx, u, "", role+" key", role)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestCommunityAPIKeyManagement proves who may regenerate and revoke a
// community's keys, and that each change is in its audit log with its actor.
func TestCommunityAPIKeyManagement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	bob := mustCreateUser(ctx, t, e.s, "bob@example.com", "", false)
	mo := mustCreateUser(ctx, t, e.s, "mo@example.com", "", false)
	eve := mustCreateUser(ctx, t, e.s, "eve@example.com", "", false)
	a := mustCommunity(ctx, t, e.pool, "alpha", map[int64]string{ann.ID: "admin", bob.ID: "owner", mo.ID: "moderator"})
	b := mustCommunity(ctx, t, e.pool, "beta", map[int64]string{eve.ID: "owner"})
	k, secret, err := e.s.CreateCommunityAPIKey(ctx, ann, "", a, "events", auth.RoleTrigger)
	if err != nil {
		t.Fatal(err)
	}
	// Only its creator regenerates it, and only through its own community.
	if _, _, err := e.s.RegenerateCommunityAPIKey(ctx, bob, "", a, k.ID); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("bob regenerates ann's key: err = %v, want ErrKeyNotFound", err)
	}
	if _, _, err := e.s.RegenerateCommunityAPIKey(ctx, ann, "", b, k.ID); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("regenerate through beta: err = %v, want ErrKeyNotFound", err)
	}
	k2, secret2, err := e.s.RegenerateCommunityAPIKey(ctx, ann, "192.0.2.9", a, k.ID)
	if err != nil || k2.ID != k.ID || secret2 == secret {
		t.Fatalf("ann regenerates her key: %+v, %v", k2, err)
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, secret); !errors.Is(err, auth.ErrBadAPIKey) {
		t.Errorf("old secret after regenerate: %v", err)
	}
	// Revoking takes a manager of the key's community.
	for _, bad := range []struct {
		name string
		user auth.User
		cid  int64
		want error
	}{{"moderator", mo, a, auth.ErrKeyCommunity}, {"beta's owner through beta", eve, b, auth.ErrKeyNotFound}, {"beta's owner through alpha", eve, a, auth.ErrKeyCommunity}} {
		if _, err := e.s.RevokeCommunityAPIKey(ctx, bad.user, "", bad.cid, k.ID); !errors.Is(err, bad.want) {
			t.Errorf("%s revokes: err = %v, want %v", bad.name, err, bad.want)
		}
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, secret2); err != nil {
		t.Fatalf("the key stopped after refused revocations: %v", err)
	}
	r, err := e.s.RevokeCommunityAPIKey(ctx, bob, "192.0.2.7", a, k.ID)
	if err != nil || r.RevokedAt == nil || r.OwnerEmail != "ann@example.com" {
		t.Fatalf("bob revokes ann's key: %+v, %v", r, err)
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, secret2); !errors.Is(err, auth.ErrBadAPIKey) {
		t.Errorf("secret after revoke: %v", err)
	}
	entries, err := audit.Log{Pool: e.pool}.ListCommunity(ctx, a, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range entries {
		got = append(got, it.Action+" by "+it.ActorEmail+" from "+it.IP)
	}
	want := "api_key_revoked by bob@example.com from 192.0.2.7|api_key_regenerated by ann@example.com from 192.0.2.9|api_key_created by ann@example.com from "
	if strings.Join(got, "|") != want {
		t.Errorf("alpha's audit log:\n%s\nwant:\n%s", strings.Join(got, "|"), want)
	}
	if n, _ := (audit.Log{Pool: e.pool}).ListCommunity(ctx, b, audit.Filter{}); len(n) != 0 {
		t.Errorf("beta's audit log has %d entries, want none", len(n))
	}
}
