package labels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// RoleGiver is a bot's side of entity groups: it lists the groups of a
// linked server a label may be mapped to, and gives, takes and lists one
// group's members. server is the linked server (Twitch channel login,
// Discord guild id, Slack team id), group a Discord role id, a Slack user
// group id or "vip", account the platform's user id.
//
// A permanent refusal (a missing permission, an unknown role or member) is
// a *Refused; a transient one (429, 5xx) a *Later; any other error is
// retried as transient.
type RoleGiver interface {
	Groups(ctx context.Context, server string) ([]PlatformGroup, error)
	Give(ctx context.Context, server, group, account string) error
	Take(ctx context.Context, server, group, account string) error
	Members(ctx context.Context, server, group string) ([]string, error)
}

// PlatformGroup is a group of a server a label may be mapped to.
type PlatformGroup struct {
	ID, Name string
	Refused  string // why the bot cannot manage it ("" when it can): shown, not offered
}

// Refused is a platform's permanent refusal, in its own words.
type Refused struct{ Reason string }

func (e *Refused) Error() string { return e.Reason }

// Later is a transient refusal: try again after Wait (0: River's backoff).
type Later struct {
	Wait   time.Duration
	Reason string
}

func (e *Later) Error() string { return e.Reason }

// Assignment states.
const (
	StatePending = "pending"
	StateDone    = "done"
	StateFailed  = "failed"
	StateDiffers = "differs"
)

// Group is a label's platform role.
type Group struct {
	ID       int64
	LabelID  int64
	Platform string
	Server   string
	GroupID  string
	Name     string
}

// Groups keeps labels' platform roles in step with the labels: it is the
// labels service's RoleSync, and maps labels to groups, re-syncs them and
// applies the moderator's choices.
type Groups struct {
	pool    *pgxpool.Pool
	jobs    *river.Client[pgx.Tx]
	logger  *slog.Logger
	changed func(ctx context.Context, communityID int64)

	mu     sync.RWMutex
	givers map[string]RoleGiver
}

// GroupsConfig is what Groups needs. Jobs may be an insert-only client;
// Givers has the running bots, by platform.
type GroupsConfig struct {
	Pool   *pgxpool.Pool
	Jobs   *river.Client[pgx.Tx]
	Givers map[string]RoleGiver
	Logger *slog.Logger
	// LabelsChanged is told, after the commit, when a re-sync choice gave or
	// took labels (so that label caches drop the community); nil: no one.
	LabelsChanged func(ctx context.Context, communityID int64)
}

// NewGroups returns the entity groups service.
func NewGroups(cfg GroupsConfig) *Groups {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	givers := map[string]RoleGiver{}
	for p, g := range cfg.Givers {
		if g != nil {
			givers[p] = g
		}
	}
	return &Groups{pool: cfg.Pool, jobs: cfg.Jobs, givers: givers, changed: cfg.LabelsChanged, logger: logger.With("component", "label-groups")}
}

// SetGiver sets (or, with nil, removes) the bot that gives platform's roles.
func (g *Groups) SetGiver(platform string, giver RoleGiver) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if giver == nil {
		delete(g.givers, platform)
		return
	}
	g.givers[platform] = giver
}

func (g *Groups) giver(platform string) RoleGiver {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.givers[platform]
}

// platformTitle names a platform for people.
func platformTitle(p string) string {
	switch p {
	case "discord":
		return "Discord"
	case "slack":
		return "Slack"
	case "twitch":
		return "Twitch"
	}
	return p
}

// groupNoun is what a group is called on its platform.
func groupNoun(p string) string {
	switch p {
	case "slack":
		return "the user group"
	case "twitch":
		return "VIP"
	}
	return "the role"
}

// ServerGroups is a linked server and the groups a label may be mapped to there.
type ServerGroups struct {
	Platform, Server, Name string
	Groups                 []PlatformGroup
	Problem                string // why the groups could not be listed
}

// Options lists the community's linked servers with their groups, asking
// each bot.
func (g *Groups) Options(ctx context.Context, communityID int64) ([]ServerGroups, error) {
	servers, err := db.New(g.pool).LabelGroupServers(ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("list linked servers: %w", err)
	}
	out := make([]ServerGroups, 0, len(servers))
	for _, s := range servers {
		sg := ServerGroups{Platform: s.Platform, Server: s.Server, Name: s.Name}
		giver := g.giver(s.Platform)
		if giver == nil {
			sg.Problem = "The " + platformTitle(s.Platform) + " bot is not running."
		} else if sg.Groups, err = giver.Groups(ctx, s.Server); err != nil {
			sg.Problem = reason(err)
			g.logger.WarnContext(ctx, "cannot list a server's groups", "platform", s.Platform, "server", s.Server, "err", err)
		}
		out = append(out, sg)
	}
	return out, nil
}

// reason is what a user may read of a bot's error.
func reason(err error) string {
	var r *Refused
	var l *Later
	switch {
	case errors.As(err, &r):
		return r.Reason
	case errors.As(err, &l):
		return l.Reason
	case problem.As(err) != nil:
		return problem.As(err).Message
	}
	return "the platform could not be reached"
}

