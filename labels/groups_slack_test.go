package labels_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/router"
)

// TestUserGroupGivenAndTakenThroughSlack: giving the label adds the account
// to the Slack user group (the rest of the list kept), taking removes it.
func TestUserGroupGivenAndTakenThroughSlack(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Slack, teamID, groupFans)
	duck := e.person(t, map[string]string{router.Slack: "U2001"})
	goose := e.person(t, map[string]string{router.Slack: "U2002"})

	e.setLabel(t, duck, vip, true)
	e.setLabel(t, goose, vip, true)
	s := e.settled(t, vip)
	if assignment(t, s, "U2001").State != labels.StateDone || assignment(t, s, "U2002").State != labels.StateDone {
		t.Fatalf("assignments %+v, want done", s.Assignments)
	}
	if got := e.slack.UserGroupMembers(groupFans); !slices.Equal(got, []string{"U0OWNER", "U2001", "U2002"}) {
		t.Fatalf("members %v, want the owner and both", got)
	}

	e.setLabel(t, duck, vip, false)
	if a := assignment(t, e.settled(t, vip), "U2001"); a.State != labels.StateDone || a.Want {
		t.Fatalf("after taking: %+v", a)
	}
	if got := e.slack.UserGroupMembers(groupFans); !slices.Equal(got, []string{"U0OWNER", "U2002"}) {
		t.Fatalf("members %v, want U2001 out and the others kept", got)
	}
}

// TestUserGroupRetriedAfterRateLimit: Slack's 429 is retried.
func TestUserGroupRetriedAfterRateLimit(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Slack, teamID, groupFans)
	e.slack.LimitNext("usergroups.users.update", 2)
	duck := e.person(t, map[string]string{router.Slack: "U2001"})
	e.setLabel(t, duck, vip, true)
	a := assignment(t, e.settled(t, vip), "U2001")
	if a.State != labels.StateDone || a.Attempts != 3 {
		t.Fatalf("assignment %+v, want done after 3 attempts", a)
	}
	if !slices.Contains(e.slack.UserGroupMembers(groupFans), "U2001") {
		t.Fatal("not added after the rate limit")
	}
}

// TestUserGroupRefusals: Slack's refusals fail the assignment with its
// reason, without retrying.
func TestUserGroupRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(e *groupsEnv)
		give    bool
		account string
		want    string
	}{
		{name: "missing scope", setup: func(e *groupsEnv) { e.slack.SetUserGroupRights(false, true) }, give: true, account: "U2001",
			want: "missing_scope (the app needs the usergroups:read and usergroups:write scopes"},
		{name: "permission denied", setup: func(e *groupsEnv) { e.slack.SetUserGroupRights(true, false) }, give: true, account: "U2001",
			want: "permission_denied"},
		{name: "deleted group", setup: func(e *groupsEnv) { e.slack.DeleteUserGroup(groupFans) }, give: true, account: "U2001",
			want: "no_such_subteam"},
		{name: "not in the workspace", setup: func(e *groupsEnv) { e.slack.SetWorkspaceMembers("U0OWNER") }, give: true, account: "U2001",
			want: "failed_for_some_users"},
		{name: "last member", setup: func(*groupsEnv) {}, give: false, account: "U0OWNER", want: "empty user group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newGroupsEnv(t)
			vip := e.label(t, "VIP")
			e.mapTo(t, vip, router.Slack, teamID, groupFans)
			c.setup(e)
			p := e.person(t, map[string]string{router.Slack: c.account})
			if !c.give {
				e.setLabel(t, p, vip, true)
				e.settled(t, vip)
			}
			e.setLabel(t, p, vip, c.give)
			a := assignment(t, e.settled(t, vip), c.account)
			if a.State != labels.StateFailed || !strings.Contains(a.Detail, c.want) || a.Attempts != 1 {
				t.Fatalf("assignment %+v, want failed once with %q", a, c.want)
			}
		})
	}
}
