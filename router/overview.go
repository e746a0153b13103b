package router

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waddle/waddle/db"
)

// Setup is what a community has set up, for its getting-started checklist.
type Setup struct {
	Links          map[string]int64 // linked servers by platform
	TwitchBotToken bool             // the instance's Twitch bot account is connected and needs no reconnect
	SlackTokens    int64            // linked Slack workspaces whose bot token is stored and valid
	Commands       int64
	Simulated      bool // a command ran for real from the hub's simulator
	Overlays       int64
}

// Hours counts something per hour of the week before a moment: [0] is the
// last hour, [167] the hour that began seven days earlier.
type Hours [7 * 24]int64

// Day is the total of the last 24 hours.
func (h *Hours) Day() int64 { return sum(h[:24]) }

// Week is the total of the seven days.
func (h *Hours) Week() int64 { return sum(h[:]) }

// Days are the totals of each 24 hours, [0] the last.
func (h *Hours) Days() [7]int64 {
	var d [7]int64
	for i := range d {
		d[i] = sum(h[i*24 : (i+1)*24])
	}
	return d
}

func sum(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}

// CommandUse is how often a command ran in the last day and week.
type CommandUse struct {
	Command   string
	Day, Week int64
}

// Activity is a community's week before a moment.
type Activity struct {
	Runs     Hours             // commands run
	Events   map[string]*Hours // events that earned points, by kind (a Kind, or another module's reason)
	Points   Hours             // points given (positive changes), by events and by hand
	Commands []CommandUse      // most run in the week first
}

// Setup reads what a community has set up. It reads the primary, so a step
// just done shows at once.
func (st *Settings) Setup(ctx context.Context, communityID int64) (Setup, error) {
	q := db.New(st.pool)
	row, err := q.OverviewSetup(ctx, communityID)
	if err != nil {
		return Setup{}, fmt.Errorf("read setup of community %d: %w", communityID, err)
	}
	s := Setup{Links: map[string]int64{Twitch: row.TwitchLinks, Discord: row.DiscordLinks, Slack: row.SlackLinks},
		TwitchBotToken: row.TwitchBotToken, SlackTokens: row.SlackTokens, Commands: row.Commands, Overlays: row.Overlays}
	if s.Commands > 0 { // no command, nothing to try: skip the scan of the log
		if s.Simulated, err = q.OverviewSimulated(ctx, communityID); err != nil {
			return Setup{}, fmt.Errorf("read simulator use of community %d: %w", communityID, err)
		}
	}
	return s, nil
}

// Activity reads a community's activity in the week before now.
func (st *Settings) Activity(ctx context.Context, communityID int64, now time.Time) (Activity, error) {
	q := db.New(st.read)
	a := Activity{Events: map[string]*Hours{}}
	runs, err := q.OverviewRuns(ctx, db.OverviewRunsParams{Now: now, CommunityID: communityID})
	if err != nil {
		return a, fmt.Errorf("count runs of community %d: %w", communityID, err)
	}
	for _, r := range runs {
		if r.ByCommand {
			a.Commands = append(a.Commands, CommandUse{Command: r.Command, Day: r.DayRuns, Week: r.Runs})
		} else if i, ok := hoursAgo(now, r.Bucket); ok {
			a.Runs[i] += r.Runs
		}
	}
	slices.SortFunc(a.Commands, func(x, y CommandUse) int {
		if x.Week != y.Week {
			return cmp.Compare(y.Week, x.Week)
		}
		return strings.Compare(x.Command, y.Command)
	})
	pts, err := q.OverviewPointsByHour(ctx, db.OverviewPointsByHourParams{Now: now, CommunityID: communityID})
	if err != nil {
		return a, fmt.Errorf("count points of community %d: %w", communityID, err)
	}
	for _, p := range pts {
		i, ok := hoursAgo(now, p.Bucket)
		if !ok {
			continue
		}
		a.Points[i] += p.Given
		if p.Kind == "" { // given by hand, not earned by an event
			continue
		}
		h := a.Events[p.Kind]
		if h == nil {
			h = new(Hours)
			a.Events[p.Kind] = h
		}
		h[i] += p.Events
	}
	return a, nil
}

// hoursAgo is the index in Hours of the hour that begins at bucket, an
// hour counted back from now (a moment exactly at now is in the last hour).
func hoursAgo(now, bucket time.Time) (int, bool) {
	i := int(now.Sub(bucket)/time.Hour) - 1
	if i < 0 {
		i = 0
	}
	return i, i < len(Hours{})
}

// EventKinds are the kinds in a's events, the most frequent in the week first.
func (a Activity) EventKinds() []string {
	kinds := make([]string, 0, len(a.Events))
	for k := range a.Events {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(x, y string) int {
		if d := a.Events[y].Week() - a.Events[x].Week(); d != 0 {
			if d > 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(x, y)
	})
	return kinds
}
