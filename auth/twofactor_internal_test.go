package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/secret"
)

const twoFactorPassword = "a long enough passphrase"

// newTwoFactorService returns a Service with a TOTP key, on a fresh database
// and Redis, whose failure delays are recorded, not slept.
func newTwoFactorService(t *testing.T) (*Service, *pgxpool.Pool, *sleeps) {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Pool: pool, Jobs: jobs, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, BaseURL: "http://hub.test", Secrets: box})
	rec := &sleeps{}
	s.sleep = rec.sleep
	return s, pool, rec
}

// code is the authenticator app's code for secret at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP sets up and confirms an app for u; it returns the secret, the
// recovery codes, and the time whose code confirmed it.
func enrolTOTP(ctx context.Context, t *testing.T, s *Service, u User) (string, []string) {
	t.Helper()
	e, err := s.StartTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := s.ConfirmTOTP(ctx, u, code(t, e.Secret, time.Now()), "192.0.2.1")
	if err != nil {
		t.Fatalf("confirm with a right code: %v", err)
	}
	return e.Secret, codes
}

func secondFactorUser(ctx context.Context, t *testing.T, s *Service, email string) User {
	t.Helper()
	u, err := s.CreateUser(ctx, email, "", twoFactorPassword, false)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signInNeedsSecondFactor signs in with the password and returns the account
// the second step is for, failing unless a second step is asked for.
func signInNeedsSecondFactor(ctx context.Context, t *testing.T, s *Service, email string) User {
	t.Helper()
	_, err := s.SignIn(ctx, email, twoFactorPassword, "192.0.2.1")
	need, ok := errors.AsType[*NeedSecondFactor](err)
	if !ok {
		t.Fatalf("sign in with the right password: %v, want a *NeedSecondFactor", err)
	}
	return need.User
}

func auditActions(ctx context.Context, t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	items, err := audit.Log{Pool: pool}.ListAll(ctx, audit.Filter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(items) - 1; i >= 0; i-- {
		out = append(out, items[i].Action+" "+items[i].Target)
	}
	return out
}

func TestTOTPEnrolmentTakesEffectOnlyOnceConfirmed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "tia@example.com")

	e, err := s.StartTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != 32 || !strings.HasPrefix(e.URL, "otpauth://totp/Waddle:tia@example.com?") || !strings.HasPrefix(e.QR, "data:image/png;base64,") {
		t.Errorf("enrolment = secret %q, URL %q, QR %.40q…", e.Secret, e.URL, e.QR)
	}
	png, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(e.QR, "data:image/png;base64,"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("the QR code is not a PNG")
	}
	// Started but not confirmed: the password alone still signs in.
	if _, err := s.SignIn(ctx, u.Email, twoFactorPassword, "192.0.2.1"); err != nil {
		t.Fatalf("sign in during an unconfirmed set-up: %v", err)
	}
	again, err := s.PendingTOTP(ctx, u)
	if err != nil || again.Secret != e.Secret {
		t.Fatalf("pending set-up = %q, %v; want the started secret", again.Secret, err)
	}

	wrong := code(t, e.Secret, time.Now().Add(-10*time.Minute))
	if _, err := s.ConfirmTOTP(ctx, u, wrong, "192.0.2.1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("confirm with an old code: %v, want ErrBadCode", err)
	}
	if _, err := s.ConfirmTOTP(ctx, u, "12345", "192.0.2.1"); !problem.Is(err, problem.Invalid) || errors.Is(err, ErrBadCode) {
		t.Fatalf("confirm with 5 digits: %v, want the 6-digit hint", err)
	}
	codes, err := s.ConfirmTOTP(ctx, u, code(t, e.Secret, time.Now()), "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodeCount {
		t.Errorf("%d recovery codes, want %d", len(codes), RecoveryCodeCount)
	}
	if _, err := s.StartTOTP(ctx, u); !problem.Is(err, problem.Conflict) {
		t.Errorf("a second set-up over a confirmed app: %v, want a conflict", err)
	}
	f, err := s.Factors(ctx, u.ID)
	if err != nil || !f.TOTP || !f.Enabled() || f.RecoveryLeft != RecoveryCodeCount {
		t.Errorf("factors = %+v, %v", f, err)
	}
	signInNeedsSecondFactor(ctx, t, s, u.Email)
	got := auditActions(ctx, t, pool)
	for _, want := range []string{"two_factor_enabled authenticator app", "recovery_codes_generated tia@example.com"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("audit log %q lacks %q", got, want)
		}
	}
}

func TestTOTPSecretSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "sal@example.com")
	secretB32, _ := enrolTOTP(ctx, t, s, u)
	row, err := db.New(pool).TOTPGet(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b32NoPad.DecodeString(secretB32)
	if bytes.Contains(row.SecretSealed, []byte(secretB32)) || bytes.Contains(row.SecretSealed, raw) {
		t.Fatal("the stored TOTP secret contains the plain secret")
	}
	if plain, err := s.secrets.Open(row.SecretSealed); err != nil || string(plain) != secretB32 {
		t.Errorf("the sealed secret opens to %q, %v", plain, err)
	}
	other, _ := secret.New(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if _, err := other.Open(row.SecretSealed); err == nil {
		t.Error("another key opened the TOTP secret")
	}

	// Without TOKEN_ENCRYPTION_KEY nothing is stored in the clear: set-up is refused.
	s.secrets = &secret.Box{}
	v := secondFactorUser(ctx, t, s, "val@example.com")
	if _, err := s.StartTOTP(ctx, v); !problem.Is(err, problem.Conflict) || !strings.Contains(problem.As(err).Message, "TOKEN_ENCRYPTION_KEY") {
		t.Errorf("set-up without a key: %v, want a refusal naming TOKEN_ENCRYPTION_KEY", err)
	}
	if _, err := db.New(pool).TOTPGet(ctx, v.ID); err == nil {
		t.Error("a TOTP row was stored without a key")
	}
}

func TestTOTPCodeIsNotReplayed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "ray@example.com")
	sec, _ := enrolTOTP(ctx, t, s, u)
	pending := signInNeedsSecondFactor(ctx, t, s, u.Email)

	// The code that confirmed the set-up is used: it does not sign in.
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, code(t, sec, time.Now()), "192.0.2.1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("the enrolment's code again: %v, want ErrBadCode", err)
	}
	// The next step's code (a clock a little ahead) works, once.
	next := code(t, sec, time.Now().Add(totpPeriod*time.Second))
	got, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, next[:3]+" "+next[3:], "192.0.2.1")
	if err != nil || got.ID != u.ID {
		t.Fatalf("the next step's code: %+v, %v", got, err)
	}
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, next, "192.0.2.2"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("the same code replayed: %v, want ErrBadCode", err)
	}
	// Nor is an earlier step's code accepted after a later one.
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, code(t, sec, time.Now().Add(-totpPeriod*time.Second)), "192.0.2.2"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("an earlier code after a later one: %v, want ErrBadCode", err)
	}
	log := strings.Join(auditActions(ctx, t, pool), "\n")
	if !strings.Contains(log, "sign_in authenticator app") || strings.Count(log, "two_factor_failed authenticator app") != 3 {
		t.Errorf("audit log:\n%s\nwant one sign-in by app and three failures", log)
	}
	// A password change between the steps ends the half sign-in.
	if _, err := s.ChangePassword(ctx, u.ID, twoFactorPassword, "another long passphrase", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, code(t, sec, time.Now().Add(totpPeriod*time.Second)), "192.0.2.1"); !errors.Is(err, ErrSignInExpired) {
		t.Errorf("second step after a password change: %v, want ErrSignInExpired", err)
	}
}

func TestRecoveryCodesAreSingleUseAndHashed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "rex@example.com")
	_, codes := enrolTOTP(ctx, t, s, u)
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || seen[c] {
			t.Fatalf("codes %q: want 10 distinct xxxx-xxxx-xxxx-xxxx", codes)
		}
		seen[c] = true
	}
	rows, err := db.New(pool).RecoveryCodeListUnused(ctx, u.ID)
	if err != nil || len(rows) != RecoveryCodeCount {
		t.Fatalf("%d stored codes, %v", len(rows), err)
	}
	for _, r := range rows {
		for _, c := range codes {
			n, _ := normalizeRecoveryCode(c)
			if bytes.Contains(r.CodeHash, []byte(n)) || bytes.Equal(r.CodeHash, hashRecoveryCode(nil, n)) {
				t.Fatal("a recovery code is stored in the clear or unsalted")
			}
		}
	}

	pending := signInNeedsSecondFactor(ctx, t, s, u.Email)
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " ")) // as someone may type it
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodRecovery, typed, "192.0.2.1"); err != nil {
		t.Fatalf("a recovery code: %v", err)
	}
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodRecovery, codes[3], "192.0.2.1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("the same recovery code again: %v, want ErrBadCode", err)
	}
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodRecovery, "not-a-code", "192.0.2.1"); !problem.Is(err, problem.Invalid) || errors.Is(err, ErrBadCode) {
		t.Errorf("a malformed code: %v, want the format hint", err)
	}
	if f, _ := s.Factors(ctx, u.ID); f.RecoveryLeft != RecoveryCodeCount-1 {
		t.Errorf("%d codes left, want %d", f.RecoveryLeft, RecoveryCodeCount-1)
	}
	if !strings.Contains(strings.Join(auditActions(ctx, t, pool), "\n"), "recovery_code_used rex@example.com") {
		t.Error("the audit log does not record the recovery code's use")
	}

	// New codes void the old ones, and need the password.
	if _, err := s.RegenerateRecoveryCodes(ctx, u, "wrong password", "192.0.2.1"); !problem.Is(err, problem.Invalid) {
		t.Fatalf("regenerate with a wrong password: %v", err)
	}
	fresh, err := s.RegenerateRecoveryCodes(ctx, u, twoFactorPassword, "192.0.2.1")
	if err != nil || len(fresh) != RecoveryCodeCount {
		t.Fatalf("regenerate: %d codes, %v", len(fresh), err)
	}
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodRecovery, codes[5], "192.0.2.1"); !errors.Is(err, ErrBadCode) {
		t.Errorf("an old code after regeneration: %v, want ErrBadCode", err)
	}
	if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodRecovery, fresh[0], "192.0.2.1"); err != nil {
		t.Errorf("a new code: %v", err)
	}
}

