package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ixTTL is how long Discord accepts an interaction token.
const ixTTL = 15 * time.Minute

// interaction is what a later edit or followup of an interaction needs.
type interaction struct {
	ID      string `json:"id"`
	AppID   string `json:"app"`
	Token   string `json:"token"`
	Channel string `json:"channel"`
	Guild   string `json:"guild"`
}

// store keeps interaction contexts, open forms, voice join times and boost
// claims in Redis, so another instance or a restart finds them; in memory
// when there is no Redis.
type store struct {
	rdb    *redis.Client
	prefix string

	mu    sync.Mutex
	vals  map[string]memVal
	voice map[string]int64
}

type memVal struct {
	v   string
	exp time.Time
}

func newStore(rdb *redis.Client, prefix string) *store {
	return &store{rdb: rdb, prefix: prefix + "discord:", vals: map[string]memVal{}, voice: map[string]int64{}}
}

// errMissing is returned for a key that expired or never existed.
var errMissing = errors.New("not found or expired")

// put stores v under key for ttl; only replaces an existing value when replace.
func (s *store) put(ctx context.Context, key string, v any, ttl time.Duration, replace bool) (bool, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	if s.rdb != nil {
		if replace {
			return true, s.rdb.Set(ctx, s.prefix+key, raw, ttl).Err()
		}
		ok, err := s.rdb.SetNX(ctx, s.prefix+key, raw, ttl).Result()
		if err != nil {
			return false, fmt.Errorf("store %s: %w", key, err)
		}
		return ok, nil
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.vals) > 10_000 {
		for k, m := range s.vals {
			if now.After(m.exp) {
				delete(s.vals, k)
			}
		}
	}
	if m, ok := s.vals[key]; ok && !replace && now.Before(m.exp) {
		return false, nil
	}
	s.vals[key] = memVal{v: string(raw), exp: now.Add(ttl)}
	return true, nil
}

func (s *store) get(ctx context.Context, key string, v any) error {
	var raw string
	if s.rdb != nil {
		var err error
		raw, err = s.rdb.Get(ctx, s.prefix+key).Result()
		if errors.Is(err, redis.Nil) {
			return errMissing
		}
		if err != nil {
			return fmt.Errorf("load %s: %w", key, err)
		}
	} else {
		s.mu.Lock()
		m, ok := s.vals[key]
		s.mu.Unlock()
		if !ok || time.Now().After(m.exp) {
			return errMissing
		}
		raw = m.v
	}
	return json.Unmarshal([]byte(raw), v)
}

// voiceJoin records when a member joined voice; false when already recorded.
func (s *store) voiceJoin(ctx context.Context, guild, user string, at time.Time) (bool, error) {
	field := guild + ":" + user
	if s.rdb != nil {
		ok, err := s.rdb.HSetNX(ctx, s.prefix+"voice", field, at.UnixMilli()).Result()
		if err != nil {
			return false, fmt.Errorf("record voice join: %w", err)
		}
		return ok, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.voice[field]; ok {
		return false, nil
	}
	s.voice[field] = at.UnixMilli()
	return true, nil
}

// voiceLeave removes a member's join time and returns it (false: none recorded).
func (s *store) voiceLeave(ctx context.Context, guild, user string) (time.Time, bool, error) {
	field := guild + ":" + user
	var ms int64
	if s.rdb != nil {
		var get *redis.StringCmd
		var del *redis.IntCmd
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			get = p.HGet(ctx, s.prefix+"voice", field)
			del = p.HDel(ctx, s.prefix+"voice", field)
			return nil
		})
		if errors.Is(err, redis.Nil) || (err == nil && del.Val() == 0) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("read voice join: %w", err)
		}
		ms, err = strconv.ParseInt(get.Val(), 10, 64)
		if err != nil {
			return time.Time{}, false, nil
		}
	} else {
		s.mu.Lock()
		v, ok := s.voice[field]
		delete(s.voice, field)
		s.mu.Unlock()
		if !ok {
			return time.Time{}, false, nil
		}
		ms = v
	}
	return time.UnixMilli(ms), true, nil
}
