package labels_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/bots/discord"
	"github.com/waddle/waddle/bots/discord/discordtest"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// The test guild, its roles and the test workspace.
const (
	guildID   = "700"
	roleFan   = "801" // below the bot's role: the bot may give it
	roleBot   = "802" // the bot's own role (managed)
	roleAdmin = "803" // above the bot's role
	teamID    = "T1"
	groupFans = "S100"
)

type groupsEnv struct {
	pool   *pgxpool.Pool
	cid    int64
	rest   *discordtest.REST
	guild  *discordtest.Guild
	slack  *slacktest.Server
	groups *labels.Groups
	told   atomic.Int64 // LabelsChanged calls
}

// nowRetry retries at once, so that a test sees the retry without waiting
// for River's backoff.
type nowRetry struct{}

func (nowRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }

// newGroupsEnv builds a community with a linked Discord guild and Slack
// workspace, both served by the local fakes through the real bots' role
// givers, and runs the role worker on a real River client.
func newGroupsEnv(t *testing.T) *groupsEnv {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	q := db.New(pool)
	c, err := q.CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{router.Discord, guildID}, {router.Slack, teamID}} {
		if _, err := q.EntityAdd(ctx, db.EntityAddParams{CommunityID: c.ID, Platform: l[0], Server: l[1], Name: "Ducks " + l[0]}); err != nil {
			t.Fatal(err)
		}
	}
	e := &groupsEnv{pool: pool, cid: c.ID}

	e.rest = discordtest.StartREST(t)
	e.guild = discordtest.NewGuild(guildID, 0,
		discordtest.Role{ID: roleFan, Name: "Fans", Position: 1},
		discordtest.Role{ID: roleBot, Name: "Waddle", Position: 2, Permissions: discordtest.PermManageRoles, Managed: true},
		discordtest.Role{ID: roleAdmin, Name: "Admins", Position: 3})
	e.guild.SetMember(discordtest.BotID, roleBot)
	e.rest.SetOverride(e.guild.Serve)
	rt := router.New(router.Config{Pool: pool})
	dbot, err := discord.New(discord.Config{Router: rt, Settings: router.NewSettings(rt), Links: platform.NewLinks(pool),
		Leases: platform.NewLeases(pool, "groups-test", 0), Status: platform.NewStatus(router.Discord),
		Token: "bot-token", AppID: "42", APIURL: e.rest.URL()})
	if err != nil {
		t.Fatal(err)
	}

	e.slack = slacktest.Start(t)
	e.slack.AddUserGroup(slacktest.UserGroup{ID: groupFans, Name: "Fans", Handle: "fans", Users: []string{"U0OWNER"}})
	sbot, err := slackbot.New(slackbot.Config{Links: platform.NewLinks(pool), Status: platform.NewStatus(router.Slack),
		BotToken: "xoxb-groups", APIURL: e.slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}

	workers := river.NewWorkers()
	worker := &labels.RoleWorker{}
	river.AddWorker(workers, worker)
	runner, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}, Workers: workers, RetryPolicy: nowRetry{},
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.groups = labels.NewGroups(labels.GroupsConfig{Pool: pool, Jobs: runner,
		Givers:        map[string]labels.RoleGiver{router.Discord: dbot.Roles(), router.Slack: sbot.UserGroups()},
		LabelsChanged: func(_ context.Context, cid int64) { e.told.Add(cid) }})
	worker.Groups = e.groups
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
	return e
}

// label creates a community label.
func (e *groupsEnv) label(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	if err := e.pool.QueryRow(context.Background(), "INSERT INTO labels (community_id, name) VALUES ($1, $2) RETURNING id", e.cid, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// person creates a person of the community with the given accounts
// (platform → account id), one identity.
func (e *groupsEnv) person(t *testing.T, accounts map[string]string) int64 {
	t.Helper()
	ctx := context.Background()
	var identity int64
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		for _, p := range []string{router.Discord, router.Slack, router.Twitch} {
			acct, ok := accounts[p]
			if !ok {
				continue
			}
			row, err := q.IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: p, AccountID: acct, UserName: "name-" + acct})
			if err != nil {
				return err
			}
			if identity == 0 {
				identity = row.IdentityID
			} else if _, err := tx.Exec(ctx, "UPDATE identity_accounts SET identity_id = $1 WHERE platform = $2 AND account_id = $3", identity, p, acct); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", e.cid, identity)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return identity
}

// setLabel gives or takes a label as the labels service does: the row and
// RoleSync.Changed in one transaction.
func (e *groupsEnv) setLabel(t *testing.T, identity, label int64, give bool) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		sql := "DELETE FROM person_labels WHERE community_id = $1 AND identity_id = $2 AND label_id = $3"
		if give {
			sql = "INSERT INTO person_labels (community_id, identity_id, label_id) VALUES ($1, $2, $3)"
		}
		if _, err := tx.Exec(ctx, sql, e.cid, identity, label); err != nil {
			return err
		}
		return e.groups.Changed(ctx, tx, []labels.Change{{CommunityID: e.cid, IdentityID: identity, LabelID: label, Give: give}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// settled waits until no assignment of the label is pending and returns the
// label's section.
func (e *groupsEnv) settled(t *testing.T, label int64) labels.Section {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := e.groups.Section(context.Background(), e.cid, label)
		if err != nil {
			t.Fatal(err)
		}
		pending := false
		for _, a := range s.Assignments {
			pending = pending || a.State == labels.StatePending
		}
		if !pending {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("assignments still pending after 15s: %+v", s.Assignments)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assignment returns the label's assignment of account.
func assignment(t *testing.T, s labels.Section, account string) labels.Assignment {
	t.Helper()
	for _, a := range s.Assignments {
		if a.AccountID == account {
			return a
		}
	}
	t.Fatalf("no assignment for %s in %+v", account, s.Assignments)
	return labels.Assignment{}
}

// waitFor waits up to 15 seconds for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
