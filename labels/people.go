package labels

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Of returns the labels a person carries in the community;
// ErrPersonNotFound for a person the community has not met.
func (s *Service) Of(ctx context.Context, communityID, identityID int64) ([]Label, error) {
	q := db.New(s.pool)
	if _, err := q.CommunityPersonShown(ctx, db.CommunityPersonShownParams{CommunityID: communityID, IdentityID: identityID}); errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrPersonNotFound
	} else if err != nil {
		return nil, fmt.Errorf("load person %d: %w", identityID, err)
	}
	rows, err := q.PersonLabelsOf(ctx, db.PersonLabelsOfParams{CommunityID: communityID, IdentityID: identityID})
	if err != nil {
		return nil, fmt.Errorf("labels of person %d: %w", identityID, err)
	}
	return toLabels(rows), nil
}

// Add gives the person the community's label (by id or name) and returns the
// person's labels. Giving a label the person has changes nothing. The
// person's row in the community is locked first, so that two requests adding
// labels to one person take turns and the limit holds.
func (s *Service) Add(ctx context.Context, a audit.Actor, communityID, identityID int64, ref string) ([]Label, error) {
	return s.change(ctx, a, communityID, identityID, ref, true)
}

// Remove takes the label from the person and returns the person's labels.
func (s *Service) Remove(ctx context.Context, a audit.Actor, communityID, identityID int64, ref string) ([]Label, error) {
	return s.change(ctx, a, communityID, identityID, ref, false)
}

func (s *Service) change(ctx context.Context, a audit.Actor, communityID, identityID int64, ref string, give bool) ([]Label, error) {
	var out []Label
	changed := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		q := db.New(tx)
		if err := q.LabelsLockTimeout(ctx); err != nil {
			return fmt.Errorf("set lock timeout: %w", err)
		}
		if _, err := q.CommunityPersonLock(ctx, db.CommunityPersonLockParams{CommunityID: communityID, IdentityID: identityID}); errors.Is(err, pgx.ErrNoRows) {
			return ErrPersonNotFound
		} else if err != nil {
			return fmt.Errorf("lock person %d: %w", identityID, err)
		}
		l, err := getLabel(ctx, q, communityID, ref)
		if err != nil {
			return err
		}
		var n int64
		if give {
			have, err := q.PersonLabelCount(ctx, db.PersonLabelCountParams{CommunityID: communityID, IdentityID: identityID})
			if err != nil {
				return fmt.Errorf("count labels: %w", err)
			}
			var by *int64
			if a.UserID != 0 {
				by = &a.UserID
			}
			n, err = q.PersonLabelAdd(ctx, db.PersonLabelAddParams{CommunityID: communityID, IdentityID: identityID, LabelID: l.ID, AddedBy: by})
			if err != nil {
				return fmt.Errorf("add label: %w", err)
			}
			if n > 0 && have >= MaxPerPerson {
				return ErrPersonFull
			}
		} else {
			n, err = q.PersonLabelRemove(ctx, db.PersonLabelRemoveParams{CommunityID: communityID, IdentityID: identityID, LabelID: l.ID})
			if err != nil {
				return fmt.Errorf("remove label: %w", err)
			}
		}
		if n > 0 {
			changed = true
			action := audit.PersonLabelRemoved
			if give {
				action = audit.PersonLabelAdded
			}
			target := "person " + strconv.FormatInt(identityID, 10) + ": label " + l.Name
			if err := audit.Record(ctx, tx, a, audit.Entry{CommunityID: communityID, Action: action, Target: target}); err != nil {
				return err
			}
			if s.roles != nil {
				if err := s.roles.Changed(ctx, tx, []Change{{CommunityID: communityID, IdentityID: identityID, LabelID: l.ID, Give: give}}); err != nil {
					return fmt.Errorf("label roles: %w", err)
				}
			}
		}
		rows, err := q.PersonLabelsOf(ctx, db.PersonLabelsOfParams{CommunityID: communityID, IdentityID: identityID})
		if err != nil {
			return fmt.Errorf("labels of person %d: %w", identityID, err)
		}
		out = toLabels(rows)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.changed(ctx, communityID)
	}
	return out, nil
}

// Carrier is a person who carries a label.
type Carrier struct {
	IdentityID  int64
	DisplayName string
	Since       time.Time
}

// People returns a page of the people carrying a label, newest first.
func (s *Service) People(ctx context.Context, communityID, labelID int64, limit, offset int) ([]Carrier, error) {
	rows, err := db.New(s.pool).LabelPeoplePage(ctx, db.LabelPeoplePageParams{CommunityID: communityID, LabelID: labelID, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return nil, fmt.Errorf("people with label %d: %w", labelID, err)
	}
	out := make([]Carrier, len(rows))
	for i, r := range rows {
		out[i] = Carrier{IdentityID: r.IdentityID, DisplayName: r.DisplayName, Since: r.CreatedAt}
	}
	return out, nil
}

// Person returns a person the community knows (its people's row), with
// their display name; ErrPersonNotFound for anyone else.
func (s *Service) Person(ctx context.Context, communityID, identityID int64) (Carrier, error) {
	r, err := db.New(s.pool).CommunityPersonShown(ctx, db.CommunityPersonShownParams{CommunityID: communityID, IdentityID: identityID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Carrier{}, ErrPersonNotFound
	}
	if err != nil {
		return Carrier{}, fmt.Errorf("load person %d: %w", identityID, err)
	}
	return Carrier{IdentityID: r.ID, DisplayName: r.DisplayName}, nil
}

// Find names a person by platform and account name (or account id), as
// chat and the bulk API do, among the people the community has met;
// ErrPersonNotFound when none of them has that name.
func (s *Service) Find(ctx context.Context, communityID int64, ref PersonRef) (int64, error) {
	if msg := checkRef(ref); msg != "" {
		return 0, problem.Invalidf("person", "%s", msg)
	}
	rows, err := db.New(s.pool).PersonResolve(ctx, db.PersonResolveParams{CommunityID: communityID, Ns: []int32{0},
		IdentityIds: []int64{ref.IdentityID}, Platforms: []string{ref.Platform}, Accounts: []string{ref.Account}, Names: []string{ref.Name}})
	if err != nil {
		return 0, fmt.Errorf("find person: %w", err)
	}
	if len(rows) == 0 || rows[0].IdentityID == 0 {
		return 0, ErrPersonNotFound
	}
	return rows[0].IdentityID, nil
}
