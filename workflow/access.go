package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Rights are what one user may do with one workflow: read it (see it, its
// runs and traces), write it (edit, publish, archive, delete, change its
// permissions, webhooks and schedules) and execute it (run it by hand,
// retry, replay, cancel runs).
type Rights struct {
	Read    bool `json:"read"`
	Write   bool `json:"write"`
	Execute bool `json:"execute"`
}

// The rights, as Rights.Check names them.
const (
	RightRead    = "read"
	RightWrite   = "write"
	RightExecute = "execute"
)

// Check returns a problem.Forbidden error unless r includes the right.
func (r Rights) Check(right string) error {
	var ok bool
	var what string
	switch right {
	case RightRead:
		ok, what = r.Read, "see this workflow"
	case RightWrite:
		ok, what = r.Write, "change this workflow"
	case RightExecute:
		ok, what = r.Execute, "run this workflow"
	default:
		return fmt.Errorf("check workflow right: unknown right %q", right)
	}
	if ok {
		return nil
	}
	return problem.New(problem.Forbidden, "You may not %s: ask an admin of the community for the %s permission on it.", what, right)
}

// DefaultRights are a community role's rights on every workflow, before
// any grant: members and moderators read; admins and owners read, write and
// execute. (Moderators only read by default: running a workflow by hand
// can post on every platform, so it is granted, not assumed.) Anything
// else, including "" for a non-member, has none.
func DefaultRights(role string) Rights {
	switch role {
	case "owner", "admin":
		return Rights{Read: true, Write: true, Execute: true}
	case "moderator", "member":
		return Rights{Read: true}
	}
	return Rights{}
}

// Grant gives rights on one workflow to a community role or to one user.
// Grants add to the defaults; they never take a right away.
type Grant struct {
	Kind    string `json:"kind"`    // GrantRole or GrantUser
	Subject string `json:"subject"` // the role ("admin", "moderator", "member") or the user's id
	Read    bool   `json:"read"`
	Write   bool   `json:"write"`
	Execute bool   `json:"execute"`
}

// Grant kinds.
const (
	GrantRole = "role"
	GrantUser = "user"
)

// MaxGrants is the most grants one workflow has.
const MaxGrants = 100

// Permissions stores and answers who may do what with each workflow.
type Permissions struct {
	pool *pgxpool.Pool
}

// NewPermissions returns Permissions over the pool.
func NewPermissions(pool *pgxpool.Pool) *Permissions { return &Permissions{pool: pool} }

// Access returns what the user, who has the role in the community, may do
// with the workflow: the role's defaults plus the grants to the role and to
// the user (write or execute include read). Owners always have every right.
// A workflow that is not the community's is problem.NotFound; a role that
// is not a member's is problem.Forbidden.
func (p *Permissions) Access(ctx context.Context, communityID, workflowID, userID int64, role string) (Rights, error) {
	def := DefaultRights(role)
	if def == (Rights{}) {
		return Rights{}, problem.New(problem.Forbidden, "Only members of this community can use its workflows.")
	}
	row, err := db.New(p.pool).WorkflowAccessGet(ctx, db.WorkflowAccessGetParams{Role: role, UserID: userID, CommunityID: communityID, WorkflowID: workflowID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Rights{}, problem.New(problem.NotFound, "This community has no such workflow.")
	}
	if err != nil {
		return Rights{}, fmt.Errorf("load rights on workflow %d: %w", workflowID, err)
	}
	r := Rights{Read: def.Read || row.CanRead, Write: def.Write || row.CanWrite, Execute: def.Execute || row.CanExecute}
	r.Read = r.Read || r.Write || r.Execute
	return r, nil
}

// Grants lists the workflow's grants: roles (admin, moderator, member),
// then users by id.
func (p *Permissions) Grants(ctx context.Context, communityID, workflowID int64) ([]Grant, error) {
	rows, err := db.New(p.pool).WorkflowPermissionList(ctx, db.WorkflowPermissionListParams{CommunityID: communityID, WorkflowID: workflowID})
	if err != nil {
		return nil, fmt.Errorf("list grants on workflow %d: %w", workflowID, err)
	}
	return toGrants(rows), nil
}

func toGrants(rows []db.WorkflowPermission) []Grant {
	out := make([]Grant, 0, len(rows))
	for _, r := range rows {
		out = append(out, Grant{Kind: r.SubjectKind, Subject: r.Subject, Read: r.CanRead, Write: r.CanWrite, Execute: r.CanExecute})
	}
	return out
}

// checkGrants validates grants, naming the one at fault.
func checkGrants(grants []Grant) error {
	if len(grants) > MaxGrants {
		return problem.Invalidf("grants", "A workflow has at most %d grants; this list has %d.", MaxGrants, len(grants))
	}
	seen := map[[2]string]bool{}
	for i, g := range grants {
		field := fmt.Sprintf("grants[%d]", i)
		switch g.Kind {
		case GrantRole:
			switch g.Subject {
			case "admin", "moderator", "member":
			case "owner":
				return problem.Invalidf(field+".subject", "Owners always have every right; grant to admin, moderator or member.")
			default:
				return problem.Invalidf(field+".subject", "%q is not a role: want admin, moderator or member.", g.Subject)
			}
		case GrantUser:
			if id, err := strconv.ParseInt(g.Subject, 10, 64); err != nil || id <= 0 || strconv.FormatInt(id, 10) != g.Subject {
				return problem.Invalidf(field+".subject", "%q is not a user id: want the member's id, a whole number.", g.Subject)
			}
		default:
			return problem.Invalidf(field+".kind", "%q is not a kind of grant: want role or user.", g.Kind)
		}
		k := [2]string{g.Kind, g.Subject}
		if seen[k] {
			return problem.Invalidf(field+".subject", "The %s %s has two grants; give each one grant.", g.Kind, g.Subject)
		}
		seen[k] = true
	}
	return nil
}

type grantsState struct {
	Grants []Grant `json:"grants"`
}

// SetPermissions replaces the workflow's grants with grants, in one
// transaction, and records the change in the audit log. Users granted to
// must be members of the community; a grant of no right is dropped. The
// caller checks that the actor may write the workflow.
func (p *Permissions) SetPermissions(ctx context.Context, by audit.Actor, communityID, workflowID int64, grants []Grant) error {
	if err := checkGrants(grants); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		wf, err := q.WorkflowPermissionLockWorkflow(ctx, db.WorkflowPermissionLockWorkflowParams{CommunityID: communityID, ID: workflowID})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "This community has no such workflow.")
		}
		if err != nil {
			return err
		}
		before, err := q.WorkflowPermissionList(ctx, db.WorkflowPermissionListParams{CommunityID: communityID, WorkflowID: workflowID})
		if err != nil {
			return err
		}
		if err := q.WorkflowPermissionDeleteAll(ctx, db.WorkflowPermissionDeleteAllParams{CommunityID: communityID, WorkflowID: workflowID}); err != nil {
			return err
		}
		kept := make([]Grant, 0, len(grants))
		for i, g := range grants {
			if !g.Read && !g.Write && !g.Execute {
				continue
			}
			kept = append(kept, g)
			if g.Kind == GrantUser {
				id, _ := strconv.ParseInt(g.Subject, 10, 64)
				if _, err := q.MemberGetRole(ctx, db.MemberGetRoleParams{CommunityID: communityID, UserID: id}); errors.Is(err, pgx.ErrNoRows) {
					return problem.Invalidf(fmt.Sprintf("grants[%d].subject", i), "User %d is not a member of this community.", id)
				} else if err != nil {
					return err
				}
			}
			if err := q.WorkflowPermissionInsert(ctx, db.WorkflowPermissionInsertParams{WorkflowID: workflowID, CommunityID: communityID,
				SubjectKind: g.Kind, Subject: g.Subject, CanRead: g.Read, CanWrite: g.Write, CanExecute: g.Execute}); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.WorkflowPermissionsChanged,
			Target: fmt.Sprintf("workflow %q", wf.Name), Before: grantsState{toGrants(before)}, After: grantsState{kept}})
	})
	if err != nil && problem.As(err) == nil {
		return fmt.Errorf("set permissions on workflow %d: %w", workflowID, err)
	}
	return err
}
