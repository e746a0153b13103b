package labels_test

import (
	"context"
	"slices"
	"testing"

	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

func (e *groupsEnv) hasLabel(t *testing.T, identity, label int64) bool {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM person_labels WHERE community_id = $1 AND identity_id = $2 AND label_id = $3",
		e.cid, identity, label).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func (e *groupsEnv) identityOf(t *testing.T, platform, account string) int64 {
	t.Helper()
	var id int64
	if err := e.pool.QueryRow(context.Background(), "SELECT identity_id FROM identity_accounts WHERE platform = $1 AND account_id = $2",
		platform, account).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestResyncReportsHandChangesAndAppliesEachChoice: roles changed by hand on
// Discord are not fought over: the re-sync reports each difference, changes
// nothing, and each of the moderator's four choices does what it says.
func TestResyncReportsHandChangesAndAppliesEachChoice(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	ctx := context.Background()
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Discord, guildID, roleFan)
	// Four holders of the label, given the role by the bot.
	people := map[string]int64{}
	for _, acct := range []string{"2001", "2002", "2003", "2004"} {
		e.guild.SetMember(acct)
		people[acct] = e.person(t, map[string]string{router.Discord: acct})
		e.setLabel(t, people[acct], vip, true)
	}
	e.settled(t, vip)
	// By hand on Discord: two lose the role, two strangers get it.
	e.guild.SetMember("2001")
	e.guild.SetMember("2002")
	e.guild.SetMember("3001", roleFan)
	e.guild.SetMember("3002", roleFan)

	got, err := e.groups.Resync(ctx, e.cid, vip)
	if err != nil {
		t.Fatal(err)
	}
	if got.Groups != 1 || got.Differ != 4 || len(got.Problems) != 0 {
		t.Fatalf("re-sync %+v, want 1 group, 4 differences", got)
	}
	s, _ := e.groups.Section(ctx, e.cid, vip)
	wantDetail := map[string]string{
		"2001": "has the label but not the role on Discord", "2002": "has the label but not the role on Discord",
		"3001": "has the role on Discord but not the label", "3002": "has the role on Discord but not the label",
	}
	for acct, want := range wantDetail {
		if a := assignment(t, s, acct); a.State != labels.StateDiffers || a.Detail != want {
			t.Errorf("%s: %+v, want differs %q", acct, a, want)
		}
	}
	if a := assignment(t, s, "2003"); a.State != labels.StateDone {
		t.Errorf("2003 unchanged on both sides: %+v, want done", a)
	}
	// Nothing changed on either side.
	if e.guild.HasRole("2001", roleFan) || !e.guild.HasRole("3001", roleFan) || !e.hasLabel(t, people["2001"], vip) {
		t.Fatal("the re-sync changed something")
	}

	choose := func(acct, keep string) {
		t.Helper()
		if err := e.groups.Resolve(ctx, moderator, e.cid, vip, assignment(t, s, acct).ID, keep); err != nil {
			t.Fatalf("resolve %s keeping the %s: %v", acct, keep, err)
		}
	}
	choose("2001", labels.KeepLabel)    // give the role
	choose("2002", labels.KeepPlatform) // take the label
	choose("3001", labels.KeepLabel)    // take the role
	choose("3002", labels.KeepPlatform) // give the label
	s = e.settled(t, vip)

	if !e.guild.HasRole("2001", roleFan) || !e.hasLabel(t, people["2001"], vip) {
		t.Error("2001: want the role given back, the label kept")
	}
	if e.guild.HasRole("2002", roleFan) || e.hasLabel(t, people["2002"], vip) {
		t.Error("2002: want the label taken, no role")
	}
	if e.guild.HasRole("3001", roleFan) || e.hasLabel(t, e.identityOf(t, router.Discord, "3001"), vip) {
		t.Error("3001: want the role taken, no label")
	}
	if !e.guild.HasRole("3002", roleFan) || !e.hasLabel(t, e.identityOf(t, router.Discord, "3002"), vip) {
		t.Error("3002: want the label given, the role kept")
	}
	for _, a := range s.Assignments {
		if a.State != labels.StateDone {
			t.Errorf("%s: %+v, want done", a.AccountID, a)
		}
	}
	if err := e.groups.Resolve(ctx, moderator, e.cid, vip, assignment(t, s, "2001").ID, labels.KeepLabel); !problem.Is(err, problem.Conflict) {
		t.Errorf("resolving a settled difference: %v, want conflict", err)
	}
	if err := e.groups.Resolve(ctx, moderator, e.cid, vip, assignment(t, s, "2001").ID, "both"); !problem.Is(err, problem.Invalid) {
		t.Errorf("an unknown choice: %v, want invalid", err)
	}
	if err := e.groups.Resolve(ctx, moderator, e.cid+1, vip, assignment(t, s, "2001").ID, labels.KeepLabel); !problem.Is(err, problem.NotFound) {
		t.Errorf("another community's assignment: %v, want not found", err)
	}
	// A re-sync now finds nothing.
	if got, err := e.groups.Resync(ctx, e.cid, vip); err != nil || got.Differ != 0 {
		t.Fatalf("second re-sync %+v, %v; want no difference", got, err)
	}
}

// TestResolveAllThroughSlack: every difference settled at once, each way.
func TestResolveAllThroughSlack(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	ctx := context.Background()
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Slack, teamID, groupFans)
	duck := e.person(t, map[string]string{router.Slack: "U2001"})
	owner := e.person(t, map[string]string{router.Slack: "U0OWNER"})
	e.setLabel(t, duck, vip, true)
	e.setLabel(t, owner, vip, true) // keeps the group from ever being emptied
	e.settled(t, vip)
	// By hand in Slack: the duck is out, a stranger is in.
	e.slack.SetUserGroupMembers(groupFans, "U0OWNER", "U3001")

	got, err := e.groups.Resync(ctx, e.cid, vip)
	if err != nil || got.Differ != 2 {
		t.Fatalf("re-sync %+v, %v; want 2 differences", got, err)
	}
	n, err := e.groups.ResolveAll(ctx, moderator, e.cid, vip, labels.KeepLabel)
	if err != nil || n != 2 {
		t.Fatalf("resolve all: %d, %v", n, err)
	}
	e.settled(t, vip)
	// The label decides: the duck is back, the stranger out.
	if got := e.slack.UserGroupMembers(groupFans); !slices.Equal(got, []string{"U0OWNER", "U2001"}) {
		t.Fatalf("members %v, want the labelled owner and duck", got)
	}

	e.slack.SetUserGroupMembers(groupFans, "U0OWNER", "U2001", "U3002")
	if got, err := e.groups.Resync(ctx, e.cid, vip); err != nil || got.Differ != 1 {
		t.Fatalf("re-sync %+v, %v; want 1 difference", got, err)
	}
	if n, err := e.groups.ResolveAll(ctx, moderator, e.cid, vip, labels.KeepPlatform); err != nil || n != 1 {
		t.Fatalf("resolve all: %d, %v", n, err)
	}
	if e.told.Load() != e.cid {
		t.Errorf("label caches told %d, want once of community %d (only the choice that gave a label)", e.told.Load(), e.cid)
	}
	if !e.hasLabel(t, e.identityOf(t, router.Slack, "U3002"), vip) {
		t.Fatal("U3002 did not get the label")
	}
	if got := e.slack.UserGroupMembers(groupFans); !slices.Equal(got, []string{"U0OWNER", "U2001", "U3002"}) {
		t.Fatalf("members %v: the platform's side must not change", got)
	}
}