// Map maps a community's label to a group of a server the community linked,
// and asks for the role to be given to everyone who has the label.
func (g *Groups) Map(ctx context.Context, by audit.Actor, communityID, labelID int64, platform, server, groupID string) (Group, error) {
	platform, server, groupID = strings.TrimSpace(platform), strings.TrimSpace(server), strings.TrimSpace(groupID)
	switch {
	case platform != "discord" && platform != "slack" && platform != "twitch":
		return Group{}, problem.Invalidf("platform", "Choose Discord, Slack or Twitch.")
	case server == "" || len(server) > 100:
		return Group{}, problem.Invalidf("server", "Choose a linked server.")
	case groupID == "" || len(groupID) > 100:
		return Group{}, problem.Invalidf("group", "Choose a role.")
	}
	q := db.New(g.pool)
	label, err := q.LabelGroupLabel(ctx, db.LabelGroupLabelParams{CommunityID: communityID, ID: labelID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Group{}, problem.New(problem.NotFound, "There is no such label.")
	}
	if err != nil {
		return Group{}, fmt.Errorf("load label %d: %w", labelID, err)
	}
	if _, err := q.LabelGroupServer(ctx, db.LabelGroupServerParams{CommunityID: communityID, Platform: platform, Server: server}); errors.Is(err, pgx.ErrNoRows) {
		return Group{}, problem.Invalidf("server", "The community has not linked that %s server.", platformTitle(platform))
	} else if err != nil {
		return Group{}, fmt.Errorf("load linked server: %w", err)
	}
	giver := g.giver(platform)
	if giver == nil {
		return Group{}, problem.New(problem.Conflict, "The %s bot is not running, so it cannot give roles.", platformTitle(platform))
	}
	options, err := giver.Groups(ctx, server)
	if err != nil {
		return Group{}, problem.New(problem.Conflict, "%s did not list the server's groups: %s", platformTitle(platform), reason(err))
	}
	var chosen *PlatformGroup
	for i := range options {
		if options[i].ID == groupID {
			chosen = &options[i]
		}
	}
	switch {
	case chosen == nil:
		return Group{}, problem.Invalidf("group", "There is no such group on that server.")
	case chosen.Refused != "":
		return Group{}, problem.Invalidf("group", "%s cannot be used: %s", chosen.Name, chosen.Refused)
	}
	var out Group
	err = pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		row, err := q.LabelGroupInsert(ctx, db.LabelGroupInsertParams{CommunityID: communityID, LabelID: labelID, Platform: platform,
			Server: server, GroupID: groupID, GroupName: truncate(chosen.Name, 100)})
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return problem.New(problem.Conflict, "The label is already mapped to a group on that server; remove that mapping first.")
			}
			return fmt.Errorf("map label %d: %w", labelID, err)
		}
		out = groupFrom(row)
		holders, err := q.LabelGroupHolders(ctx, db.LabelGroupHoldersParams{CommunityID: communityID, LabelID: labelID, Platform: platform})
		if err != nil {
			return fmt.Errorf("list the label's holders: %w", err)
		}
		var ups []upsert
		for _, h := range holders {
			ups = append(ups, upsert{group: row.ID, identity: h.IdentityID, account: h.AccountID, want: true})
		}
		if err := g.enqueue(ctx, tx, communityID, ups); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.LabelGroupMapped,
			Target: groupTarget(label.Name, out), After: out})
	})
	return out, err
}

// Unmap removes a mapping with its assignments. Roles already given stay on
// the platform: a moderator may want to keep them.
func (g *Groups) Unmap(ctx context.Context, by audit.Actor, communityID, labelID, id int64) error {
	return pgx.BeginFunc(ctx, g.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		label, err := q.LabelGroupLabel(ctx, db.LabelGroupLabelParams{CommunityID: communityID, ID: labelID})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "There is no such label.")
		}
		if err != nil {
			return fmt.Errorf("load label %d: %w", labelID, err)
		}
		row, err := q.LabelGroupDelete(ctx, db.LabelGroupDeleteParams{CommunityID: communityID, LabelID: labelID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.New(problem.NotFound, "There is no such mapping.")
		}
		if err != nil {
			return fmt.Errorf("unmap group %d: %w", id, err)
		}
		old := groupFrom(row)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.LabelGroupUnmapped,
			Target: groupTarget(label.Name, old), Before: old})
	})
}

func groupTarget(label string, gr Group) string {
	name := gr.Name
	if name == "" {
		name = gr.GroupID
	}
	return fmt.Sprintf("label %s → %s %s on %s", label, platformTitle(gr.Platform), name, gr.Server)
}

func groupFrom(r db.LabelGroup) Group {
	return Group{ID: r.ID, LabelID: r.LabelID, Platform: r.Platform, Server: r.Server, GroupID: r.GroupID, Name: r.GroupName}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
