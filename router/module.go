package router

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/problem"
)

// Module is the local executor: a built-in module that runs in the process.
type Module interface {
	Run(ctx context.Context, c *Call) ([]Response, error)
}

// ModuleFunc adapts a function to Module.
type ModuleFunc func(ctx context.Context, c *Call) ([]Response, error)

// Run calls f.
func (f ModuleFunc) Run(ctx context.Context, c *Call) ([]Response, error) { return f(ctx, c) }

// Call is one module run: the event, the command and its arguments, and what
// the previous module in the command's sequence answered.
type Call struct {
	h        *handling
	Command  *Command
	Inv      Invocation
	Previous []Response
}

// Event is the event being handled.
func (c *Call) Event() Event { return c.h.ev }

// CommunityID is the community the event belongs to.
func (c *Call) CommunityID() int64 { return c.h.s.communityID }

// DryRun reports whether nothing may be stored.
func (c *Call) DryRun() bool { return c.h.dry }

// Changed records a change made (or, in a dry run, that would be made).
func (c *Call) Changed(format string, args ...any) { c.h.changed(format, args...) }

// actor is whom a change made from chat is recorded as in the audit log: the
// chat user, or the hub user who ran the event in the simulator.
func (c *Call) actor() audit.Actor {
	ev := c.h.ev
	who := fmt.Sprintf("%s user %s (id %s)", ev.Platform, ev.User.Shown(), ev.User.ID)
	if c.h.by != nil {
		a := *c.h.by
		a.Name = "simulator, as " + who
		return a
	}
	return audit.Actor{Name: who}
}

// Reply is a plain chat reply.
func Reply(format string, args ...any) []Response {
	return []Response{{Reply: fmt.Sprintf(format, args...)}}
}

// requireLevel refuses users below perm.
func (c *Call) requireLevel(perm string) error {
	if !allowed(c.h.ev.User, perm) {
		return problem.New(problem.Forbidden, "only a %s or above may do that.", perm)
	}
	return nil
}

// builtin describes a built-in command.
type builtin struct {
	perm   string
	usage  string
	module Module
}

// builtins and builtinCommands are set in init: the help module refers to them.
var (
	builtins        map[string]builtin
	builtinCommands map[string]*Command
)

func init() {
	builtins = map[string]builtin{
		"help":        {Everyone, "lists the commands you may use", ModuleFunc(helpModule)},
		"commands":    {Moderator, "add|edit|del|show <name> [response]", ModuleFunc(commandsModule)},
		"alias":       {Moderator, "add|del <alias> [command]", ModuleFunc(aliasModule)},
		"so":          {Moderator, "<user>: a shout-out", ModuleFunc(shoutoutModule)},
		"quote":       {Everyone, "[n] | random | add <text> | del <n>", ModuleFunc(quoteModule)},
		"counter":     {Moderator, "<command> [set <n>]: show or set a command's {count}", ModuleFunc(counterModule)},
		"points":      {Everyone, "your points", ModuleFunc(pointsModule)},
		"leaderboard": {Everyone, "the top 10", ModuleFunc(leaderboardModule)},
		"give":        {Moderator, "<user> <points>", ModuleFunc(giveModule)},
	}
	// Built-in commands are available in every community.
	builtinCommands = map[string]*Command{}
	for name, b := range builtins {
		builtinCommands[name] = &Command{Name: name, Modules: []string{name}, Permission: b.perm, Enabled: true, Platforms: Platforms, Builtin: true}
	}
}

func builtinModules() map[string]Module {
	m := map[string]Module{}
	for name, b := range builtins {
		m[name] = b.module
	}
	return m
}

func helpModule(ctx context.Context, c *Call) ([]Response, error) {
	var names []string
	seen := map[string]bool{}
	for _, cmd := range c.h.s.list {
		if cmd.Enabled && cmd.onPlatform(c.h.ev.Platform) && allowed(c.h.ev.User, cmd.Permission) {
			names = append(names, c.h.s.prefix+cmd.Name)
			seen[cmd.Name] = true
		}
	}
	for _, name := range sortedBuiltins() {
		if !seen[name] && allowed(c.h.ev.User, builtins[name].perm) {
			names = append(names, c.h.s.prefix+name)
		}
	}
	return Reply("Commands you can use here: %s", strings.Join(names, " ")), nil
}

