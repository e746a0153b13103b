package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
)

// Viewer tracking: while a community's Twitch channel is live, the viewers
// present in its chat earn points for each period they are seen in
// (ViewerTracking.Every), and their watch time grows by the period. The bot
// that holds the channel's lease looks at the chat once per period and
// hands what it saw to AwardWatch.

// WatchChannel is a linked server whose community tracks viewers.
type WatchChannel struct {
	CommunityID int64
	Server      string
	Every       time.Duration // the period one look at the chat stands for
	Points      int64         // what each viewer earns per period
}

// WatchChannels returns the servers among servers whose community has
// viewer tracking on.
func (r *Router) WatchChannels(ctx context.Context, platform string, servers []string) ([]WatchChannel, error) {
	if len(servers) == 0 {
		return nil, nil
	}
	rows, err := db.New(r.pool).ViewerTrackingByServers(ctx, db.ViewerTrackingByServersParams{Platform: platform, Servers: servers})
	if err != nil {
		return nil, fmt.Errorf("list the %s servers that track viewers: %w", platform, err)
	}
	out := make([]WatchChannel, 0, len(rows))
	for _, row := range rows {
		out = append(out, WatchChannel{CommunityID: row.CommunityID, Server: row.Server,
			Every: time.Duration(row.IntervalMinutes) * time.Minute, Points: int64(row.Points)})
	}
	return out, nil
}

// WatchPeriod is the period of length every that t falls in. Periods are
// aligned on the clock, so every instance names the same one.
func WatchPeriod(t time.Time, every time.Duration) (start, end time.Time) {
	start = t.UTC().Truncate(every)
	return start, start.Add(every)
}

// WatchTick is what one look at a server's chat saw.
type WatchTick struct {
	CommunityID int64
	Platform    string
	Server      string
	// Lease and Holder name the server's lease and this instance: the tick is
	// written only while Holder holds Lease, and no other instance can take
	// the lease over until it is written.
	Lease, Holder string
	Start         time.Time     // the period's start (WatchPeriod)
	Every         time.Duration // its length, the community's setting
	Viewers       []User        // who was in chat
}

// WatchAward is what AwardWatch did.
type WatchAward struct {
	Awarded bool  // false: the period was awarded before, or tracking is off or changed
	Viewers int   // the viewers who earned watch time
	Points  int64 // what each earned
}

// ErrLeaseLost refuses a tick from an instance that no longer holds the
// server's lease.
var ErrLeaseLost = errors.New("this instance no longer holds the channel's lease")

// MaxWatchViewers bounds the viewers of one tick.
const MaxWatchViewers = 200_000

