package router

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
)

// Permission levels, from least to most.
const (
	Everyone    = "everyone"
	Subscriber  = "subscriber"
	VIP         = "vip"
	Moderator   = "moderator"
	Broadcaster = "broadcaster" // the channel's broadcaster or the community's admin on the platform
)

// Permissions lists the levels in order.
var Permissions = []string{Everyone, Subscriber, VIP, Moderator, Broadcaster}

func permRank(p string) int {
	for i, x := range Permissions {
		if x == p {
			return i
		}
	}
	return len(Permissions)
}

// level is the highest permission a user's badges give.
func level(u User) string {
	switch {
	case u.Has(BadgeBroadcaster):
		return Broadcaster
	case u.Has(BadgeModerator):
		return Moderator
	case u.Has(BadgeVIP):
		return VIP
	case u.Has(BadgeSubscriber):
		return Subscriber
	}
	return Everyone
}

func allowed(u User, perm string) bool { return permRank(level(u)) >= permRank(perm) }

// Command is a community's command, or a built-in one.
type Command struct {
	ID             int64
	Name           string
	Aliases        []string
	Response       string   // text commands
	Modules        []string // module commands: built-in module names, run in order
	Parallel       bool
	Permission     string
	UserCooldown   time.Duration
	GlobalCooldown time.Duration
	Enabled        bool
	Platforms      []string
	Counter        int64
	Builtin        bool
	WorkflowID     int64  // a published workflow's trigger: it runs the workflow, which answers
	InstallID      int64  // a marketplace install's command: it runs the install's version
	Module         string // with InstallID: the module's slug and version
	ModuleVersion  string

	ModuleVersionID int64
}

func toCommand(r db.Command) *Command {
	return &Command{ID: r.ID, Name: r.Name, Response: r.Response, Modules: r.Modules, Parallel: r.Parallel,
		Permission: r.Permission, UserCooldown: time.Duration(r.UserCooldownSeconds) * time.Second,
		GlobalCooldown: time.Duration(r.GlobalCooldownSeconds) * time.Second, Enabled: r.Enabled,
		Platforms: r.Platforms, Counter: r.Counter, WorkflowID: deref(r.WorkflowID), InstallID: deref(r.InstallID)}
}

func deref(id *int64) int64 {
	if id == nil {
		return 0
	}
	return *id
}

// Executor names how a command runs, for the execution log.
func (c *Command) Executor() string {
	if c.InstallID != 0 {
		return "module " + c.Module + "@" + c.ModuleVersion
	}
	if c.WorkflowID != 0 {
		return "workflow:" + strconv.FormatInt(c.WorkflowID, 10)
	}
	if len(c.Modules) > 0 {
		return "modules:" + strings.Join(c.Modules, ",")
	}
	return "text"
}

func (c *Command) onPlatform(p string) bool {
	for _, x := range c.Platforms {
		if x == p {
			return true
		}
	}
	return false
}

// Limits are the flood limits every command passes besides its own cooldowns,
// per sliding window.
type Limits struct {
	PerUserPerCommand    int // one user repeating one command
	PerCommandPerChannel int // one command in one channel: keeps the bot under the platforms' chat limits
	PerCommunity         int // all commands of a community
	Window               time.Duration
}

// DefaultLimits suit Twitch's chat limit for bots that are not moderators.
var DefaultLimits = Limits{PerUserPerCommand: 10, PerCommandPerChannel: 40, PerCommunity: 3000, Window: 30 * time.Second}

