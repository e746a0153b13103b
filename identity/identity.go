// Package identity makes one person of a viewer's Twitch, Discord and Slack
// accounts. Every platform account belongs to exactly one identity (its own
// until it is linked); points, watch time, labels and reputation belong to
// the identity, so a linked person has one balance and one leaderboard row in
// each community. Accounts are linked by a code sent to the other account
// (chat) or by a hub user signing in with the platform (OAuth).
package identity

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/problem"
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

// Service links and unlinks accounts and answers who is who.
type Service struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	logger *slog.Logger
}

// New returns the identity service. rdb carries link and unlink news to the
// other instances' caches; it may be nil on a single instance.
func New(pool *pgxpool.Pool, rdb *redis.Client, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: pool, rdb: rdb, logger: logger.With("component", "identity")}
}
