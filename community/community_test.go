package community_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/mailtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
)

type testEnv struct {
	s      *community.Service
	auth   *auth.Service
	pool   *pgxpool.Pool
	jobs   *river.Client[pgx.Tx]
	outbox *mailtest.Outbox
}

func newEnv(t *testing.T) testEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	logger := slog.New(slog.DiscardHandler)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(auth.Config{Pool: pool, Jobs: jobs, Limiter: ratelimit.New(nil, "", logger), Logger: logger, BaseURL: "http://hub.test"})
	s := community.New(community.Config{Pool: pool, Jobs: jobs, Auth: a, Logger: logger, BaseURL: "http://hub.test/"})
	compose := a.MailComposers()
	maps.Copy(compose, s.MailComposers())
	return testEnv{s: s, auth: a, pool: pool, jobs: jobs, outbox: mailtest.NewOutbox(jobs, compose)}
}

// mustCreateUser makes an account without a password (no hashing, so it is quick).
func (e testEnv) mustCreateUser(ctx context.Context, t *testing.T, email string, admin bool) auth.User {
	t.Helper()
	u, err := e.auth.CreateUser(ctx, email, "", "", admin)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

func (e testEnv) mustCreateCommunity(ctx context.Context, t *testing.T, creator auth.User, slug string) community.Community {
	t.Helper()
	c, err := e.s.Create(ctx, creator, "192.0.2.1", slug, community.Settings{Name: "The " + slug})
	if err != nil {
		t.Fatalf("create community %s: %v", slug, err)
	}
	return c
}

// mustAdd makes u a member of c with role, as the owner by would.
func (e testEnv) mustAdd(ctx context.Context, t *testing.T, by auth.User, c community.Community, u auth.User, role community.Role) {
	t.Helper()
	owner := community.Actor{User: by, Role: community.Owner}
	if _, err := e.s.Invite(ctx, owner, c, u.Email, community.Member); err != nil {
		t.Fatalf("add %s: %v", u.Email, err)
	}
	if role != community.Member {
		if _, err := e.s.ChangeRole(ctx, owner, c.ID, u.ID, role); err != nil {
			t.Fatalf("make %s %s: %v", u.Email, role, err)
		}
	}
}

// roles reads a community's members back: email → role.
func (e testEnv) roles(ctx context.Context, t *testing.T, communityID int64) map[string]community.Role {
	t.Helper()
	ms, err := e.s.Members(ctx, communityID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]community.Role{}
	for _, m := range ms {
		out[m.Email] = m.Role
	}
	return out
}

// mails sends the queued mail jobs, as the worker would, and returns every
// message sent so far, oldest first.
func (e testEnv) mails(ctx context.Context, t *testing.T) []mail.Message {
	t.Helper()
	return e.outbox.Deliver(ctx, t)
}

func (e testEnv) pendingEmails(ctx context.Context, t *testing.T, communityID int64) []string {
	t.Helper()
	inv, err := e.s.PendingInvitations(ctx, communityID)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, i := range inv {
		out = append(out, i.Email)
	}
	sort.Strings(out)
	return out
}

var inviteLinkRe = regexp.MustCompile(`http://hub\.test/invite/([A-Za-z0-9_-]+)`)

// mustInviteNew invites an address with no account and returns the token from the mailed link.
func (e testEnv) mustInviteNew(ctx context.Context, t *testing.T, a community.Actor, c community.Community, email string, role community.Role) string {
	t.Helper()
	res, err := e.s.Invite(ctx, a, c, email, role)
	if err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	if res.Added {
		t.Fatalf("invite %s: added at once, want an invitation", email)
	}
	ms := e.mails(ctx, t)
	m := ms[len(ms)-1]
	match := inviteLinkRe.FindStringSubmatch(m.Text)
	if m.To != res.Email || match == nil {
		t.Fatalf("last mail %q to %q has no invitation link for %s:\n%s", m.Subject, m.To, res.Email, m.Text)
	}
	return match[1]
}

func wantCode(t *testing.T, err error, code problem.Code) {
	t.Helper()
	if !problem.Is(err, code) {
		t.Errorf("err = %v, want code %s", err, code)
	}
}

func TestAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	root := e.mustCreateUser(ctx, t, "root@example.com", true)
	other := e.mustCreateUser(ctx, t, "other-admin@example.com", true)
	mod := e.mustCreateUser(ctx, t, "mod@example.com", false)
	stranger := e.mustCreateUser(ctx, t, "stranger@example.com", false)
	c := e.mustCreateCommunity(ctx, t, root, "ducks")
	e.mustAdd(ctx, t, root, c, mod, community.Moderator)
	// An admin made a plain member still acts as owner.
	e.mustAdd(ctx, t, root, c, other, community.Member)
	other2 := e.mustCreateUser(ctx, t, "third-admin@example.com", true)

	cases := []struct {
		name     string
		user     auth.User
		id       int64
		wantRole community.Role
		wantErr  error
	}{
		{name: "creator is owner", user: root, id: c.ID, wantRole: community.Owner},
		{name: "moderator", user: mod, id: c.ID, wantRole: community.Moderator},
		{name: "global admin who is a member", user: other, id: c.ID, wantRole: community.Owner},
		{name: "global admin who is not a member", user: other2, id: c.ID, wantRole: community.Owner},
		{name: "non-member", user: stranger, id: c.ID, wantErr: community.ErrNotFound},
		{name: "no such community", user: mod, id: c.ID + 100, wantErr: community.ErrNotFound},
		{name: "no such community for an admin", user: root, id: c.ID + 100, wantErr: community.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.s.Access(ctx, tc.user, tc.id)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Role != tc.wantRole || m.ID != c.ID || m.Name != "The ducks" {
				t.Errorf("access = %+v, want %s of %d", m, tc.wantRole, c.ID)
			}
		})
	}
	// Non-admins only list what they belong to.
	list, err := e.s.ListForUser(ctx, stranger)
	if err != nil || len(list) != 0 {
		t.Errorf("stranger's communities = %+v, %v; want none", list, err)
	}
	list, err = e.s.ListForUser(ctx, other2)
	if err != nil || len(list) != 1 || list[0].Role != community.Owner {
		t.Errorf("admin's communities = %+v, %v; want ducks as owner", list, err)
	}
}

func TestCreateRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	root := e.mustCreateUser(ctx, t, "root@example.com", true)
	ann := e.mustCreateUser(ctx, t, "ann@example.com", false)
	e.mustCreateCommunity(ctx, t, root, "ducks")
	cases := []struct {
		name      string
		user      auth.User
		slug      string
		st        community.Settings
		wantCode  problem.Code
		wantField string
	}{
		{name: "not a global admin", user: ann, slug: "geese", st: community.Settings{Name: "Geese"}, wantCode: problem.Forbidden},
		{name: "slug taken in other case", user: root, slug: "DUCKS", st: community.Settings{Name: "Ducks 2"}, wantCode: problem.Invalid, wantField: "slug"},
		{name: "slug with a space", user: root, slug: "wild geese", st: community.Settings{Name: "Geese"}, wantCode: problem.Invalid, wantField: "slug"},
		{name: "slug of one character", user: root, slug: "g", st: community.Settings{Name: "Geese"}, wantCode: problem.Invalid, wantField: "slug"},
		{name: "no name", user: root, slug: "geese", st: community.Settings{Name: "  "}, wantCode: problem.Invalid, wantField: "name"},
		{name: "description too long", user: root, slug: "geese", st: community.Settings{Name: "Geese", Description: strings.Repeat("d", 1001)}, wantCode: problem.Invalid, wantField: "description"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.Create(ctx, tc.user, "192.0.2.1", tc.slug, tc.st)
			p := problem.As(err)
			if p == nil || p.Code != tc.wantCode || p.Field != tc.wantField {
				t.Errorf("err = %v, want %s in field %q", err, tc.wantCode, tc.wantField)
			}
		})
	}
	if n, err := e.s.Count(ctx); err != nil || n != 1 {
		t.Errorf("communities = %d, %v; want 1", n, err)
	}
}