// command runs one invocation.
func (h *handling) command(ctx context.Context, inv Invocation) error {
	if inv.Remote {
		return h.remote(ctx, inv)
	}
	cmd := h.s.lookup(inv.Name, h.r.reg.commands)
	if cmd == nil || !cmd.Enabled || !cmd.onPlatform(h.ev.Platform) {
		return nil
	}
	h.res.HandledBy = "command " + h.s.prefix + cmd.Name
	h.traceCommand(ctx, cmd)
	start := time.Now()
	if !allowed(h.ev.User, cmd.Permission) {
		h.res.HandledBy += fmt.Sprintf(" (not run: it needs %s or above, the user is %s)", cmd.Permission, level(h.ev.User))
		h.logExec(cmd, inv, "denied", start, "")
		return nil
	}
	if !h.dry {
		if ok, notice := h.spend(ctx, cmd); !ok {
			h.res.HandledBy += " (not run: cooldown or rate limit)"
			if notice != "" {
				h.res.Responses = append(h.res.Responses, Response{Reply: notice})
			}
			h.logExec(cmd, inv, "rate_limited", start, "")
			return nil
		}
	}
	if cmd.InstallID != 0 {
		return h.installedCommand(ctx, cmd, inv, start)
	}
	out, err := h.execute(ctx, cmd, inv)
	if err != nil {
		if p := problem.As(err); p != nil {
			h.res.Responses = append(h.res.Responses, Response{Reply: "@" + h.ev.User.Shown() + " " + p.Message})
			h.logExec(cmd, inv, "refused", start, p.Message)
			return nil
		}
		h.logExec(cmd, inv, "error", start, err.Error())
		h.r.metrics.moduleFailed(err)
		return err
	}
	h.res.Responses = append(h.res.Responses, out...)
	h.logExec(cmd, inv, "ok", start, "")
	return nil
}

// spend takes the command's cooldowns and rate limits in one round trip. A
// refused user gets at most one notice per window (or none, as the community chose).
func (h *handling) spend(ctx context.Context, cmd *Command) (bool, string) {
	cid := strconv.FormatInt(h.s.communityID, 10)
	lim := h.r.limits
	limits := []limitSpec{
		{Key: "rl:uc:" + cid + ":" + cmd.Name + ":" + h.ev.Platform + ":" + h.ev.User.ID, Max: lim.PerUserPerCommand, Window: lim.Window},
		{Key: "rl:cc:" + cid + ":" + cmd.Name + ":" + h.ev.Platform + ":" + h.ev.Channel, Max: lim.PerCommandPerChannel, Window: lim.Window},
		{Key: "rl:c:" + cid, Max: lim.PerCommunity, Window: lim.Window},
	}
	if cmd.UserCooldown > 0 {
		limits = append(limits, limitSpec{Key: "cd:u:" + cid + ":" + cmd.Name + ":" + h.ev.Platform + ":" + h.ev.User.ID, Max: 1, Window: cmd.UserCooldown})
	}
	if cmd.GlobalCooldown > 0 {
		limits = append(limits, limitSpec{Key: "cd:g:" + cid + ":" + cmd.Name, Max: 1, Window: cmd.GlobalCooldown})
	}
	// Moderators and the broadcaster skip cooldowns, not the flood limits.
	if permRank(level(h.ev.User)) >= permRank(Moderator) {
		limits = limits[:3]
	}
	ok, retry := h.r.takeAll(ctx, limits)
	if ok {
		return true, ""
	}
	if !h.s.slowNotice {
		return false, ""
	}
	window := max(cmd.UserCooldown, cmd.GlobalCooldown, h.r.limits.Window)
	if !h.r.limiter.Take(ctx, "rl:notice:"+cid+":"+cmd.Name+":"+h.ev.Platform+":"+h.ev.User.ID, 1, window).Allowed {
		return false, ""
	}
	secs := int(retry.Seconds() + 0.999)
	return false, fmt.Sprintf("@%s slow down: %s%s is available again in %ds.", h.ev.User.Shown(), h.s.prefix, cmd.Name, max(secs, 1))
}

// execute produces the command's responses.
func (h *handling) execute(ctx context.Context, cmd *Command, inv Invocation) ([]Response, error) {
	if cmd.WorkflowID != 0 {
		return nil, nil // the workflow's run answers, once the Observer starts it
	}
	if len(cmd.Modules) == 0 {
		reply, parts := h.renderFor(ctx, cmd, inv, cmd.Response)
		return []Response{{Reply: reply, Parts: parts}}, nil
	}
	call := &Call{h: h, Command: cmd, Inv: inv}
	if cmd.Parallel {
		return h.runParallel(ctx, call)
	}
	var out []Response
	for _, name := range cmd.Modules {
		rs, err := h.runModule(ctx, name, call)
		if err != nil {
			return nil, err
		}
		call.Previous = rs
		out = rs
	}
	return out, nil
}

