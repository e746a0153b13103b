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
	byIP, err := s.throttleKey(ctx, "reset:ip", ip)
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	byEmail, err := s.throttleKey(ctx, "reset:email", email)
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	if r := s.limiter.Take(ctx, byIP, resetPerIP, resetLimitSpan); !r.Allowed {
		return &problem.Error{Code: problem.TooMany, RetryAfter: r.RetryAfter,
			Message: "Too many password reset requests from your network. Try again later."}
	}
	if r := s.limiter.Take(ctx, byEmail, resetPerEmail, resetLimitSpan); !r.Allowed {
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

// Work records a reset for the account, if there is one, and queues its mail.
// The reset has no token yet: its link is minted when the mail is sent.
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
		id, err := q.PasswordResetInsert(ctx, db.PasswordResetInsertParams{UserID: u.ID, ExpiresAt: time.Now().Add(ResetTokenTTL)})
		if err != nil {
			return fmt.Errorf("store reset: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Email: u.Email, IP: job.Args.IP},
			audit.Entry{Action: audit.PasswordResetAsk, Target: u.Email}); err != nil {
			return err
		}
		return mail.Enqueue(ctx, s.jobs, tx, mail.SendArgs{Mail: MailPasswordReset, ID: id})
	})
}

// The mails auth sends, as mail.SendArgs.Mail.
const (
	MailPasswordReset   = "password_reset"   // ID: the password_resets row
	MailPasswordChanged = "password_changed" // ID: the account
)

// MailComposers composes the mails auth queues, for the mail.SendWorker.
func (s *Service) MailComposers() mail.Composers {
	return mail.Composers{MailPasswordReset: s.composeReset, MailPasswordChanged: s.composePasswordChanged,
		MailSignInChanged: s.composeSignInChanged}
}

// composeReset mints the reset's token, storing its hash in place of any
// earlier attempt's (whose link stops working), and writes the mail with the link.
func (s *Service) composeReset(ctx context.Context, a mail.SendArgs) (mail.Message, error) {
	token, hash := NewToken()
	var to string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		pr, err := q.PasswordResetGetForMail(ctx, a.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return mail.ErrNothingToSend // used, expired or swept: no link to give
		}
		if err != nil {
			return fmt.Errorf("load reset %d: %w", a.ID, err)
		}
		to = pr.Email
		return q.PasswordResetSetToken(ctx, db.PasswordResetSetTokenParams{ID: pr.ID, TokenHash: hash})
	})
	if err != nil {
		return mail.Message{}, err
	}
	return mail.PasswordReset(to, s.baseURL, s.baseURL+"/reset-password/"+url.PathEscape(token))
}

func (s *Service) composePasswordChanged(ctx context.Context, a mail.SendArgs) (mail.Message, error) {
	u, err := db.New(s.pool).UserGet(ctx, a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return mail.Message{}, mail.ErrNothingToSend
	}
	if err != nil {
		return mail.Message{}, fmt.Errorf("load account %d: %w", a.ID, err)
	}
	return mail.PasswordChanged(u.Email, s.baseURL)
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
		return mail.Enqueue(ctx, s.jobs, tx, mail.SendArgs{Mail: MailPasswordChanged, ID: u.ID})
	})
	if err != nil {
		return User{}, fmt.Errorf("reset password: %w", err)
	}
	s.clearSignInFailures(ctx, u.Email)
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
		return User{}, fmt.Errorf("set password: %w", err)
	}
	s.clearSignInFailures(ctx, u.Email)
	return u, nil
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
