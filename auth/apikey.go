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
	ID            int64
	Name          string
	Prefix        string // the first characters of the key, to recognise it
	Role          string
	CommunityID   int64  // the community a trigger or action key belongs to; 0: none (installation-wide)
	CommunityName string // set with CommunityID
	OwnerID       int64  // who created it: the key acts as them
	OwnerEmail    string // set in a community's listing
	Active        bool   // false while its owner may not hold it (see Inactive)
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	RevokedAt     *time.Time
	RevokedReason string // why the installation revoked it; "" when a person did
}

// Inactive says why a live key does not work now, or "" when it does.
func (k APIKey) Inactive() string {
	switch {
	case k.RevokedAt != nil || k.Active:
		return ""
	case k.CommunityID != 0:
		return "its creator is no longer an owner or admin of " + k.CommunityName
	}
	return "installation-wide " + k.Role + " keys work only while their owner is a global admin"
}

// KeyIdentity is who an API request acts as.
type KeyIdentity struct {
	KeyID       int64
	UserID      int64
	Email       string
	IsAdmin     bool
	Role        string
	CommunityID int64 // the only community a trigger or action key reaches; 0: not bound to one
}

func toKey(r db.ApiKey) APIKey {
	return APIKey{ID: r.ID, OwnerID: r.UserID, Name: r.Name, Prefix: r.Prefix, Role: r.Role, CommunityID: deref(r.CommunityID), CreatedAt: r.CreatedAt,
		LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt, RevokedReason: r.RevokedReason}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// ErrKeyNotFound is returned for a key that is not the user's or is revoked.
var ErrKeyNotFound = problem.New(problem.NotFound, "No such API key, or it was revoked.")

// ErrBadAPIKey answers a missing, malformed, unknown or revoked key.
var ErrBadAPIKey = problem.New(problem.Unauthorized, "The API key is missing, wrong or revoked.")

// ErrKeyCommunity answers a community whose keys the user may not hold, the
// same way as a community that does not exist.
var ErrKeyCommunity = problem.New(problem.NotFound, "No such community among those you own or administer.")

// ErrKeyInactive refuses to regenerate a key its owner may no longer hold.
var ErrKeyInactive = problem.New(problem.Forbidden, "This key no longer works: you may no longer hold it. Revoke it instead.")

// CommunityRole reports whether keys of role belong to one community.
func CommunityRole(role string) bool { return role == RoleTrigger || role == RoleAction }

func newAPIKey() (secret, prefix string, hash []byte) {
	b := make([]byte, 30) // 240 random bits
	rand.Read(b)
	secret = keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, secret[:len(keyPrefix)+8], HashToken(secret)
}

// checkKey validates a new key's name and role, and trims the name.
func checkKey(name, role string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", problem.Invalidf("name", "Give the key a name, so you know later what uses it.")
	case utf8.RuneCountInString(name) > 100:
		return "", problem.Invalidf("name", "A key name has at most 100 characters.")
	}
	if !validRole(role) {
		return "", problem.Invalidf("role", "Choose one of the roles: %s.", strings.Join(APIRoles, ", "))
	}
	return name, nil
}

func keyTarget(k APIKey) string { return fmt.Sprintf("%s (%s, %s…)", k.Name, k.Role, k.Prefix) }

// CreateAPIKey makes a key of user that belongs to no community: a user key,
// or, for global admins only, an installation-wide trigger, action, core or
// admin key. The secret is returned once.
func (s *Service) CreateAPIKey(ctx context.Context, user User, ip, name, role string) (APIKey, string, error) {
	name, err := checkKey(name, role)
	switch {
	case err != nil:
		return APIKey{}, "", err
	case AdminOnlyRole(role) && !user.IsAdmin:
		return APIKey{}, "", problem.Invalidf("role", "Only global admins may create %s keys.", role)
	case CommunityRole(role) && !user.IsAdmin:
		return APIKey{}, "", problem.Invalidf("community",
			"A %[1]s key belongs to one community: choose one you own or administer. Installation-wide %[1]s keys are for global admins.", role)
	}
	return s.createKey(ctx, user, ip, name, role, 0)
}