// runModule runs one step of a command: a built-in module, or "#name", a
// community module outside the process.
func (h *handling) runModule(ctx context.Context, name string, call *Call) ([]Response, error) {
	if remote, ok := strings.CutPrefix(name, "#"); ok {
		m := h.s.modules[remote]
		if m == nil || !m.Enabled {
			return nil, problem.New(problem.NotFound, "The module #%s is not set up in this community.", remote)
		}
		rs, err := h.callRemote(ctx, m, call.Inv, call.Previous)
		if err != nil {
			if problem.As(err) != nil {
				return nil, err
			}
			return nil, problem.New(problem.Conflict, "%s", moduleError(err))
		}
		return rs, nil
	}
	m := h.r.reg.modules[name]
	if m == nil {
		return nil, problem.New(problem.NotFound, "The module %q is not installed.", name)
	}
	// Built-in modules share the event's transaction, one at a time even in
	// a parallel command; remote modules, which need no database, overlap.
	h.local.Lock()
	defer h.local.Unlock()
	c := *call
	c.decl = h.r.reg.declOf[name]
	return m.Run(ctx, &c)
}

func (h *handling) runParallel(ctx context.Context, call *Call) ([]Response, error) {
	type result struct {
		rs  []Response
		err error
	}
	results := make([]result, len(call.Command.Modules))
	done := make(chan struct{})
	for i, name := range call.Command.Modules {
		go func() {
			defer func() { done <- struct{}{} }()
			c := *call
			results[i].rs, results[i].err = h.runModule(ctx, name, &c)
		}()
	}
	for range call.Command.Modules {
		<-done
	}
	var out []Response
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.rs...)
	}
	return out, nil
}

// renderFor fills a template for a command; {count} increments its counter,
// {counter:NAME} a named counter (counters.go), each once per reply.
func (h *handling) renderFor(ctx context.Context, cmd *Command, inv Invocation, tmpl string) (string, []ReplyPart) {
	v := vars{ev: h.ev, inv: inv, channel: h.ev.Channel}
	h.counterVars(ctx, &v)
	v.count = func() (int64, bool) {
		if cmd.ID == 0 {
			return 0, false
		}
		// The cached command is shared: its counter is read from the database, never written back.
		if h.dry {
			cur := cmd.Counter
			if row, err := db.New(h.r.pool).CommandGetByName(ctx, db.CommandGetByNameParams{CommunityID: h.s.communityID, Name: cmd.Name}); err == nil {
				cur = row.Counter
			}
			h.changed("counter of %s%s %d → %d", h.s.prefix, cmd.Name, cur, cur+1)
			return cur + 1, true
		}
		q, err := h.writer(ctx)
		if err != nil {
			h.fail(err)
			return 0, false
		}
		n, err := q.CommandIncrementCounter(ctx, db.CommandIncrementCounterParams{CommunityID: h.s.communityID, ID: cmd.ID})
		if err != nil {
			h.fail(fmt.Errorf("increment the counter of %s: %w", cmd.Name, err))
			return 0, false
		}
		h.changed("counter of %s%s %d → %d", h.s.prefix, cmd.Name, n-1, n)
		return n, true
	}
	v.points = func() (int64, bool) {
		n, err := balance(ctx, h.read(), h.s.communityID, h.ev.Platform, h.ev.User.ID)
		return n, err == nil
	}
	return renderParts(tmpl, v)
}

// logExec records an execution: written with the event's effects when it
// has a transaction, else by the batched writer once the event is handled.
func (h *handling) logExec(cmd *Command, inv Invocation, outcome string, start time.Time, errText string) {
	h.logExecRefused(cmd, inv, outcome, start, errText, nil)
}

