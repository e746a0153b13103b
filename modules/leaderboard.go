package modules

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/waddle/waddle/router"
)

// Leaderboard shows the community's top 10.
type Leaderboard struct{}

// Declaration describes !leaderboard.
func (Leaderboard) Declaration() router.Declaration {
	return router.Declaration{Name: "leaderboard", Usage: "the top 10", Permission: router.Everyone,
		Uses: []router.Service{router.ServicePoints}}
}

// Run answers with the top 10, as text and as an embed.
func (Leaderboard) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	top, err := c.Points().Leaderboard(ctx, 10)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 {
		return router.Reply("Nobody has points yet."), nil
	}
	parts := make([]string, len(top))
	fields := make([]router.EmbedField, len(top))
	for i, s := range top {
		parts[i] = fmt.Sprintf("%d. %s (%d)", i+1, s.Name, s.Points)
		fields[i] = router.EmbedField{Name: fmt.Sprintf("%d. %s", i+1, s.Name), Value: strconv.FormatInt(s.Points, 10)}
	}
	return []router.Response{{Reply: "Top 10: " + strings.Join(parts, ", "), Embed: &router.Embed{Title: "Leaderboard", Fields: fields}}}, nil
}
