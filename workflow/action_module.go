package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/waddle/waddle/router"
)

// Whom action_module runs a module as.
const (
	AsTrigger = "trigger" // the trigger's chat user, with their permission
	AsBot     = "bot"     // the workflow itself, with the broadcaster's permission
)

// ModuleAction is action_module's configuration.
type ModuleAction struct {
	Module string `json:"module"`         // a built-in module, or "#name" for one the community set up
	Args   string `json:"args,omitempty"` // a template
	As     string `json:"as"`             // trigger or bot
}

// Check names the field at fault.
func (cfg *ModuleAction) Check(c *Checker) {
	if !validModuleName(cfg.Module) {
		c.Errorf("module", "Choose a built-in module, or #name for one of the community's modules (1 to 32 letters, digits or underscores).")
	}
	c.Template("args", cfg.Args, 1000)
	if cfg.As != AsTrigger && cfg.As != AsBot {
		c.Errorf("as", "Choose whom it runs as: trigger (the chat user who started the run) or bot.")
	}
}

func validModuleName(s string) bool {
	s = strings.TrimPrefix(s, "#")
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func init() {
	register(&Kind{
		Type:     "action_module",
		Category: CategoryAction,
		Title:    "Run module",
		Summary:  "Runs a built-in or #community module with arguments, as chat would.",
		New:      func() Config { return &ModuleAction{As: AsBot} },
		Effect:   true,
		Run:      runModule,
	})
}

// moduleEventID is the event id of a node's module run: the same when the
// engine runs the execution again after a crash, so the router answers it
// from the first run.
func moduleEventID(x *Exec) string {
	id := fmt.Sprintf("%s%d:%s", router.WorkflowEventPrefix, x.Run.RunID, x.Node.ID)
	if x.Seq > 1 {
		id += fmt.Sprintf(":%d", x.Seq)
	}
	return id
}

func runModule(ctx context.Context, x *Exec, c Config) (Result, error) {
	cfg := c.(*ModuleAction)
	in := router.ModuleRun{EventID: moduleEventID(x), Module: cfg.Module, Args: x.Render(cfg.Args)}
	t := triggerOf(x.Scope)
	if t.Platform != "" && t.Server != "" && t.Server != router.SimulatorServer { // the simulator's: the community's own server
		in.Platform, in.Server, in.Channel = t.Platform, t.Server, t.Channel
	}
	if cfg.As == AsTrigger {
		if t.User.ID == "" || in.Platform == "" {
			return Result{}, errors.New("as: the trigger has no chat user to run the module as; choose bot")
		}
		in.User = t.User
	}
	res, err := x.Env.Router.RunModule(ctx, x.Run.CommunityID, in, router.Options{DryRun: x.Run.DryRun, Dedup: true})
	if err != nil {
		return Result{}, fmt.Errorf("module %s: %w", cfg.Module, err)
	}
	texts := make([]string, 0, len(res.Responses))
	for _, r := range res.Responses {
		if r.Reply != "" {
			texts = append(texts, r.Reply)
		}
	}
	if res.Duplicate {
		x.Notes = append(x.Notes, "the module had already run for this node; its first answer is used")
	}
	out := map[string]any{"module": cfg.Module, "responses": texts, "text": strings.Join(texts, "\n")}
	if len(res.Changes) > 0 {
		out["changes"] = res.Changes
	}
	return Result{Output: out}, nil
}
