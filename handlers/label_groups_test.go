package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/bots/discord"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// The test guild and its roles, served by the Discord fake.
const (
	tgGuild = "700"
	tgFans  = "801" // the bot may give it
	tgBot   = "802" // the bot's own, managed
	tgAdmin = "803" // above the bot's
)

// discordGuild links a Discord guild to the community, serves it from the
// Discord fake and lets the real bot's role giver give its roles.
func (e *env) discordGuild(t *testing.T, cid int64) *discordtest.Guild {
	t.Helper()
	if _, err := e.settings.LinkEntity(context.Background(), audit.Actor{}, cid, router.Discord, tgGuild, "Duck guild"); err != nil {
		t.Fatal(err)
	}
	rest := discordtest.StartREST(t)
	g := discordtest.NewGuild(tgGuild, 0,
		discordtest.Role{ID: tgFans, Name: "Fans", Position: 1},
		discordtest.Role{ID: tgBot, Name: "Waddle", Position: 2, Permissions: discordtest.PermManageRoles, Managed: true},
		discordtest.Role{ID: tgAdmin, Name: "Admins", Position: 3})
	g.SetMember(discordtest.BotID, tgBot)
	rest.SetOverride(g.Serve)
	bot, err := discord.New(discord.Config{Router: e.router, Settings: e.settings, Links: platform.NewLinks(e.pool),
		Leases: platform.NewLeases(e.pool, "groups-hub-test", 0), Status: platform.NewStatus(router.Discord),
		Token: "bot-token", AppID: "42", APIURL: rest.URL()})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Groups.SetGiver(router.Discord, bot.Roles())
	return g
}

type soonRetry struct{}

func (soonRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }

// runRoleWorker runs the role jobs until the test ends.
func (e *env) runRoleWorker(t *testing.T) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &labels.RoleWorker{Groups: e.cfg.Groups})
	runner, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}}, Workers: workers, RetryPolicy: soonRetry{},
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		runner.Stop(ctx)
	})
}

