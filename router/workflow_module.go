package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// WorkflowEventPrefix begins the id of every event RunModule makes; the
// Observer is not told of them, so a workflow's module never starts
// workflows itself.
const WorkflowEventPrefix = "wf:"

// WorkflowUser is whom a module runs as when a workflow runs it without a
// chat user: the workflow itself, with the broadcaster's permission.
var WorkflowUser = User{ID: "workflow", Name: "workflow", DisplayName: "Workflow", Roles: []string{BadgeBroadcaster}}

// ModuleRun is a module a workflow runs.
type ModuleRun struct {
	// EventID identifies the run of the node ("wf:<run>:<node>"); with
	// Options.Dedup a repeat (the node run again after a crash) is answered
	// with the first answer instead of running the module twice.
	EventID string
	Module  string // a built-in module's name, or "#name" for one of the community's modules
	Args    string
	// Where it runs: the chat the workflow's trigger came from. Empty: the
	// community's first linked server (by platform, then server), or, with
	// none linked, Twitch server "workflow".
	Platform, Server, Channel string
	User                      User // who runs it; no ID: WorkflowUser
}

// RunModule runs a module for a workflow through the path chat takes: a
// synthetic button event whose text is the module's command ("!quote add
// hi" or "#name args") is handled like any other, so the module's effects
// are written in one transaction with the event's answer, limits and the
// execution log apply, and a repeated EventID (with Dedup) is answered from
// the first. The module must exist and the user may run it, or it is refused
// with a problem naming "module".
func (r *Router) RunModule(ctx context.Context, communityID int64, in ModuleRun, opts Options) (Result, error) {
	if !strings.HasPrefix(in.EventID, WorkflowEventPrefix) {
		return Result{}, problem.Invalidf("id", "A workflow's event id begins with %q.", WorkflowEventPrefix)
	}
	s, err := r.snapshot(ctx, communityID)
	if err != nil {
		return Result{}, err
	}
	if err := r.placeModuleRun(ctx, communityID, &in); err != nil {
		return Result{}, err
	}
	if in.User.ID == "" {
		in.User = WorkflowUser
	}
	var text, perm string
	if remote, ok := strings.CutPrefix(in.Module, "#"); ok {
		m := s.modules[remote]
		if !validName(remote) || m == nil || !m.Enabled {
			return Result{}, problem.Invalidf("module", "The module #%s is not set up in this community.", remote)
		}
		text, perm = "#"+remote, m.Permission
	} else {
		d, ok := r.reg.declOf[in.Module]
		if !ok {
			return Result{}, problem.Invalidf("module", "%q is not a built-in module.", in.Module)
		}
		text, perm = s.prefix+d.Name, d.Permission
	}
	if !allowed(in.User, perm) {
		return Result{}, problem.New(problem.Forbidden, "The module %s needs %s or above; %s is %s.", in.Module, perm, in.User.Shown(), level(in.User))
	}
	if args := strings.TrimSpace(in.Args); args != "" {
		text += " " + args
	}
	ev := Event{ID: in.EventID, Platform: in.Platform, Kind: ButtonClick, Server: in.Server, Channel: in.Channel,
		User: in.User, Text: text, Time: time.Now()}
	if err := ev.Validate(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	if opts.Dedup && !opts.DryRun {
		var out BatchItem
		r.handleClaimed(ctx, []claimItem{{s: s, ev: ev, out: &out}}, 1)
		return out.Result, out.Err
	}
	h := r.newHandling(ctx, s, ev, opts.DryRun)
	defer h.rollback(ctx)
	return h.finish(ctx, start)
}

// placeModuleRun fills in where a module runs: the given server, which must
// be the community's, or its first linked one.
func (r *Router) placeModuleRun(ctx context.Context, communityID int64, in *ModuleRun) error {
	if in.Platform != "" || in.Server != "" {
		if in.Platform == Twitch {
			in.Server = strings.ToLower(in.Server)
		}
		linked, err := r.community(ctx, in.Platform, in.Server)
		if err != nil {
			return err
		}
		if linked.communityID != communityID {
			return ErrNotLinked // another community's server: the same answer as none
		}
		return nil
	}
	rows, err := db.New(r.read).EntityListByCommunity(ctx, communityID)
	if err != nil {
		return fmt.Errorf("list the community's servers: %w", err)
	}
	in.Platform, in.Server, in.Channel = Twitch, "workflow", ""
	if len(rows) > 0 {
		in.Platform, in.Server = rows[0].Platform, rows[0].Server
	}
	return nil
}
