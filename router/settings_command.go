package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
)

// CreateCommand adds a text command to a community, recording who did it in the audit log.
func (st *Settings) CreateCommand(ctx context.Context, by audit.Actor, communityID int64, in CommandInput) (*Command, error) {
	if err := in.validate(st.reg); err != nil {
		return nil, err
	}
	var cmd *Command
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		var err error
		cmd, err = createCommand(ctx, tx, by, communityID, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	st.invalidate(ctx, communityID)
	return cmd, nil
}

// CommandByName returns a community's own command (not an alias, not a built-in).
func (st *Settings) CommandByName(ctx context.Context, communityID int64, name string) (*Command, error) {
	return commandByName(ctx, db.New(st.pool), communityID, name)
}

// UpdateCommand changes a command (the name stays), recording who did it and
// what changed in the audit log.
func (st *Settings) UpdateCommand(ctx context.Context, by audit.Actor, communityID, id int64, in CommandInput) (*Command, error) {
	if err := in.validate(st.reg); err != nil {
		return nil, err
	}
	var cmd *Command
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		var err error
		cmd, err = updateCommand(ctx, tx, by, communityID, id, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	st.invalidate(ctx, communityID)
	return cmd, nil
}

// DeleteCommand removes a command and its aliases, recording who did it in the audit log.
func (st *Settings) DeleteCommand(ctx context.Context, by audit.Actor, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		return deleteCommand(ctx, tx, by, communityID, id)
	})
	if err != nil {
		return err
	}
	st.invalidate(ctx, communityID)
	return nil
}

// AddAlias makes alias another name of a community command, recording who did it in the audit log.
func (st *Settings) AddAlias(ctx context.Context, by audit.Actor, communityID int64, alias, command string) error {
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		return addAlias(ctx, tx, st.reg, by, communityID, alias, command)
	})
	if err != nil {
		return err
	}
	st.invalidate(ctx, communityID)
	return nil
}

// DeleteAlias removes an alias, recording who did it in the audit log.
func (st *Settings) DeleteAlias(ctx context.Context, by audit.Actor, communityID int64, alias string) error {
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		return deleteAlias(ctx, tx, by, communityID, alias)
	})
	if err != nil {
		return err
	}
	st.invalidate(ctx, communityID)
	return nil
}

// Commands lists a community's own commands, freshly read.
func (st *Settings) Commands(ctx context.Context, communityID int64) ([]*Command, error) {
	s, err := loadSnapshot(ctx, st.pool, communityID)
	if err != nil {
		return nil, err
	}
	return s.list, nil
}

// CommandByID returns one of a community's own commands with its aliases;
// ErrCommandNotFound for an id that is not the community's.
func (st *Settings) CommandByID(ctx context.Context, communityID, id int64) (*Command, error) {
	q := db.New(st.pool)
	row, err := q.CommandGet(ctx, db.CommandGetParams{CommunityID: communityID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrCommandNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load command %d: %w", id, err)
	}
	cmd := toCommand(row)
	if cmd.Aliases, err = q.CommandAliasNames(ctx, db.CommandAliasNamesParams{CommunityID: communityID, CommandID: id}); err != nil {
		return nil, fmt.Errorf("load aliases of command %d: %w", id, err)
	}
	return cmd, nil
}
