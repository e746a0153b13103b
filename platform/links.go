package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/runes"
)

// Link is a server (Twitch channel, Discord guild, Slack team) linked to a community.
type Link struct {
	CommunityID int64
	Server      string
	Name        string
}

// Links tells the bots which servers are linked, and records the servers a
// bot was added to so the hub can offer them for linking.
type Links struct {
	pool *pgxpool.Pool
}

// NewLinks returns the link directory.
func NewLinks(pool *pgxpool.Pool) *Links { return &Links{pool: pool} }

// LinkPollEvery is how often the bots look for new links and removals.
const LinkPollEvery = 5 * time.Second

// List returns every linked server of a platform.
func (l *Links) List(ctx context.Context, platform string) ([]Link, error) {
	rows, err := db.New(l.pool).EntityListByPlatform(ctx, platform)
	if err != nil {
		return nil, fmt.Errorf("list linked %s servers: %w", platform, err)
	}
	out := make([]Link, 0, len(rows))
	for _, r := range rows {
		out = append(out, Link{CommunityID: r.CommunityID, Server: r.Server, Name: r.Name})
	}
	return out, nil
}

// Seen records that the bot is in a server (a Discord guild it was added to).
func (l *Links) Seen(ctx context.Context, platform, server, name string) error {
	if len(name) > 100 {
		name = runes.Truncate(name, 100, "")
	}
	if err := db.New(l.pool).AvailableUpsert(ctx, db.AvailableUpsertParams{Platform: platform, Server: server, Name: name}); err != nil {
		return fmt.Errorf("record %s server %q: %w", platform, server, err)
	}
	return nil
}

// Gone records that the bot left a server or was removed from it.
func (l *Links) Gone(ctx context.Context, platform, server string) error {
	if err := db.New(l.pool).AvailableDelete(ctx, db.AvailableDeleteParams{Platform: platform, Server: server}); err != nil {
		return fmt.Errorf("forget %s server %q: %w", platform, server, err)
	}
	return nil
}

// Available lists the servers the bot is in that no community has linked.
func (l *Links) Available(ctx context.Context, platform string) ([]Link, error) {
	rows, err := db.New(l.pool).AvailableListUnlinked(ctx, platform)
	if err != nil {
		return nil, fmt.Errorf("list %s servers to link: %w", platform, err)
	}
	out := make([]Link, 0, len(rows))
	for _, r := range rows {
		out = append(out, Link{Server: r.Server, Name: r.Name})
	}
	return out, nil
}
