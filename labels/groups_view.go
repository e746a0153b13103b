package labels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Assignment is the state of one account's role.
type Assignment struct {
	ID         int64
	GroupID    int64
	IdentityID int64
	AccountID  string
	UserName   string // the account's name on its platform, when known
	Person     string // the identity's display name, when set
	Label      string // on a person's list
	Platform   string
	Server     string
	GroupName  string
	Want       bool // give; false: take
	State      string
	Detail     string
	Attempts   int
	UpdatedAt  time.Time
}

// Section is a label's platform roles: its mappings and the state of each
// assignment (differences first, then failures, then the most recent).
type Section struct {
	LabelID     int64
	LabelName   string
	Groups      []Group
	Assignments []Assignment
}

// Section returns the label's groups and assignments.
func (g *Groups) Section(ctx context.Context, communityID, labelID int64) (Section, error) {
	q := db.New(g.pool)
	label, err := q.LabelGroupLabel(ctx, db.LabelGroupLabelParams{CommunityID: communityID, ID: labelID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Section{}, problem.New(problem.NotFound, "There is no such label.")
	}
	if err != nil {
		return Section{}, fmt.Errorf("load label %d: %w", labelID, err)
	}
	out := Section{LabelID: label.ID, LabelName: label.Name}
	rows, err := q.LabelGroupListByLabel(ctx, db.LabelGroupListByLabelParams{CommunityID: communityID, LabelID: labelID})
	if err != nil {
		return Section{}, fmt.Errorf("list the label's groups: %w", err)
	}
	for _, r := range rows {
		out.Groups = append(out.Groups, groupFrom(r))
	}
	as, err := q.LabelAssignmentListByLabel(ctx, db.LabelAssignmentListByLabelParams{CommunityID: communityID, LabelID: labelID})
	if err != nil {
		return Section{}, fmt.Errorf("list the label's assignments: %w", err)
	}
	for _, a := range as {
		person := ""
		if a.DisplayName != nil {
			person = *a.DisplayName
		}
		out.Assignments = append(out.Assignments, Assignment{ID: a.ID, GroupID: a.GroupID, IdentityID: a.IdentityID, AccountID: a.AccountID,
			UserName: a.UserName, Person: person, Platform: a.Platform, Server: a.Server, GroupName: a.GroupName, Want: a.Want,
			State: a.State, Detail: a.Detail, Attempts: int(a.Attempts), UpdatedAt: a.UpdatedAt})
	}
	return out, nil
}

// PersonRoles returns the state of every platform role of a person's labels
// in the community.
func (g *Groups) PersonRoles(ctx context.Context, communityID, identityID int64) ([]Assignment, error) {
	rows, err := db.New(g.pool).LabelAssignmentListByIdentity(ctx, db.LabelAssignmentListByIdentityParams{CommunityID: communityID, IdentityID: identityID})
	if err != nil {
		return nil, fmt.Errorf("list person %d's roles: %w", identityID, err)
	}
	out := make([]Assignment, 0, len(rows))
	for _, a := range rows {
		out = append(out, Assignment{ID: a.ID, GroupID: a.GroupID, IdentityID: a.IdentityID, AccountID: a.AccountID, Label: a.LabelName,
			Platform: a.Platform, Server: a.Server, GroupName: a.GroupName, Want: a.Want, State: a.State, Detail: a.Detail,
			Attempts: int(a.Attempts), UpdatedAt: a.UpdatedAt})
	}
	return out, nil
}

// PlatformTitle names a platform for people ("Discord").
func PlatformTitle(p string) string { return platformTitle(p) }
