package modules

import (
	"context"

	"github.com/waddle/waddle/router"
)

// Points tells the user their points.
type Points struct{}

// Declaration describes !points.
func (Points) Declaration() router.Declaration {
	return router.Declaration{Name: "points", Usage: "your points", Permission: router.Everyone,
		Uses: []router.Service{router.ServicePoints}, Capabilities: []string{"chat", "points:read"}}
}

// Run answers with the user's balance.
func (Points) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	n, err := c.Points().Balance(ctx)
	if err != nil {
		return nil, err
	}
	return router.Reply("@%s you have %d points.", c.Event().User.Shown(), n), nil
}
