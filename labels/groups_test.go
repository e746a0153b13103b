package labels_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

var moderator = audit.Actor{Name: "test moderator"}

func (e *groupsEnv) mapTo(t *testing.T, label int64, platform, server, group string) labels.Group {
	t.Helper()
	g, err := e.groups.Map(context.Background(), moderator, e.cid, label, platform, server, group)
	if err != nil {
		t.Fatalf("map %s %s: %v", platform, group, err)
	}
	return g
}

// TestRoleGivenAndTakenThroughDiscord: giving the label gives the Discord
// role through the bot, taking it takes the role, each assignment done.
func TestRoleGivenAndTakenThroughDiscord(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Discord, guildID, roleFan)
	e.guild.SetMember("2001")
	duck := e.person(t, map[string]string{router.Discord: "2001"})

	e.setLabel(t, duck, vip, true)
	a := assignment(t, e.settled(t, vip), "2001")
	if a.State != labels.StateDone || !a.Want || a.Attempts != 1 {
		t.Fatalf("after giving: %+v, want done, give, 1 attempt", a)
	}
	if !e.guild.HasRole("2001", roleFan) {
		t.Fatalf("member 2001 has roles %v, want %s", e.guild.MemberRoles("2001"), roleFan)
	}

	e.setLabel(t, duck, vip, false)
	a = assignment(t, e.settled(t, vip), "2001")
	if a.State != labels.StateDone || a.Want {
		t.Fatalf("after taking: %+v, want done, take", a)
	}
	if e.guild.HasRole("2001", roleFan) {
		t.Fatalf("member 2001 still has %s", roleFan)
	}
	roles, err := e.groups.PersonRoles(context.Background(), e.cid, duck)
	if err != nil || len(roles) != 1 || roles[0].Label != "VIP" || roles[0].State != labels.StateDone {
		t.Fatalf("person's roles %+v, %v; want VIP done", roles, err)
	}
}

// TestRoleRetriedAfterTransientFailures: a 429 (with retry_after) and a 500
// are retried, and the role is given in the end.
func TestRoleRetriedAfterTransientFailures(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Discord, guildID, roleFan)
	e.guild.SetMember("2001")
	e.guild.RateLimit(0.05)
	e.guild.Fail(http.StatusInternalServerError, `{"message":"500: Internal Server Error","code":0}`)
	duck := e.person(t, map[string]string{router.Discord: "2001"})

	e.setLabel(t, duck, vip, true)
	a := assignment(t, e.settled(t, vip), "2001")
	if a.State != labels.StateDone || a.Attempts != 3 {
		t.Fatalf("assignment %+v, want done after 3 attempts", a)
	}
	if !e.guild.HasRole("2001", roleFan) {
		t.Fatal("the role was not given after the retries")
	}
	if n := len(e.rest.Find(http.MethodPut, "/guilds/"+guildID+"/members/2001/roles/"+roleFan)); n != 3 {
		t.Errorf("%d role calls, want 3", n)
	}
}

// TestRolePermanentRefusals: Discord's refusals that no retry cures fail the
// assignment at once, with Discord's reason.
func TestRolePermanentRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, member, want string
		setup              func(e *groupsEnv)
	}{
		{name: "missing permissions", member: "2001", want: "Missing Permissions (50013)",
			setup: func(e *groupsEnv) {
				e.guild.SetMember("2001")
				e.guild.Fail(http.StatusForbidden, `{"message":"Missing Permissions","code":50013}`)
			}},
		{name: "unknown member", member: "2002", want: "Unknown Member (10007)", setup: func(*groupsEnv) {}},
		{name: "unknown role", member: "2003", want: "Unknown Role (10011)",
			setup: func(e *groupsEnv) {
				e.guild.SetMember("2003")
				e.guild.Fail(http.StatusNotFound, `{"message":"Unknown Role","code":10011}`)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newGroupsEnv(t)
			vip := e.label(t, "VIP")
			e.mapTo(t, vip, router.Discord, guildID, roleFan)
			c.setup(e)
			duck := e.person(t, map[string]string{router.Discord: c.member})
			e.setLabel(t, duck, vip, true)
			a := assignment(t, e.settled(t, vip), c.member)
			if a.State != labels.StateFailed || !strings.Contains(a.Detail, c.want) || a.Attempts != 1 {
				t.Fatalf("assignment %+v, want failed once with %q", a, c.want)
			}
			if n := len(e.rest.Find(http.MethodPut, "/guilds/"+guildID+"/members/"+c.member+"/roles/"+roleFan)); n != 1 {
				t.Errorf("%d role calls, want 1 (no retry of a permanent refusal)", n)
			}
		})
	}
}

