package auth

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/db"
)

// SessionStore keeps hub sessions in Redis when it is configured, else in
// PostgreSQL. Tokens are stored only as SHA-256 hashes, so a leaked store does
// not hand out live sessions. While Redis is unreachable, sessions are written
// to and read from PostgreSQL instead, so sign-in keeps working. Expired rows
// in PostgreSQL are deleted by the periodic SweepArgs job.
type SessionStore struct {
	q        *db.Queries
	redis    *goredisstore.RedisStore // nil without Redis
	logger   *slog.Logger
	degraded atomic.Bool
}

// NewSessionStore returns a store; keys in Redis start with prefix.
func NewSessionStore(pool *pgxpool.Pool, rdb *redis.Client, prefix string, logger *slog.Logger) *SessionStore {
	s := &SessionStore{q: db.New(pool), logger: logger}
	if rdb != nil {
		s.redis = goredisstore.NewWithPrefix(rdb, prefix)
	}
	return s
}

var _ scs.CtxStore = (*SessionStore)(nil)

func hashed(token string) string {
	return hex.EncodeToString(HashToken(token))
}

// FindCtx returns the session data for token.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	h := hashed(token)
	if s.redis != nil {
		b, ok, err := s.redis.FindCtx(ctx, h)
		s.note(ctx, err)
		if err == nil && ok {
			return b, true, nil
		}
	}
	// Without Redis, or when it is down, or for a session written to PostgreSQL while it was down.
	b, err := s.q.SessionFind(ctx, h)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitCtx saves session data.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	h := hashed(token)
	if s.redis != nil {
		err := s.redis.CommitCtx(ctx, h, b, expiry)
		s.note(ctx, err)
		if err == nil {
			return nil
		}
	}
	return s.q.SessionCommit(ctx, db.SessionCommitParams{Token: h, Data: b, Expiry: expiry})
}

// DeleteCtx removes a session from both stores: sign-out must end it wherever it lives.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	h := hashed(token)
	if s.redis != nil {
		s.note(ctx, s.redis.DeleteCtx(ctx, h))
	}
	return s.q.SessionDelete(ctx, h)
}

// Find, Commit and Delete satisfy scs.Store; scs calls the Ctx methods.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit saves session data.
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete removes a session.
func (s *SessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// Degraded reports whether Redis is configured but unreachable.
func (s *SessionStore) Degraded() bool { return s.degraded.Load() }

func (s *SessionStore) note(ctx context.Context, err error) {
	if err != nil {
		if !s.degraded.Swap(true) {
			s.logger.WarnContext(ctx, "redis unreachable: sessions fall back to PostgreSQL", "err", err)
		}
		return
	}
	s.degraded.Store(false)
}