// labelOf creates a label of the community.
func (e *env) labelOf(t *testing.T, cid int64, name string) int64 {
	t.Helper()
	var id int64
	if err := e.pool.QueryRow(context.Background(), "INSERT INTO labels (community_id, name) VALUES ($1, $2) RETURNING id", cid, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// labelled makes a person of the community with a Discord account and
// gives them the label, as the labels service does (RoleSync in its
// transaction).
func (e *env) labelled(t *testing.T, cid, label int64, account string) int64 {
	t.Helper()
	ctx := context.Background()
	var identity int64
	err := pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		acct, err := db.New(tx).IdentityAccountEnsure(ctx, db.IdentityAccountEnsureParams{Platform: router.Discord, AccountID: account, UserName: "duck" + account})
		if err != nil {
			return err
		}
		identity = acct.IdentityID
		if _, err := tx.Exec(ctx, "INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", cid, identity); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO person_labels (community_id, identity_id, label_id) VALUES ($1, $2, $3)", cid, identity, label); err != nil {
			return err
		}
		return e.cfg.Groups.Changed(ctx, tx, []labels.Change{{CommunityID: cid, IdentityID: identity, LabelID: label, Give: true}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return identity
}

// settledSection polls the section until no assignment is pending.
func settledSection(t *testing.T, c *client, path string) response {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := c.get(path, htmx)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.body)
		}
		if !strings.Contains(res.body, `data-state="pending"`) {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending after 15s: %s", res.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stateOf(t *testing.T, res response, account string) (state, detail string) {
	t.Helper()
	row := res.doc(t).Find(fmt.Sprintf(`[data-testid="label-assignment"][data-account="%s"]`, account))
	if row.Length() != 1 {
		t.Fatalf("no assignment row for %s in %s", account, res.body)
	}
	return row.AttrOr("data-state", ""), strings.TrimSpace(row.Find(`[data-testid="assignment-detail"]`).Text())
}

// TestLabelGroupsHub: a manager maps a label to a Discord role from the
// section, sees each assignment's state (done, failed with Discord's
// reason), re-syncs after a change made by hand and settles it; a member
// sees the section without its forms and cannot change it; another
// community's manager cannot see it.
func TestLabelGroupsHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	mod := e.user("mod@example.com", false)
	viewer := e.user("viewer@example.com", false)
	stranger := e.user("stranger@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{mod: community.Admin, viewer: community.Member})
	e.community(root, "geese", map[auth.User]community.Role{stranger: community.Admin})
	guild := e.discordGuild(t, c.ID)
	e.runRoleWorker(t)
	vip := e.labelOf(t, c.ID, "VIP")
	base := fmt.Sprintf("/c/%d/labels/%d/groups", c.ID, vip)
	m := e.signedIn(mod.Email)

	// The add form offers the roles the bot can give and says why not the others.
	doc := m.get(base, htmx).doc(t)
	if doc.Find(`[data-testid="no-label-groups"]`).Length() != 1 {
		t.Fatal("a new label shows mappings")
	}
	enabled := doc.Find(`[data-testid="label-group-add"] option:not([disabled])`)
	if enabled.Length() != 2 || enabled.Last().AttrOr("value", "") != "discord|"+tgGuild+"|"+tgFans {
		t.Fatalf("offered %d roles: %s", enabled.Length(), doc.Find(`select`).Text())
	}
	if txt := doc.Find(`option[disabled]`).Text(); !strings.Contains(txt, "Admins — it is at or above the bot's highest role") ||
		!strings.Contains(txt, "Waddle — it is managed by an integration") {
		t.Errorf("refused roles: %q", txt)
	}

	// Bad input: no choice, a role the bot cannot give.
	for target, want := range map[string]string{"": "Choose a role.", "discord|" + tgGuild + "|" + tgAdmin: "at or above the bot's highest role",
		"discord|999|" + tgFans: "has not linked"} {
		res := m.post(base, url.Values{"target": {target}}, htmx)
		if got := res.doc(t).Find(`[data-testid="label-groups-error"]`).Text(); res.StatusCode != http.StatusOK || !strings.Contains(got, want) {
			t.Errorf("target %q: %d, error %q, want %q", target, res.StatusCode, got, want)
		}
	}
	res := m.post(base, url.Values{"target": {"discord|" + tgGuild + "|" + tgFans}}, htmx)
	if got := res.doc(t).Find(`[data-testid="label-group"]`).Text(); !strings.Contains(got, "Discord: Fans on "+tgGuild) {
		t.Fatalf("after mapping: %q in %s", got, res.body)
	}

	// Two people get the label: one is in the guild, one is not.
	guild.SetMember("2001")
	duck := e.labelled(t, c.ID, vip, "2001")
	e.labelled(t, c.ID, vip, "2002")
	res = settledSection(t, m, base)
	if st, _ := stateOf(t, res, "2001"); st != "done" || !guild.HasRole("2001", tgFans) {
		t.Errorf("2001: %s, roles %v; want done with the role", st, guild.MemberRoles("2001"))
	}
	if st, detail := stateOf(t, res, "2002"); st != "failed" || !strings.Contains(detail, "Unknown Member (10007)") {
		t.Errorf("2002: %s %q, want failed with Discord's reason", st, detail)
	}
	roles := m.get(fmt.Sprintf("/c/%d/people/%d/roles", c.ID, duck), htmx).doc(t).Find(`[data-testid="person-role"]`)
	if roles.Length() != 1 || roles.AttrOr("data-state", "") != "done" || !strings.Contains(roles.Text(), "VIP: give Discord Fans") {
		t.Errorf("person roles: %d %q", roles.Length(), roles.Text())
	}

	// By hand on Discord, 2001 loses the role: the re-sync reports it and
	// changes nothing; the manager gives the role back.
	guild.SetMember("2001")
	res = m.post(base+"/resync", nil, htmx)
	if got := res.doc(t).Find(`[data-testid="label-groups-message"]`).Text(); !strings.Contains(got, "2 differences") {
		t.Fatalf("re-sync said %q", got)
	}
	if st, detail := stateOf(t, res, "2001"); st != "differs" || detail != "has the label but not the role on Discord" {
		t.Fatalf("2001 after re-sync: %s %q", st, detail)
	}
	if guild.HasRole("2001", tgFans) {
		t.Fatal("the re-sync gave the role back by itself")
	}
	row := res.doc(t).Find(`[data-testid="label-assignment"][data-account="2001"]`)
	if row.Find(`[data-testid="resolve-label"]`).Text() != "Give the role" || row.Find(`[data-testid="resolve-platform"]`).Text() != "Take the label" {
		t.Errorf("choices: %q", row.Find("button").Text())
	}
	action, _ := row.Find(`[data-testid="resolve-label"]`).Parent().Attr("action")
	m.post(action, url.Values{"keep": {"label"}}, htmx)
	res = settledSection(t, m, base)
	if st, _ := stateOf(t, res, "2001"); st != "done" || !guild.HasRole("2001", tgFans) {
		t.Errorf("2001 after the choice: %s, roles %v", st, guild.MemberRoles("2001"))
	}
	// Without HTMX a choice redirects to the label's page.
	if res := m.post(base+"/resolve-all", url.Values{"keep": {"nonsense"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("plain form: %d, want 303", res.StatusCode)
	}

	// A member sees the states but no form, and cannot post.
	v := e.signedIn(viewer.Email)
	vdoc := v.get(base, htmx).doc(t)
	if vdoc.Find(`[data-testid="label-assignment"]`).Length() != 2 || vdoc.Find("form").Length() != 0 {
		t.Errorf("member view: %d rows, %d forms", vdoc.Find(`[data-testid="label-assignment"]`).Length(), vdoc.Find("form").Length())
	}
	if res := v.post(base+"/resync", nil, htmx); res.StatusCode != http.StatusForbidden {
		t.Errorf("member re-sync: %d, want 403", res.StatusCode)
	}
	// Another community's admin reaches neither the section nor the label through their own community.
	s := e.signedIn(stranger.Email)
	if res := s.get(base, htmx); res.StatusCode != http.StatusNotFound {
		t.Errorf("stranger: %d, want 404", res.StatusCode)
	}
	if res := m.get(fmt.Sprintf("/c/%d/labels/%d/groups", c.ID, vip+100), htmx); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown label: %d, want 404", res.StatusCode)
	}
}
