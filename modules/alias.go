package modules

import (
	"context"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Alias adds and deletes other names of the community's commands.
type Alias struct{}

// Declaration describes !alias.
func (Alias) Declaration() router.Declaration {
	return router.Declaration{Name: "alias", Usage: "add|del <alias> [command]", Permission: router.Moderator,
		Uses: []router.Service{router.ServiceCommands}, Capabilities: []string{"chat"}}
}

// Run adds or deletes an alias.
func (Alias) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args, prefix := c.Inv.Args, c.Prefix()
	usage := problem.New(problem.Invalid, "usage: %salias add <alias> <command> | %salias del <alias>", prefix, prefix)
	if len(args) < 2 {
		return nil, usage
	}
	alias := strings.ToLower(args[1])
	switch strings.ToLower(args[0]) {
	case "add":
		if len(args) < 3 {
			return nil, usage
		}
		if !c.DryRun() {
			if err := c.Commands().AddAlias(ctx, args[1], args[2]); err != nil {
				return nil, err
			}
		}
		command := strings.ToLower(args[2])
		c.Changed("alias %s%s → %s%s", prefix, alias, prefix, command)
		return router.Reply("%s%s now also runs %s%s.", prefix, alias, prefix, command), nil
	case "del", "delete", "remove":
		if !c.DryRun() {
			if err := c.Commands().DeleteAlias(ctx, args[1]); err != nil {
				return nil, err
			}
		}
		c.Changed("alias %s%s removed", prefix, alias)
		return router.Reply("Alias %s%s removed.", prefix, alias), nil
	}
	return nil, usage
}
