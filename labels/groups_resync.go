package labels

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Resynced is what a re-sync found.
type Resynced struct {
	Groups   int // groups read from their platforms
	Differ   int // differences found (now in state differs)
	Problems []string
}

// Resync reads the members of each group of the label from its platform and
// compares them with who has the label. It changes nothing on either side:
// an account that has the role without the label, or the label without the
// role, is recorded as a difference for a moderator to settle (Resolve).
// Accounts whose role is still being given or taken are left to their job.
func (g *Groups) Resync(ctx context.Context, communityID, labelID int64) (Resynced, error) {
	var out Resynced
	q := db.New(g.pool)
	if _, err := q.LabelGroupLabel(ctx, db.LabelGroupLabelParams{CommunityID: communityID, ID: labelID}); errors.Is(err, pgx.ErrNoRows) {
		return out, problem.New(problem.NotFound, "There is no such label.")
	} else if err != nil {
		return out, fmt.Errorf("load label %d: %w", labelID, err)
	}
	groups, err := q.LabelGroupListByLabel(ctx, db.LabelGroupListByLabelParams{CommunityID: communityID, LabelID: labelID})
	if err != nil {
		return out, fmt.Errorf("list the label's groups: %w", err)
	}
	for _, gr := range groups {
		giver := g.giver(gr.Platform)
		if giver == nil {
			out.Problems = append(out.Problems, "The "+platformTitle(gr.Platform)+" bot is not running.")
			continue
		}
		members, err := giver.Members(ctx, gr.Server, gr.GroupID)
		if err != nil {
			g.logger.WarnContext(ctx, "re-sync: cannot read a group's members", "group", gr.ID, "err", err)
			out.Problems = append(out.Problems, fmt.Sprintf("%s %s: %s", platformTitle(gr.Platform), gr.GroupName, reason(err)))
			continue
		}
		n, err := g.compare(ctx, gr, members)
		if err != nil {
			return out, err
		}
		out.Groups++
		out.Differ += n
	}
	return out, nil
}

// compare records the differences between a group's members and the label's
// holders, in one transaction.
func (g *Groups) compare(ctx context.Context, gr db.LabelGroup, members []string) (int, error) {
	differ := 0
	err := pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		differ = 0
		q := db.New(tx)
		holders, err := q.LabelGroupHolders(ctx, db.LabelGroupHoldersParams{CommunityID: gr.CommunityID, LabelID: gr.LabelID, Platform: gr.Platform})
		if err != nil {
			return fmt.Errorf("list the label's holders: %w", err)
		}
		existing, err := q.LabelAssignmentsOfGroup(ctx, db.LabelAssignmentsOfGroupParams{CommunityID: gr.CommunityID, GroupID: gr.ID})
		if err != nil {
			return fmt.Errorf("list the group's assignments: %w", err)
		}
		known := map[string]db.LabelAssignment{}
		for _, a := range existing {
			known[a.AccountID] = a
		}
		has := map[string]bool{}
		for _, m := range members {
			has[m] = true
		}
		holding := map[string]bool{}
		set := func(identity int64, account string, want bool, state, detail string) error {
			return q.LabelAssignmentSet(ctx, db.LabelAssignmentSetParams{CommunityID: gr.CommunityID, GroupID: gr.ID, IdentityID: identity,
				AccountID: account, Want: want, State: state, Detail: detail})
		}
		where := groupNoun(gr.Platform) + " on " + platformTitle(gr.Platform)
		for _, h := range holders {
			holding[h.AccountID] = true
			a, ok := known[h.AccountID]
			if ok && a.State == StatePending {
				continue // its job decides
			}
			if has[h.AccountID] {
				if !ok || a.State != StateDone || !a.Want {
					if err := set(h.IdentityID, h.AccountID, true, StateDone, ""); err != nil {
						return fmt.Errorf("record re-sync: %w", err)
					}
				}
				continue
			}
			differ++
			if err := set(h.IdentityID, h.AccountID, true, StateDiffers, "has the label but not "+where); err != nil {
				return fmt.Errorf("record re-sync: %w", err)
			}
		}
		for _, m := range members {
			if holding[m] || len(m) == 0 || len(m) > 100 {
				continue
			}
			if a, ok := known[m]; ok && a.State == StatePending {
				continue
			}
			acct, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: gr.Platform, AccountID: m})
			if err != nil {
				return fmt.Errorf("record a member's account: %w", err)
			}
			differ++
			if err := set(acct.IdentityID, m, false, StateDiffers, "has "+where+" but not the label"); err != nil {
				return fmt.Errorf("record re-sync: %w", err)
			}
		}
		// A difference found before that is gone now (fixed by hand on the
		// platform or by a label change) is settled.
		for _, a := range existing {
			if a.State != StateDiffers || (holding[a.AccountID] && !has[a.AccountID]) || (has[a.AccountID] && !holding[a.AccountID]) {
				continue
			}
			if err := set(a.IdentityID, a.AccountID, holding[a.AccountID], StateDone, ""); err != nil {
				return fmt.Errorf("record re-sync: %w", err)
			}
		}
		return nil
	})
	return differ, err
}

// The choices for a difference.
const (
	KeepLabel    = "label"    // the label decides: give or take the platform role
	KeepPlatform = "platform" // the platform decides: give or take the label
)

// Resolve settles one difference a re-sync found, as the moderator chose.
func (g *Groups) Resolve(ctx context.Context, by audit.Actor, communityID, labelID, assignmentID int64, keep string) error {
	if keep != KeepLabel && keep != KeepPlatform {
		return problem.Invalidf("keep", "Choose whether the label or the platform is right.")
	}
	err := pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		return g.resolve(ctx, tx, by, communityID, labelID, assignmentID, keep)
	})
	if err == nil && keep == KeepPlatform && g.changed != nil {
		g.changed(ctx, communityID)
	}
	return err
}