// logExecRefused is logExec naming the capabilities refused to the module
// that ran (an installed module's command also records its version).
func (h *handling) logExecRefused(cmd *Command, inv Invocation, outcome string, start time.Time, errText string, refused []string) {
	if h.dry { // nothing logged; the commands are in the answer for the simulator
		h.mu.Lock()
		h.ran = append(h.ran, CommandRun{Command: cmd.Name, Args: runes.TruncateBytes(inv.Raw, 500), Outcome: outcome, Workflow: cmd.WorkflowID})
		h.mu.Unlock()
		return
	}
	took := time.Since(start)
	e := db.CommandExecutionInsertParams{
		CommunityID: h.s.communityID, Command: cmd.Name, Platform: h.ev.Platform, UserID: h.ev.User.ID,
		UserName: h.ev.User.Name, Args: runes.TruncateBytes(inv.Raw, 500), Executor: cmd.Executor(), Outcome: outcome,
		DurationUs: took.Microseconds(), Error: runes.TruncateBytes(errText, 500), CreatedAt: time.Now(),
		Refused: refused,
	}
	if e.Refused == nil {
		e.Refused = []string{}
	}
	if cmd.ModuleVersionID != 0 {
		e.ModuleVersionID = &cmd.ModuleVersionID
	}
	h.r.metrics.ran(h.ev.Platform, outcome, took.Seconds())
	if len(refused) > 0 {
		h.r.metrics.failed(ErrKindCapabilityRefused)
	}
	h.mu.Lock()
	h.executions = append(h.executions, e)
	h.ran = append(h.ran, CommandRun{Command: e.Command, Args: e.Args, Outcome: e.Outcome, Workflow: cmd.WorkflowID})
	h.mu.Unlock()
}

// CommandInput is a command as a user writes it (hub form, chat, API).
type CommandInput struct {
	Name           string
	Response       string   // a text command's answer; empty for a module command
	Modules        []string // built-in module names or "#name" community modules, run in order (or at once with Parallel)
	Parallel       bool
	Permission     string
	UserCooldown   int // seconds
	GlobalCooldown int
	Enabled        bool
	Platforms      []string
}

func (in *CommandInput) validate(reg *registry) error {
	in.Name = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(in.Name), "!"))
	in.Response = strings.TrimSpace(in.Response)
	switch {
	case !validName(in.Name):
		return problem.Invalidf("name", "A command name has 1 to 32 letters, digits or underscores.")
	case Reserved(in.Name):
		return problem.Invalidf("name", "%q is a command the chat platforms keep for themselves.", in.Name)
	case reg.commands[in.Name] != nil:
		return problem.Invalidf("name", "%q is a built-in command.", in.Name)
	case in.Response == "" && len(in.Modules) == 0:
		return problem.Invalidf("response", "Write what the command answers, or choose modules to run.")
	case len(in.Modules) > 8:
		return problem.Invalidf("modules", "A command runs at most 8 modules.")
	case utf8.RuneCountInString(in.Response) > maxReplyLen:
		return problem.Invalidf("response", "A response has at most %d characters.", maxReplyLen)
	case permRank(in.Permission) >= len(Permissions):
		return problem.Invalidf("permission", "Choose who may use it: %s.", strings.Join(Permissions, ", "))
	case in.UserCooldown < 0 || in.UserCooldown > 86400 || in.GlobalCooldown < 0 || in.GlobalCooldown > 86400:
		return problem.Invalidf("cooldown", "Cooldowns are 0 to 86400 seconds.")
	}
	for _, m := range in.Modules {
		name := strings.TrimPrefix(m, "#")
		if !validName(name) || (!strings.HasPrefix(m, "#") && reg.modules[m] == nil) {
			return problem.Invalidf("modules", "%q is neither a built-in module nor a #community module.", m)
		}
	}
	if in.Modules == nil {
		in.Modules = []string{}
	}
	if len(in.Platforms) == 0 {
		in.Platforms = Platforms
	}
	for _, p := range in.Platforms {
		if p != Twitch && p != Discord && p != Slack {
			return problem.Invalidf("platforms", "Unknown platform %q.", p)
		}
	}
	return nil
}