func TestChangeRole(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		actor     string // email of the acting member
		target    string
		role      community.Role
		extraOwn  bool // bob is a second owner
		wantCode  problem.Code
		wantRoles map[string]community.Role // changes from the start
	}{
		{name: "owner promotes member to admin", actor: "owner", target: "member", role: community.Admin, wantRoles: map[string]community.Role{"member": community.Admin}},
		{name: "owner makes a second owner", actor: "owner", target: "admin", role: community.Owner, wantRoles: map[string]community.Role{"admin": community.Owner}},
		{name: "admin demotes moderator", actor: "admin", target: "mod", role: community.Member, wantRoles: map[string]community.Role{"mod": community.Member}},
		{name: "admin promotes member to admin", actor: "admin", target: "member", role: community.Admin, wantRoles: map[string]community.Role{"member": community.Admin}},
		{name: "same role is a no-op", actor: "admin", target: "mod", role: community.Moderator},
		{name: "admin cannot demote the owner", actor: "admin", target: "owner", role: community.Member, wantCode: problem.Forbidden},
		{name: "admin cannot demote an owner of two", actor: "admin", target: "bob", role: community.Admin, extraOwn: true, wantCode: problem.Forbidden},
		{name: "admin cannot grant owner", actor: "admin", target: "member", role: community.Owner, wantCode: problem.Forbidden},
		{name: "last owner cannot step down", actor: "owner", target: "owner", role: community.Admin, wantCode: problem.Conflict},
		{name: "one of two owners can step down", actor: "owner", target: "owner", role: community.Admin, extraOwn: true, wantRoles: map[string]community.Role{"owner": community.Admin}},
		{name: "moderator cannot manage", actor: "mod", target: "member", role: community.Moderator, wantCode: problem.Forbidden},
		{name: "member cannot manage", actor: "member", target: "member", role: community.Admin, wantCode: problem.Forbidden},
		{name: "not a member", actor: "owner", target: "stranger", role: community.Admin, wantCode: problem.NotFound},
	}
	e := newEnv(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			slug := fmt.Sprintf("team-%d", i)
			c, actors := e.newTeam(ctx, t, slug, tc.extraOwn)
			before := e.roles(ctx, t, c.ID)
			m, err := e.s.ChangeRole(ctx, actors[tc.actor], c.ID, actors[tc.target].User.ID, tc.role)
			want := before
			if tc.wantCode != "" {
				wantCode(t, err, tc.wantCode)
			} else if err != nil {
				t.Fatalf("change role: %v", err)
			} else if m.Role != tc.role || m.UserID != actors[tc.target].User.ID {
				t.Errorf("returned %+v, want %s", m, tc.role)
			}
			want = map[string]community.Role{}
			for k, v := range before {
				want[k] = v
			}
			for who, r := range tc.wantRoles {
				want[teamEmail(who, slug)] = r
			}
			if diff := cmp.Diff(want, e.roles(ctx, t, c.ID)); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveMember(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		actor    string
		target   string
		extraOwn bool
		wantCode problem.Code
	}{
		{name: "admin removes member", actor: "admin", target: "member"},
		{name: "admin removes another admin", actor: "admin", target: "admin"},
		{name: "owner removes admin", actor: "owner", target: "admin"},
		{name: "one of two owners leaves", actor: "owner", target: "owner", extraOwn: true},
		{name: "last owner cannot be removed", actor: "owner", target: "owner", wantCode: problem.Conflict},
		{name: "admin cannot remove an owner", actor: "admin", target: "bob", extraOwn: true, wantCode: problem.Forbidden},
		{name: "moderator cannot remove", actor: "mod", target: "member", wantCode: problem.Forbidden},
		{name: "member cannot remove", actor: "member", target: "mod", wantCode: problem.Forbidden},
		{name: "not a member", actor: "owner", target: "stranger", wantCode: problem.NotFound},
	}
	e := newEnv(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			slug := fmt.Sprintf("team-%d", i)
			c, actors := e.newTeam(ctx, t, slug, tc.extraOwn)
			want := e.roles(ctx, t, c.ID)
			err := e.s.RemoveMember(ctx, actors[tc.actor], c.ID, actors[tc.target].User.ID)
			if tc.wantCode != "" {
				wantCode(t, err, tc.wantCode)
			} else if err != nil {
				t.Fatalf("remove: %v", err)
			} else {
				delete(want, teamEmail(tc.target, slug))
			}
			if diff := cmp.Diff(want, e.roles(ctx, t, c.ID)); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			if tc.wantCode == "" {
				if _, err := e.s.Access(ctx, actors[tc.target].User, c.ID); !errors.Is(err, community.ErrNotFound) {
					t.Errorf("removed member still has access: %v", err)
				}
			}
		})
	}
}

