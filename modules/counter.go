package modules

import (
	"context"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Counter shows or sets a command's {count}.
type Counter struct{}

// Declaration describes !counter.
func (Counter) Declaration() router.Declaration {
	return router.Declaration{Name: "counter", Usage: "<command> [set <n>]: show or set a command's {count}", Permission: router.Moderator,
		Uses: []router.Service{router.ServiceCounters}, Capabilities: []string{"chat"}}
}

// Run shows the counter, or sets it.
func (Counter) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args, prefix := c.Inv.Args, c.Prefix()
	if len(args) < 1 {
		return nil, problem.New(problem.Invalid, "usage: %scounter <command> [set <n>]", prefix)
	}
	cmd, err := c.Counters().Of(ctx, args[0])
	if err != nil {
		return nil, err
	}
	if len(args) >= 3 && strings.EqualFold(args[1], "set") {
		n, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil || n < 0 {
			return nil, problem.New(problem.Invalid, "%q is not a whole number of 0 or more.", args[2])
		}
		if !c.DryRun() {
			if err := c.Counters().Set(ctx, cmd.ID, n); err != nil {
				return nil, err
			}
		}
		c.Changed("counter of %s%s %d → %d", prefix, cmd.Name, cmd.Counter, n)
		return router.Reply("The counter of %s%s is now %d.", prefix, cmd.Name, n), nil
	}
	return router.Reply("The counter of %s%s is %d.", prefix, cmd.Name, cmd.Counter), nil
}
