// Package identity makes one person of a viewer's Twitch, Discord and Slack
// accounts. Every platform account belongs to exactly one identity (its own
// until it is linked); points, watch time, labels and reputation belong to
// the identity, so a linked person has one balance and one leaderboard row in
// each community. Accounts are linked by a code sent to the other account
// (chat) or by a hub user signing in with the platform (OAuth).
package identity

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// The platforms an identity spans.
const (
	Twitch  = "twitch"
	Discord = "discord"
	Slack   = "slack"
)

// PlatformName is a platform as users read it ("Twitch"); false for an
// unknown platform.
func PlatformName(platform string) (string, bool) {
	switch platform {
	case Twitch:
		return "Twitch", true
	case Discord:
		return "Discord", true
	case Slack:
		return "Slack", true
	}
	return "", false
}

// Account is one platform account.
type Account struct {
	Platform string // twitch, discord, slack
	ID       string // the platform's user id
	Name     string // the name last seen, for people to read
}

// Errors a link can end in.
var (
	// ErrSamePlatform: both identities have an account on one platform.
	ErrSamePlatform = problem.New(problem.Conflict, "That would put two accounts of one platform in one identity: unlink the old one first.")
	// ErrOtherHubUser: the account belongs to another hub user's identity.
	ErrOtherHubUser = problem.New(problem.Conflict, "That account is already linked to someone else.")
	// ErrNotLinked: the account is alone in its identity.
	ErrNotLinked = problem.New(problem.NotFound, "That account is not linked to any other.")
)

// Config is what the identity service needs beyond New's arguments: the
// chat linking flow's sender, directory and limiter.
type Config struct {
	Pool        *pgxpool.Pool
	Redis       *redis.Client // link and unlink news for the other instances' caches; nil on one machine
	RedisPrefix string
	Logger      *slog.Logger
	Limiter     *ratelimit.Limiter // link requests per account and per target; nil: memory only
	Sender      router.Sender      // delivers codes by whisper or DM; nil: chat linking is off
	Directory   Directory          // finds accounts the community has not seen yet; nil: seen ones only
	CacheSize   int                // accounts the lookup cache holds; default 100,000
	CacheTTL    time.Duration      // how long a cached identity is trusted; default 10 minutes
	FlushEvery  time.Duration      // how often sightings are written; default 3 seconds
	Now         func() time.Time   // the clock codes expire by; default time.Now
	// OnSeen hears of accounts once their sightings are written, and of an
	// account a hub user linked (CommunityID 0): the importer binds the
	// balances waiting for their logins. nil: nobody hears.
	OnSeen func(ctx context.Context, seen []Sighting) error
}

// Sighting is an account seen in a community (0: linked in the hub).
type Sighting struct {
	CommunityID int64
	Platform    string
	AccountID   string
	Name        string
}

// Service links and unlinks accounts and answers who is who.
type Service struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	logger *slog.Logger

	channel    string // the Redis channel of cache invalidations
	limiter    *ratelimit.Limiter
	sender     router.Sender
	directory  Directory
	now        func() time.Time
	flushEvery time.Duration
	onSeen     func(ctx context.Context, seen []Sighting) error

	cache *cache
	seen  *seenBuffer

	keyMu   sync.Mutex
	codeKey []byte // the HMAC key of link codes (code.go)
}

// New returns the identity service. rdb carries link and unlink news to the
// other instances' caches; it may be nil on a single instance.
func New(pool *pgxpool.Pool, rdb *redis.Client, logger *slog.Logger) *Service {
	return NewService(Config{Pool: pool, Redis: rdb, Logger: logger})
}

// NewService returns the identity service with everything cfg sets; call
// Run to write sightings and follow other instances' links.
func NewService(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.New(nil, "", cfg.Logger)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 100_000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 10 * time.Minute
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 3 * time.Second
	}
	logger := cfg.Logger.With("component", "identity")
	return &Service{pool: cfg.Pool, rdb: cfg.Redis, logger: logger,
		channel: cfg.RedisPrefix + "identity:invalidate", limiter: cfg.Limiter, sender: cfg.Sender, directory: cfg.Directory,
		now: cfg.Now, flushEvery: cfg.FlushEvery, onSeen: cfg.OnSeen,
		cache: newCache(cfg.CacheSize, cfg.CacheTTL), seen: newSeenBuffer()}
}