// newTeam makes the community slug with an owner, an admin, a moderator and
// a member (and bob as a second owner when extraOwner), plus a stranger, at
// addresses like admin@<slug>.example.com. The actors carry the role each has
// in it, as Access would give them. Communities are separate tenants, so
// tests share one database.
func (e testEnv) newTeam(ctx context.Context, t *testing.T, slug string, extraOwner bool) (community.Community, map[string]community.Actor) {
	t.Helper()
	root := e.mustCreateUser(ctx, t, teamEmail("root", slug), true)
	c := e.mustCreateCommunity(ctx, t, root, slug)
	actors := map[string]community.Actor{}
	people := []struct {
		name string
		role community.Role
	}{{"owner", community.Owner}, {"admin", community.Admin}, {"mod", community.Moderator}, {"member", community.Member}, {"stranger", ""}}
	if extraOwner {
		people = append(people, struct {
			name string
			role community.Role
		}{"bob", community.Owner})
	}
	for _, p := range people {
		u := e.mustCreateUser(ctx, t, teamEmail(p.name, slug), false)
		if p.role != "" {
			e.mustAdd(ctx, t, root, c, u, p.role)
		}
		actors[p.name] = community.Actor{User: u, Role: p.role, IP: "192.0.2.1"}
	}
	// The founding admin steps out, so "owner" is the only owner unless bob is added.
	if err := e.s.RemoveMember(ctx, actors["owner"], c.ID, root.ID); err != nil {
		t.Fatal(err)
	}
	return c, actors
}

func teamEmail(name, slug string) string { return name + "@" + slug + ".example.com" }

func TestInviteExistingAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	mailsBefore := len(e.mails(ctx, t))
	ann := e.mustCreateUser(ctx, t, "ann@example.com", false)

	res, err := e.s.Invite(ctx, actors["admin"], c, " Ann@Example.COM", community.Moderator)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(community.InviteResult{Added: true, Email: "ann@example.com"}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if r := e.roles(ctx, t, c.ID)["ann@example.com"]; r != community.Moderator {
		t.Errorf("ann's role = %q, want moderator", r)
	}
	if m, err := e.s.Access(ctx, ann, c.ID); err != nil || m.Role != community.Moderator {
		t.Errorf("ann's access = %+v, %v", m, err)
	}
	ms := e.mails(ctx, t)[mailsBefore:]
	if len(ms) != 1 || ms[0].To != "ann@example.com" || ms[0].Subject != "You were added to a community on Waddle" ||
		!strings.Contains(ms[0].Text, "The ducks") || !strings.Contains(ms[0].Text, "moderator") || !strings.Contains(ms[0].Text, "admin@ducks.example.com") {
		t.Errorf("mails = %+v, want one 'added' mail to ann naming the community, role and inviter", ms)
	}
	if got := e.pendingEmails(ctx, t, c.ID); len(got) != 0 {
		t.Errorf("pending invitations = %v, want none", got)
	}

	_, err = e.s.Invite(ctx, actors["admin"], c, "ann@example.com", community.Admin)
	if p := problem.As(err); p == nil || p.Field != "email" {
		t.Errorf("inviting a member again: err = %v, want invalid email", err)
	}
	if r := e.roles(ctx, t, c.ID)["ann@example.com"]; r != community.Moderator {
		t.Errorf("ann's role after a second invite = %q, want moderator", r)
	}
}

func TestInviteRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	cases := []struct {
		name      string
		actor     string
		email     string
		role      community.Role
		wantCode  problem.Code
		wantField string
	}{
		{name: "moderator cannot invite", actor: "mod", email: "new@example.com", role: community.Member, wantCode: problem.Forbidden},
		{name: "member cannot invite", actor: "member", email: "new@example.com", role: community.Member, wantCode: problem.Forbidden},
		{name: "nobody invites an owner", actor: "owner", email: "new@example.com", role: community.Owner, wantCode: problem.Invalid, wantField: "role"},
		{name: "unknown role", actor: "owner", email: "new@example.com", role: "king", wantCode: problem.Invalid, wantField: "role"},
		{name: "malformed address", actor: "admin", email: "new at example.com", role: community.Member, wantCode: problem.Invalid, wantField: "email"},
		{name: "display-name form", actor: "admin", email: "New <new@example.com>", role: community.Member, wantCode: problem.Invalid, wantField: "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.Invite(ctx, actors[tc.actor], c, tc.email, tc.role)
			p := problem.As(err)
			if p == nil || p.Code != tc.wantCode || p.Field != tc.wantField {
				t.Errorf("err = %v, want %s in field %q", err, tc.wantCode, tc.wantField)
			}
		})
	}
	if got := e.pendingEmails(ctx, t, c.ID); len(got) != 0 {
		t.Errorf("refused invitations are pending: %v", got)
	}
}

func TestInviteNewAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	token := e.mustInviteNew(ctx, t, actors["admin"], c, "Carol@Example.com", community.Moderator)
	if got := e.pendingEmails(ctx, t, c.ID); !cmp.Equal(got, []string{"carol@example.com"}) {
		t.Errorf("pending = %v", got)
	}
	if _, err := e.auth.UserByEmail(ctx, "carol@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("an account exists before acceptance: %v", err)
	}
	info, err := e.s.CheckInvitation(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(community.InvitationInfo{Email: "carol@example.com", CommunityName: "The ducks", Role: community.Moderator}, info); diff != "" {
		t.Errorf("invitation info (-want +got):\n%s", diff)
	}

	// A password that breaks the rules, or none, leaves everything as it was.
	for _, pw := range []string{"short", ""} {
		_, _, err = e.s.AcceptInvitation(ctx, token, "Carol", pw, "192.0.2.7")
		if p := problem.As(err); p == nil || p.Field != "password" {
			t.Errorf("password %q: err = %v, want invalid password", pw, err)
		}
	}
	if _, err := e.auth.UserByEmail(ctx, "carol@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("account created by a failed acceptance: %v", err)
	}
	if _, err := e.s.CheckInvitation(ctx, token); err != nil {
		t.Errorf("invitation unusable after a failed acceptance: %v", err)
	}

	u, created, err := e.s.AcceptInvitation(ctx, token, " Carol ", "carol's good password", "192.0.2.7")
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	if !created || u.Email != "carol@example.com" || u.DisplayName != "Carol" {
		t.Errorf("accept = %+v created %v", u, created)
	}
	if r := e.roles(ctx, t, c.ID)["carol@example.com"]; r != community.Moderator {
		t.Errorf("carol's role = %q, want moderator", r)
	}
	if _, err := e.auth.SignIn(ctx, "carol@example.com", "carol's good password", "192.0.2.7"); err != nil {
		t.Errorf("carol signs in: %v", err)
	}
	if got := e.pendingEmails(ctx, t, c.ID); len(got) != 0 {
		t.Errorf("pending after acceptance = %v", got)
	}

	// The link works once.
	if _, err := e.s.CheckInvitation(ctx, token); !errors.Is(err, community.ErrBadInvitation) {
		t.Errorf("check used token: err = %v, want ErrBadInvitation", err)
	}
	if _, _, err := e.s.AcceptInvitation(ctx, token, "Mallory", "mallory's password", "203.0.113.1"); !errors.Is(err, community.ErrBadInvitation) {
		t.Errorf("reuse token: err = %v, want ErrBadInvitation", err)
	}
	if n, _ := e.auth.CountUsers(ctx); n != 7 {
		t.Errorf("%d accounts, want 7 (6 from setup and carol)", n)
	}
}

func TestInviteAgainReplacesPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	first := e.mustInviteNew(ctx, t, actors["admin"], c, "fay@example.com", community.Member)
	second := e.mustInviteNew(ctx, t, actors["admin"], c, "Fay@Example.com", community.Moderator)
	if got := e.pendingEmails(ctx, t, c.ID); !cmp.Equal(got, []string{"fay@example.com"}) {
		t.Errorf("pending = %v, want fay once", got)
	}
	if _, _, err := e.s.AcceptInvitation(ctx, first, "Fay", "fay's good password", "192.0.2.7"); !errors.Is(err, community.ErrBadInvitation) {
		t.Errorf("accept the replaced link: err = %v, want ErrBadInvitation", err)
	}
	if info, err := e.s.CheckInvitation(ctx, second); err != nil || info.Role != community.Moderator {
		t.Errorf("check the new link = %+v, %v; want moderator", info, err)
	}
}

func TestAcceptInvitationForExistingAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	token := e.mustInviteNew(ctx, t, actors["owner"], c, "dave@example.com", community.Admin)
	// Dave signs up some other way before accepting.
	dave, err := e.auth.CreateUser(ctx, "dave@example.com", "Dave", "dave's own password", false)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := e.s.CheckInvitation(ctx, token); err != nil || !info.HasAccount {
		t.Errorf("check = %+v, %v; want HasAccount", info, err)
	}
	u, created, err := e.s.AcceptInvitation(ctx, token, "", "", "192.0.2.7")
	if err != nil || created || u.ID != dave.ID {
		t.Errorf("accept = %+v, created %v, %v; want dave's account, not a new one", u, created, err)
	}
	if r := e.roles(ctx, t, c.ID)["dave@example.com"]; r != community.Admin {
		t.Errorf("dave's role = %q, want admin", r)
	}
	if _, err := e.auth.SignIn(ctx, "dave@example.com", "dave's own password", "192.0.2.7"); err != nil {
		t.Errorf("dave's password changed by accepting: %v", err)
	}
}

func TestRevokeInvitation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	c, actors := e.newTeam(ctx, t, "ducks", false)
	token := e.mustInviteNew(ctx, t, actors["admin"], c, "erin@example.com", community.Member)
	inv, err := e.s.PendingInvitations(ctx, c.ID)
	if err != nil || len(inv) != 1 {
		t.Fatalf("pending = %+v, %v", inv, err)
	}
	if err := e.s.RevokeInvitation(ctx, actors["mod"], c.ID, inv[0].ID); !errors.Is(err, community.ErrNotAllowed) {
		t.Errorf("moderator revokes: err = %v, want ErrNotAllowed", err)
	}
	if _, err := e.s.CheckInvitation(ctx, token); err != nil {
		t.Fatalf("invitation unusable after a refused revoke: %v", err)
	}
	if err := e.s.RevokeInvitation(ctx, actors["admin"], c.ID, inv[0].ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if got := e.pendingEmails(ctx, t, c.ID); len(got) != 0 {
		t.Errorf("pending after revoke = %v", got)
	}
	if _, _, err := e.s.AcceptInvitation(ctx, token, "Erin", "erin's good password", "192.0.2.7"); !errors.Is(err, community.ErrBadInvitation) {
		t.Errorf("accept revoked: err = %v, want ErrBadInvitation", err)
	}
	if _, err := e.auth.UserByEmail(ctx, "erin@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("revoked invitation created an account: %v", err)
	}
	if err := e.s.RevokeInvitation(ctx, actors["admin"], c.ID, inv[0].ID); !problem.Is(err, problem.NotFound) {
		t.Errorf("revoke twice: err = %v, want not found", err)
	}
}

