package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/problem"
)

// ResetTokenTTL is how long a reset link works.
const ResetTokenTTL = time.Hour

// ErrBadResetToken covers a wrong, expired and already used link alike.
var ErrBadResetToken = problem.New(problem.Invalid, "This password reset link is wrong, has expired or was already used. Ask for a new one.")

// ResetRequestArgs is the job that looks up an account and mails it a reset
// link. The web request only queues it, so the answer takes the same time
// whether or not the account exists.
type ResetRequestArgs struct {
	Email string `json:"email"`
	IP    string `json:"ip"`
}

// Kind names the job.
func (ResetRequestArgs) Kind() string { return "auth.password_reset_request" }

// InsertOpts retries a few times; the mail itself is a job of its own.
func (ResetRequestArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// Limits on reset requests: per address (silently: the answer must not tell
// whether the address has an account) and per client address (openly).
const (
	resetPerEmail  = 3
	resetPerIP     = 20
	resetLimitSpan = time.Hour
)

// RequestPasswordReset queues a reset mail for email if an account has it.
func (s *Service) RequestPasswordReset(ctx context.Context, email, ip string) error {
	email, err := ValidateEmail("email", email)
	if err != nil {
		return err
	}
	if r := s.limiter.Take(ctx, "reset:ip:"+ip, resetPerIP, resetLimitSpan); !r.Allowed {
		return &problem.Error{Code: problem.TooMany, RetryAfter: r.RetryAfter,
			Message: "Too many password reset requests from your network. Try again later."}
	}
	if r := s.limiter.Take(ctx, "reset:email:"+email, resetPerEmail, resetLimitSpan); !r.Allowed {
		// Answered like any other request, but no more mail goes to this address for now.
		s.logger.WarnContext(ctx, "password reset requests for one address over the limit; not mailing", "ip", ip)
		return nil
	}
	if _, err := s.jobs.Insert(ctx, ResetRequestArgs{Email: email, IP: ip}, nil); err != nil {
		return fmt.Errorf("queue password reset: %w", err)
	}
	return nil
}

// ResetRequestWorker runs ResetRequestArgs jobs.
type ResetRequestWorker struct {
	river.WorkerDefaults[ResetRequestArgs]
	Service *Service
}

// Work creates a reset token for the account, if there is one, and queues its mail.
func (w *ResetRequestWorker) Work(ctx context.Context, job *river.Job[ResetRequestArgs]) error {
	s := w.Service
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		u, err := q.UserGetByEmail(ctx, job.Args.Email)
		if errors.Is(err, pgx.ErrNoRows) {
			s.logger.InfoContext(ctx, "password reset asked for an address with no account")
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up account for reset: %w", err)
		}
		token, hash := NewToken()
		if err := q.PasswordResetInsert(ctx, db.PasswordResetInsertParams{
			UserID: u.ID, TokenHash: hash, ExpiresAt: time.Now().Add(ResetTokenTTL),
		}); err != nil {
			return fmt.Errorf("store reset token: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Email: u.Email, IP: job.Args.IP},
			audit.Entry{Action: audit.PasswordResetAsk, Target: u.Email}); err != nil {
			return err
		}
		m, err := mail.PasswordReset(u.Email, s.baseURL, s.baseURL+"/reset-password/"+url.PathEscape(token))
		if err != nil {
			return fmt.Errorf("render reset mail: %w", err)
		}
		return mail.Enqueue(ctx, s.jobs, tx, m)
	})
}

// CheckResetToken reports whether a reset link is still usable, so the page can
// say so before the user types a new password.
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	if !plausibleToken(token) {
		return ErrBadResetToken
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := db.New(tx).PasswordResetGetValid(ctx, HashToken(token))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrBadResetToken
		}
		return err
	})
}

// ResetPassword uses a reset token to set a new password. The token and every
// other outstanding token of the account stop working, every session of the
// account ends, and the owner gets a "password changed" mail.
func (s *Service) ResetPassword(ctx context.Context, token, password, ip string) (User, error) {
	if !plausibleToken(token) {
		return User{}, ErrBadResetToken
	}
	hash, err := HashPassword("password", password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		pr, err := q.PasswordResetGetValid(ctx, HashToken(token))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrBadResetToken
		}
		if err != nil {
			return err
		}
		if err := q.PasswordResetMarkUsed(ctx, pr.UserID); err != nil {
			return err
		}
		r, err := q.UserSetPassword(ctx, db.UserSetPasswordParams{ID: pr.UserID, PasswordHash: &hash, EndSessions: true})
		if err != nil {
			return err
		}
		u = toUser(r)
		if err := audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Email: u.Email, IP: ip}, audit.Entry{Action: audit.PasswordReset, Target: u.Email}); err != nil {
			return err
		}
		return s.mailPasswordChanged(ctx, tx, u.Email)
	})
	if err != nil {
		if problem.As(err) != nil {
			return User{}, err
		}
		return User{}, fmt.Errorf("reset password: %w", err)
	}
	s.limiter.Reset(ctx, "signin:acct:"+u.Email, failWindow)
	return u, nil
}

// SetPassword sets an account's password from the command line (`waddle admin
// reset-password`), ending its sessions.
func (s *Service) SetPassword(ctx context.Context, email, password string) (User, error) {
	hash, err := HashPassword("password", password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.UserGetByEmail(ctx, NormalizeEmail(email))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUserNotFound
		}
		if err != nil {
			return err
		}
		r, err := q.UserSetPassword(ctx, db.UserSetPasswordParams{ID: row.ID, PasswordHash: &hash, EndSessions: true})
		if err != nil {
			return err
		}
		u = toUser(r)
		if err := q.PasswordResetMarkUsed(ctx, u.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Actor{Email: "command line"}, audit.Entry{Action: audit.PasswordReset, Target: u.Email})
	})
	if err != nil {
		if problem.As(err) != nil {
			return User{}, err
		}
		return User{}, fmt.Errorf("set password: %w", err)
	}
	s.limiter.Reset(ctx, "signin:acct:"+u.Email, failWindow)
	return u, nil
}

func (s *Service) mailPasswordChanged(ctx context.Context, tx pgx.Tx, to string) error {
	m, err := mail.PasswordChanged(to, s.baseURL)
	if err != nil {
		return fmt.Errorf("render password changed mail: %w", err)
	}
	return mail.Enqueue(ctx, s.jobs, tx, m)
}

// plausibleToken rejects what cannot be one of our tokens before touching the database.
func plausibleToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
