package community

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// ErrBadInvitation covers a wrong, expired, revoked and used link alike.
var ErrBadInvitation = problem.New(problem.Invalid, "This invitation link is wrong, has expired, was withdrawn or was already used. Ask for a new one.")

// InvitationInfo is what the accept page shows.
type InvitationInfo struct {
	Email         string
	CommunityName string
	Role          Role
	HasAccount    bool // the address has an account with a password: accepting just adds it
}

func (s *Service) invitation(ctx context.Context, q *db.Queries, token string) (db.InvitationGetValidRow, error) {
	if len(token) != 43 {
		return db.InvitationGetValidRow{}, ErrBadInvitation
	}
	inv, err := q.InvitationGetValid(ctx, auth.HashToken(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, ErrBadInvitation
	}
	return inv, err
}

// CheckInvitation describes a pending invitation.
func (s *Service) CheckInvitation(ctx context.Context, token string) (InvitationInfo, error) {
	q := db.New(s.pool)
	inv, err := s.invitation(ctx, q, token)
	if err != nil {
		return InvitationInfo{}, err
	}
	info := InvitationInfo{Email: inv.Email, CommunityName: inv.CommunityName, Role: Role(inv.Role)}
	if u, err := q.UserGetByEmail(ctx, inv.Email); err == nil && u.PasswordHash != nil {
		info.HasAccount = true
	}
	return info, nil
}

// AcceptInvitation joins the invited address to the community. A new address
// gets an account with the given password; an existing one is just added.
// It returns the account and whether it was created (and so may be signed in).
func (s *Service) AcceptInvitation(ctx context.Context, token, displayName, password, ip string) (auth.User, bool, error) {
	var (
		u       auth.User
		created bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		inv, err := s.invitation(ctx, q, token)
		if err != nil {
			return err
		}
		n, err := q.InvitationAccept(ctx, inv.ID)
		if err != nil {
			return err
		}
		if n == 0 { // accepted concurrently
			return ErrBadInvitation
		}
		existing, err := q.UserGetByEmail(ctx, inv.Email)
		switch {
		case err == nil && existing.PasswordHash != nil:
			u = auth.User{ID: existing.ID, Email: existing.Email, DisplayName: existing.DisplayName}
		case errors.Is(err, pgx.ErrNoRows):
			if err := auth.ValidatePassword("password", password); err != nil {
				return err // an invited account always gets a password
			}
			if u, err = s.auth.CreateUserTx(ctx, tx, inv.Email, displayName, password); err != nil {
				return err
			}
			created = true
		case err != nil:
			return err
		default:
			return problem.New(problem.Conflict, "This account has no password yet: use “Forgot password” to set one.")
		}
		if err := q.MemberAdd(ctx, db.MemberAddParams{CommunityID: inv.CommunityID, UserID: u.ID, Role: inv.Role}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip},
			audit.Entry{CommunityID: inv.CommunityID, Action: audit.InviteAccepted, Target: fmt.Sprintf("%s as %s", u.Email, inv.Role)})
	})
	if err != nil {
		if problem.As(err) != nil {
			return auth.User{}, false, err
		}
		return auth.User{}, false, fmt.Errorf("accept invitation: %w", err)
	}
	return u, created, nil
}