func TestSecondFactorThrottled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, rec := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "tom@example.com")
	sec, _ := enrolTOTP(ctx, t, s, u)
	pending := signInNeedsSecondFactor(ctx, t, s, u.Email)
	rec.take()
	wrong := code(t, sec, time.Now().Add(-time.Hour))
	for i := range accountRefuse {
		// From many addresses: the count is per account.
		ip := "198.51.100." + string(rune('1'+i%9))
		if _, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, wrong, ip); !errors.Is(err, ErrBadCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if d := rec.take(); len(d) != accountRefuse-accountSlowMark || d[0] != time.Second || d[len(d)-1] != maxFailDelay {
		t.Errorf("delays %v: want one per failure past the slow mark, 1s growing to %v", d, maxFailDelay)
	}
	// Locked: the right code, a recovery code and the password re-check are refused.
	for name, try := range map[string]func() error{
		"right code": func() error {
			_, err := s.CompleteSignIn(ctx, pending.ID, pending.SessionVersion, MethodTOTP, code(t, sec, time.Now().Add(totpPeriod*time.Second)), "203.0.113.5")
			return err
		},
		"password check": func() error { return s.CheckPassword(ctx, u, twoFactorPassword, "203.0.113.5") },
	} {
		err := try()
		if p := problem.As(err); p == nil || p.Code != problem.TooMany || p.RetryAfter <= 0 || !strings.Contains(p.Message, "minute") {
			t.Errorf("%s while locked: %v, want too many with a retry time", name, err)
		}
	}

	// Per address too: another account from one address.
	v := secondFactorUser(ctx, t, s, "vic@example.com")
	enrolTOTP(ctx, t, s, v)
	pv := signInNeedsSecondFactor(ctx, t, s, v.Email)
	for range ipRefuse { // failures from one address, whatever the accounts
		s.limiter.Take(ctx, "2fa:ip:203.0.113.77", ipRefuse, failWindow)
	}
	if _, err := s.CompleteSignIn(ctx, pv.ID, pv.SessionVersion, MethodTOTP, "000000", "203.0.113.77"); !problem.Is(err, problem.TooMany) {
		t.Errorf("a code from an address past its limit: %v, want too many", err)
	}
}

func TestClearSecondFactors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "cal@example.com")
	enrolTOTP(ctx, t, s, u)
	if _, err := s.ClearSecondFactors(ctx, "nobody@example.com", audit.Actor{Email: "command line"}); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("clear an unknown account: %v", err)
	}
	if _, err := s.ClearSecondFactors(ctx, "CAL@example.com", audit.Actor{Email: "command line"}); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Factors(ctx, u.ID); err != nil || f.Enabled() || f.RecoveryLeft != 0 {
		t.Errorf("factors after clearing: %+v, %v", f, err)
	}
	if _, err := s.SignIn(ctx, u.Email, twoFactorPassword, "192.0.2.1"); err != nil {
		t.Errorf("sign in after clearing: %v, want the password alone to work", err)
	}
	if !strings.Contains(strings.Join(auditActions(ctx, t, pool), "\n"), "two_factor_cleared cal@example.com") {
		t.Error("the audit log does not record the clearing")
	}
}

func TestRemoveTOTPAsksForThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "rio@example.com")
	enrolTOTP(ctx, t, s, u)
	for _, pw := range []string{"", "not my password"} {
		if err := s.RemoveTOTP(ctx, u, pw, "192.0.2.1"); !problem.Is(err, problem.Invalid) {
			t.Errorf("remove with password %q: %v, want refused", pw, err)
		}
	}
	if f, _ := s.Factors(ctx, u.ID); !f.TOTP {
		t.Fatal("the app went without the password")
	}
	if err := s.RemoveTOTP(ctx, u, twoFactorPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Factors(ctx, u.ID); f.TOTP || f.RecoveryLeft != 0 {
		t.Errorf("after removing the last factor: %+v, want no app and no recovery codes", f)
	}
	if _, err := s.SignIn(ctx, u.Email, twoFactorPassword, "192.0.2.1"); err != nil {
		t.Errorf("sign in after removal: %v", err)
	}
	log := strings.Join(auditActions(ctx, t, pool), "\n")
	if !strings.Contains(log, "two_factor_removed authenticator app") || !strings.Contains(log, "sign_in_failed password check") {
		t.Errorf("audit log:\n%s\nwant the removal and the failed password check", log)
	}
}
