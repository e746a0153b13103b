package labels

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/invalidation"
)

// The search cache. Each instance keeps answers in memory, stamped with the
// community's version: a counter in Redis that every label change bumps
// after it commits, and announces on a channel so that every instance drops
// that community's answers at once. A read compares the stamp with the
// counter, so an instance that missed an announcement still never serves a
// stale answer; with Redis down it does not use the cache at all and asks
// PostgreSQL. Without Redis (one instance) the counter lives in memory.
const (
	cacheTTL        = 5 * time.Minute
	cacheMaxEntries = 10_000
)

type cacheEntry struct {
	version int64
	at      time.Time
	page    SearchPage
}

type cache struct {
	mu      sync.Mutex
	entries map[int64]map[string]cacheEntry // by community, then query
	n       int
	local   map[int64]int64 // versions when there is no Redis
}

func newCache() *cache {
	return &cache{entries: map[int64]map[string]cacheEntry{}, local: map[int64]int64{}}
}

func (c *cache) get(cid int64, key string, version int64) (SearchPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[cid][key]
	if !ok || e.version != version || time.Since(e.at) > cacheTTL {
		return SearchPage{}, false
	}
	return e.page, true
}

func (c *cache) put(cid int64, key string, version int64, p SearchPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= cacheMaxEntries {
		c.entries, c.n = map[int64]map[string]cacheEntry{}, 0
	}
	m := c.entries[cid]
	if m == nil {
		m = map[string]cacheEntry{}
		c.entries[cid] = m
	}
	if _, ok := m[key]; !ok {
		c.n++
	}
	m[key] = cacheEntry{version: version, at: time.Now(), page: p}
}

func (c *cache) drop(cid int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n -= len(c.entries[cid])
	delete(c.entries, cid)
}

func (c *cache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.n = map[int64]map[string]cacheEntry{}, 0
}

func (s *Service) versionKey(cid int64) string {
	return s.prefix + "labels:version:" + strconv.FormatInt(cid, 10)
}

func (s *Service) channel() string { return s.prefix + "labels:changed" }

// version is the community's cache version; false when it cannot be known
// (Redis down): then the cache is not used.
func (s *Service) version(ctx context.Context, cid int64) (int64, bool) {
	if s.rdb == nil {
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		return s.cache.local[cid], true
	}
	v, err := s.rdb.Get(ctx, s.versionKey(cid)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, true
	}
	if err != nil {
		s.logger.WarnContext(ctx, "label search cache unavailable: asking PostgreSQL", "err", err)
		return 0, false
	}
	return v, true
}

// changed is called after a change to the community's labels commits: it
// bumps the community's version and tells the other instances.
func (s *Service) changed(ctx context.Context, cid int64) {
	s.cache.drop(cid)
	if s.rdb == nil {
		s.cache.mu.Lock()
		s.cache.local[cid]++
		s.cache.mu.Unlock()
		return
	}
	// A change must reach the cache even when the request was cancelled
	// just after its commit.
	ctx = context.WithoutCancel(ctx)
	if err := s.rdb.Incr(ctx, s.versionKey(cid)).Err(); err != nil {
		s.logger.WarnContext(ctx, "label search cache: version not bumped", "community", cid, "err", err)
		return
	}
	if err := s.rdb.Publish(ctx, s.channel(), strconv.FormatInt(cid, 10)).Err(); err != nil {
		s.logger.WarnContext(ctx, "label search cache: change not announced", "community", cid, "err", err)
	}
}

// Invalidate drops the community's cached searches on every instance, for
// changes made outside this service (an identity merge moves labels).
func (s *Service) Invalidate(ctx context.Context, cid int64) { s.changed(ctx, cid) }

// Run listens for label changes announced by the other instances and drops
// their cached searches, until ctx ends. Without Redis it only waits. After
// a lost connection it drops everything, since announcements may have been
// missed.
func (s *Service) Run(ctx context.Context) error {
	if s.rdb == nil {
		<-ctx.Done()
		return nil
	}
	invalidation.Follow(ctx, s.rdb, s.channel(), s.cache.dropAll, func(payload string) {
		if cid, err := strconv.ParseInt(payload, 10, 64); err == nil {
			s.cache.drop(cid)
		}
	})
	return nil
}
