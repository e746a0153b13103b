package labels

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// ErrCommunityFull: more hub-wide labels than a community may carry.
var ErrCommunityFull = &problem.Error{Code: problem.Invalid, Field: "labels", Message: fmt.Sprintf("A community carries at most %d labels.", MaxPerCommunity)}

// OnCommunity returns the hub-wide labels a community carries.
func (s *Service) OnCommunity(ctx context.Context, communityID int64) ([]Label, error) {
	rows, err := db.New(s.pool).CommunityLabelsOf(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("labels of community %d: %w", communityID, err)
	}
	return toLabels(rows), nil
}

// SetOnCommunity makes refs (hub-wide labels by id or name, at most
// MaxPerCommunity) the community's labels, in one transaction with the
// community's row locked.
func (s *Service) SetOnCommunity(ctx context.Context, a audit.Actor, communityID int64, refs []string) ([]Label, error) {
	if len(refs) > MaxPerCommunity {
		return nil, ErrCommunityFull
	}
	var out []Label
	err := s.tx(ctx, func(tx pgx.Tx) error {
		q := db.New(tx)
		if _, err := q.CommunityLockForLabels(ctx, communityID); errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "No such community.")
		} else if err != nil {
			return fmt.Errorf("lock community %d: %w", communityID, err)
		}
		before, err := q.CommunityLabelsOf(ctx, communityID)
		if err != nil {
			return fmt.Errorf("labels of community %d: %w", communityID, err)
		}
		var ids []int64
		for _, ref := range refs {
			l, err := getLabel(ctx, q, 0, ref)
			if err != nil {
				return &problem.Error{Code: problem.Invalid, Field: "labels", Message: fmt.Sprintf("No hub-wide label %q.", clip(ref, MaxNameLen))}
			}
			if !slices.Contains(ids, l.ID) {
				ids = append(ids, l.ID)
			}
		}
		if err := q.CommunityLabelsClear(ctx, communityID); err != nil {
			return fmt.Errorf("clear community labels: %w", err)
		}
		if err := q.CommunityLabelsInsert(ctx, db.CommunityLabelsInsertParams{CommunityID: communityID, LabelIds: ids}); err != nil {
			return fmt.Errorf("set community labels: %w", err)
		}
		rows, err := q.CommunityLabelsOf(ctx, communityID)
		if err != nil {
			return fmt.Errorf("labels of community %d: %w", communityID, err)
		}
		out = toLabels(rows)
		return audit.Record(ctx, tx, a, audit.Entry{CommunityID: communityID, Action: audit.CommunityLabelsSet, Target: "community labels",
			Before: names(toLabels(before)), After: names(out)})
	})
	return out, err
}

// CommunitiesWith returns the communities carrying all (matchAll) or any of
// the hub-wide labels, for the directory and the marketplace.
func (s *Service) CommunitiesWith(ctx context.Context, refs []string, matchAll bool) ([]int64, error) {
	q := db.New(s.pool)
	var ids []int64
	for _, ref := range refs {
		l, err := getLabel(ctx, q, 0, ref)
		if err != nil {
			return nil, &problem.Error{Code: problem.Invalid, Field: "labels", Message: fmt.Sprintf("No hub-wide label %q.", clip(ref, MaxNameLen))}
		}
		ids = append(ids, l.ID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out, err := q.CommunitiesByLabels(ctx, db.CommunitiesByLabelsParams{LabelIds: ids, MatchAll: matchAll})
	if err != nil {
		return nil, fmt.Errorf("communities by labels: %w", err)
	}
	return out, nil
}

func names(ls []Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return out
}
