package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
)

// Second factors. An account with a confirmed authenticator app (TOTP) or a
// passkey signs in in two steps: the password, then a code, a recovery code or
// a passkey. Codes and password re-checks are throttled with the limits of
// password sign-in, counted per account id and per client address. Every
// change to an account's factors is mailed to its holder (factor_mail.go).

// NeedSecondFactor is the error SignIn returns when the password was right but
// the account has a second factor: the caller must ask for it before the
// session is signed in. Callers that do not know about it fail closed.
type NeedSecondFactor struct {
	User User
}

func (e *NeedSecondFactor) Error() string { return "a second factor is needed to sign in" }

// Second-step methods.
const (
	MethodTOTP     = "totp"
	MethodRecovery = "recovery"
	MethodPasskey  = "passkey"
)

// ErrBadCode is the one answer for a wrong, malformed or already used code.
var ErrBadCode = problem.Invalidf("code", "The code is wrong or was already used.")

// ErrSignInExpired answers a second step whose first step is no longer valid.
var ErrSignInExpired = problem.New(problem.Unauthorized, "Your sign-in has expired. Enter your email and password again.")

// Factors is what an account has set up.
type Factors struct {
	TOTP         bool // a confirmed authenticator app
	Passkeys     []Passkey
	RecoveryLeft int // unused recovery codes
}

// Enabled reports whether the account has a second factor.
func (f Factors) Enabled() bool { return f.TOTP || len(f.Passkeys) > 0 }

// Factors returns the second factors of the account.
func (s *Service) Factors(ctx context.Context, userID int64) (Factors, error) {
	st, err := db.New(s.pool).TwoFactorStatus(ctx, db.TwoFactorStatusParams{UserID: userID, RpID: s.passkey.rpID})
	if err != nil {
		return Factors{}, fmt.Errorf("load second factors of user %d: %w", userID, err)
	}
	f := Factors{TOTP: st.Totp, RecoveryLeft: int(st.RecoveryLeft)}
	if st.Passkeys > 0 {
		if f.Passkeys, err = s.Passkeys(ctx, userID); err != nil {
			return Factors{}, err
		}
	}
	return f, nil
}

// HasTwoFactor reports whether the account has a second factor.
func (s *Service) HasTwoFactor(ctx context.Context, userID int64) (bool, error) {
	return hasTwoFactor(ctx, db.New(s.pool), userID, s.passkey.rpID)
}

func hasTwoFactor(ctx context.Context, q *db.Queries, userID int64, rpID string) (bool, error) {
	st, err := q.TwoFactorStatus(ctx, db.TwoFactorStatusParams{UserID: userID, RpID: rpID})
	if err != nil {
		return false, fmt.Errorf("load second factors of user %d: %w", userID, err)
	}
	return st.Totp || st.Passkeys > 0, nil
}

// factorThrottle counts one attempt at a code or a password re-check.
type factorThrottle struct {
	acctKey    string
	acct, byIP ratelimit.Result
}

func (s *Service) takeFactorAttempt(ctx context.Context, userID int64, ip string) (factorThrottle, error) {
	t := factorThrottle{acctKey: "2fa:acct:" + strconv.FormatInt(userID, 10)}
	if t.acct = s.limiter.Take(ctx, t.acctKey, accountRefuse, failWindow); !t.acct.Allowed {
		return t, lockedOutFactor(t.acct.RetryAfter)
	}
	if t.byIP = s.limiter.Take(ctx, "2fa:ip:"+ip, ipRefuse, failWindow); !t.byIP.Allowed {
		return t, lockedOutFactor(t.byIP.RetryAfter)
	}
	return t, nil
}

func lockedOutFactor(retry time.Duration) error {
	mins := int(math.Ceil(retry.Minutes()))
	return &problem.Error{Code: problem.TooMany, RetryAfter: retry,
		Message: fmt.Sprintf("Too many wrong codes or passwords. Try again in %d minute%s.", mins, plural(mins))}
}

// passed clears the account's count after a success.
func (s *Service) passed(ctx context.Context, t factorThrottle) {
	s.limiter.Reset(ctx, t.acctKey, failWindow)
}

// failed slows the answer to a failure as password sign-in does.
func (s *Service) failed(ctx context.Context, t factorThrottle) {
	if over := max(t.acct.Count-accountSlowMark, t.byIP.Count-ipSlowMark); over > 0 {
		s.sleep(ctx, min(time.Duration(over)*time.Second, maxFailDelay))
	}
}

