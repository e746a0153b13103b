package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
)

// A community's keys, as its owners and admins manage them on its page. The
// hub checks their role before calling; these functions check it again in
// SQL, in the transaction that makes the change, and record the change in
// the community's audit log.

// ListCommunityAPIKeys returns the trigger and action keys of community
// communityID, live ones first, with who created each.
func (s *Service) ListCommunityAPIKeys(ctx context.Context, communityID int64) ([]APIKey, error) {
	rows, err := db.New(s.pool).APIKeyListByCommunity(ctx, &communityID)
	if err != nil {
		return nil, fmt.Errorf("list API keys of community %d: %w", communityID, err)
	}
	out := make([]APIKey, 0, len(rows))
	for _, r := range rows {
		k := toKey(r.ApiKey)
		k.OwnerEmail, k.Active = r.UserEmail, r.Active
		out = append(out, k)
	}
	return out, nil
}

// RegenerateCommunityAPIKey replaces the secret of one of user's own keys of
// community communityID; another's key, or one of another community, is
// ErrKeyNotFound: a key acts as its creator, so only they hold its secret.
func (s *Service) RegenerateCommunityAPIKey(ctx context.Context, user User, ip string, communityID, id int64) (APIKey, string, error) {
	if communityID == 0 {
		return APIKey{}, "", ErrKeyNotFound
	}
	return s.regenerate(ctx, user, ip, communityID, id)
}

// RevokeCommunityAPIKey stops any key of community communityID for good;
// user must be one of its owners or admins, or a global admin.
func (s *Service) RevokeCommunityAPIKey(ctx context.Context, user User, ip string, communityID, id int64) (APIKey, error) {
	var k APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		name, err := q.APIKeyCommunityOfManager(ctx, db.APIKeyCommunityOfManagerParams{UserID: user.ID, CommunityID: communityID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrKeyCommunity
		}
		if err != nil {
			return err
		}
		r, err := q.APIKeyRevokeInCommunity(ctx, db.APIKeyRevokeInCommunityParams{CommunityID: &communityID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		k = toKey(db.ApiKey{ID: r.ID, UserID: r.UserID, Name: r.Name, Prefix: r.Prefix, Role: r.Role, CreatedAt: r.CreatedAt,
			LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt, CommunityID: r.CommunityID, RevokedReason: r.RevokedReason})
		k.CommunityName, k.OwnerEmail = name, r.UserEmail
		return audit.Record(ctx, tx, audit.Actor{UserID: user.ID, Email: user.Email, IP: ip},
			audit.Entry{CommunityID: communityID, Action: audit.APIKeyRevoked, Target: keyTarget(k) + " of " + r.UserEmail})
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke API key %d of community %d: %w", id, communityID, err)
	}
	return k, nil
}
