package modules

import (
	"context"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Commands adds, edits, deletes and shows the community's commands from chat.
type Commands struct{}

// Declaration describes !commands.
func (Commands) Declaration() router.Declaration {
	return router.Declaration{Name: "commands", Usage: "add|edit|del|show <name> [response]", Permission: router.Moderator,
		Uses: []router.Service{router.ServiceCommands}, Capabilities: []string{"chat"}}
}

// Run does what the first argument says.
func (Commands) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	args, prefix, svc := c.Inv.Args, c.Prefix(), c.Commands()
	usage := problem.New(problem.Invalid, "usage: %scommands add|edit|del|show <name> [response]", prefix)
	if len(args) < 2 {
		return nil, usage
	}
	sub, name := strings.ToLower(args[0]), strings.ToLower(strings.TrimPrefix(args[1], prefix))
	response := strings.TrimSpace(strings.Join(args[2:], " "))
	switch sub {
	case "add":
		in := router.CommandInput{Name: name, Response: response, Permission: router.Everyone, Enabled: true}
		if c.DryRun() {
			if err := svc.Validate(&in); err != nil {
				return nil, err
			}
			c.Changed("command %s%s would be added", prefix, in.Name)
			return router.Reply("Command %s%s added.", prefix, in.Name), nil
		}
		cmd, err := svc.Create(ctx, in)
		if err != nil {
			return nil, err
		}
		c.Changed("command %s%s added", prefix, cmd.Name)
		return router.Reply("Command %s%s added.", prefix, cmd.Name), nil
	case "edit":
		cmd, err := svc.ByName(ctx, name)
		if err != nil {
			return nil, err
		}
		in := router.CommandInput{Name: cmd.Name, Response: response, Modules: cmd.Modules, Parallel: cmd.Parallel, Permission: cmd.Permission,
			UserCooldown: int(cmd.UserCooldown.Seconds()), GlobalCooldown: int(cmd.GlobalCooldown.Seconds()), Enabled: cmd.Enabled, Platforms: cmd.Platforms}
		if err := svc.Validate(&in); err != nil {
			return nil, err
		}
		if !c.DryRun() {
			if _, err := svc.Update(ctx, cmd.ID, in); err != nil {
				return nil, err
			}
		}
		c.Changed("command %s%s edited", prefix, cmd.Name)
		return router.Reply("Command %s%s edited.", prefix, cmd.Name), nil
	case "del", "delete", "remove":
		cmd, err := svc.ByName(ctx, name)
		if err != nil {
			return nil, err
		}
		if !c.DryRun() {
			if err := svc.Delete(ctx, cmd.ID); err != nil {
				return nil, err
			}
		}
		c.Changed("command %s%s deleted", prefix, cmd.Name)
		return router.Reply("Command %s%s deleted.", prefix, cmd.Name), nil
	case "show":
		cmd, err := svc.ByName(ctx, name)
		if err != nil {
			return nil, err
		}
		return router.Reply("%s%s (%s): %s", prefix, cmd.Name, cmd.Permission, cmd.Response), nil
	}
	return nil, usage
}