// CheckPassword re-checks the password of a signed-in user before a sensitive
// change (removing a second factor, new recovery codes). It is throttled like
// the codes, and a failure is recorded.
func (s *Service) CheckPassword(ctx context.Context, u User, password, ip string) error {
	if password == "" {
		return problem.Invalidf("password", "Enter your password to confirm.")
	}
	t, err := s.takeFactorAttempt(ctx, u.ID, ip)
	if err != nil {
		return err
	}
	row, err := db.New(s.pool).UserGet(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if checkPassword(password, row.PasswordHash) {
		s.passed(ctx, t)
		return nil
	}
	if err := audit.Record(ctx, s.pool, actorOf(u, ip), audit.Entry{Action: audit.SignInFailed, Target: "password check"}); err != nil {
		return err
	}
	s.failed(ctx, t)
	return problem.Invalidf("password", "The password is wrong.")
}

func actorOf(u User, ip string) audit.Actor { return audit.Actor{UserID: u.ID, Email: u.Email, IP: ip} }

// pendingUser loads the account of a half-finished sign-in; a changed session
// version (a password reset or change since the first step) ends it.
func (s *Service) pendingUser(ctx context.Context, userID int64, sessionVersion int32) (User, error) {
	u, err := s.User(ctx, userID)
	if errors.Is(err, ErrUserNotFound) || (err == nil && u.SessionVersion != sessionVersion) {
		return User{}, ErrSignInExpired
	}
	return u, err
}

// CompleteSignIn is the second step of a sign-in with a code: method is
// MethodTOTP (a code of the authenticator app) or MethodRecovery (a recovery
// code, used up). userID and sessionVersion are those the first step gave.
func (s *Service) CompleteSignIn(ctx context.Context, userID int64, sessionVersion int32, method, code, ip string) (User, error) {
	u, err := s.pendingUser(ctx, userID, sessionVersion)
	if err != nil {
		return User{}, err
	}
	var normal string
	switch method {
	case MethodTOTP:
		normal, err = normalizeTOTPCode(code)
	case MethodRecovery:
		normal, err = normalizeRecoveryCode(code)
	default:
		return User{}, problem.Invalidf("method", "Choose a code from your authenticator app or a recovery code.")
	}
	if err != nil {
		return User{}, err
	}
	t, err := s.takeFactorAttempt(ctx, u.ID, ip)
	if err != nil {
		return User{}, err
	}
	ok := false
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		var err error
		if method == MethodTOTP {
			ok, err = s.checkTOTP(ctx, q, u.ID, normal)
		} else {
			ok, err = useRecoveryCode(ctx, q, u.ID, normal)
		}
		if err != nil || !ok {
			return err
		}
		if method == MethodRecovery {
			if err := audit.Record(ctx, tx, actorOf(u, ip), audit.Entry{Action: audit.RecoveryCodeUsed, Target: u.Email}); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actorOf(u, ip), audit.Entry{Action: audit.SignIn, Target: methodLabel(method)})
	})
	if err != nil {
		return User{}, fmt.Errorf("second step of sign-in: %w", err)
	}
	if ok {
		s.passed(ctx, t)
		return u, nil
	}
	if err := audit.Record(ctx, s.pool, actorOf(u, ip), audit.Entry{Action: audit.TwoFactorFailed, Target: methodLabel(method)}); err != nil {
		return User{}, err
	}
	s.failed(ctx, t)
	return User{}, ErrBadCode
}

func methodLabel(method string) string {
	switch method {
	case MethodTOTP:
		return targetApp
	case MethodRecovery:
		return "recovery code"
	}
	return method
}

// ClearSecondFactors removes every second factor of the account with email
// (its app, passkeys and recovery codes), for an operator helping someone who
// lost them; actor is recorded in the audit log, and the account's holder is
// mailed.
func (s *Service) ClearSecondFactors(ctx context.Context, email string, actor audit.Actor) (User, error) {
	var u User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.UserGetByEmail(ctx, NormalizeEmail(email))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUserNotFound
		}
		if err != nil {
			return err
		}
		u = toUser(row)
		if err := clearFactors(ctx, q, u.ID); err != nil {
			return err
		}
		return s.recordFactorChange(ctx, tx, u.ID, actor, audit.Entry{Action: audit.TwoFactorCleared, Target: u.Email})
	})
	if err != nil {
		return User{}, fmt.Errorf("clear second factors: %w", err)
	}
	return u, nil
}

func clearFactors(ctx context.Context, q *db.Queries, userID int64) error {
	if _, err := q.TOTPDelete(ctx, userID); err != nil {
		return err
	}
	if err := q.PasskeyDeleteAll(ctx, userID); err != nil {
		return err
	}
	return q.RecoveryCodeDeleteAll(ctx, userID)
}

// afterRemoval drops the recovery codes once the last factor is gone: they
// would stand for nothing, and a new factor brings new ones.
func (s *Service) afterRemoval(ctx context.Context, q *db.Queries, userID int64) error {
	has, err := hasTwoFactor(ctx, q, userID, s.passkey.rpID)
	if err != nil || has {
		return err
	}
	return q.RecoveryCodeDeleteAll(ctx, userID)
}
