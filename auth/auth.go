// Package auth owns hub accounts: users and their passwords, sign-in with
// throttling, second factors (TOTP, passkeys, recovery codes), password reset
// by email, API keys, and the session store.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/secret"
)

// Config holds what the service needs.
type Config struct {
	Pool    *pgxpool.Pool
	Jobs    *river.Client[pgx.Tx] // insert-only is enough
	Limiter *ratelimit.Limiter
	Logger  *slog.Logger
	BaseURL string      // links in mail are built from this, never from a request; passkeys are bound to its host
	Secrets *secret.Box // seals TOTP secrets (TOKEN_ENCRYPTION_KEY); nil or keyless: TOTP cannot be enrolled
}

// Service is the accounts service.
type Service struct {
	pool    *pgxpool.Pool
	jobs    *river.Client[pgx.Tx]
	limiter *ratelimit.Limiter
	logger  *slog.Logger
	baseURL string
	secrets *secret.Box
	passkey passkeyConfig
	sleep   func(ctx context.Context, d time.Duration)

	keyMu     sync.Mutex
	pseudoKey []byte // see pseudonymKey
}

// New returns a Service.
func New(cfg Config) *Service {
	s := &Service{pool: cfg.Pool, jobs: cfg.Jobs, limiter: cfg.Limiter, logger: cfg.Logger,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), secrets: cfg.Secrets, sleep: sleepCtx}
	if s.secrets == nil {
		s.secrets = &secret.Box{}
	}
	s.passkey = newPasskeyConfig(s.baseURL)
	return s
}

// User is a hub account.
type User struct {
	ID             int64
	Email          string
	DisplayName    string
	IsAdmin        bool
	HasPassword    bool
	SessionVersion int32
	CreatedAt      time.Time
	TimeZone       string // IANA name; "": not chosen yet (time_zone.go)
}

// Name is what the hub shows for the user.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Email
}

func toUser(r db.User) User {
	return User{ID: r.ID, Email: r.Email, DisplayName: r.DisplayName, IsAdmin: r.IsAdmin,
		HasPassword: r.PasswordHash != nil, SessionVersion: r.SessionVersion, CreatedAt: r.CreatedAt, TimeZone: r.TimeZone}
}

// ErrUserNotFound is returned when no account matches.
var ErrUserNotFound = problem.New(problem.NotFound, "No such account.")

// User returns the account with id.
func (s *Service) User(ctx context.Context, id int64) (User, error) {
	r, err := db.New(s.pool).UserGet(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %d: %w", id, err)
	}
	return toUser(r), nil
}

// UserByEmail returns the account with email.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	r, err := db.New(s.pool).UserGetByEmail(ctx, NormalizeEmail(email))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("load user by email: %w", err)
	}
	return toUser(r), nil
}

// NormalizeEmail trims and lower-cases an address; accounts are keyed by it.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks that s is one plain address (no display name) of sane length.
func ValidateEmail(field, s string) (string, error) {
	e := NormalizeEmail(s)
	switch {
	case e == "":
		return "", problem.Invalidf(field, "Enter an email address.")
	case len(e) > 254:
		return "", problem.Invalidf(field, "An email address has at most 254 characters.")
	}
	a, err := mail.ParseAddress(e)
	at := strings.LastIndexByte(e, '@')
	if err != nil || a.Address != e || at < 1 || at == len(e)-1 {
		return "", problem.Invalidf(field, "%q is not an email address like name@example.com.", s)
	}
	return e, nil
}

// ValidateDisplayName checks an optional display name.
func ValidateDisplayName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 100 {
		return "", problem.Invalidf(field, "A name has at most 100 characters.")
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n") {
		return "", problem.Invalidf(field, "The name contains characters that are not allowed.")
	}
	return s, nil
}

// CreateUser adds an account. An empty password leaves it without one (set
// later through an invitation or a reset).
func (s *Service) CreateUser(ctx context.Context, email, displayName, password string, isAdmin bool) (User, error) {
	return s.createUser(ctx, db.New(s.pool), email, displayName, password, isAdmin)
}

// CreateUserTx is CreateUser inside the caller's transaction.
func (s *Service) CreateUserTx(ctx context.Context, tx pgx.Tx, email, displayName, password string) (User, error) {
	return s.createUser(ctx, db.New(tx), email, displayName, password, false)
}

func (s *Service) createUser(ctx context.Context, q *db.Queries, email, displayName, password string, isAdmin bool) (User, error) {
	email, err := ValidateEmail("email", email)
	if err != nil {
		return User{}, err
	}
	if displayName, err = ValidateDisplayName("display_name", displayName); err != nil {
		return User{}, err
	}
	var hash *string
	if password != "" {
		h, err := HashPassword("password", password)
		if err != nil {
			return User{}, err
		}
		hash = &h
	}
	r, err := q.UserCreate(ctx, db.UserCreateParams{Email: email, DisplayName: displayName, PasswordHash: hash, IsAdmin: isAdmin})
	if db.IsUniqueViolation(err) {
		return User{}, problem.Invalidf("email", "An account with this email address already exists.")
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return toUser(r), nil
}

// CountUsers reports how many accounts exist (0 on a fresh install).
func (s *Service) CountUsers(ctx context.Context) (int64, error) {
	n, err := db.New(s.pool).UserCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// NewToken returns a random 256-bit token, URL-safe, and its SHA-256 hash.
func NewToken() (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	return t, HashToken(t)
}

// HashToken is how reset, invite and API key tokens are stored.
func HashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
