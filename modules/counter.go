package modules

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Counter shows or sets a command's {count}, or a named counter
// ({counter:NAME}). A command of that name comes first: a named counter
// that shares its name with a command is set from the hub.
type Counter struct{}

// Declaration describes !counter.
func (Counter) Declaration() router.Declaration {
	return router.Declaration{Name: "counter", Usage: "<command|counter> [set <n>]: show or set a command's {count} or a named {counter:NAME}", Permission: router.Moderator,
		Uses: []router.Service{router.ServiceCounters}, Capabilities: []string{"chat"}}
}

// Run shows the counter, or sets it.
func (Counter) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args, prefix := c.Inv.Args, c.Prefix()
	if len(args) < 1 {
		return nil, problem.New(problem.Invalid, "usage: %scounter <command|counter> [set <n>]", prefix)
	}
	set := len(args) >= 3 && strings.EqualFold(args[1], "set")
	cmd, err := c.Counters().Of(ctx, args[0])
	if errors.Is(err, router.ErrCommandNotFound) {
		return namedCounter(ctx, c, args, set)
	}
	if err != nil {
		return nil, err
	}
	if set {
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

// namedCounter shows or sets the named counter args[0], when no command has that name.
func namedCounter(ctx context.Context, c *router.Call, args []string, set bool) ([]router.Response, error) {
	if _, err := router.CounterName(args[0]); err != nil {
		return nil, problem.New(problem.NotFound, "There is no command %q, and a counter name has 1 to 32 letters, digits or underscores.", args[0])
	}
	cur, err := c.Counters().Named(ctx, args[0])
	if err != nil {
		return nil, err
	}
	if !set {
		return router.Reply("The counter %s is %d.", cur.Name, cur.Value), nil
	}
	n, err := strconv.ParseInt(args[2], 10, 64)
	if err != nil || n < -router.MaxCounter || n > router.MaxCounter {
		return nil, problem.New(problem.Invalid, "%q is not a whole number between %d and %d.", args[2], -router.MaxCounter, router.MaxCounter)
	}
	if !c.DryRun() {
		if err := c.Counters().SetNamed(ctx, cur.Name, n); err != nil {
			return nil, err
		}
	}
	c.Changed("counter %s %d → %d", cur.Name, cur.Value, n)
	return router.Reply("The counter %s is now %d.", cur.Name, n), nil
}
