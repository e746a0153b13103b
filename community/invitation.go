package community

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/mail"
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
		return auth.User{}, false, fmt.Errorf("accept invitation: %w", err)
	}
	return u, created, nil
}

// The mails community sends, as mail.SendArgs.Mail.
const (
	MailInvitation  = "invitation"   // ID: the invitation
	MailMemberAdded = "member_added" // ID: the account added, CommunityID, ActorID: who added it
)

// MailComposers composes the mails community queues, for the mail.SendWorker.
func (s *Service) MailComposers() mail.Composers {
	return mail.Composers{MailInvitation: s.composeInvitation, MailMemberAdded: s.composeMemberAdded}
}

// composeInvitation mints the invitation's token, storing its hash in place of
// any earlier attempt's (whose link stops working), and writes the mail with the link.
func (s *Service) composeInvitation(ctx context.Context, a mail.SendArgs) (mail.Message, error) {
	token, hash := auth.NewToken()
	var inv db.InvitationGetForMailRow
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		var err error
		inv, err = q.InvitationGetForMail(ctx, a.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return mail.ErrNothingToSend // accepted, withdrawn, replaced or expired
		}
		if err != nil {
			return fmt.Errorf("load invitation %d: %w", a.ID, err)
		}
		return q.InvitationSetToken(ctx, db.InvitationSetTokenParams{ID: inv.ID, TokenHash: hash})
	})
	if err != nil {
		return mail.Message{}, err
	}
	inviter := inv.Inviter
	if inviter == "" {
		inviter = "An admin"
	}
	return mail.Invitation(inv.Email, s.baseURL, s.baseURL+"/invite/"+url.PathEscape(token), inviter, inv.CommunityName, inv.Role)
}

// composeMemberAdded tells an account it was added, with its role as it is now.
func (s *Service) composeMemberAdded(ctx context.Context, a mail.SendArgs) (mail.Message, error) {
	q := db.New(s.pool)
	m, err := q.MemberGet(ctx, db.MemberGetParams{CommunityID: a.CommunityID, UserID: a.ID})
	if errors.Is(err, pgx.ErrNoRows) {
		return mail.Message{}, mail.ErrNothingToSend // removed again since
	}
	if err != nil {
		return mail.Message{}, fmt.Errorf("load member %d of %d: %w", a.ID, a.CommunityID, err)
	}
	c, err := q.CommunityGet(ctx, a.CommunityID)
	if err != nil {
		return mail.Message{}, fmt.Errorf("load community %d: %w", a.CommunityID, err)
	}
	inviter := "An admin"
	if by, err := q.UserGet(ctx, a.ActorID); err == nil {
		inviter = auth.User{DisplayName: by.DisplayName, Email: by.Email}.Name()
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return mail.Message{}, fmt.Errorf("load account %d: %w", a.ActorID, err)
	}
	return mail.AddedToCommunity(m.Email, s.baseURL, inviter, c.Name, m.Role)
}
