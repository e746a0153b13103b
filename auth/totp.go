package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/secret"
)

// TOTP as authenticator apps know it (RFC 6238): 30-second steps, 6 digits,
// HMAC-SHA1, a 160-bit secret. A code is accepted one step early or late, for
// clock drift, and only for a step later than the last one accepted.
const (
	totpPeriod = 30
	totpSkew   = 1
	totpIssuer = "Waddle"
)

var b32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is what the account page shows while an app is being set up.
type TOTPEnrolment struct {
	Secret string // base32, to type into the app
	URL    string // the otpauth:// URL the QR code holds
	QR     string // the QR code as a data:image/png URL
}

// ErrNoTOTPEnrolment answers a confirmation without a started set-up.
var ErrNoTOTPEnrolment = problem.New(problem.Conflict, "Start setting up the authenticator app again.")

// errTOTPNoKey is the answer when TOKEN_ENCRYPTION_KEY is not set.
var errTOTPNoKey = problem.New(problem.Conflict, "Authenticator apps are not available: the operator has not set TOKEN_ENCRYPTION_KEY, which the secret would be sealed with. Passkeys work without it.")

// StartTOTP begins setting up an authenticator app for u: a new secret,
// sealed at rest, that takes effect once ConfirmTOTP sees a valid code. It
// replaces a set-up not yet confirmed; an app already confirmed must be
// removed first.
func (s *Service) StartTOTP(ctx context.Context, u User) (TOTPEnrolment, error) {
	q := db.New(s.pool)
	row, err := q.TOTPGet(ctx, u.ID)
	switch {
	case err == nil && row.ConfirmedAt != nil:
		return TOTPEnrolment{}, problem.New(problem.Conflict, "An authenticator app is already set up. Remove it first to set up another.")
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return TOTPEnrolment{}, fmt.Errorf("start TOTP: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("generate TOTP secret: %w", err)
	}
	sealed, err := s.secrets.Seal([]byte(key.Secret()))
	if errors.Is(err, secret.ErrNoKey) {
		return TOTPEnrolment{}, errTOTPNoKey
	}
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("seal TOTP secret: %w", err)
	}
	if err := q.TOTPSetPending(ctx, db.TOTPSetPendingParams{UserID: u.ID, SecretSealed: sealed}); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("store TOTP secret: %w", err)
	}
	return enrolment(key)
}

// PendingTOTP returns the set-up started by StartTOTP and not yet confirmed.
func (s *Service) PendingTOTP(ctx context.Context, u User) (TOTPEnrolment, error) {
	row, err := db.New(s.pool).TOTPGet(ctx, u.ID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.ConfirmedAt != nil) {
		return TOTPEnrolment{}, ErrNoTOTPEnrolment
	}
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("load TOTP set-up: %w", err)
	}
	plain, err := s.openTOTP(row.SecretSealed)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email, Period: totpPeriod, Digits: otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1, Secret: plain})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("rebuild TOTP key: %w", err)
	}
	return enrolment(key)
}

func enrolment(key *otp.Key) (TOTPEnrolment, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("draw TOTP QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("encode TOTP QR code: %w", err)
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL(),
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// openTOTP returns the raw secret sealed in the database.
func (s *Service) openTOTP(sealed []byte) ([]byte, error) {
	b32, err := s.secrets.Open(sealed)
	if errors.Is(err, secret.ErrNoKey) {
		return nil, errTOTPNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("open TOTP secret: %w", err)
	}
	raw, err := b32NoPad.DecodeString(string(b32))
	if err != nil {
		return nil, fmt.Errorf("decode TOTP secret: %w", err)
	}
	return raw, nil
}

// ConfirmTOTP turns on the app set up by StartTOTP once code is valid. When
// the account has no recovery codes left, it gets ten, returned to be shown
// once.
func (s *Service) ConfirmTOTP(ctx context.Context, u User, code, ip string) ([]string, error) {
	normal, err := normalizeTOTPCode(code)
	if err != nil {
		return nil, err
	}
	t, err := s.takeFactorAttempt(ctx, u.ID, ip)
	if err != nil {
		return nil, err
	}
	var codes []string
	ok := false
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.TOTPGet(ctx, u.ID)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.ConfirmedAt != nil) {
			return ErrNoTOTPEnrolment
		}
		if err != nil {
			return err
		}
		raw, err := s.openTOTP(row.SecretSealed)
		if err != nil {
			return err
		}
		step, found := matchTOTP(raw, normal, time.Now(), 0)
		if !found {
			return nil
		}
		if n, err := q.TOTPConfirm(ctx, db.TOTPConfirmParams{UserID: u.ID, Step: step}); err != nil || n == 0 {
			if err == nil {
				err = ErrNoTOTPEnrolment // confirmed by a concurrent request
			}
			return err
		}
		ok = true
		if err := s.recordFactorChange(ctx, tx, u.ID, actorOf(u, ip), audit.Entry{Action: audit.TwoFactorEnabled, Target: targetApp}); err != nil {
			return err
		}
		codes, err = s.ensureRecoveryCodes(ctx, tx, u, ip)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("confirm TOTP: %w", err)
	}
	if !ok {
		s.failed(ctx, t)
		return nil, ErrBadCode
	}
	s.passed(ctx, t)
	return codes, nil
}

// RemoveTOTP turns the app off after the password is checked again.
func (s *Service) RemoveTOTP(ctx context.Context, u User, password, ip string) error {
	if err := s.CheckPassword(ctx, u, password, ip); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		n, err := q.TOTPDelete(ctx, u.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			return problem.New(problem.NotFound, "No authenticator app is set up.")
		}
		if err := s.afterRemoval(ctx, q, u.ID); err != nil {
			return err
		}
		left, err := loadFactorsLeft(ctx, q, u.ID, s.passkey.rpID)
		if err != nil {
			return err
		}
		return s.recordFactorChange(ctx, tx, u.ID, actorOf(u, ip), audit.Entry{Action: audit.TwoFactorRemoved, Target: targetApp, After: left})
	})
	if err != nil && problem.As(err) == nil {
		return fmt.Errorf("remove TOTP: %w", err)
	}
	return err
}

// checkTOTP accepts code for the account's confirmed app once: the step it
// matches must be later than the last accepted one, and is recorded.
func (s *Service) checkTOTP(ctx context.Context, q *db.Queries, userID int64, code string) (bool, error) {
	row, err := q.TOTPGet(ctx, userID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.ConfirmedAt == nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	raw, err := s.openTOTP(row.SecretSealed)
	if err != nil {
		return false, err
	}
	step, found := matchTOTP(raw, code, time.Now(), row.LastStep)
	if !found {
		return false, nil
	}
	n, err := q.TOTPUseStep(ctx, db.TOTPUseStepParams{UserID: userID, Step: step})
	return n == 1, err
}

// matchTOTP returns the time step within the skew, after last, whose code is code.
func matchTOTP(secret []byte, code string, now time.Time, last int64) (int64, bool) {
	b32 := b32NoPad.EncodeToString(secret)
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(b32, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// normalizeTOTPCode accepts "123456" and "123 456".
func normalizeTOTPCode(code string) (string, error) {
	c := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code))
	if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
		return "", problem.Invalidf("code", "Enter the 6-digit code your authenticator app shows.")
	}
	return c, nil
}