// AwardWatch gives each viewer of t the period's points and watch time, in
// one transaction, once per period of a server: a tick tried again (after a
// crash, or by the instance that took the lease over) awards nothing. Each
// viewer becomes a known user of the community, as a chat message makes
// them. A viewer whose balance is at its limit gets the watch time alone.
func (r *Router) AwardWatch(ctx context.Context, t WatchTick) (WatchAward, error) {
	if t.Every < MinWatchEvery || t.Every > MaxWatchEvery || t.Every%time.Minute != 0 {
		return WatchAward{}, problem.New(problem.Invalid, "A watch period is 1 to 60 whole minutes, not %s.", t.Every)
	}
	if len(t.Viewers) > MaxWatchViewers {
		return WatchAward{}, problem.New(problem.Invalid, "A tick has at most %d viewers, not %d.", MaxWatchViewers, len(t.Viewers))
	}
	ids, names := watchViewers(t.Viewers)
	start := t.Start.UTC()
	minutes := int32(t.Every / time.Minute)
	var award WatchAward
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := db.CustomPlans(ctx, tx); err != nil {
			return err
		}
		q := db.New(tx)
		if _, err := q.LeaseHeldForShare(ctx, db.LeaseHeldForShareParams{Name: t.Lease, Holder: t.Holder}); errors.Is(err, pgx.ErrNoRows) {
			return ErrLeaseLost
		} else if err != nil {
			return fmt.Errorf("check the lease: %w", err)
		}
		points, err := q.WatchTickClaim(ctx, db.WatchTickClaimParams{StartsAt: start, EndsAt: start.Add(t.Every), Viewers: int32(len(ids)),
			Platform: t.Platform, Server: t.Server, CommunityID: t.CommunityID, IntervalMinutes: minutes})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // awarded before, or tracking is off or changed
		}
		if err != nil {
			return fmt.Errorf("claim the period: %w", err)
		}
		award = WatchAward{Awarded: true, Viewers: len(ids), Points: int64(points)}
		if err := q.WatchTicksPrune(ctx, db.WatchTicksPruneParams{CommunityID: t.CommunityID, Platform: t.Platform, Server: t.Server, Before: start.Add(-24 * time.Hour)}); err != nil {
			return fmt.Errorf("prune old periods: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if err := q.WatchAccountsLock(ctx, db.WatchAccountsLockParams{Platform: t.Platform, UserIds: ids, UserNames: names}); err != nil {
			return fmt.Errorf("lock the viewers' accounts: %w", err)
		}
		if err := q.WatchTimeAddMany(ctx, db.WatchTimeAddManyParams{CommunityID: t.CommunityID, Platform: t.Platform,
			UserIds: ids, Seconds: int64(t.Every / time.Second)}); err != nil {
			return fmt.Errorf("add watch time: %w", err)
		}
		if _, err := q.WatchPointsAddMany(ctx, db.WatchPointsAddManyParams{CommunityID: t.CommunityID, Platform: t.Platform,
			UserIds: ids, Delta: int64(points), Reason: fmt.Sprintf("watch time (%d min)", minutes)}); err != nil {
			return fmt.Errorf("add points: %w", err)
		}
		return nil
	})
	if err != nil {
		return WatchAward{}, fmt.Errorf("award watch time in %s %s: %w", t.Platform, t.Server, err)
	}
	return award, nil
}

// watchViewers returns the viewers' ids and shown names, each viewer once.
func watchViewers(users []User) (ids, names []string) {
	seen := make(map[string]bool, len(users))
	ids, names = make([]string, 0, len(users)), make([]string, 0, len(users))
	for _, u := range users {
		if u.ID == "" || len(u.ID) > 100 || seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		ids = append(ids, u.ID)
		names = append(names, runes.Truncate(u.Shown(), 100, ""))
	}
	return ids, names
}

// WatchTimeText shows a watch time in hours and minutes: "3h 05m", "45m".
func WatchTimeText(d time.Duration) string {
	m := int64(d / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh %02dm", m/60, m%60)
}

// Ranking orders a leaderboard.
type Ranking string

// Rankings of a leaderboard.
const (
	ByPoints    Ranking = "points"
	ByWatchTime Ranking = "watch_time"
)

func watchLeaderboard(ctx context.Context, q *db.Queries, communityID int64, n int) ([]Standing, error) {
	rows, err := q.WatchTimeLeaderboard(ctx, db.WatchTimeLeaderboardParams{CommunityID: communityID, Limit: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("leaderboard by watch time: %w", err)
	}
	out := make([]Standing, 0, len(rows))
	for _, r := range rows {
		out = append(out, Standing{Platform: r.Platform, UserID: r.UserID, Name: r.UserName, Points: r.Balance,
			Watched: time.Duration(r.Seconds) * time.Second})
	}
	return out, nil
}

// rankedLeaderboard is the top n of a community by points or watch time.
func rankedLeaderboard(ctx context.Context, q *db.Queries, communityID int64, by Ranking, n int) ([]Standing, error) {
	switch by {
	case ByPoints, "":
		return leaderboard(ctx, q, communityID, n)
	case ByWatchTime:
		return watchLeaderboard(ctx, q, communityID, n)
	}
	return nil, problem.Invalidf("by", "A leaderboard ranks by points or by watch time, not %q.", runes.Truncate(string(by), 20, "…"))
}
