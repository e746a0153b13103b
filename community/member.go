package community

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/problem"
)

// InvitationTTL is how long an invitation link works.
const InvitationTTL = 7 * 24 * time.Hour

// MemberInfo is one member as listed on the community page.
type MemberInfo struct {
	UserID      int64
	Email       string
	DisplayName string
	Role        Role
	Since       time.Time
}

// Name is what the hub shows for the member.
func (m MemberInfo) Name() string {
	if m.DisplayName != "" {
		return m.DisplayName
	}
	return m.Email
}

// Invitation is a pending invitation.
type Invitation struct {
	ID        int64
	Email     string
	Role      Role
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrMemberNotFound is returned for a user who is not a member of the community.
var ErrMemberNotFound = problem.New(problem.NotFound, "No such member in this community.")

func toMember(r db.MemberGetRow) MemberInfo {
	return MemberInfo{UserID: r.UserID, Email: r.Email, DisplayName: r.DisplayName, Role: Role(r.Role), Since: r.CreatedAt}
}

// Members lists a community's members, most powerful first.
func (s *Service) Members(ctx context.Context, communityID int64) ([]MemberInfo, error) {
	rows, err := db.New(s.pool).MemberList(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list members of %d: %w", communityID, err)
	}
	out := make([]MemberInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, toMember(db.MemberGetRow(r)))
	}
	return out, nil
}

// Member returns one member.
func (s *Service) Member(ctx context.Context, communityID, userID int64) (MemberInfo, error) {
	r, err := db.New(s.pool).MemberGet(ctx, db.MemberGetParams{CommunityID: communityID, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return MemberInfo{}, ErrMemberNotFound
	}
	if err != nil {
		return MemberInfo{}, fmt.Errorf("load member: %w", err)
	}
	return toMember(r), nil
}

// checkTarget loads the member a change is about and checks that the actor may
// change them: admins may not touch owners, and nobody strips the last owner.
func (s *Service) checkTarget(ctx context.Context, q *db.Queries, a Actor, communityID, userID int64, newRole Role) (MemberInfo, error) {
	if !a.Role.CanManage() {
		return MemberInfo{}, ErrNotAllowed
	}
	r, err := q.MemberGet(ctx, db.MemberGetParams{CommunityID: communityID, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return MemberInfo{}, ErrMemberNotFound
	}
	if err != nil {
		return MemberInfo{}, err
	}
	m := toMember(r)
	if m.Role == Owner && a.Role != Owner {
		return MemberInfo{}, problem.New(problem.Forbidden, "Only an owner can change or remove an owner.")
	}
	if m.Role == Owner && newRole != Owner {
		owners, err := q.MemberLockOwners(ctx, communityID)
		if err != nil {
			return MemberInfo{}, err
		}
		if len(owners) <= 1 {
			return MemberInfo{}, problem.New(problem.Conflict, "A community needs at least one owner: make someone else owner first.")
		}
	}
	return m, nil
}

// ChangeRole gives a member a new role.
func (s *Service) ChangeRole(ctx context.Context, a Actor, communityID, userID int64, role Role) (MemberInfo, error) {
	if !a.Role.canAssign(role) {
		if !a.Role.CanManage() {
			return MemberInfo{}, ErrNotAllowed
		}
		return MemberInfo{}, problem.New(problem.Forbidden, "Only an owner can make someone an owner.")
	}
	var m MemberInfo
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		var err error
		if m, err = s.checkTarget(ctx, q, a, communityID, userID, role); err != nil {
			return err
		}
		if m.Role == role {
			return nil
		}
		if err := q.MemberSetRole(ctx, db.MemberSetRoleParams{CommunityID: communityID, UserID: userID, Role: string(role)}); err != nil {
			return err
		}
		target := fmt.Sprintf("%s: %s → %s", m.Email, m.Role, role)
		m.Role = role
		return audit.Record(ctx, tx, a.audit(), audit.Entry{CommunityID: communityID, Action: audit.MemberRoleChanged, Target: target})
	})
	if err != nil {
		return MemberInfo{}, fmt.Errorf("change role: %w", err)
	}
	return m, nil
}

