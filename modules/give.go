package modules

import (
	"context"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Give gives (or takes) points to a user the community has seen.
type Give struct{}

// Declaration describes !give.
func (Give) Declaration() router.Declaration {
	return router.Declaration{Name: "give", Usage: "<user> <points>", Permission: router.Moderator,
		Uses: []router.Service{router.ServicePoints}, Capabilities: []string{"chat", "points:write"}}
}

// Run gives the points.
func (Give) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args := c.Inv.Args
	if len(args) < 2 {
		return nil, problem.New(problem.Invalid, "usage: %sgive <user> <points>", c.Prefix())
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || n == 0 || n > 1_000_000 || n < -1_000_000 {
		return nil, problem.New(problem.Invalid, "%q is not a number of points between -1000000 and 1000000.", args[1])
	}
	who, err := c.Points().FindUser(ctx, strings.TrimPrefix(args[0], "@"))
	if err != nil {
		return nil, err
	}
	reason := "given by " + c.Event().User.Shown()
	change := router.PointsChange{User: who.Name, Delta: n, Reason: reason}.Change()
	if c.DryRun() {
		c.Changed("%s", change)
		return router.Reply("%s gets %d points.", who.Name, n), nil
	}
	bal, err := c.Points().Give(ctx, who, n, reason)
	if err != nil {
		return nil, err
	}
	c.Changed("%s", change)
	return router.Reply("%s gets %d points and now has %d.", who.Name, n, bal), nil
}
