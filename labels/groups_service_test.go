package labels_test

import (
	"context"
	"slices"
	"testing"

	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/router"
)

// TestLabelsServiceDrivesRoles: end to end through the labels service: a
// moderator's label gives the Discord role and the Slack user group, taking
// it takes both, a bulk change gives them to several people, and deleting
// the label takes back the roles it gave.
func TestLabelsServiceDrivesRoles(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	ctx := context.Background()
	svc := labels.New(labels.Config{Pool: e.pool, Roles: e.groups})
	l, err := svc.Create(ctx, moderator, e.cid, labels.Input{Name: "Helpers"})
	if err != nil {
		t.Fatal(err)
	}
	e.mapTo(t, l.ID, router.Discord, guildID, roleFan)
	e.mapTo(t, l.ID, router.Slack, teamID, groupFans)
	e.guild.SetMember("2001")
	e.guild.SetMember("2002")
	duck := e.person(t, map[string]string{router.Discord: "2001", router.Slack: "U2001"})
	goose := e.person(t, map[string]string{router.Discord: "2002"})

	if _, err := svc.Add(ctx, moderator, e.cid, duck, "Helpers"); err != nil {
		t.Fatal(err)
	}
	e.settled(t, l.ID)
	if !e.guild.HasRole("2001", roleFan) || !slices.Contains(e.slack.UserGroupMembers(groupFans), "U2001") {
		t.Fatalf("after the label: Discord roles %v, Slack group %v", e.guild.MemberRoles("2001"), e.slack.UserGroupMembers(groupFans))
	}
	if _, err := svc.Remove(ctx, moderator, e.cid, duck, "Helpers"); err != nil {
		t.Fatal(err)
	}
	e.settled(t, l.ID)
	if e.guild.HasRole("2001", roleFan) || slices.Contains(e.slack.UserGroupMembers(groupFans), "U2001") {
		t.Fatal("taking the label left a role")
	}

	res, err := svc.Bulk(ctx, moderator, e.cid, []labels.BulkOp{
		{Give: true, Person: labels.PersonRef{IdentityID: duck}, Label: "Helpers"},
		{Give: true, Person: labels.PersonRef{IdentityID: goose}, Label: "Helpers"},
	}, false)
	if err != nil {
		t.Fatalf("bulk: %v (%+v)", err, res)
	}
	e.settled(t, l.ID)
	if !e.guild.HasRole("2001", roleFan) || !e.guild.HasRole("2002", roleFan) {
		t.Fatalf("after the bulk: %v %v", e.guild.MemberRoles("2001"), e.guild.MemberRoles("2002"))
	}

	if err := svc.Delete(ctx, moderator, e.cid, "Helpers"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted label's roles taken", func() bool {
		return !e.guild.HasRole("2001", roleFan) && !e.guild.HasRole("2002", roleFan) && !slices.Contains(e.slack.UserGroupMembers(groupFans), "U2001")
	})
}
