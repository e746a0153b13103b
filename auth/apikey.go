package auth

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// API key service roles: each decides which /api/v1 routes a key may call.
const (
	RoleUser    = "user"    // act as the key's owner in the communities they belong to
	RoleTrigger = "trigger" // send platform events in (the router's event API)
	RoleAction  = "action"  // carry out actions on the platforms (bots, modules)
	RoleCore    = "core"    // Waddle's own services talking to each other
	RoleAdmin   = "admin"   // everything, across communities
)

// APIRoles lists the roles in the order the hub offers them.
var APIRoles = []string{RoleUser, RoleTrigger, RoleAction, RoleCore, RoleAdmin}

// AdminOnlyRole reports whether only global admins may hold keys of role.
func AdminOnlyRole(role string) bool { return role == RoleAdmin || role == RoleCore }

const keyPrefix = "wdl_"

// APIKey is a key as listed; the secret itself is shown once and never stored.
type APIKey struct {
	ID         int64
	Name       string
	Prefix     string // the first characters of the key, to recognise it
	Role       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// KeyIdentity is who an API request acts as.
type KeyIdentity struct {
	KeyID   int64
	UserID  int64
	Email   string
	IsAdmin bool
	Role    string
}

func toKey(r db.ApiKey) APIKey {
	return APIKey{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Role: r.Role, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
}

// ErrKeyNotFound is returned for a key that is not the user's or is revoked.
var ErrKeyNotFound = problem.New(problem.NotFound, "No such API key, or it was revoked.")

// ErrBadAPIKey answers a missing, malformed, unknown or revoked key.
var ErrBadAPIKey = problem.New(problem.Unauthorized, "The API key is missing, wrong or revoked.")

func newAPIKey() (secret, prefix string, hash []byte) {
	b := make([]byte, 30) // 240 random bits
	rand.Read(b)
	secret = keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, secret[:len(keyPrefix)+8], HashToken(secret)
}

// CreateAPIKey makes a key for user; the secret is returned once.
func (s *Service) CreateAPIKey(ctx context.Context, user User, ip, name, role string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return APIKey{}, "", problem.Invalidf("name", "Give the key a name, so you know later what uses it.")
	case utf8.RuneCountInString(name) > 100:
		return APIKey{}, "", problem.Invalidf("name", "A key name has at most 100 characters.")
	}
	if !validRole(role) {
		return APIKey{}, "", problem.Invalidf("role", "Choose one of the roles: %s.", strings.Join(APIRoles, ", "))
	}
	if AdminOnlyRole(role) && !user.IsAdmin {
		return APIKey{}, "", problem.Invalidf("role", "Only global admins may create %s keys.", role)
	}
	secret, prefix, hash := newAPIKey()
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).APIKeyInsert(ctx, db.APIKeyInsertParams{UserID: user.ID, Name: name, Prefix: prefix, KeyHash: hash, Role: role})
		if err != nil {
			return err
		}
		k = toKey(r)
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{Action: audit.APIKeyCreated, Target: fmt.Sprintf("%s (%s, %s…)", name, role, prefix)})
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, secret, nil
}

func validRole(r string) bool {
	for _, x := range APIRoles {
		if r == x {
			return true
		}
	}
	return false
}

// ListAPIKeys returns user's keys, live ones first.
func (s *Service) ListAPIKeys(ctx context.Context, userID int64) ([]APIKey, error) {
	rows, err := db.New(s.pool).APIKeyListByUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	out := make([]APIKey, 0, len(rows))
	for _, r := range rows {
		out = append(out, toKey(r))
	}
	return out, nil
}

// RegenerateAPIKey replaces a key's secret; the old one stops working at once.
func (s *Service) RegenerateAPIKey(ctx context.Context, user User, ip string, id int64) (APIKey, string, error) {
	secret, prefix, hash := newAPIKey()
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).APIKeyRegenerate(ctx, db.APIKeyRegenerateParams{UserID: user.ID, ID: id, Prefix: prefix, KeyHash: hash})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		k = toKey(r)
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{Action: audit.APIKeyRegenerated, Target: fmt.Sprintf("%s (%s, %s…)", k.Name, k.Role, prefix)})
	})
	if err != nil {
		if problem.As(err) != nil {
			return APIKey{}, "", err
		}
		return APIKey{}, "", fmt.Errorf("regenerate API key %d: %w", id, err)
	}
	return k, secret, nil
}

// RevokeAPIKey stops a key for good.
func (s *Service) RevokeAPIKey(ctx context.Context, user User, ip string, id int64) (APIKey, error) {
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := db.New(tx).APIKeyRevoke(ctx, db.APIKeyRevokeParams{UserID: user.ID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		k = toKey(r)
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{Action: audit.APIKeyRevoked, Target: fmt.Sprintf("%s (%s, %s…)", k.Name, k.Role, k.Prefix)})
	})
	if err != nil {
		if problem.As(err) != nil {
			return APIKey{}, err
		}
		return APIKey{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	return k, nil
}

// AuthenticateAPIKey finds the live key with this secret and records its use.
func (s *Service) AuthenticateAPIKey(ctx context.Context, secret string) (KeyIdentity, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) != len(keyPrefix)+48 {
		return KeyIdentity{}, ErrBadAPIKey
	}
	q := db.New(s.pool)
	r, err := q.APIKeyGetByHash(ctx, HashToken(secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return KeyIdentity{}, ErrBadAPIKey
	}
	if err != nil {
		return KeyIdentity{}, fmt.Errorf("look up API key: %w", err)
	}
	if r.LastUsedAt == nil || time.Since(*r.LastUsedAt) > time.Minute {
		if err := q.APIKeyTouch(ctx, r.ID); err != nil {
			return KeyIdentity{}, fmt.Errorf("record API key use: %w", err)
		}
	}
	return KeyIdentity{KeyID: r.ID, UserID: r.UserID, Email: r.UserEmail, IsAdmin: r.UserIsAdmin, Role: r.Role}, nil
}
