package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// ViewerTracking is a community's viewer tracking: when Enabled, while its
// Twitch channel is live, each viewer present in chat earns Points every
// Every, and their watch time grows by Every.
type ViewerTracking struct {
	Enabled bool
	Every   time.Duration
	Points  int64
}

// Bounds of ViewerTracking.
const (
	MinWatchEvery  = time.Minute
	MaxWatchEvery  = time.Hour
	MinWatchPoints = 1
	MaxWatchPoints = 1000
)

// DefaultViewerTracking is off, at 1 point per 5 minutes.
var DefaultViewerTracking = ViewerTracking{Every: 5 * time.Minute, Points: 1}

// Validate names the field that is out of bounds.
func (v ViewerTracking) Validate() error {
	if v.Every < MinWatchEvery || v.Every > MaxWatchEvery || v.Every%time.Minute != 0 {
		return problem.Invalidf("every", "Viewers earn points every 1 to 60 whole minutes.")
	}
	if v.Points < MinWatchPoints || v.Points > MaxWatchPoints {
		return problem.Invalidf("points", "Viewers earn 1 to %d points at a time.", MaxWatchPoints)
	}
	return nil
}

type viewerTrackingState struct {
	Enabled      bool  `json:"enabled"`
	EveryMinutes int64 `json:"every_minutes"`
	Points       int64 `json:"points"`
}

func (v ViewerTracking) state() viewerTrackingState {
	return viewerTrackingState{Enabled: v.Enabled, EveryMinutes: int64(v.Every / time.Minute), Points: v.Points}
}

func toViewerTracking(row db.ViewerTracking) ViewerTracking {
	return ViewerTracking{Enabled: row.Enabled, Every: time.Duration(row.IntervalMinutes) * time.Minute, Points: int64(row.Points)}
}

// ViewerTracking returns a community's viewer tracking setting.
func (st *Settings) ViewerTracking(ctx context.Context, communityID int64) (ViewerTracking, error) {
	row, err := db.New(st.pool).ViewerTrackingGet(ctx, communityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultViewerTracking, nil
	}
	if err != nil {
		return ViewerTracking{}, fmt.Errorf("load viewer tracking: %w", err)
	}
	return toViewerTracking(row), nil
}

// SetViewerTracking changes a community's viewer tracking, recording who did
// it in the audit log in the same transaction.
func (st *Settings) SetViewerTracking(ctx context.Context, by audit.Actor, communityID int64, v ViewerTracking) error {
	if err := v.Validate(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		// The community's row serializes two changes at once, also the first.
		if _, err := q.CommunityPrefixForUpdate(ctx, communityID); errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "No such community.")
		} else if err != nil {
			return err
		}
		old := DefaultViewerTracking
		row, err := q.ViewerTrackingForUpdate(ctx, communityID)
		switch {
		case err == nil:
			old = toViewerTracking(row)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if old == v {
			return nil // saved unchanged: nothing to change or record
		}
		if err := q.ViewerTrackingSet(ctx, db.ViewerTrackingSetParams{CommunityID: communityID, Enabled: v.Enabled,
			IntervalMinutes: int32(v.Every / time.Minute), Points: int32(v.Points)}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ViewerTrackingChanged, Target: "viewer tracking",
			Before: old.state(), After: v.state()})
	})
	if err != nil {
		return fmt.Errorf("set viewer tracking: %w", err)
	}
	return nil
}