// createCommand stores a validated command and its audit record; tx is a transaction.
func createCommand(ctx context.Context, tx db.DBTX, by audit.Actor, communityID int64, in CommandInput) (*Command, error) {
	q := db.New(tx)
	taken, err := q.CommandNameTaken(ctx, db.CommandNameTakenParams{CommunityID: communityID, Name: in.Name})
	if err != nil {
		return nil, fmt.Errorf("create command %q: %w", in.Name, err)
	}
	if taken {
		return nil, problem.Invalidf("name", "There is already a command or alias %q.", in.Name)
	}
	row, err := q.CommandCreate(ctx, db.CommandCreateParams{CommunityID: communityID, Name: in.Name, Response: in.Response,
		Modules: in.Modules, Parallel: in.Parallel, Permission: in.Permission, UserCooldownSeconds: int32(in.UserCooldown),
		GlobalCooldownSeconds: int32(in.GlobalCooldown), Enabled: in.Enabled, Platforms: in.Platforms})
	if err != nil {
		return nil, fmt.Errorf("create command %q: %w", in.Name, err)
	}
	if err := audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.CommandCreated, Target: "command " + row.Name,
		After: commandStateOf(row, nil)}); err != nil {
		return nil, err
	}
	return toCommand(row), nil
}

// ErrCommandNotFound is returned for a command the community does not have.
var ErrCommandNotFound = problem.New(problem.NotFound, "No such command.")

func commandByName(ctx context.Context, q *db.Queries, communityID int64, name string) (*Command, error) {
	row, err := q.CommandGetByName(ctx, db.CommandGetByNameParams{CommunityID: communityID, Name: strings.ToLower(strings.TrimPrefix(name, "!"))})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrCommandNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load command %q: %w", name, err)
	}
	return toCommand(row), nil
}

// updateCommand stores a validated change of a command and, when something
// changed, its audit record; tx is a transaction.
func updateCommand(ctx context.Context, tx db.DBTX, by audit.Actor, communityID, id int64, in CommandInput) (*Command, error) {
	q := db.New(tx)
	old, err := q.CommandGetForUpdate(ctx, db.CommandGetForUpdateParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrCommandNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update command %d: %w", id, err)
	}
	if err := managed(ctx, q, communityID, old); err != nil {
		return nil, err
	}
	row, err := q.CommandUpdate(ctx, db.CommandUpdateParams{CommunityID: communityID, ID: id, Response: in.Response,
		Modules: in.Modules, Parallel: in.Parallel, Permission: in.Permission, UserCooldownSeconds: int32(in.UserCooldown),
		GlobalCooldownSeconds: int32(in.GlobalCooldown), Enabled: in.Enabled, Platforms: in.Platforms})
	if err != nil {
		return nil, fmt.Errorf("update command %d: %w", id, err)
	}
	before, after := commandStateOf(old, nil), commandStateOf(row, nil)
	if !reflect.DeepEqual(before, after) { // saved unchanged: nothing to record
		if err := audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.CommandUpdated, Target: "command " + row.Name,
			Before: before, After: after}); err != nil {
			return nil, err
		}
	}
	return toCommand(row), nil
}

