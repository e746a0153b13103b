package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// InstallCommand is a command of an installed module's version, named as
// the community will type it (with the install's prefix already applied).
type InstallCommand struct {
	Name           string
	Aliases        []string
	Platforms      []string
	Permission     string
	UserCooldown   int // seconds
	GlobalCooldown int
}

// NameClash is a command name or alias of a module that something else in
// the community already holds.
type NameClash struct {
	Name   string // without the command prefix
	HeldBy string // "the command !x", "an alias of !x", "the workflow \"y\"", "the module z", "a built-in command"
}

func (e *NameClash) Error() string { return fmt.Sprintf("!%s is already %s", e.Name, e.HeldBy) }

// SetInstallCommands makes the commands of an install exactly cmds, in tx,
// the transaction that installs, upgrades, downgrades or uninstalls it: the
// install's old commands and aliases go and the new ones come, all or none.
// A name held by anything else (a command, an alias, a workflow's command,
// another module's, a built-in, a name the platforms keep) is refused with a
// *NameClash. Call Invalidate once tx commits.
func (st *Settings) SetInstallCommands(ctx context.Context, tx pgx.Tx, communityID, installID int64, cmds []InstallCommand) error {
	q := db.New(tx)
	if _, err := q.CommandDeleteForInstall(ctx, db.CommandDeleteForInstallParams{CommunityID: communityID, InstallID: &installID}); err != nil {
		return fmt.Errorf("remove the install's old commands: %w", err)
	}
	var taken []string
	for _, c := range cmds {
		if permRank(c.Permission) >= len(Permissions) {
			return problem.Invalidf("permission", "Choose who may run !%s: %s.", c.Name, strings.Join(Permissions, ", "))
		}
		if c.UserCooldown < 0 || c.UserCooldown > 86400 || c.GlobalCooldown < 0 || c.GlobalCooldown > 86400 {
			return problem.Invalidf("cooldown", "Cooldowns are 0 to 86400 seconds.")
		}
		names := append([]string{c.Name}, c.Aliases...)
		for _, n := range names {
			if err := st.installNameFree(ctx, q, communityID, n, taken); err != nil {
				return err
			}
			taken = append(taken, n)
		}
		platforms := c.Platforms
		if len(platforms) == 0 {
			platforms = slices.Clone(Platforms)
		}
		id, err := q.CommandInsertForInstall(ctx, db.CommandInsertForInstallParams{CommunityID: communityID, Name: c.Name,
			Permission: c.Permission, UserCooldownSeconds: int32(c.UserCooldown), GlobalCooldownSeconds: int32(c.GlobalCooldown),
			Platforms: platforms, InstallID: &installID})
		if err != nil {
			return clashOnInsert(err, c.Name, fmt.Errorf("store the module's command %q: %w", c.Name, err))
		}
		for _, a := range c.Aliases {
			err := q.CommandAliasInsertForInstall(ctx, db.CommandAliasInsertForInstallParams{CommunityID: communityID, Alias: a, CommandID: id})
			if err != nil {
				return clashOnInsert(err, a, fmt.Errorf("store the module's alias %q: %w", a, err))
			}
		}
	}
	return nil
}

// clashOnInsert turns a unique violation (a name taken since it was
// checked) into a NameClash.
func clashOnInsert(err error, name string, wrapped error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return &NameClash{Name: name, HeldBy: "taken by a change made at the same time"}
	}
	return wrapped
}

// installNameFree refuses a name that is invalid or held by anything but
// the install being set (whose commands are gone already in the transaction).
func (st *Settings) installNameFree(ctx context.Context, q *db.Queries, communityID int64, name string, taken []string) error {
	switch {
	case !validName(name):
		return problem.Invalidf("command", "%q is not a command name: 1 to 32 letters, digits or underscores.", name)
	case slices.Contains(taken, name):
		return &NameClash{Name: name, HeldBy: "another command or alias of this module"}
	case Reserved(name):
		return &NameClash{Name: name, HeldBy: "a name the chat platforms keep for themselves"}
	case st.reg.commands[name] != nil:
		return &NameClash{Name: name, HeldBy: "a built-in command"}
	}
	h, err := q.InstallCommandNameHolder(ctx, db.InstallCommandNameHolderParams{CommunityID: communityID, Name: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up the command %q: %w", name, err)
	}
	var by string
	switch {
	case h.InstallID != 0:
		by = fmt.Sprintf("a command of the module %s", h.ModuleSlug)
		if h.Kind == "alias" {
			by = fmt.Sprintf("an alias of !%s of the module %s", h.Owner, h.ModuleSlug)
		}
	case h.WorkflowID != 0:
		by = fmt.Sprintf("the command of the workflow %q", h.WorkflowName)
	case h.Kind == "alias":
		by = fmt.Sprintf("an alias of the command !%s", h.Owner)
	default:
		by = "a command of this community"
	}
	return &NameClash{Name: name, HeldBy: by}
}