// CreateCommunityAPIKey makes a trigger or action key that reaches community
// communityID only. user must be one of its owners or admins (or a global
// admin); the key stops working when they no longer are. The creation is
// recorded in the community's audit log. The secret is returned once.
func (s *Service) CreateCommunityAPIKey(ctx context.Context, user User, ip string, communityID int64, name, role string) (APIKey, string, error) {
	name, err := checkKey(name, role)
	if err != nil {
		return APIKey{}, "", err
	}
	if !CommunityRole(role) {
		return APIKey{}, "", problem.Invalidf("role", "Only trigger and action keys belong to a community; a user key acts as you in all your communities.")
	}
	return s.createKey(ctx, user, ip, name, role, communityID)
}

func (s *Service) createKey(ctx context.Context, user User, ip, name, role string, communityID int64) (APIKey, string, error) {
	secret, prefix, hash := newAPIKey()
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		in := db.APIKeyInsertParams{UserID: user.ID, Name: name, Prefix: prefix, KeyHash: hash, Role: role}
		communityName := ""
		if communityID != 0 {
			n, err := q.APIKeyCommunityOfManager(ctx, db.APIKeyCommunityOfManagerParams{UserID: user.ID, CommunityID: communityID})
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrKeyCommunity
			}
			if err != nil {
				return err
			}
			communityName, in.CommunityID = n, &communityID
		}
		r, err := q.APIKeyInsert(ctx, in)
		if err != nil {
			return err
		}
		k = toKey(r)
		k.CommunityName, k.Active = communityName, true
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{CommunityID: communityID, Action: audit.APIKeyCreated, Target: keyTarget(k)})
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
		k := toKey(r.ApiKey)
		k.CommunityName, k.Active = r.CommunityName, r.Active
		out = append(out, k)
	}
	return out, nil
}

// RegenerateAPIKey replaces the secret of one of user's keys; the old one
// stops working at once. A key its owner may no longer hold is not regenerated.
func (s *Service) RegenerateAPIKey(ctx context.Context, user User, ip string, id int64) (APIKey, string, error) {
	return s.regenerate(ctx, user, ip, 0, id)
}

// regenerate is RegenerateAPIKey; with communityID non-zero the key must belong to that community.
func (s *Service) regenerate(ctx context.Context, user User, ip string, communityID, id int64) (APIKey, string, error) {
	secret, prefix, hash := newAPIKey()
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		cur, err := q.APIKeyGetOwnForUpdate(ctx, db.APIKeyGetOwnForUpdateParams{UserID: user.ID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) || err == nil && communityID != 0 && deref(cur.ApiKey.CommunityID) != communityID {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		if !cur.Active {
			return ErrKeyInactive
		}
		r, err := q.APIKeyRegenerate(ctx, db.APIKeyRegenerateParams{UserID: user.ID, ID: id, Prefix: prefix, KeyHash: hash})
		if err != nil {
			return err
		}
		k = toKey(r)
		k.CommunityName, k.Active = cur.CommunityName, true
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{CommunityID: k.CommunityID, Action: audit.APIKeyRegenerated, Target: keyTarget(k)})
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("regenerate API key %d: %w", id, err)
	}
	return k, secret, nil
}

// RevokeAPIKey stops one of user's keys for good.
func (s *Service) RevokeAPIKey(ctx context.Context, user User, ip string, id int64) (APIKey, error) {
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		cur, err := q.APIKeyGetOwnForUpdate(ctx, db.APIKeyGetOwnForUpdateParams{UserID: user.ID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		r, err := q.APIKeyRevoke(ctx, db.APIKeyRevokeParams{UserID: user.ID, ID: id})
		if err != nil {
			return err
		}
		k = toKey(r)
		k.CommunityName = cur.CommunityName
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{CommunityID: k.CommunityID, Action: audit.APIKeyRevoked, Target: keyTarget(k)})
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke API key %d: %w", id, err)
	}
	return k, nil
}

// AuthenticateAPIKey finds the live key with this secret and records its use.
// A key its owner may no longer hold (see APIKeyGetByHash) is refused like an
// unknown one.
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
	return KeyIdentity{KeyID: r.ID, UserID: r.UserID, Email: r.UserEmail, IsAdmin: r.UserIsAdmin, Role: r.Role, CommunityID: deref(r.CommunityID)}, nil
}