func sortedBuiltins() []string {
	return []string{"help", "points", "leaderboard", "quote", "so", "give", "commands", "alias", "counter"}
}

func commandsModule(ctx context.Context, c *Call) ([]Response, error) {
	args := c.Inv.Args
	usage := problem.New(problem.Invalid, "usage: %scommands add|edit|del|show <name> [response]", c.h.s.prefix)
	if len(args) < 2 {
		return nil, usage
	}
	sub, name := strings.ToLower(args[0]), strings.ToLower(strings.TrimPrefix(args[1], c.h.s.prefix))
	response := strings.TrimSpace(strings.Join(args[2:], " "))
	cid := c.CommunityID()
	switch sub {
	case "add":
		in := CommandInput{Name: name, Response: response, Permission: Everyone, Enabled: true}
		if c.DryRun() {
			if err := in.validate(); err != nil {
				return nil, err
			}
			c.Changed("command %s%s would be added", c.h.s.prefix, in.Name)
			return Reply("Command %s%s added.", c.h.s.prefix, in.Name), nil
		}
		if err := in.validate(); err != nil {
			return nil, err
		}
		tx, err := c.h.begin(ctx)
		if err != nil {
			return nil, err
		}
		cmd, err := createCommand(ctx, tx, c.actor(), cid, in)
		if err != nil {
			return nil, err
		}
		c.h.reconfigured()
		c.Changed("command %s%s added", c.h.s.prefix, cmd.Name)
		return Reply("Command %s%s added.", c.h.s.prefix, cmd.Name), nil
	case "edit":
		cmd, err := commandByName(ctx, c.h.readPrimary(), cid, name)
		if err != nil {
			return nil, err
		}
		in := CommandInput{Name: cmd.Name, Response: response, Modules: cmd.Modules, Parallel: cmd.Parallel, Permission: cmd.Permission, UserCooldown: int(cmd.UserCooldown.Seconds()),
			GlobalCooldown: int(cmd.GlobalCooldown.Seconds()), Enabled: cmd.Enabled, Platforms: cmd.Platforms}
		if err := in.validate(); err != nil {
			return nil, err
		}
		if !c.DryRun() {
			tx, err := c.h.begin(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := updateCommand(ctx, tx, c.actor(), cid, cmd.ID, in); err != nil {
				return nil, err
			}
			c.h.reconfigured()
		}
		c.Changed("command %s%s edited", c.h.s.prefix, cmd.Name)
		return Reply("Command %s%s edited.", c.h.s.prefix, cmd.Name), nil
	case "del", "delete", "remove":
		cmd, err := commandByName(ctx, c.h.readPrimary(), cid, name)
		if err != nil {
			return nil, err
		}
		if !c.DryRun() {
			tx, err := c.h.begin(ctx)
			if err != nil {
				return nil, err
			}
			if err := deleteCommand(ctx, tx, c.actor(), cid, cmd.ID); err != nil {
				return nil, err
			}
			c.h.reconfigured()
		}
		c.Changed("command %s%s deleted", c.h.s.prefix, cmd.Name)
		return Reply("Command %s%s deleted.", c.h.s.prefix, cmd.Name), nil
	case "show":
		cmd, err := commandByName(ctx, c.h.readPrimary(), cid, name)
		if err != nil {
			return nil, err
		}
		return Reply("%s%s (%s): %s", c.h.s.prefix, cmd.Name, cmd.Permission, cmd.Response), nil
	}
	return nil, usage
}

func aliasModule(ctx context.Context, c *Call) ([]Response, error) {
	args := c.Inv.Args
	usage := problem.New(problem.Invalid, "usage: %salias add <alias> <command> | %salias del <alias>", c.h.s.prefix, c.h.s.prefix)
	if len(args) < 2 {
		return nil, usage
	}
	switch strings.ToLower(args[0]) {
	case "add":
		if len(args) < 3 {
			return nil, usage
		}
		if !c.DryRun() {
			tx, err := c.h.begin(ctx)
			if err != nil {
				return nil, err
			}
			if err := addAlias(ctx, tx, c.actor(), c.CommunityID(), args[1], args[2]); err != nil {
				return nil, err
			}
			c.h.reconfigured()
		}
		c.Changed("alias %s%s → %s%s", c.h.s.prefix, strings.ToLower(args[1]), c.h.s.prefix, strings.ToLower(args[2]))
		return Reply("%s%s now also runs %s%s.", c.h.s.prefix, strings.ToLower(args[1]), c.h.s.prefix, strings.ToLower(args[2])), nil
	case "del", "delete", "remove":
		if !c.DryRun() {
			tx, err := c.h.begin(ctx)
			if err != nil {
				return nil, err
			}
			if err := deleteAlias(ctx, tx, c.actor(), c.CommunityID(), args[1]); err != nil {
				return nil, err
			}
			c.h.reconfigured()
		}
		c.Changed("alias %s%s removed", c.h.s.prefix, strings.ToLower(args[1]))
		return Reply("Alias %s%s removed.", c.h.s.prefix, strings.ToLower(args[1])), nil
	}
	return nil, usage
}

// shoutoutTemplates per platform.
var shoutoutTemplates = map[string]string{
	Twitch:  "Go check out @%[1]s at https://twitch.tv/%[2]s — give them a follow!",
	Discord: "Shout-out to %[1]s! 🎉",
	Slack:   "Shout-out to %[1]s! :tada:",
}

func shoutoutModule(ctx context.Context, c *Call) ([]Response, error) {
	if len(c.Inv.Args) < 1 {
		return nil, problem.New(problem.Invalid, "usage: %sso <user>", c.h.s.prefix)
	}
	name := strings.TrimPrefix(c.Inv.Args[0], "@")
	if name == "" || len(name) > 50 {
		return nil, problem.New(problem.Invalid, "usage: %sso <user>", c.h.s.prefix)
	}
	login := strings.ToLower(name)
	return []Response{{
		Reply:   fmt.Sprintf(shoutoutTemplates[c.h.ev.Platform], name, login),
		Overlay: &Overlay{Kind: "shoutout", Data: map[string]any{"user": name, "by": c.h.ev.User.Shown()}},
	}}, nil
}

func quoteModule(ctx context.Context, c *Call) ([]Response, error) {
	cid, args := c.CommunityID(), c.Inv.Args
	if len(args) == 0 || strings.EqualFold(args[0], "random") {
		q, err := randomQuote(ctx, c.h.read(), cid)
		if err != nil {
			return nil, err
		}
		return Reply("Quote #%d: %s", q.Number, q.Text), nil
	}
	switch strings.ToLower(args[0]) {
	case "add":
		if err := c.requireLevel(Moderator); err != nil {
			return nil, err
		}
		text := strings.TrimSpace(strings.Join(args[1:], " "))
		if text == "" || len(text) > 500 {
			return nil, problem.New(problem.Invalid, "usage: %squote add <text> (at most 500 characters)", c.h.s.prefix)
		}
		if c.DryRun() {
			c.Changed("quote would be added")
			return Reply("Quote added."), nil
		}
		tx, err := c.h.begin(ctx)
		if err != nil {
			return nil, err
		}
		n, err := addQuote(ctx, tx, c.actor(), cid, text, c.h.ev.User.Shown())
		if err != nil {
			return nil, err
		}
		c.Changed("quote #%d added", n)
		return Reply("Quote #%d added.", n), nil
	case "del", "delete", "remove":
		if err := c.requireLevel(Moderator); err != nil {
			return nil, err
		}
		if len(args) < 2 {
			return nil, problem.New(problem.Invalid, "usage: %squote del <n>", c.h.s.prefix)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(args[1], "#"))
		if err != nil {
			return nil, problem.New(problem.Invalid, "%q is not a quote number.", args[1])
		}
		if !c.DryRun() {
			tx, err := c.h.begin(ctx)
			if err != nil {
				return nil, err
			}
			if err := deleteQuote(ctx, tx, c.actor(), cid, n); err != nil {
				return nil, err
			}
		}
		c.Changed("quote #%d deleted", n)
		return Reply("Quote #%d deleted.", n), nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(args[0], "#"))
	if err != nil {
		return nil, problem.New(problem.Invalid, "usage: %squote [n | random | add <text> | del <n>]", c.h.s.prefix)
	}
	q, err := quote(ctx, c.h.read(), cid, n)
	if err != nil {
		return nil, err
	}
	return Reply("Quote #%d: %s", q.Number, q.Text), nil
}

func counterModule(ctx context.Context, c *Call) ([]Response, error) {
	args := c.Inv.Args
	if len(args) < 1 {
		return nil, problem.New(problem.Invalid, "usage: %scounter <command> [set <n>]", c.h.s.prefix)
	}
	cmd, err := commandByName(ctx, c.h.readPrimary(), c.CommunityID(), args[0])
	if err != nil {
		return nil, err
	}
	if len(args) >= 3 && strings.EqualFold(args[1], "set") {
		n, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil || n < 0 {
			return nil, problem.New(problem.Invalid, "%q is not a whole number of 0 or more.", args[2])
		}
		if !c.DryRun() {
			tx, err := c.h.begin(ctx)
			if err != nil {
				return nil, err
			}
			if err := setCounter(ctx, tx, c.actor(), c.CommunityID(), cmd.ID, n); err != nil {
				return nil, err
			}
			c.h.reconfigured()
		}
		c.Changed("counter of %s%s %d → %d", c.h.s.prefix, cmd.Name, cmd.Counter, n)
		return Reply("The counter of %s%s is now %d.", c.h.s.prefix, cmd.Name, n), nil
	}
	return Reply("The counter of %s%s is %d.", c.h.s.prefix, cmd.Name, cmd.Counter), nil
}

func pointsModule(ctx context.Context, c *Call) ([]Response, error) {
	n, err := balance(ctx, c.h.read(), c.CommunityID(), c.h.ev.Platform, c.h.ev.User.ID)
	if err != nil {
		return nil, err
	}
	return Reply("@%s you have %d points.", c.h.ev.User.Shown(), n), nil
}

func leaderboardModule(ctx context.Context, c *Call) ([]Response, error) {
	top, err := leaderboard(ctx, c.h.read(), c.CommunityID(), 10)
	if err != nil {
		return nil, err
	}
	if len(top) == 0 {
		return Reply("Nobody has points yet."), nil
	}
	parts := make([]string, len(top))
	fields := make([]EmbedField, len(top))
	for i, s := range top {
		parts[i] = fmt.Sprintf("%d. %s (%d)", i+1, s.Name, s.Points)
		fields[i] = EmbedField{Name: fmt.Sprintf("%d. %s", i+1, s.Name), Value: strconv.FormatInt(s.Points, 10)}
	}
	return []Response{{Reply: "Top 10: " + strings.Join(parts, ", "), Embed: &Embed{Title: "Leaderboard", Fields: fields}}}, nil
}

func giveModule(ctx context.Context, c *Call) ([]Response, error) {
	args := c.Inv.Args
	if len(args) < 2 {
		return nil, problem.New(problem.Invalid, "usage: %sgive <user> <points>", c.h.s.prefix)
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || n == 0 || n > 1_000_000 || n < -1_000_000 {
		return nil, problem.New(problem.Invalid, "%q is not a number of points between -1000000 and 1000000.", args[1])
	}
	name := strings.TrimPrefix(args[0], "@")
	who, err := findUser(ctx, c.h.read(), c.CommunityID(), c.h.ev.Platform, name)
	if err != nil {
		return nil, err
	}
	reason := "given by " + c.h.ev.User.Shown()
	if c.DryRun() {
		c.Changed("points of %s %+d (%s)", who.Name, n, reason)
		return Reply("%s gets %d points.", who.Name, n), nil
	}
	q, err := c.h.writer(ctx)
	if err != nil {
		return nil, err
	}
	bal, err := addPoints(ctx, q, c.CommunityID(), who.Platform, who.UserID, who.Name, n, reason)
	if err != nil {
		return nil, err
	}
	c.h.addPoints(PointsChange{User: who.Name, Delta: n, Reason: reason, Balance: bal})
	c.Changed("points of %s %+d (%s)", who.Name, n, reason)
	return Reply("%s gets %d points and now has %d.", who.Name, n, bal), nil
}
