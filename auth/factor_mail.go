package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/mail"
)

// Every change to an account's second factors (an app or a passkey added or
// removed, new recovery codes, an operator clearing them) is mailed to its
// holder (OWASP ASVS 2.2.3, 2.5.x), so a change they did not make does not go
// unnoticed. The mail job is queued in the transaction of the change and names
// only the account and the audit entry recording it: the mail's what, when
// and from where are read from that entry when the mail is sent.

// MailSignInChanged is the mail.SendArgs.Mail of that mail. ID: the account;
// AuditID: the audit entry of the change.
const MailSignInChanged = "sign_in_changed"

// Audit targets of second-factor changes, which the mail reads back.
const (
	targetApp           = "authenticator app"
	targetPasskeyPrefix = "passkey "
)

// factorsLeft is the After state of a removal's audit entry: what the
// account still has, so its mail can say when nothing is left.
type factorsLeft struct {
	App      bool  `json:"authenticator_app"`
	Passkeys int64 `json:"passkeys"`
}

func loadFactorsLeft(ctx context.Context, q *db.Queries, userID int64, rpID string) (factorsLeft, error) {
	st, err := q.TwoFactorStatus(ctx, db.TwoFactorStatusParams{UserID: userID, RpID: rpID})
	if err != nil {
		return factorsLeft{}, fmt.Errorf("load second factors of user %d: %w", userID, err)
	}
	return factorsLeft{App: st.Totp, Passkeys: st.Passkeys}, nil
}

// recordFactorChange records e, a change to the second factors of account
// userID, and queues the mail that tells its holder, both in tx.
func (s *Service) recordFactorChange(ctx context.Context, tx pgx.Tx, userID int64, actor audit.Actor, e audit.Entry) error {
	entryID, err := audit.RecordID(ctx, tx, actor, e)
	if err != nil {
		return err
	}
	return mail.Enqueue(ctx, s.jobs, tx, mail.SendArgs{Mail: MailSignInChanged, ID: userID, AuditID: entryID})
}

// composeSignInChanged writes the mail from the account and the audit entry.
func (s *Service) composeSignInChanged(ctx context.Context, a mail.SendArgs) (mail.Message, error) {
	u, err := db.New(s.pool).UserGet(ctx, a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return mail.Message{}, mail.ErrNothingToSend // the account was deleted
	}
	if err != nil {
		return mail.Message{}, fmt.Errorf("load account %d: %w", a.ID, err)
	}
	// A job that names no entry, or one that is not this account's change,
	// is a bug, not a passing failure: it is cancelled rather than retried.
	e, err := audit.Get(ctx, s.pool, a.AuditID)
	if errors.Is(err, audit.ErrNoEntry) {
		return mail.Message{}, river.JobCancel(err)
	}
	if err != nil {
		return mail.Message{}, err
	}
	c, err := describeSignInChange(e)
	if err != nil {
		return mail.Message{}, river.JobCancel(err)
	}
	if !c.ByOperator && e.ActorID != u.ID {
		return mail.Message{}, river.JobCancel(fmt.Errorf("audit entry %d is not a change made by account %d", e.ID, u.ID))
	}
	return mail.SignInChanged(u.Email, s.baseURL, c)
}

// describeSignInChange says what the audit entry e changed, for its mail.
func describeSignInChange(e audit.Item) (mail.SignInChange, error) {
	c := mail.SignInChange{At: e.At, From: e.IP}
	if c.From == "" {
		c.From = "an unknown address"
	}
	passkey, isPasskey := strings.CutPrefix(e.Target, targetPasskeyPrefix)
	switch {
	case e.Action == audit.TwoFactorEnabled && e.Target == targetApp:
		c.Subject = "An authenticator app was added to your Waddle account"
		c.What = "An authenticator app was set up as a second factor of your Waddle account: signing in now asks for one of its codes."
	case e.Action == audit.TwoFactorEnabled && isPasskey:
		c.Subject = "A passkey was added to your Waddle account"
		c.What = fmt.Sprintf("A passkey named %q was added to your Waddle account: it can now sign in to it.", passkey)
	case e.Action == audit.TwoFactorRemoved && e.Target == targetApp:
		c.Subject = "The authenticator app was removed from your Waddle account"
		c.What = "The authenticator app was removed from your Waddle account: its codes no longer sign in."
	case e.Action == audit.TwoFactorRemoved && isPasskey:
		c.Subject = "A passkey was removed from your Waddle account"
		c.What = fmt.Sprintf("The passkey named %q was removed from your Waddle account: it no longer signs in.", passkey)
	case e.Action == audit.RecoveryCodesGenerated:
		c.Subject = "New recovery codes for your Waddle account"
		c.What = "New recovery codes were made for your Waddle account. The earlier ones no longer work."
	case e.Action == audit.TwoFactorCleared:
		c.Subject = "The second factors of your Waddle account were removed"
		c.What = "An operator of the hub removed every second factor of your Waddle account (authenticator app, passkeys and recovery codes) from the command line. Until you set up a new one, your password alone signs in."
		c.From, c.ByOperator = "the hub's command line, by an operator", true
	default:
		return mail.SignInChange{}, fmt.Errorf("audit entry %d (%s %q) is no change to second factors", e.ID, e.Action, e.Target)
	}
	if e.Action == audit.TwoFactorRemoved && e.After != nil {
		var left factorsLeft
		if err := json.Unmarshal(e.After, &left); err != nil {
			return mail.SignInChange{}, fmt.Errorf("audit entry %d: factors left: %w", e.ID, err)
		}
		if !left.App && left.Passkeys == 0 {
			c.What += " Your account has no second factor left, and its recovery codes were voided: your password alone signs in."
		}
	}
	return c, nil
}
