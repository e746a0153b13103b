package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// LinkEntity links a platform server (Twitch channel, Discord guild, Slack
// team) to a community, recording who did it in the audit log.
func (st *Settings) LinkEntity(ctx context.Context, by audit.Actor, communityID int64, platform, server, name string) (Entity, error) {
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
	var row db.PlatformEntity
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		var err error
		if row, err = db.New(tx).EntityAdd(ctx, db.EntityAddParams{CommunityID: communityID, Platform: platform, Server: server, Name: name}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ServerLinked, Target: entityTarget(platform, server, name)})
	})
	if db.IsUniqueViolation(err) {
		return Entity{}, problem.Invalidf("server", "This %s server is already linked to a community.", platform)
	}
	if err != nil {
		return Entity{}, fmt.Errorf("link %s %q: %w", platform, server, err)
	}
	st.invalidateEntities(ctx)
	return Entity{ID: row.ID, Platform: row.Platform, Server: row.Server, Name: row.Name}, nil
}

// UnlinkEntity removes a link (and the server's stored token with it),
// recording who did it in the audit log.
func (st *Settings) UnlinkEntity(ctx context.Context, by audit.Actor, communityID, id int64) error {
	err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
		row, err := db.New(tx).EntityRemove(ctx, db.EntityRemoveParams{CommunityID: communityID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "No such linked server.")
		}
		if err != nil {
			return fmt.Errorf("unlink: %w", err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.ServerUnlinked, Target: entityTarget(row.Platform, row.Server, row.Name)})
	})
	if err != nil {
		return err
	}
	st.invalidateEntities(ctx)
	return nil
}

// Entities lists a community's linked servers.
func (st *Settings) Entities(ctx context.Context, communityID int64) ([]Entity, error) {
	rows, err := db.New(st.pool).EntityListByCommunity(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list linked servers: %w", err)
	}
	out := make([]Entity, 0, len(rows))
	for _, e := range rows {
		out = append(out, Entity{ID: e.ID, Platform: e.Platform, Server: e.Server, Name: e.Name})
	}
	return out, nil
}