// RemoveMember takes a member out of the community.
func (s *Service) RemoveMember(ctx context.Context, a Actor, communityID, userID int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		m, err := s.checkTarget(ctx, q, a, communityID, userID, "")
		if err != nil {
			return err
		}
		if err := q.MemberRemove(ctx, db.MemberRemoveParams{CommunityID: communityID, UserID: userID}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, a.audit(), audit.Entry{CommunityID: communityID, Action: audit.MemberRemoved, Target: fmt.Sprintf("%s (%s)", m.Email, m.Role)})
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}

// InviteResult says what an invitation did.
type InviteResult struct {
	Added bool // the address already had an account, which was added at once
	Email string
}

// Invite asks someone to join by email. An existing account is added at once
// and told by mail; a new address gets a link to set a password and join.
func (s *Service) Invite(ctx context.Context, a Actor, c Community, email string, role Role) (InviteResult, error) {
	if !a.Role.CanManage() {
		return InviteResult{}, ErrNotAllowed
	}
	email, err := auth.ValidateEmail("email", email)
	if err != nil {
		return InviteResult{}, err
	}
	if role == Owner || !a.Role.canAssign(role) {
		return InviteResult{}, problem.Invalidf("role", "Invite as admin, moderator or member (owners are made from members).")
	}
	res := InviteResult{Email: email}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		u, err := q.UserGetByEmail(ctx, email)
		switch {
		case err == nil:
			if _, err := q.MemberGetRole(ctx, db.MemberGetRoleParams{CommunityID: c.ID, UserID: u.ID}); err == nil {
				return problem.Invalidf("email", "%s is already a member.", email)
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err := q.MemberAdd(ctx, db.MemberAddParams{CommunityID: c.ID, UserID: u.ID, Role: string(role)}); err != nil {
				return err
			}
			res.Added = true
			if err := mail.Enqueue(ctx, s.jobs, tx, mail.SendArgs{Mail: MailMemberAdded, ID: u.ID, CommunityID: c.ID, ActorID: a.User.ID}); err != nil {
				return err
			}
		case errors.Is(err, pgx.ErrNoRows):
			if err := q.InvitationRevokeForEmail(ctx, db.InvitationRevokeForEmailParams{CommunityID: c.ID, Email: email}); err != nil {
				return err
			}
			// The invitation's token is minted when its mail is sent (composeInvitation).
			inv, err := q.InvitationInsert(ctx, db.InvitationInsertParams{
				CommunityID: c.ID, Email: email, Role: string(role), InvitedBy: &a.User.ID, ExpiresAt: time.Now().Add(InvitationTTL),
			})
			if err != nil {
				return err
			}
			if err := mail.Enqueue(ctx, s.jobs, tx, mail.SendArgs{Mail: MailInvitation, ID: inv.ID}); err != nil {
				return err
			}
		default:
			return err
		}
		return audit.Record(ctx, tx, a.audit(), audit.Entry{CommunityID: c.ID, Action: audit.MemberInvited, Target: fmt.Sprintf("%s as %s", email, role)})
	})
	if err != nil {
		return InviteResult{}, fmt.Errorf("invite into community %d: %w", c.ID, err) // no address: this may be logged
	}
	return res, nil
}

// PendingInvitations lists the invitations not yet accepted or expired.
func (s *Service) PendingInvitations(ctx context.Context, communityID int64) ([]Invitation, error) {
	rows, err := db.New(s.pool).InvitationListPending(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out := make([]Invitation, 0, len(rows))
	for _, r := range rows {
		out = append(out, Invitation{ID: r.ID, Email: r.Email, Role: Role(r.Role), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt})
	}
	return out, nil
}

// RevokeInvitation withdraws a pending invitation; its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, a Actor, communityID, id int64) error {
	if !a.Role.CanManage() {
		return ErrNotAllowed
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, err := db.New(tx).InvitationRevoke(ctx, db.InvitationRevokeParams{CommunityID: communityID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return problem.New(problem.NotFound, "No such pending invitation.")
		}
		return audit.Record(ctx, tx, a.audit(), audit.Entry{CommunityID: communityID, Action: audit.InviteRevoked, Target: fmt.Sprintf("invitation %d", id)})
	})
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}
