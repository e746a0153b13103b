package discord

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ixTTL is how long Discord accepts an interaction token, and how long a
// form's button opens it.
const ixTTL = 15 * time.Minute

// store keeps open forms, voice join times and boost claims in Redis, so
// another instance or a restart finds them; in memory when there is no Redis,
// and while Redis does not answer (its breaker then fails calls at once): what
// is stored during an outage is found on this instance. It never holds an
// interaction's token (see interaction).
type store struct {
	rdb    *redis.Client
	prefix string

	mu    sync.Mutex
	vals  map[string]memVal
	voice map[string]map[string]int64 // guild → user → joined, Unix ms
}

type memVal struct {
	v   string
	exp time.Time
}

func newStore(rdb *redis.Client, prefix string) *store {
	return &store{rdb: rdb, prefix: prefix + "discord:", vals: map[string]memVal{}, voice: map[string]map[string]int64{}}
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
			if err := s.rdb.Set(ctx, s.prefix+key, raw, ttl).Err(); err == nil {
				return true, nil
			}
		} else if ok, err := s.rdb.SetNX(ctx, s.prefix+key, raw, ttl).Result(); err == nil {
			return ok, nil
		}
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
	if s.rdb != nil {
		if raw, err := s.rdb.Get(ctx, s.prefix+key).Result(); err == nil {
			return json.Unmarshal([]byte(raw), v)
		}
		// Not in Redis, or Redis does not answer: it may have been stored
		// here while Redis was down.
	}
	s.mu.Lock()
	m, ok := s.vals[key]
	s.mu.Unlock()
	if !ok || time.Now().After(m.exp) {
		return errMissing
	}
	return json.Unmarshal([]byte(m.v), v)
}

// Voice join times live in one hash per guild (user → Unix ms), kept
// voiceTTL after its last write; a guild's GUILD_CREATE replaces the
// entries of members no longer in voice, whose leave was missed.
const voiceTTL = maxVoiceMinutes*time.Minute + time.Hour

func (s *store) voiceKey(guild string) string { return s.prefix + "voice:" + guild }

// voiceJoin records when a member joined voice; false when already recorded.
func (s *store) voiceJoin(ctx context.Context, guild, user string, at time.Time) (bool, error) {
	if s.rdb != nil {
		var set *redis.BoolCmd
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			set = p.HSetNX(ctx, s.voiceKey(guild), user, at.UnixMilli())
			p.Expire(ctx, s.voiceKey(guild), voiceTTL)
			return nil
		})
		if err == nil {
			return set.Val(), nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.voice[guild]
	if g == nil {
		g = map[string]int64{}
		s.voice[guild] = g
	}
	if _, ok := g[user]; ok {
		return false, nil
	}
	g[user] = at.UnixMilli()
	return true, nil
}

// voiceResetScript: KEYS[1] a guild's hash; ARGV[1] now in Unix ms, ARGV[2]
// the ttl in seconds, ARGV[3…] the members in voice now.
var voiceResetScript = redis.NewScript(`
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if not keep[all[i]] and (tonumber(all[i+1]) or 0) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
for i = 3, #ARGV do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// voiceReset makes a guild's voice members those in users as of at: it
// records the new ones as joined at at and forgets members recorded before
// at who are no longer there (their leave was missed: no minutes).
func (s *store) voiceReset(ctx context.Context, guild string, users []string, at time.Time) error {
	ms := at.UnixMilli()
	if s.rdb != nil {
		args := make([]any, 0, len(users)+2)
		args = append(args, ms, int64(voiceTTL/time.Second))
		for _, u := range users {
			args = append(args, u)
		}
		if err := voiceResetScript.Run(ctx, s.rdb, []string{s.voiceKey(guild)}, args...).Err(); err == nil || errors.Is(err, redis.Nil) {
			return nil
		}
	}
	keep := make(map[string]bool, len(users))
	for _, u := range users {
		keep[u] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.voice[guild]
	if g == nil {
		g = map[string]int64{}
		s.voice[guild] = g
	}
	for u, joined := range g {
		if !keep[u] && joined < ms {
			delete(g, u)
		}
	}
	for _, u := range users {
		if _, ok := g[u]; !ok {
			g[u] = ms
		}
	}
	if len(g) == 0 {
		delete(s.voice, guild)
	}
	return nil
}

// voiceLeave removes a member's join time and returns it (false: none recorded).
func (s *store) voiceLeave(ctx context.Context, guild, user string) (time.Time, bool, error) {
	if s.rdb != nil {
		var get, legacy *redis.StringCmd
		var del, legacyDel *redis.IntCmd
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			get = p.HGet(ctx, s.voiceKey(guild), user)
			del = p.HDel(ctx, s.voiceKey(guild), user)
			// Joins recorded before the per-guild hashes.
			legacy = p.HGet(ctx, s.prefix+"voice", guild+":"+user)
			legacyDel = p.HDel(ctx, s.prefix+"voice", guild+":"+user)
			return nil
		})
		if err == nil || errors.Is(err, redis.Nil) {
			raw := ""
			switch {
			case del.Val() > 0:
				raw = get.Val()
			case legacyDel.Val() > 0:
				raw = legacy.Val()
			}
			if raw != "" {
				ms, err := strconv.ParseInt(raw, 10, 64)
				return time.UnixMilli(ms), err == nil, nil
			}
		}
		// Not in Redis, or Redis does not answer: the join may have been
		// recorded here while Redis was down.
	}
	s.mu.Lock()
	ms, ok := s.voice[guild][user]
	delete(s.voice[guild], user)
	if len(s.voice[guild]) == 0 {
		delete(s.voice, guild)
	}
	s.mu.Unlock()
	if !ok {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms), true, nil
}