// deleteCommand removes a command and its aliases and records it; tx is a transaction.
func deleteCommand(ctx context.Context, tx db.DBTX, by audit.Actor, communityID, id int64) error {
	q := db.New(tx)
	old, err := q.CommandGetForUpdate(ctx, db.CommandGetForUpdateParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrCommandNotFound
	}
	if err != nil {
		return fmt.Errorf("delete command %d: %w", id, err)
	}
	if err := managed(ctx, q, communityID, old); err != nil {
		return err
	}
	aliases, err := q.CommandAliasNames(ctx, db.CommandAliasNamesParams{CommunityID: communityID, CommandID: id})
	if err != nil {
		return fmt.Errorf("delete command %d: %w", id, err)
	}
	if _, err := q.CommandDelete(ctx, db.CommandDeleteParams{CommunityID: communityID, ID: id}); err != nil {
		return fmt.Errorf("delete command %d: %w", id, err)
	}
	if err := forgetSlashChoices(ctx, q, communityID, append([]string{old.Name}, aliases...)); err != nil {
		return fmt.Errorf("delete command %d: %w", id, err)
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.CommandDeleted, Target: "command " + old.Name,
		Before: commandStateOf(old, aliases)})
}

// addAlias checks and stores an alias and its audit record; tx is a transaction.
func addAlias(ctx context.Context, tx db.DBTX, reg *registry, by audit.Actor, communityID int64, alias, command string) error {
	alias = strings.ToLower(strings.TrimPrefix(alias, "!"))
	if !validName(alias) || Reserved(alias) || reg.commands[alias] != nil {
		return problem.Invalidf("alias", "%q cannot be an alias: use 1 to 32 letters, digits or underscores, not a reserved or built-in name.", alias)
	}
	q := db.New(tx)
	cmd, err := commandByName(ctx, q, communityID, command)
	if err != nil {
		return err
	}
	taken, err := q.CommandNameTaken(ctx, db.CommandNameTakenParams{CommunityID: communityID, Name: alias})
	if err != nil {
		return fmt.Errorf("add alias %q: %w", alias, err)
	}
	if taken {
		return problem.Invalidf("alias", "There is already a command or alias %q.", alias)
	}
	if err := q.AliasAdd(ctx, db.AliasAddParams{CommunityID: communityID, Alias: alias, CommandID: cmd.ID}); err != nil {
		return fmt.Errorf("add alias %q: %w", alias, err)
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.AliasAdded, Target: "alias " + alias + " of command " + cmd.Name,
		After: aliasState{Alias: alias, Command: cmd.Name}})
}

// deleteAlias removes an alias and records it; tx is a transaction.
func deleteAlias(ctx context.Context, tx db.DBTX, by audit.Actor, communityID int64, alias string) error {
	alias = strings.ToLower(strings.TrimPrefix(alias, "!"))
	command, err := db.New(tx).AliasRemove(ctx, db.AliasRemoveParams{CommunityID: communityID, Alias: alias})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.New(problem.NotFound, "No such alias.")
	}
	if err != nil {
		return fmt.Errorf("delete alias %q: %w", alias, err)
	}
	if err := forgetSlashChoices(ctx, db.New(tx), communityID, []string{alias}); err != nil {
		return fmt.Errorf("delete alias %q: %w", alias, err)
	}
	return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.AliasDeleted, Target: "alias " + alias + " of command " + command,
		Before: aliasState{Alias: alias, Command: command}})
}

// commandState is a command as the audit log records it.
type commandState struct {
	Name           string   `json:"name"`
	Response       string   `json:"response"`
	Modules        []string `json:"modules"`
	Parallel       bool     `json:"parallel"`
	Permission     string   `json:"permission"`
	UserCooldown   int32    `json:"user_cooldown_seconds"`
	GlobalCooldown int32    `json:"global_cooldown_seconds"`
	Enabled        bool     `json:"enabled"`
	Platforms      []string `json:"platforms"`
	Aliases        []string `json:"aliases,omitempty"` // on deletion: the aliases that went with it
}

func commandStateOf(c db.Command, aliases []string) commandState {
	return commandState{Name: c.Name, Response: c.Response, Modules: c.Modules, Parallel: c.Parallel, Permission: c.Permission,
		UserCooldown: c.UserCooldownSeconds, GlobalCooldown: c.GlobalCooldownSeconds, Enabled: c.Enabled, Platforms: c.Platforms,
		Aliases: aliases}
}

// aliasState is an alias as the audit log records it.
type aliasState struct {
	Alias   string `json:"alias"`
	Command string `json:"command"`
}
