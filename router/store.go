package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Quote is one saved quote.
type Quote struct {
	Number int32
	Text   string
}

var errNoQuote = problem.New(problem.NotFound, "no such quote.")

func (r *Router) randomQuote(ctx context.Context, communityID int64) (Quote, error) {
	q, err := db.New(r.read).QuoteRandom(ctx, communityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Quote{}, problem.New(problem.NotFound, "there are no quotes yet.")
	}
	if err != nil {
		return Quote{}, fmt.Errorf("random quote: %w", err)
	}
	return Quote{Number: q.Number, Text: q.Text}, nil
}

func (r *Router) quote(ctx context.Context, communityID int64, n int) (Quote, error) {
	q, err := db.New(r.read).QuoteGet(ctx, db.QuoteGetParams{CommunityID: communityID, Number: int32(n)})
	if errors.Is(err, pgx.ErrNoRows) {
		return Quote{}, errNoQuote
	}
	if err != nil {
		return Quote{}, fmt.Errorf("quote %d: %w", n, err)
	}
	return Quote{Number: q.Number, Text: q.Text}, nil
}

func (r *Router) addQuote(ctx context.Context, communityID int64, text, by string) (int32, error) {
	n, err := db.New(r.pool).QuoteAdd(ctx, db.QuoteAddParams{CommunityID: communityID, Text: text, AddedBy: by})
	if err != nil {
		return 0, fmt.Errorf("add quote: %w", err)
	}
	return n, nil
}

func (r *Router) deleteQuote(ctx context.Context, communityID int64, n int) error {
	rows, err := db.New(r.pool).QuoteDelete(ctx, db.QuoteDeleteParams{CommunityID: communityID, Number: int32(n)})
	if err != nil {
		return fmt.Errorf("delete quote %d: %w", n, err)
	}
	if rows == 0 {
		return errNoQuote
	}
	return nil
}

func (r *Router) setCounter(ctx context.Context, communityID, id, n int64) error {
	if _, err := db.New(r.pool).CommandSetCounter(ctx, db.CommandSetCounterParams{CommunityID: communityID, ID: id, Counter: n}); err != nil {
		return fmt.Errorf("set counter: %w", err)
	}
	r.invalidate(ctx, communityID)
	return nil
}

// knownUser is a chat user the community has seen earn points.
type knownUser struct {
	Platform, UserID, Name string
}

func (r *Router) findUser(ctx context.Context, communityID int64, platform, name string) (knownUser, error) {
	row, err := db.New(r.read).PointsBalanceFindByName(ctx, db.PointsBalanceFindByNameParams{CommunityID: communityID, Platform: platform, Lower: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return knownUser{}, problem.New(problem.NotFound, "I have not seen %s here yet.", name)
	}
	if err != nil {
		return knownUser{}, fmt.Errorf("find user %q: %w", name, err)
	}
	return knownUser{Platform: row.Platform, UserID: row.UserID, Name: row.UserName}, nil
}

// Entity is a platform server linked to a community.
type Entity struct {
	ID       int64
	Platform string
	Server   string
	Name     string
}

// LinkEntity links a platform server (Twitch channel, Discord guild, Slack team) to a community.
func (r *Router) LinkEntity(ctx context.Context, communityID int64, platform, server, name string) (Entity, error) {
	server, name = strings.TrimSpace(server), strings.TrimSpace(name)
	if platform != Twitch && platform != Discord && platform != Slack {
		return Entity{}, problem.Invalidf("platform", "Choose twitch, discord or slack.")
	}
	if server == "" || len(server) > 100 {
		return Entity{}, problem.Invalidf("server", "Give the channel login, guild id or team id (1 to 100 characters).")
	}
	if len(name) > 100 {
		return Entity{}, problem.Invalidf("name", "A name has at most 100 characters.")
	}
	if platform == Twitch {
		server = strings.ToLower(server)
	}
	row, err := db.New(r.pool).EntityAdd(ctx, db.EntityAddParams{CommunityID: communityID, Platform: platform, Server: server, Name: name})
	if db.IsUniqueViolation(err) {
		return Entity{}, problem.Invalidf("server", "This %s server is already linked to a community.", platform)
	}
	if err != nil {
		return Entity{}, fmt.Errorf("link %s %q: %w", platform, server, err)
	}
	r.invalidateEntities(ctx)
	return Entity{ID: row.ID, Platform: row.Platform, Server: row.Server, Name: row.Name}, nil
}

// UnlinkEntity removes a link.
func (r *Router) UnlinkEntity(ctx context.Context, communityID, id int64) error {
	n, err := db.New(r.pool).EntityRemove(ctx, db.EntityRemoveParams{CommunityID: communityID, ID: id})
	if err != nil {
		return fmt.Errorf("unlink: %w", err)
	}
	if n == 0 {
		return problem.New(problem.NotFound, "No such linked server.")
	}
	r.invalidateEntities(ctx)
	return nil
}

// Entities lists a community's linked servers.
func (r *Router) Entities(ctx context.Context, communityID int64) ([]Entity, error) {
	rows, err := db.New(r.pool).EntityListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list linked servers: %w", err)
	}
	out := make([]Entity, 0, len(rows))
	for _, e := range rows {
		out = append(out, Entity{ID: e.ID, Platform: e.Platform, Server: e.Server, Name: e.Name})
	}
	return out, nil
}