// TestTenancy checks that an admin of community A, naming A (the community
// Access checked) but ids from community B, changes nothing in B.
func TestTenancy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	root := e.mustCreateUser(ctx, t, "root@example.com", true)
	a := e.mustCreateCommunity(ctx, t, root, "alpha")
	b := e.mustCreateCommunity(ctx, t, root, "beta")
	adminA := e.mustCreateUser(ctx, t, "admin-a@example.com", false)
	onlyB := e.mustCreateUser(ctx, t, "only-b@example.com", false)
	both := e.mustCreateUser(ctx, t, "both@example.com", false)
	e.mustAdd(ctx, t, root, a, adminA, community.Admin)
	e.mustAdd(ctx, t, root, b, onlyB, community.Admin)
	e.mustAdd(ctx, t, root, a, both, community.Member)
	e.mustAdd(ctx, t, root, b, both, community.Member)
	ownerB := community.Actor{User: root, Role: community.Owner}
	tokenB := e.mustInviteNew(ctx, t, ownerB, b, "invitee-b@example.com", community.Member)
	invB, err := e.s.PendingInvitations(ctx, b.ID)
	if err != nil || len(invB) != 1 {
		t.Fatalf("pending in B = %+v, %v", invB, err)
	}

	actor := community.Actor{User: adminA, Role: community.Admin, IP: "192.0.2.66"}
	wantB := e.roles(ctx, t, b.ID)

	if _, err := e.s.ChangeRole(ctx, actor, a.ID, onlyB.ID, community.Member); !errors.Is(err, community.ErrMemberNotFound) {
		t.Errorf("change role of B's admin through A: err = %v, want ErrMemberNotFound", err)
	}
	if err := e.s.RemoveMember(ctx, actor, a.ID, onlyB.ID); !errors.Is(err, community.ErrMemberNotFound) {
		t.Errorf("remove B's admin through A: err = %v, want ErrMemberNotFound", err)
	}
	if err := e.s.RevokeInvitation(ctx, actor, a.ID, invB[0].ID); !problem.Is(err, problem.NotFound) {
		t.Errorf("revoke B's invitation through A: err = %v, want not found", err)
	}
	// A member of both: changes in A stay in A.
	if _, err := e.s.ChangeRole(ctx, actor, a.ID, both.ID, community.Moderator); err != nil {
		t.Fatalf("change role in A: %v", err)
	}
	if err := e.s.RemoveMember(ctx, actor, a.ID, both.ID); err != nil {
		t.Fatalf("remove from A: %v", err)
	}

	if diff := cmp.Diff(wantB, e.roles(ctx, t, b.ID)); diff != "" {
		t.Errorf("B's members changed (-want +got):\n%s", diff)
	}
	if got := e.pendingEmails(ctx, t, b.ID); !cmp.Equal(got, []string{"invitee-b@example.com"}) {
		t.Errorf("B's pending invitations = %v", got)
	}
	if _, err := e.s.CheckInvitation(ctx, tokenB); err != nil {
		t.Errorf("B's invitation stopped working: %v", err)
	}
	wantA := map[string]community.Role{"root@example.com": community.Owner, "admin-a@example.com": community.Admin}
	if diff := cmp.Diff(wantA, e.roles(ctx, t, a.ID)); diff != "" {
		t.Errorf("A's members (-want +got):\n%s", diff)
	}
}
