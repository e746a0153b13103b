package workflow

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/router"
)

// CommandSetter keeps a published workflow's chat commands among the
// community's commands; router.Settings implements it.
type CommandSetter interface {
	// SetWorkflowCommands makes a workflow's commands exactly cmds, in tx;
	// a name that clashes is refused with a problem naming the command and
	// what holds it.
	SetWorkflowCommands(ctx context.Context, tx pgx.Tx, communityID, workflowID int64, cmds []router.WorkflowCommand) error
	// Invalidate drops the community's cached commands once tx committed.
	Invalidate(ctx context.Context, communityID int64)
}

// commandHook is the PublishHook that gives a workflow one command per
// enabled trigger_command node while it is published, and none otherwise.
// A clash refuses the publish.
func commandHook(set CommandSetter) PublishHook {
	return func(ctx context.Context, tx pgx.Tx, w *Workflow, def *Definition) error {
		var cmds []router.WorkflowCommand
		if def != nil {
			cmds = WorkflowCommands(def)
		}
		return set.SetWorkflowCommands(ctx, tx, w.CommunityID, w.ID, cmds)
	}
}

// WorkflowCommands lists the commands of a definition's enabled
// trigger_command nodes.
func WorkflowCommands(def *Definition) []router.WorkflowCommand {
	var cmds []router.WorkflowCommand
	for i := range def.Nodes {
		n := &def.Nodes[i]
		if n.Type != "trigger_command" || n.Disabled {
			continue
		}
		c := commandConfig(n)
		if c == nil {
			continue
		}
		cmds = append(cmds, router.WorkflowCommand{Name: c.Command, Platforms: c.Platforms, Permission: c.Permission,
			UserCooldown: c.UserCooldown, GlobalCooldown: c.GlobalCooldown})
	}
	return cmds
}

// commandConfig decodes and normalises a trigger_command node's
// configuration; nil when it does not decode.
func commandConfig(n *Node) *CommandConfig {
	k, ok := KindOf(n.Type)
	if !ok {
		return nil
	}
	cfg, err := DecodeConfig(k, n.Config)
	if err != nil {
		return nil
	}
	c := cfg.(*CommandConfig)
	c.Check(&Checker{}) // normalises the name: "!Hi " is "hi"
	return c
}