// TestMapRefusesWhatTheBotCannotGive: @everyone, a managed role, a role at
// or above the bot's, an unlinked server, another community's label and bad
// input are refused; nothing is stored.
func TestMapRefusesWhatTheBotCannotGive(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	ctx := context.Background()
	cases := []struct {
		name                    string
		label                   int64
		platform, server, group string
		code                    problem.Code
		says                    string
	}{
		{"everyone", vip, router.Discord, guildID, guildID, problem.Invalid, "no such group"},
		{"managed", vip, router.Discord, guildID, roleBot, problem.Invalid, "managed by an integration"},
		{"above the bot", vip, router.Discord, guildID, roleAdmin, problem.Invalid, "at or above the bot's highest role"},
		{"unlinked guild", vip, router.Discord, "999", roleFan, problem.Invalid, "has not linked"},
		{"unknown label", vip + 1000, router.Discord, guildID, roleFan, problem.NotFound, "no such label"},
		{"bad platform", vip, "myspace", guildID, roleFan, problem.Invalid, "Discord, Slack or Twitch"},
		{"no group", vip, router.Slack, teamID, "", problem.Invalid, "Choose a role"},
		{"unknown user group", vip, router.Slack, teamID, "S999", problem.Invalid, "no such group"},
		{"bot off", vip, router.Twitch, "duckchan", "vip", problem.Invalid, "has not linked"},
	}
	for _, c := range cases {
		_, err := e.groups.Map(ctx, moderator, e.cid, c.label, c.platform, c.server, c.group)
		p := problem.As(err)
		if p == nil || p.Code != c.code || !strings.Contains(p.Message, c.says) {
			t.Errorf("%s: error %v, want %s saying %q", c.name, err, c.code, c.says)
		}
	}
	opts, err := e.groups.Options(ctx, e.cid)
	if err != nil {
		t.Fatal(err)
	}
	var discordOpts []string
	for _, o := range opts {
		if o.Platform == router.Discord {
			for _, g := range o.Groups {
				if g.Refused == "" {
					discordOpts = append(discordOpts, g.ID)
				}
			}
		}
	}
	if !slices.Equal(discordOpts, []string{roleFan}) {
		t.Errorf("Discord roles offered %v, want only %s", discordOpts, roleFan)
	}
	s, err := e.groups.Section(ctx, e.cid, vip)
	if err != nil || len(s.Groups) != 0 {
		t.Fatalf("groups after refusals: %+v, %v", s.Groups, err)
	}
	e.mapTo(t, vip, router.Discord, guildID, roleFan)
	if _, err := e.groups.Map(ctx, moderator, e.cid, vip, router.Discord, guildID, roleFan); !problem.Is(err, problem.Conflict) {
		t.Errorf("a second mapping on the same guild: %v, want conflict", err)
	}
}

// TestMappingGivesTheRoleToHolders: mapping a label that people already
// have gives them the role.
func TestMappingGivesTheRoleToHolders(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	duck := e.person(t, map[string]string{router.Discord: "2001", router.Slack: "U2001"})
	e.guild.SetMember("2001")
	e.setLabel(t, duck, vip, true) // no group yet: nothing queued
	if s := e.settled(t, vip); len(s.Assignments) != 0 {
		t.Fatalf("assignments before mapping: %+v", s.Assignments)
	}
	e.mapTo(t, vip, router.Discord, guildID, roleFan)
	e.mapTo(t, vip, router.Slack, teamID, groupFans)
	s := e.settled(t, vip)
	if assignment(t, s, "2001").State != labels.StateDone || assignment(t, s, "U2001").State != labels.StateDone {
		t.Fatalf("assignments %+v, want both done", s.Assignments)
	}
	if !e.guild.HasRole("2001", roleFan) || !slices.Contains(e.slack.UserGroupMembers(groupFans), "U2001") {
		t.Fatal("the holder did not get the roles")
	}
}

// TestUnmapKeepsRolesAndForgetsAssignments: unmapping leaves the platform
// alone and drops the states; another community cannot unmap.
func TestUnmapKeepsRolesAndForgetsAssignments(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	g := e.mapTo(t, vip, router.Discord, guildID, roleFan)
	e.guild.SetMember("2001")
	duck := e.person(t, map[string]string{router.Discord: "2001"})
	e.setLabel(t, duck, vip, true)
	e.settled(t, vip)
	ctx := context.Background()
	if err := e.groups.Unmap(ctx, moderator, e.cid+1, vip, g.ID); !problem.Is(err, problem.NotFound) {
		t.Fatalf("unmap from another community: %v, want not found", err)
	}
	if err := e.groups.Unmap(ctx, moderator, e.cid, vip, g.ID); err != nil {
		t.Fatal(err)
	}
	s, err := e.groups.Section(ctx, e.cid, vip)
	if err != nil || len(s.Groups) != 0 || len(s.Assignments) != 0 {
		t.Fatalf("after unmapping: %+v, %v", s, err)
	}
	if !e.guild.HasRole("2001", roleFan) {
		t.Error("unmapping took the role")
	}
}

// TestChangedKeepsTheLastChangeOfABatch: giving and taking in one batch
// queues the taking only.
func TestChangedKeepsTheLastChangeOfABatch(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Discord, guildID, roleFan)
	e.guild.SetMember("2001", roleFan)
	duck := e.person(t, map[string]string{router.Discord: "2001"})
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := e.groups.Changed(ctx, tx, []labels.Change{
		{CommunityID: e.cid, IdentityID: duck, LabelID: vip, Give: true},
		{CommunityID: e.cid, IdentityID: duck, LabelID: vip, Give: false},
	}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a := assignment(t, e.settled(t, vip), "2001")
	if a.Want || a.State != labels.StateDone || e.guild.HasRole("2001", roleFan) {
		t.Fatalf("assignment %+v, roles %v; want the role taken", a, e.guild.MemberRoles("2001"))
	}
	if n := len(e.rest.Find(http.MethodPut, "/guilds/*")); n != 0 {
		t.Errorf("%d role adds, want none", n)
	}
}
