// Package labels lets moderators label people in a community (at most five
// labels a person) and lets the hub label communities (at most five each);
// modules are labelled in the marketplace. A community's label may be mapped
// to a platform role (an entity group: a Discord role, a Slack user group,
// Twitch VIP): giving or taking the label gives or takes the role through the
// bots, in the background. Limits are checked in the transaction that adds,
// so concurrent requests cannot pass them.
package labels

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// The limits from the original system.
const (
	MaxPerPerson    = 5 // labels on one person in one community
	MaxPerCommunity = 5 // hub-wide labels on one community
)

// Label is a name, a colour and a description.
type Label struct {
	ID          int64
	CommunityID int64 // 0 for a hub-wide label
	Name        string
	Colour      string // #rrggbb
	Description string
}

// Change is a label given to or taken from a person in a community.
type Change struct {
	CommunityID int64
	IdentityID  int64
	LabelID     int64
	Give        bool // false: taken
}

// RoleSync is told, in the transaction that changes labels, of every label
// given or taken, so that the platform roles the labels map to follow (it
// enqueues the work; the bots do it in the background). Nil: no roles.
type RoleSync interface {
	Changed(ctx context.Context, tx pgx.Tx, changes []Change) error
}

// Service keeps labels and what they are on.
type Service struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	roles  RoleSync
	logger *slog.Logger
	cache  *cache
}

// Config is what the service needs. Redis carries cache invalidation to the
// other instances; it may be nil on a single instance.
type Config struct {
	Pool        *pgxpool.Pool
	Redis       *redis.Client
	RedisPrefix string
	Roles       RoleSync
	Logger      *slog.Logger
}

// New returns the labels service.
func New(cfg Config) *Service {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: cfg.Pool, rdb: cfg.Redis, prefix: cfg.RedisPrefix, roles: cfg.Roles, logger: logger.With("component", "labels"), cache: newCache()}
}

// Errors the labels service answers with.
var (
	ErrNotFound = &problem.Error{Code: problem.NotFound, Field: "label", Message: "No such label."}
	// ErrPersonNotFound: the community has not met that person. The same
	// answer whether or not the identity exists elsewhere on the instance.
	ErrPersonNotFound = &problem.Error{Code: problem.NotFound, Field: "person", Message: "This community has not met that person."}
	ErrPersonFull     = &problem.Error{Code: problem.Conflict, Field: "label", Message: fmt.Sprintf("This person already has %d labels in this community, the most allowed: remove one first.", MaxPerPerson)}
	ErrNameTaken      = &problem.Error{Code: problem.Conflict, Field: "name", Message: "A label with that name already exists (names are compared without case)."}
)

// tx runs fn in a transaction.
func (s *Service) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

func toLabel(r db.Label) Label {
	l := Label{ID: r.ID, Name: r.Name, Colour: r.Colour, Description: r.Description}
	if r.CommunityID != nil {
		l.CommunityID = *r.CommunityID
	}
	return l
}

func toLabels(rows []db.Label) []Label {
	out := make([]Label, len(rows))
	for i, r := range rows {
		out[i] = toLabel(r)
	}
	return out
}
