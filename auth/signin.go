package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/problem"
)

// Sign-in throttling: attempts are counted per account (cleared by a success)
// and per client address over a sliding window. Past the "slow" mark every
// failure is answered after a growing delay; past the "refuse" mark sign-in is
// refused outright, without checking the password, until the window lets go.
const (
	failWindow      = 15 * time.Minute
	accountSlowMark = 3
	accountRefuse   = 10
	ipSlowMark      = 20
	ipRefuse        = 100
	maxFailDelay    = 5 * time.Second
)

// ErrBadCredentials is the one answer for an unknown email or a wrong password.
var ErrBadCredentials = problem.New(problem.Unauthorized, "The email or password is wrong.")

// SignedOut records that u signed out from ip.
func (s *Service) SignedOut(ctx context.Context, u User, ip string) error {
	return audit.Record(ctx, s.pool, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip}, audit.Entry{Action: audit.SignOut})
}

// SignIn checks email and password and returns the account. For an account
// with a second factor it returns a *NeedSecondFactor error instead.
func (s *Service) SignIn(ctx context.Context, email, password, ip string) (User, error) {
	email = NormalizeEmail(email)
	if email == "" || password == "" {
		return User{}, problem.New(problem.Invalid, "Enter your email address and password.")
	}
	if len(email) > 254 {
		return User{}, ErrBadCredentials
	}
	// Every attempt is counted before the password is checked, so parallel
	// guesses cannot slip past the limit; a success clears the account's count.
	acctKey, ipKey, err := s.signInKeys(ctx, email, ip)
	if err != nil {
		return User{}, fmt.Errorf("sign in: %w", err)
	}
	acct := s.limiter.Take(ctx, acctKey, accountRefuse, failWindow)
	if !acct.Allowed {
		return User{}, lockedOut(acct.RetryAfter)
	}
	byIP := s.limiter.Take(ctx, ipKey, ipRefuse, failWindow)
	if !byIP.Allowed {
		return User{}, lockedOut(byIP.RetryAfter)
	}

	row, err := db.New(s.pool).UserGetByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("sign in: %w", err)
	}
	if found && checkPassword(password, row.PasswordHash) {
		s.limiter.Reset(ctx, acctKey, failWindow)
		u := toUser(row)
		if has, err := s.HasTwoFactor(ctx, u.ID); err != nil || has {
			if err != nil {
				return User{}, err
			}
			return User{}, &NeedSecondFactor{User: u} // recorded as a sign-in once the second step passes
		}
		if err := audit.Record(ctx, s.pool, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip}, audit.Entry{Action: audit.SignIn}); err != nil {
			return User{}, err
		}
		return u, nil
	}
	if !found {
		checkPassword(password, nil) // same work as a real comparison
	}

	actor := audit.Actor{Email: email, IP: ip}
	if found {
		actor.UserID = row.ID
	}
	if err := audit.Record(ctx, s.pool, actor, audit.Entry{Action: audit.SignInFailed, Target: email}); err != nil {
		return User{}, err
	}
	over := max(acct.Count-accountSlowMark, byIP.Count-ipSlowMark)
	if over > 0 {
		s.sleep(ctx, min(time.Duration(over)*time.Second, maxFailDelay))
	}
	return User{}, ErrBadCredentials
}

func lockedOut(retry time.Duration) error {
	mins := int(math.Ceil(retry.Minutes()))
	return &problem.Error{Code: problem.TooMany, RetryAfter: retry,
		Message: fmt.Sprintf("Too many failed sign-in attempts. Sign-in is locked for %d more minute%s; you can also reset your password.", mins, plural(mins))}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ChangePassword sets a new password after checking the current one, ends the
// account's other sessions and mails the owner. It returns the account as it
// is now (with its new session version).
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next, ip string) (User, error) {
	row, err := db.New(s.pool).UserGet(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("change password: %w", err)
	}
	if row.PasswordHash != nil && !checkPassword(current, row.PasswordHash) {
		return User{}, problem.Invalidf("current_password", "The current password is wrong.")
	}
	if current == next {
		return User{}, problem.Invalidf("new_password", "The new password is the same as the current one.")
	}
	hash, err := HashPassword("new_password", next)
	if err != nil {
		return User{}, err
	}
	var u User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).UserSetPassword(ctx, db.UserSetPasswordParams{ID: userID, PasswordHash: &hash, EndSessions: true})
		if err != nil {
			return err
		}
		u = toUser(r)
		if err := db.New(tx).PasswordResetMarkUsed(ctx, u.ID); err != nil { // outstanding reset links die too
			return err
		}
		if err := audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip}, audit.Entry{Action: audit.PasswordChanged, Target: u.Email}); err != nil {
			return err
		}
		return mail.Enqueue(ctx, s.jobs, tx, mail.SendArgs{Mail: MailPasswordChanged, ID: u.ID})
	})
	if err != nil {
		return User{}, fmt.Errorf("change password: %w", err)
	}
	return u, nil
}

// UpdateProfile changes the display name.
func (s *Service) UpdateProfile(ctx context.Context, userID int64, displayName string) error {
	name, err := ValidateDisplayName("display_name", displayName)
	if err != nil {
		return err
	}
	if err := db.New(s.pool).UserSetDisplayName(ctx, db.UserSetDisplayNameParams{ID: userID, DisplayName: name}); err != nil {
		return fmt.Errorf("update profile: %w", err)
	}
	return nil
}
