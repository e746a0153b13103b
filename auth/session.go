package auth

import (
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// SessionStore keeps hub sessions in Redis when it is configured, else in
// PostgreSQL. Tokens are stored only as SHA-256 hashes, so a leaked store does
// not hand out live sessions. While Redis is unreachable, sessions are written
// to and read from PostgreSQL instead, so sign-in keeps working.
type SessionStore struct {
	pg       *pgxstore.PostgresStore
	redis    *goredisstore.RedisStore // nil without Redis
	logger   *slog.Logger
	degraded atomic.Bool
}

// NewSessionStore returns a store; call Close when done.
// Keys in Redis start with prefix.
func NewSessionStore(pool *pgxpool.Pool, rdb *redis.Client, prefix string, logger *slog.Logger) *SessionStore {
	s := &SessionStore{pg: pgxstore.NewWithCleanupInterval(pool, 10*time.Minute), logger: logger}
	if rdb != nil {
		s.redis = goredisstore.NewWithPrefix(rdb, prefix)
	}
	return s
}

// Close stops the expired-session sweeper.
func (s *SessionStore) Close() { s.pg.StopCleanup() }

var _ scs.Store = (*SessionStore)(nil)

func hashed(token string) string {
	return hex.EncodeToString(HashToken(token))
}

// Find returns the session data for token.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	h := hashed(token)
	if s.redis != nil {
		b, ok, err := s.redis.Find(h)
		s.note(err)
		if err == nil && ok {
			return b, true, nil
		}
	}
	// Without Redis, or when it is down, or for a session written to PostgreSQL while it was down.
	return s.pg.Find(h)
}

// Commit saves session data.
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	h := hashed(token)
	if s.redis != nil {
		err := s.redis.Commit(h, b, expiry)
		s.note(err)
		if err == nil {
			return nil
		}
	}
	return s.pg.Commit(h, b, expiry)
}

// Delete removes a session from both stores (sign-out must end it wherever it lives).
func (s *SessionStore) Delete(token string) error {
	h := hashed(token)
	if s.redis != nil {
		s.note(s.redis.Delete(h))
	}
	return s.pg.Delete(h)
}

// Degraded reports whether Redis is configured but unreachable.
func (s *SessionStore) Degraded() bool { return s.degraded.Load() }

func (s *SessionStore) note(err error) {
	if err != nil {
		if !s.degraded.Swap(true) {
			s.logger.Warn("redis unreachable: sessions fall back to PostgreSQL", "err", err)
		}
		return
	}
	s.degraded.Store(false)
}
