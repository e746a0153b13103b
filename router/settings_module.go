package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/problem"
)

// CreateModule adds a remote module, checking its target and sealing its
// secrets, and records who did it in the audit log (without the secrets).
func (st *Settings) CreateModule(ctx context.Context, by audit.Actor, communityID int64, in ModuleInput) (*RemoteModule, error) {
	in.Name = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(in.Name), "#"))
	if !validName(in.Name) {
		return nil, problem.Invalidf("name", "A module name has 1 to 32 letters, digits or underscores.")
	}
	if in.Permission == "" {
		in.Permission = Everyone
	}
	if permRank(in.Permission) >= len(Permissions) {
		return nil, problem.Invalidf("permission", "Choose who may use it: %s.", strings.Join(Permissions, ", "))
	}
	if in.Timeout == 0 {
		in.Timeout = executor.DefaultTimeout
	}
	t := executor.Target{Kind: executor.Kind(in.Kind), URL: in.URL, Secret: in.Secret, Namespace: in.Namespace, Action: in.Action,
		Function: in.Function, Region: in.Region, AccessKeyID: in.AccessKey, SecretAccessKey: in.SecretKey, Timeout: in.Timeout}
	if st.exec == nil {
		return nil, problem.New(problem.Conflict, "Remote modules are not enabled on this server.")
	}
	if err := st.exec.ValidateTarget(t); err != nil {
		return nil, err
	}
	var sealedSecret, sealedKey []byte
	var err error
	if in.Secret != "" {
		if sealedSecret, err = st.box.Seal([]byte(in.Secret)); err != nil {
			return nil, problem.New(problem.Conflict, "%v", err)
		}
	}
	if in.SecretKey != "" {
		if sealedKey, err = st.box.Seal([]byte(in.SecretKey)); err != nil {
			return nil, problem.New(problem.Conflict, "%v", err)
		}
	}
	var row db.CommunityModule
	err = pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		var err error
		row, err = db.New(tx).ModuleCreate(ctx, db.ModuleCreateParams{CommunityID: communityID, Name: in.Name, Kind: in.Kind, Url: in.URL,
			SecretSealed: sealedSecret, Namespace: in.Namespace, Action: in.Action, Function: in.Function, Region: in.Region,
			AccessKeyID: in.AccessKey, SecretKeySealed: sealedKey, TimeoutMs: int32(in.Timeout.Milliseconds()), Permission: in.Permission})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ModuleCreated, Target: "module #" + row.Name,
			After: moduleStateOf(row)})
	})
	if db.IsUniqueViolation(err) {
		return nil, problem.Invalidf("name", "There is already a module #%s.", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create module: %w", err)
	}
	st.invalidate(ctx, communityID)
	return toRemote(row), nil
}

// Modules lists a community's remote modules.
func (st *Settings) Modules(ctx context.Context, communityID int64) ([]*RemoteModule, error) {
	rows, err := db.New(st.pool).ModuleListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	out := make([]*RemoteModule, 0, len(rows))
	for _, m := range rows {
		out = append(out, toRemote(m))
	}
	return out, nil
}

// DeleteModule removes a remote module, recording who did it in the audit log.
func (st *Settings) DeleteModule(ctx context.Context, by audit.Actor, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).ModuleRemove(ctx, db.ModuleRemoveParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ModuleDeleted, Target: "module #" + row.Name,
			Before: moduleStateOf(row)})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.New(problem.NotFound, "No such module.")
	}
	if err != nil {
		return fmt.Errorf("delete module: %w", err)
	}
	st.invalidate(ctx, communityID)
	return nil
}
