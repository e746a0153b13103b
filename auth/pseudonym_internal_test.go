package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/ratelimit"
)

// Redis keys of the sign-in and reset limits name nobody: neither the email
// nor the client address appears in any key, yet the limits hold across
// instances (two services on one database and Redis count one account alike).
func TestThrottleKeysNameNoAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	instance := func() *Service {
		jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
		if err != nil {
			t.Fatal(err)
		}
		s := New(Config{Pool: pool, Jobs: jobs, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, BaseURL: "http://hub.test"})
		s.sleep = func(context.Context, time.Duration) {}
		return s
	}
	one, two := instance(), instance()
	const email, ip = "ann.secret@example.com", "198.51.100.23"
	if _, err := one.CreateUser(ctx, email, "", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}

	for i := range accountRefuse {
		s := one
		if i%2 == 1 {
			s = two
		}
		if _, err := s.SignIn(ctx, email, "wrong guess", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	_, err := two.SignIn(ctx, strings.ToUpper(email), "correct horse battery", "192.0.2.200")
	wantLocked(t, err)
	if err := one.RequestPasswordReset(ctx, email, ip); err != nil {
		t.Fatal(err)
	}

	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 4 {
		t.Fatalf("Redis holds %d keys under the test's prefix (%v), want the sign-in and reset counters", len(keys), keys)
	}
	for _, k := range keys {
		if low := strings.ToLower(k); strings.Contains(low, "ann.secret") || strings.Contains(low, "example.com") || strings.Contains(k, ip) {
			t.Errorf("Redis key %q names the person", k)
		}
	}
}
