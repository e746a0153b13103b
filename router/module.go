package router

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/problem"
)

// Module is a built-in module: it runs in the process, in the event's
// transaction, through the services its declaration names. The modules
// package holds them; cmd/waddle registers them in Config.Modules.
type Module interface {
	Declaration() Declaration
	Run(ctx context.Context, c *Call) ([]Response, error)
}

// Declaration says what a module is: the marketplace lists built-ins from it.
type Declaration struct {
	Name       string    // also the name of the built-in command that runs it
	Usage      string    // its arguments, for help pages
	Permission string    // the least level that may run its command
	Uses       []Service // the services it calls; others are refused
	// Capabilities are what its answers may make Waddle do, in the
	// marketplace's words (marketplace.Capabilities): "chat", "points:write"…
	Capabilities []string
}

// Service is something the engine lets a module use.
type Service string

// The services a module may declare.
const (
	ServiceCommands Service = "commands" // the community's commands and aliases
	ServicePoints   Service = "points"   // balances, the leaderboard, giving points
	ServiceQuotes   Service = "quotes"
	ServiceCounters Service = "counters" // a command's {count}
	ServiceOverlays Service = "overlays" // updates of the community's browser sources
)

// Services lists every service.
var Services = []Service{ServiceCommands, ServicePoints, ServiceQuotes, ServiceCounters, ServiceOverlays}

// registry holds the built-in modules of one engine, in the order they
// were registered, and the built-in command of each.
type registry struct {
	modules  map[string]Module
	declOf   map[string]Declaration // read once: a module's run does not build it again
	decls    []Declaration
	commands map[string]*Command
}

func newRegistry(mods []Module, logger *slog.Logger) *registry {
	reg := &registry{modules: map[string]Module{}, declOf: map[string]Declaration{}, commands: map[string]*Command{}}
	for _, m := range mods {
		d := m.Declaration()
		if !validName(d.Name) || reg.modules[d.Name] != nil || permRank(d.Permission) >= len(Permissions) {
			logger.Error("built-in module not registered: its name is invalid or taken, or its permission unknown", "module", d.Name)
			continue
		}
		reg.modules[d.Name] = m
		reg.declOf[d.Name] = d
		reg.decls = append(reg.decls, d)
		reg.commands[d.Name] = &Command{Name: d.Name, Modules: []string{d.Name}, Permission: d.Permission, Enabled: true, Platforms: Platforms, Builtin: true}
	}
	return reg
}

// Builtins lists the declarations of the registered built-in modules.
func (st *Settings) Builtins() []Declaration { return slices.Clone(st.reg.decls) }

// Call is one module run: the event, the command and its arguments, and what
// the previous module in the command's sequence answered.
type Call struct {
	h        *handling
	decl     Declaration
	Command  *Command
	Inv      Invocation
	Previous []Response
}

// Event is the event being handled.
func (c *Call) Event() Event { return c.h.ev }

// CommunityID is the community the event belongs to.
func (c *Call) CommunityID() int64 { return c.h.s.communityID }

// Prefix is the community's command prefix.
func (c *Call) Prefix() string { return c.h.s.prefix }

// DryRun reports whether nothing may be stored: a module then lists what it
// would change with Changed.
func (c *Call) DryRun() bool { return c.h.dry }

// Changed records a change made (or, in a dry run, that would be made).
func (c *Call) Changed(format string, args ...any) { c.h.changed(format, args...) }

// RequireLevel refuses users below perm.
func (c *Call) RequireLevel(perm string) error {
	if !allowed(c.h.ev.User, perm) {
		return problem.New(problem.Forbidden, "only a %s or above may do that.", perm)
	}
	return nil
}

// uses refuses a service the module did not declare.
func (c *Call) uses(s Service) error {
	if slices.Contains(c.decl.Uses, s) {
		return nil
	}
	return fmt.Errorf("module %s used the %s service without declaring it", c.decl.Name, s)
}

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
