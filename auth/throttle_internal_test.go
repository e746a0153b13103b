package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
)

// sleeps records the delays SignIn asks for instead of waiting them out.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
}

func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = nil
	return d
}

// newThrottleService returns a Service on a fresh database and Redis whose
// sign-in delays are recorded, not slept.
func newThrottleService(t *testing.T) (*Service, *sleeps) {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Pool: pool, Jobs: jobs, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, BaseURL: "http://hub.test"})
	rec := &sleeps{}
	s.sleep = rec.sleep
	return s, rec
}

func wantLocked(t *testing.T, err error) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Code != problem.TooMany {
		t.Fatalf("err = %v, want the sign-in lock (too many)", err)
	}
	if p.RetryAfter <= 0 || p.RetryAfter > 2*failWindow {
		t.Errorf("RetryAfter = %v, want in (0, %v]", p.RetryAfter, 2*failWindow)
	}
	if !strings.Contains(p.Message, "minute") || !strings.Contains(p.Message, "reset your password") {
		t.Errorf("message %q does not say how long, nor offer a reset", p.Message)
	}
}

// TestSignInLocksAccount checks that failures from many addresses add up per
// account: past the slow mark each is answered later, and past the refuse
// mark even the right password is refused.
func TestSignInLocksAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rec := newThrottleService(t)
	ann, err := s.CreateUser(ctx, "ann@example.com", "", "correct horse battery", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "bob@example.com", "", "bob's long password", false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= accountRefuse; i++ {
		ip := fmt.Sprintf("192.0.2.%d", i)
		if _, err := s.SignIn(ctx, "Ann@example.com", "guess number "+ip, ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i, err)
		}
	}
	// Failures 1–3 are answered at once, then 1 s more for each, up to 5 s.
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if diff := cmp.Diff(want, rec.take()); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}

	_, err = s.SignIn(ctx, "ann@example.com", "correct horse battery", "198.51.100.7")
	wantLocked(t, err)
	if d := rec.take(); len(d) != 0 {
		t.Errorf("a refused sign-in was delayed %v", d)
	}
	// The lock is the account's: another account signs in from the same addresses.
	if _, err := s.SignIn(ctx, "bob@example.com", "bob's long password", "192.0.2.10"); err != nil {
		t.Errorf("bob from an address ann's guesses came from: %v", err)
	}

	failed, err := audit.Log{Pool: s.pool}.ListAll(ctx, audit.Filter{Action: audit.SignInFailed})
	if err != nil || len(failed) != accountRefuse {
		t.Errorf("audit has %d failed sign-ins (%v), want %d", len(failed), err, accountRefuse)
	}

	// A reset unlocks the account at once: the lock message offers it.
	token, hash := NewToken()
	id, err := db.New(s.pool).PasswordResetInsert(ctx, db.PasswordResetInsertParams{UserID: ann.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.New(s.pool).PasswordResetSetToken(ctx, db.PasswordResetSetTokenParams{ID: id, TokenHash: hash}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, token, "a brand new password", "198.51.100.7"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if _, err := s.SignIn(ctx, "ann@example.com", "a brand new password", "198.51.100.7"); err != nil {
		t.Errorf("sign in after reset: %v", err)
	}
}

// TestSignInSuccessClearsFailures checks that a successful sign-in forgets
// the account's earlier failures.
func TestSignInSuccessClearsFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rec := newThrottleService(t)
	if _, err := s.CreateUser(ctx, "ann@example.com", "", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < accountRefuse; i++ {
		if _, err := s.SignIn(ctx, "ann@example.com", "wrong", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v", i, err)
		}
	}
	if _, err := s.SignIn(ctx, "ann@example.com", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("sign in after %d failures: %v", accountRefuse-1, err)
	}
	rec.take()
	// Without the reset this would be the 10th failure and lock the account.
	if _, err := s.SignIn(ctx, "ann@example.com", "wrong", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("failure after success: err = %v", err)
	}
	if d := rec.take(); len(d) != 0 {
		t.Errorf("first failure after a success was delayed %v", d)
	}
	if _, err := s.SignIn(ctx, "ann@example.com", "correct horse battery", "192.0.2.1"); err != nil {
		t.Errorf("sign in: %v", err)
	}
}

// TestSignInLocksAddress checks that one address failing against many
// accounts is refused for every account, while other addresses are not.
func TestSignInLocksAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rec := newThrottleService(t)
	if _, err := s.CreateUser(ctx, "ann@example.com", "", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	const ip = "203.0.113.9"
	// The first ipRefuse-1 failures, each against another (unknown) account,
	// counted straight into the limiter so the test does not hash 50 times.
	for i := 1; i < ipRefuse; i++ {
		acctKey, ipKey, err := s.signInKeys(ctx, fmt.Sprintf("user%d@example.com", i), ip)
		if err != nil {
			t.Fatal(err)
		}
		s.limiter.Take(ctx, ipKey, 0, failWindow)
		s.limiter.Take(ctx, acctKey, 0, failWindow)
	}
	if _, err := s.SignIn(ctx, "last@example.com", "guess", ip); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("failure %d: err = %v", ipRefuse, err)
	}
	if diff := cmp.Diff([]time.Duration{maxFailDelay}, rec.take()); diff != "" {
		t.Errorf("delay of a failure far past the address's slow mark (-want +got):\n%s", diff)
	}
	_, err := s.SignIn(ctx, "ann@example.com", "correct horse battery", ip)
	wantLocked(t, err)
	if _, err := s.SignIn(ctx, "ann@example.com", "correct horse battery", "203.0.113.10"); err != nil {
		t.Errorf("ann from another address: %v", err)
	}
}

// TestSignInParallelGuessesBounded: guesses sent all at once cannot get more
// password checks than the account limit allows.
func TestSignInParallelGuessesBounded(t *testing.T) {
	t.Parallel()
	s, _ := newThrottleService(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "ann@example.com", "", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, wrong := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.SignIn(ctx, "ann@example.com", fmt.Sprintf("guess number %d", i), fmt.Sprintf("198.51.100.%d", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case problem.Is(err, problem.TooMany):
				refused++
			case errors.Is(err, ErrBadCredentials):
				wrong++
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wrong != accountRefuse || refused != n-accountRefuse {
		t.Errorf("%d guesses checked and %d refused, want %d and %d", wrong, refused, accountRefuse, n-accountRefuse)
	}
}
