package identity

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/invalidation"
)

// cache maps platform accounts to their identities in memory, for the
// router's hot path (router.Identities). It holds at most max accounts;
// entries live ttl, and a link or unlink drops the entries of the identities
// it touched here and, through Redis, on every instance.
type cache struct {
	max int
	ttl time.Duration
	gen atomic.Uint64 // bumped by every drop: a load that raced one is not kept

	mu sync.RWMutex
	m  map[accountKey]cacheEntry
}

type accountKey struct{ platform, account string }

type cacheEntry struct {
	identity int64
	loaded   time.Time
}

func newCache(max int, ttl time.Duration) *cache {
	return &cache{max: max, ttl: ttl, m: make(map[accountKey]cacheEntry)}
}

func (c *cache) get(k accountKey, now time.Time) (int64, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.Sub(e.loaded) > c.ttl {
		return 0, false
	}
	return e.identity, true
}

// put keeps a loaded entry unless a drop happened since gen was read.
func (c *cache) put(k accountKey, id int64, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.m) >= c.max {
		// Full: forget an eighth, the map's iteration order choosing which.
		n := c.max / 8
		for key := range c.m {
			if n <= 0 {
				break
			}
			delete(c.m, key)
			n--
		}
	}
	c.m[k] = cacheEntry{identity: id, loaded: now}
}

// dropIdentities forgets the accounts of the identities ids.
func (c *cache) dropIdentities(ids []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	for k, e := range c.m {
		for _, id := range ids {
			if e.identity == id {
				delete(c.m, k)
				break
			}
		}
	}
}

func (c *cache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	c.m = make(map[accountKey]cacheEntry)
}

// IdentityOf returns the identity of a platform account, from the cache when
// it can; the first time an account is asked about, it is recorded with an
// identity of its own. It implements router.Identities.
func (s *Service) IdentityOf(ctx context.Context, platform, accountID, name string) (int64, error) {
	k := accountKey{platform, accountID}
	now := time.Now()
	if id, ok := s.cache.get(k, now); ok {
		return id, nil
	}
	gen := s.cache.gen.Load()
	q := db.New(s.pool)
	acc, err := q.IdentityAccountGet(ctx, db.IdentityAccountGetParams{Platform: platform, AccountID: accountID})
	if errors.Is(err, pgx.ErrNoRows) {
		acc, err = q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: platform, AccountID: accountID, UserName: name})
	}
	if err != nil {
		return 0, fmt.Errorf("identity of %s account %s: %w", platform, accountID, err)
	}
	s.cache.put(k, acc.IdentityID, gen, now)
	return acc.IdentityID, nil
}

// invalidate forgets the identities ids here and on every instance; call it
// after the transaction that changed them committed.
func (s *Service) invalidate(ctx context.Context, ids ...int64) {
	s.cache.dropIdentities(ids)
	if s.rdb == nil {
		return
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	if err := s.rdb.Publish(ctx, s.channel, strings.Join(parts, ",")).Err(); err != nil {
		s.logger.WarnContext(ctx, "could not tell other instances of a link; their caches catch up within the cache's lifetime", "err", err)
	}
}

// listen drops what other instances' links and unlinks changed, until ctx ends.
func (s *Service) listen(ctx context.Context) {
	invalidation.Follow(ctx, s.rdb, s.channel, s.cache.dropAll, func(payload string) {
		var ids []int64
		for _, p := range strings.Split(payload, ",") {
			if id, err := strconv.ParseInt(p, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
		s.cache.dropIdentities(ids)
	})
}

// Run follows other instances' links and unlinks and writes sightings every
// FlushEvery until ctx ends; then it writes what is left and returns.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if s.rdb != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.listen(ctx)
		}()
	}
	s.flushLoop(ctx)
	wg.Wait()
	return nil
}
