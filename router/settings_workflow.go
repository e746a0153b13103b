package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// A published workflow's chat command (its trigger_command) is a row of the
// community's commands marked with the workflow: !help lists it, cooldowns
// and permissions apply as to any command, and its name clashes with any
// other. Running it runs no module and answers nothing itself: the Observer
// sees it among the event's commands (CommandRun.Workflow) and starts the
// workflow, which answers. Only publishing the workflow changes it.

// WorkflowCommand is the command of a workflow's trigger_command node.
type WorkflowCommand struct {
	Name           string
	Platforms      []string
	Permission     string
	UserCooldown   int // seconds
	GlobalCooldown int
}

// SetWorkflowCommands makes the commands of a workflow exactly cmds (none:
// it is no longer published), in tx, the transaction that publishes or
// unpublishes it. A name held by another command, an alias, a built-in or a
// name the platforms keep is refused, naming what holds it. Call Invalidate
// once tx commits.
func (st *Settings) SetWorkflowCommands(ctx context.Context, tx pgx.Tx, communityID, workflowID int64, cmds []WorkflowCommand) error {
	q := db.New(tx)
	var keep []string
	for _, c := range cmds {
		name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c.Name), "!"))
		switch {
		case !validName(name):
			return problem.Invalidf("command", "A command name has 1 to 32 letters, digits or underscores.")
		case slices.Contains(keep, name):
			return problem.Invalidf("command", "The workflow has two triggers for !%s.", name)
		case Reserved(name):
			return problem.Invalidf("command", "!%s is a command the chat platforms keep for themselves.", name)
		case st.reg.commands[name] != nil:
			return problem.Invalidf("command", "!%s is a built-in command; choose another name.", name)
		case permRank(c.Permission) >= len(Permissions):
			return problem.Invalidf("permission", "Choose who may run !%s: %s.", name, strings.Join(Permissions, ", "))
		case c.UserCooldown < 0 || c.UserCooldown > 86400 || c.GlobalCooldown < 0 || c.GlobalCooldown > 86400:
			return problem.Invalidf("cooldown", "Cooldowns are 0 to 86400 seconds.")
		}
		if err := nameFree(ctx, q, communityID, workflowID, name); err != nil {
			return err
		}
		platforms := c.Platforms
		if len(platforms) == 0 {
			platforms = slices.Clone(Platforms)
		}
		_, err := q.CommandUpsertForWorkflow(ctx, db.CommandUpsertForWorkflowParams{CommunityID: communityID, Name: name,
			Permission: c.Permission, UserCooldownSeconds: int32(c.UserCooldown), GlobalCooldownSeconds: int32(c.GlobalCooldown),
			Platforms: platforms, WorkflowID: &workflowID})
		if errors.Is(err, pgx.ErrNoRows) { // taken since nameFree looked
			return problem.Invalidf("command", "There is already a command %q.", name)
		}
		if err != nil {
			return fmt.Errorf("store the workflow's command %q: %w", name, err)
		}
		keep = append(keep, name)
	}
	if keep == nil {
		keep = []string{}
	}
	if _, err := q.CommandDeleteForWorkflow(ctx, db.CommandDeleteForWorkflowParams{CommunityID: communityID, WorkflowID: &workflowID, Keep: keep}); err != nil {
		return fmt.Errorf("remove the workflow's old commands: %w", err)
	}
	return nil
}

// Invalidate drops a community's cached commands on every instance, after a
// change made in another service's transaction (SetWorkflowCommands).
func (st *Settings) Invalidate(ctx context.Context, communityID int64) {
	st.invalidate(ctx, communityID)
}

// nameFree refuses a name held by anything but the workflow's own command.
func nameFree(ctx context.Context, q *db.Queries, communityID, workflowID int64, name string) error {
	h, err := q.CommandNameHolder(ctx, db.CommandNameHolderParams{CommunityID: communityID, Name: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up the command %q: %w", name, err)
	}
	switch {
	case h.Kind == "command" && h.WorkflowID == workflowID:
		return nil
	case h.Kind == "command" && h.WorkflowID != 0:
		return problem.Invalidf("command", "!%s is already the command of the workflow %q.", name, h.WorkflowName)
	case h.Kind == "command":
		return problem.Invalidf("command", "!%s is already a command of this community; rename or delete it first.", name)
	}
	return problem.Invalidf("command", "!%s is already an alias of the command !%s.", name, h.Owner)
}

// managed refuses to change or delete a workflow's command by hand.
func managed(ctx context.Context, q *db.Queries, communityID int64, row db.Command) error {
	if row.InstallID != nil {
		return problem.New(problem.Conflict, "!%s is managed by an installed module: upgrade or uninstall the module instead.", row.Name)
	}
	if row.WorkflowID == nil {
		return nil
	}
	h, err := q.CommandNameHolder(ctx, db.CommandNameHolderParams{CommunityID: communityID, Name: row.Name})
	if err != nil {
		return fmt.Errorf("look up the workflow of command %q: %w", row.Name, err)
	}
	return problem.New(problem.Conflict, "!%s is managed by the workflow %q: change or unpublish the workflow instead.", row.Name, h.WorkflowName)
}
