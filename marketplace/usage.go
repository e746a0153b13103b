package marketplace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// UsageDays is how many days of usage the analytics show, today included.
const UsageDays = 30

var (
	errUsageNotAllowed = problem.New(problem.Forbidden, "Only the module's author and global admins may see its usage.")
	// ErrNotInstalled is a module the community has not installed.
	ErrNotInstalled = problem.New(problem.NotFound, "This module is not installed in the community.")
)

// UsageFigures are the figures of one day, or of all UsageDays.
type UsageFigures struct {
	Runs        int64   `json:"runs"`    // executions that reached the module
	Errors      int64   `json:"errors"`  // of them, failed
	Refused     int64   `json:"refused"` // executions with a part refused for want of a capability
	P50Ms       float64 `json:"p50_ms"`
	P95Ms       float64 `json:"p95_ms"`
	Communities int64   `json:"active_communities"`
}

// UsageDay is one UTC day's figures.
type UsageDay struct {
	Day time.Time `json:"day"` // midnight UTC
	UsageFigures
}

// Usage is a module's (or one version's) usage per day for UsageDays days,
// oldest first, every day present (zero when nothing ran), and the totals.
type Usage struct {
	ModuleID    int64        `json:"module_id"`
	Version     string       `json:"version,omitempty"`      // "": every version
	CommunityID int64        `json:"community_id,omitempty"` // 0: every community
	Versions    []string     `json:"versions"`               // the module's versions, for a selector
	Days        []UsageDay   `json:"days"`
	Total       UsageFigures `json:"total"`
}

// Usage returns the usage of the module's version ("" for every version),
// from the router's execution log. It checks no permission: see ModuleUsage.
func (s *Service) Usage(ctx context.Context, moduleID int64, version string) (Usage, error) {
	q := db.New(s.read)
	u, ids, err := s.usageVersions(ctx, q, moduleID, version)
	if err != nil {
		return Usage{}, err
	}
	since := s.usageSince()
	rows, err := q.MarketplaceUsageDaily(ctx, db.MarketplaceUsageDailyParams{VersionIds: ids, Since: since})
	if err != nil {
		return Usage{}, fmt.Errorf("usage of module %d: %w", moduleID, err)
	}
	u.fill(since, rows)
	return u, nil
}

// ModuleUsage is Usage for the module slug, for its author and global
// admins (admin: the caller's global admin power as the request carries it).
func (s *Service) ModuleUsage(ctx context.Context, userID int64, admin bool, slug, version string) (Usage, error) {
	m, err := s.reviewModule(ctx, db.New(s.read), slug)
	if err != nil {
		return Usage{}, err
	}
	if !admin && (m.authorID == 0 || m.authorID != userID) {
		return Usage{}, errUsageNotAllowed
	}
	return s.Usage(ctx, m.id, version)
}

// MayViewUsage reports whether the user sees the module's usage: its author
// or a global admin.
func (s *Service) MayViewUsage(ctx context.Context, userID int64, admin bool, slug string) (bool, error) {
	if admin {
		return true, nil
	}
	m, err := s.reviewModule(ctx, db.New(s.read), slug)
	if err != nil {
		return false, err
	}
	return m.authorID != 0 && m.authorID == userID, nil
}

// CommunityUsage is the usage of a module installed in a community, counting
// that community's executions only, for its admins. The caller checks the
// viewer's role; the community is filtered in SQL.
func (s *Service) CommunityUsage(ctx context.Context, communityID, moduleID int64) (Usage, error) {
	q := db.New(s.read)
	if _, err := q.MarketplaceUsageInstall(ctx, db.MarketplaceUsageInstallParams{CommunityID: communityID, ModuleID: moduleID}); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Usage{}, ErrNotInstalled
		}
		return Usage{}, fmt.Errorf("load install of module %d in %d: %w", moduleID, communityID, err)
	}
	u, ids, err := s.usageVersions(ctx, q, moduleID, "")
	if err != nil {
		return Usage{}, err
	}
	u.CommunityID = communityID
	since := s.usageSince()
	rows, err := q.MarketplaceUsageDailyInCommunity(ctx, db.MarketplaceUsageDailyInCommunityParams{CommunityID: communityID, VersionIds: ids, Since: since})
	if err != nil {
		return Usage{}, fmt.Errorf("usage of module %d in %d: %w", moduleID, communityID, err)
	}
	u.fill(since, toDailyRows(rows))
	return u, nil
}

// CommunityUsageBySlug is CommunityUsage for the module slug.
func (s *Service) CommunityUsageBySlug(ctx context.Context, communityID int64, slug string) (Usage, error) {
	m, err := s.reviewModule(ctx, db.New(s.read), slug)
	if err != nil {
		return Usage{}, err
	}
	return s.CommunityUsage(ctx, communityID, m.id)
}

// usageVersions lists the module's versions (all, or the one named) and
// their ids. An unknown version is not found.
func (s *Service) usageVersions(ctx context.Context, q *db.Queries, moduleID int64, version string) (Usage, []int64, error) {
	all, err := q.MarketplaceUsageVersions(ctx, db.MarketplaceUsageVersionsParams{ModuleID: moduleID, Version: ""})
	if err != nil {
		return Usage{}, nil, fmt.Errorf("versions of module %d: %w", moduleID, err)
	}
	u := Usage{ModuleID: moduleID, Version: version, Versions: make([]string, 0, len(all))}
	var ids []int64
	for _, v := range all {
		u.Versions = append(u.Versions, v.Version)
		if version == "" || v.Version == version {
			ids = append(ids, v.ID)
		}
	}
	if version != "" && len(ids) == 0 {
		return Usage{}, nil, problem.New(problem.NotFound, "The module has no version %q.", version)
	}
	if ids == nil {
		ids = []int64{}
	}
	return u, ids, nil
}

// usageSince is midnight UTC UsageDays-1 days ago.
func (s *Service) usageSince() time.Time {
	today := s.now().UTC().Truncate(24 * time.Hour)
	return today.AddDate(0, 0, -(UsageDays - 1))
}

// fill lays the rows out over every day from since, zero where none ran.
func (u *Usage) fill(since time.Time, rows []db.MarketplaceUsageDailyRow) {
	byDay := make(map[time.Time]UsageFigures, len(rows))
	for _, r := range rows {
		f := UsageFigures{Runs: r.Runs, Errors: r.Errors, Refused: r.Refused, Communities: r.Communities}
		if len(r.LatencyUs) == 2 { // whole microseconds, in milliseconds
			f.P50Ms, f.P95Ms = math.Round(r.LatencyUs[0])/1000, math.Round(r.LatencyUs[1])/1000
		}
		if r.IsTotal {
			u.Total = f
			continue
		}
		byDay[r.Day.Time.UTC()] = f
	}
	u.Days = make([]UsageDay, UsageDays)
	for i := range u.Days {
		d := since.AddDate(0, 0, i)
		u.Days[i] = UsageDay{Day: d, UsageFigures: byDay[d]}
	}
}

func toDailyRows(rows []db.MarketplaceUsageDailyInCommunityRow) []db.MarketplaceUsageDailyRow {
	out := make([]db.MarketplaceUsageDailyRow, len(rows))
	for i, r := range rows {
		out[i] = db.MarketplaceUsageDailyRow(r)
	}
	return out
}
