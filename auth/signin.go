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
	"github.com/waddle/waddle/problem"
)

// Sign-in throttling: failures are counted per account and per client address
// over a sliding window. Past the "slow" mark every further failure is answered
// after a growing delay; past the "refuse" mark sign-in is refused outright,
// without checking the password, until the window lets go.
const (
	failWindow      = 15 * time.Minute
	accountSlowMark = 3
	accountRefuse   = 10
	ipSlowMark      = 10
	ipRefuse        = 50
	maxFailDelay    = 5 * time.Second
)

// ErrBadCredentials is the one answer for an unknown email or a wrong password.
var ErrBadCredentials = problem.New(problem.Unauthorized, "The email or password is wrong.")

// SignIn checks email and password and returns the account.
func (s *Service) SignIn(ctx context.Context, email, password, ip string) (User, error) {
	email = NormalizeEmail(email)
	if email == "" || password == "" {
		return User{}, problem.New(problem.Invalid, "Enter your email address and password.")
	}
	if len(email) > 254 {
		return User{}, ErrBadCredentials
	}
	acctKey, ipKey := "signin:acct:"+email, "signin:ip:"+ip
	for _, k := range []struct {
		key    string
		refuse int
	}{{acctKey, accountRefuse}, {ipKey, ipRefuse}} {
		if r := s.limiter.Peek(ctx, k.key, k.refuse, failWindow); !r.Allowed {
			mins := int(math.Ceil(r.RetryAfter.Minutes()))
			return User{}, &problem.Error{Code: problem.TooMany, RetryAfter: r.RetryAfter,
				Message: fmt.Sprintf("Too many failed sign-in attempts. Sign-in is locked for %d more minute%s; you can also reset your password.", mins, plural(mins))}
		}
	}

	row, err := db.New(s.pool).UserGetByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("sign in: %w", err)
	}
	if found && checkPassword(password, row.PasswordHash) {
		s.limiter.Reset(ctx, acctKey, failWindow)
		u := toUser(row)
		if err := audit.Record(ctx, s.pool, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip}, audit.Entry{Action: audit.SignIn}); err != nil {
			return User{}, err
		}
		return u, nil
	}
	if !found {
		checkPassword(password, nil) // same work as a real comparison
	}

	acct := s.limiter.Take(ctx, acctKey, 0, failWindow)
	byIP := s.limiter.Take(ctx, ipKey, 0, failWindow)
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
		if err := audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip}, audit.Entry{Action: audit.PasswordChanged, Target: u.Email}); err != nil {
			return err
		}
		return s.mailPasswordChanged(ctx, tx, u.Email)
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