// ResolveAll settles every difference of the label the same way, in one
// transaction; it returns how many it settled.
func (g *Groups) ResolveAll(ctx context.Context, by audit.Actor, communityID, labelID int64, keep string) (int, error) {
	if keep != KeepLabel && keep != KeepPlatform {
		return 0, problem.Invalidf("keep", "Choose whether the label or the platform is right.")
	}
	n := 0
	err := pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		ids, err := db.New(tx).LabelAssignmentDiffers(ctx, db.LabelAssignmentDiffersParams{CommunityID: communityID, LabelID: labelID})
		if err != nil {
			return fmt.Errorf("list differences: %w", err)
		}
		for _, id := range ids {
			if err := g.resolve(ctx, tx, by, communityID, labelID, id, keep); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err == nil && n > 0 && keep == KeepPlatform && g.changed != nil {
		g.changed(ctx, communityID)
	}
	return n, err
}

func (g *Groups) resolve(ctx context.Context, tx pgx.Tx, by audit.Actor, communityID, labelID, assignmentID int64, keep string) error {
	q := db.New(tx)
	a, err := q.LabelAssignmentGetForChoice(ctx, db.LabelAssignmentGetForChoiceParams{CommunityID: communityID, LabelID: labelID, ID: assignmentID})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.New(problem.NotFound, "There is no such assignment.")
	}
	if err != nil {
		return fmt.Errorf("load assignment %d: %w", assignmentID, err)
	}
	if a.State != StateDiffers {
		return problem.New(problem.Conflict, "That difference was settled already; re-sync to see the current state.")
	}
	// a.Want is whether the person has the label; the platform says the opposite.
	done := ""
	if keep == KeepLabel {
		if err := g.enqueue(ctx, tx, communityID, []upsert{{group: a.GroupID, identity: a.IdentityID, account: a.AccountID, want: a.Want}}); err != nil {
			return err
		}
		done = map[bool]string{true: "give the role", false: "take the role"}[a.Want]
	} else {
		if err := g.setLabel(ctx, tx, by, communityID, labelID, a.IdentityID, !a.Want, a.GroupID); err != nil {
			return err
		}
		if err := q.LabelAssignmentSet(ctx, db.LabelAssignmentSetParams{CommunityID: communityID, GroupID: a.GroupID, IdentityID: a.IdentityID,
			AccountID: a.AccountID, Want: !a.Want, State: StateDone, Detail: ""}); err != nil {
			return fmt.Errorf("record choice: %w", err)
		}
		done = map[bool]string{true: "take the label", false: "give the label"}[a.Want]
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.LabelGroupResolved,
		Target: fmt.Sprintf("%s account %s", platformTitle(a.Platform), a.AccountID), After: map[string]any{"label_id": labelID, "choice": done}})
}

// setLabel gives or takes the label from a person as a re-sync choice, under
// the per-person limit (the person's row is locked first, as every label
// change does), and asks the label's other groups to follow.
func (g *Groups) setLabel(ctx context.Context, tx pgx.Tx, by audit.Actor, communityID, labelID, identityID int64, give bool, skipGroup int64) error {
	q := db.New(tx)
	if give {
		if err := q.LabelGroupPersonEnsure(ctx, db.LabelGroupPersonEnsureParams{CommunityID: communityID, IdentityID: identityID}); err != nil {
			return fmt.Errorf("record person: %w", err)
		}
	}
	if _, err := q.LabelGroupPersonLock(ctx, db.LabelGroupPersonLockParams{CommunityID: communityID, IdentityID: identityID}); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("lock person: %w", err)
	}
	var n int64
	var err error
	if give {
		count, err := q.LabelGroupPersonLabelCount(ctx, db.LabelGroupPersonLabelCountParams{CommunityID: communityID, IdentityID: identityID})
		if err != nil {
			return fmt.Errorf("count labels: %w", err)
		}
		if count >= MaxPerPerson {
			return problem.New(problem.Conflict, "That person already has %d labels, the most a person may have.", MaxPerPerson)
		}
		var addedBy *int64
		if by.UserID != 0 {
			addedBy = &by.UserID
		}
		n, err = q.LabelGroupPersonLabelAdd(ctx, db.LabelGroupPersonLabelAddParams{CommunityID: communityID, IdentityID: identityID, LabelID: labelID, AddedBy: addedBy})
		if err != nil {
			return fmt.Errorf("give label: %w", err)
		}
	} else if n, err = q.LabelGroupPersonLabelRemove(ctx, db.LabelGroupPersonLabelRemoveParams{CommunityID: communityID, IdentityID: identityID, LabelID: labelID}); err != nil {
		return fmt.Errorf("take label: %w", err)
	}
	if n == 0 {
		return nil
	}
	targets, err := q.LabelGroupTargetsMany(ctx, db.LabelGroupTargetsManyParams{CommunityID: communityID,
		IdentityIds: []int64{identityID}, LabelIds: []int64{labelID}, Gives: []bool{give}})
	if err != nil {
		return fmt.Errorf("find the label's other groups: %w", err)
	}
	var ups []upsert
	for _, t := range targets {
		if t.GroupID != skipGroup {
			ups = append(ups, upsert{group: t.GroupID, identity: t.IdentityID, account: t.AccountID, want: give})
		}
	}
	return g.enqueue(ctx, tx, communityID, ups)
}
