package modules

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Leaderboard shows the community's top 10 by points, or by watch time.
type Leaderboard struct{}

// Declaration describes !leaderboard.
func (Leaderboard) Declaration() router.Declaration {
	return router.Declaration{Name: "leaderboard", Usage: "[time]: the top 10 by points, or by watch time", Permission: router.Everyone,
		Uses: []router.Service{router.ServicePoints}, Capabilities: []string{"chat", "points:read"}}
}

// Run answers with the top 10, as text and as an embed.
func (Leaderboard) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	by := router.ByPoints
	if len(c.Inv.Args) > 0 {
		switch strings.ToLower(c.Inv.Args[0]) {
		case "time", "watch", "watchtime":
			by = router.ByWatchTime
		case "points":
		default:
			return nil, problem.New(problem.Invalid, "usage: %sleaderboard [time]", c.Prefix())
		}
	}
	top, err := c.Points().LeaderboardBy(ctx, by, 10)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 {
		if by == router.ByWatchTime {
			return router.Reply("Nobody has watch time yet."), nil
		}
		return router.Reply("Nobody has points yet."), nil
	}
	parts := make([]string, len(top))
	fields := make([]router.EmbedField, len(top))
	title := "Leaderboard"
	for i, s := range top {
		value := strconv.FormatInt(s.Points, 10)
		if by == router.ByWatchTime {
			value = router.WatchTimeText(s.Watched)
		}
		parts[i] = fmt.Sprintf("%d. %s (%s)", i+1, s.Name, value)
		fields[i] = router.EmbedField{Name: fmt.Sprintf("%d. %s", i+1, s.Name), Value: value}
	}
	lead := "Top 10: "
	if by == router.ByWatchTime {
		lead, title = "Top 10 by watch time: ", "Leaderboard by watch time"
	}
	return []router.Response{{Reply: lead + strings.Join(parts, ", "), Embed: &router.Embed{Title: title, Fields: fields}}}, nil
}
