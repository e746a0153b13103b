package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/platform"
)

// overviewEnv is a community owned by root (a global admin) with a plain
// member, on a hub whose Discord bot status the test sets.
type overviewEnv struct {
	*botEnv
	root    *client
	discord *platform.Status
}

func newOverviewEnv(t *testing.T) *overviewEnv {
	t.Helper()
	discord := platform.NewStatus("discord")
	e := newEnv(t, func(c *handlers.Config) { c.Health.Bots = []*platform.Status{discord} })
	root := e.user("root@example.com", true)
	mo := e.user("mo@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{mo: community.Member})
	b := &botEnv{env: e, c: c, admin: e.signedIn(root.Email), member: e.signedIn(mo.Email)}
	return &overviewEnv{botEnv: b, root: b.admin, discord: discord}
}

// steps reads the checklist: each step's id and whether it is done, and the progress line.
func (o *overviewEnv) steps(t *testing.T, c *client) (map[string]bool, string, *goquery.Document) {
	t.Helper()
	res := c.get(o.path(""), nil)
	if res.StatusCode != 200 {
		t.Fatalf("overview: %d %.300s", res.StatusCode, res.body)
	}
	doc := res.doc(t)
	got := map[string]bool{}
	doc.Find(`[data-testid=ov-setup] li`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("data-testid")
		done, _ := s.Attr("data-done")
		got[strings.TrimPrefix(id, "step-")] = done == "true"
		if state := strings.TrimSpace(s.Find(`[data-testid=step-state]`).Text()); (state == "done") != (done == "true") {
			t.Errorf("step %s: data-done %s but it reads %q", id, done, state)
		}
	})
	return got, doc.Find(`[data-testid=ov-progress]`).Text(), doc
}

func TestOverviewChecklistFollowsSetup(t *testing.T) {
	t.Parallel()
	o := newOverviewEnv(t)
	ctx := context.Background()
	want := map[string]bool{"link": false, "bot": false, "command": false, "simulate": false, "overlay": false}
	check := func(step, progress string) *goquery.Document {
		t.Helper()
		got, prog, doc := o.steps(t, o.root)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("after %s, steps (-want +got):\n%s", step, d)
		}
		if prog != progress {
			t.Errorf("after %s, progress %q, want %q", step, prog, progress)
		}
		return doc
	}

	doc := check("nothing", "0 of 5 done")
	for id, href := range map[string]string{"link": "/servers", "command": "/commands", "simulate": "/simulator", "overlay": "/overlays"} {
		if got, _ := doc.Find(`[data-testid=step-` + id + `] [data-testid=step-link]`).Attr("href"); got != o.path("%s", href) {
			t.Errorf("step %s links to %q, want %q", id, got, o.path("%s", href))
		}
	}

	// 1. Link a Discord server (a global admin may link by hand).
	if res := o.root.post(o.path("/servers"), url.Values{"platform": {"discord"}, "server": {"4242"}, "name": {"Pond"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d %.300s", res.StatusCode, res.body)
	}
	want["link"] = true
	doc = check("linking Discord", "1 of 5 done")
	if bot := doc.Find(`[data-testid=step-bot]`); !strings.Contains(bot.Text(), "The Discord bot is not connected") {
		t.Errorf("the bot step, with the Discord bot off, says %q", strings.Join(strings.Fields(bot.Text()), " "))
	}
	if got := doc.Find(`[data-testid=ov-bot-discord]`).Text(); !strings.Contains(got, "1 linked here") {
		t.Errorf("the Discord bot card says %q, want it to count the link", strings.Join(strings.Fields(got), " "))
	}

	// 2. The bot: starting is not connected; connected is.
	o.discord.Set(platform.StateStarting, "Connecting to the gateway.")
	doc = check("the Discord bot starting", "1 of 5 done")
	if got := doc.Find(`[data-testid=ov-bot-discord] [data-testid=ov-bot-state]`).Text(); got != "starting" {
		t.Errorf("Discord bot state %q, want starting", got)
	}
	o.discord.Set(platform.StateConnected, "Connected to 1 server.")
	want["bot"] = true
	doc = check("the Discord bot connecting", "2 of 5 done")
	if got := doc.Find(`[data-testid=ov-bot-discord] [data-testid=ov-bot-state]`).Text(); got != "connected" {
		t.Errorf("Discord bot state %q, want connected", got)
	}
	if got := doc.Find(`[data-testid=ov-bot-twitch] [data-testid=ov-bot-state]`).Text(); got != "off" {
		t.Errorf("Twitch bot (not run here) state %q, want off", got)
	}

	// 3. A command, through the hub's form.
	if res := o.root.post(o.path("/commands"), url.Values{"name": {"hello"}, "response": {"hi {user}"}, "permission": {"everyone"}, "enabled": {"on"},
		"platforms": {"twitch", "discord", "slack"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create command: %d %.300s", res.StatusCode, res.body)
	}
	want["command"] = true
	check("creating a command", "3 of 5 done")

	// 4. The simulator: a dry run leaves no record; a real run does.
	o.sim(t, url.Values{"text": {"!hello"}, "dry_run": {"on"}})
	if err := o.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("a dry run", "3 of 5 done")
	o.sim(t, url.Values{"text": {"!hello"}})
	if err := o.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want["simulate"] = true
	doc = check("a real run", "4 of 5 done")
	if n := doc.Find(`[data-testid=ov-exec-row]`).Length(); n != 1 {
		t.Errorf("%d latest executions, want 1", n)
	}

	// 5. An overlay.
	if res := o.root.post(o.path("/overlays"), url.Values{"kind": {"alerts"}, "name": {"Alerts"}}, nil); res.StatusCode != http.StatusCreated {
		t.Fatalf("create overlay: %d %.300s", res.StatusCode, res.body)
	}
	want["overlay"] = true
	doc = check("an overlay", "5 of 5 done")

	// A member sees the same checklist, but not the audit log.
	got, _, mdoc := o.steps(t, o.member)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("member's steps (-want +got):\n%s", d)
	}
	if mdoc.Find(`[data-testid=ov-audit-all]`).Length() != 0 || mdoc.Find(`[data-testid=ov-audit-row]`).Length() != 0 {
		t.Error("a member is shown the audit log")
	}
	if n, want := doc.Find(`[data-testid=ov-audit-row]`).Length(), min(5, o.count("SELECT count(*) FROM audit_log WHERE community_id = $1", o.c.ID)); n != want || n == 0 {
		t.Errorf("the owner sees %d audit entries, want %d", n, want)
	}
}

// TestOverviewTwitchBotStep: on Twitch, the bot step follows the bot
// account's stored token, and a token that needs reconnecting does not count.
func TestOverviewTwitchBotStep(t *testing.T) {
	t.Parallel()
	o := newOverviewEnv(t)
	ctx := context.Background()
	if res := o.root.post(o.path("/servers"), url.Values{"platform": {"twitch"}, "server": {"duckchan"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d %.300s", res.StatusCode, res.body)
	}
	got, _, doc := o.steps(t, o.root)
	if got["bot"] {
		t.Error("the bot step is done with no Twitch bot account")
	}
	if href, _ := doc.Find(`[data-testid=step-bot] [data-testid=step-link]`).Attr("href"); href != "/health" {
		t.Errorf("a global admin is sent to %q to connect the bot account, want /health", href)
	}
	if _, err := o.pool.Exec(ctx, `INSERT INTO platform_tokens (platform, subject, access_sealed, account_login) VALUES ('twitch', 'bot', 'sealed', 'duckbot')`); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := o.steps(t, o.root); !got["bot"] {
		t.Error("the bot step is not done with the Twitch bot account connected")
	}
	if _, err := o.pool.Exec(ctx, `UPDATE platform_tokens SET needs_reconnect = 'revoked' WHERE subject = 'bot'`); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := o.steps(t, o.root); got["bot"] {
		t.Error("the bot step is done with a bot token that needs reconnecting")
	}
}

// TestOverviewActivity seeds executions and points at known times and reads
// the numbers and charts back; another community's activity never counts.
func TestOverviewActivity(t *testing.T) {
	t.Parallel()
	o := newOverviewEnv(t)
	ctx := context.Background()
	root, _ := o.auth.UserByEmail(ctx, "root@example.com")
	other := o.community(root, "geese", nil)
	now := time.Now()
	exec := func(cid int64, command string, ago time.Duration) {
		t.Helper()
		if _, err := o.pool.Exec(ctx, `INSERT INTO command_executions (community_id, command, platform, user_id, user_name, executor, outcome, duration_us, created_at)
			VALUES ($1, $2, 'twitch', 'u1', 'ann', 'text', 'ok', 100, $3)`, cid, command, now.Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	points := func(cid int64, reason string, delta int64, ago time.Duration) {
		t.Helper()
		if _, err := o.pool.Exec(ctx, `INSERT INTO points_ledger (community_id, identity_id, platform, user_id, user_name, delta, reason, created_at)
			VALUES ($1, 1, 'twitch', 'u1', 'ann', $2, $3, $4)`, cid, delta, reason, now.Add(-ago)); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []struct {
		cmd string
		ago time.Duration
	}{{"hug", 30 * time.Minute}, {"hug", 31 * time.Minute}, {"hug", 5*time.Hour + 10*time.Minute}, {"so", 5*time.Hour + 20*time.Minute},
		{"so", 72*time.Hour + time.Hour}, {"so", 73*time.Hour + 30*time.Minute}, {"so", 74 * time.Hour}, {"so", 75 * time.Hour}, {"old", 8 * 24 * time.Hour}} {
		exec(o.c.ID, x.cmd, x.ago)
	}
	points(o.c.ID, "follow", 10, time.Hour+10*time.Minute)
	points(o.c.ID, "follow", 10, 50*time.Hour)
	points(o.c.ID, "cheer of 500 bits", 50, 3*time.Hour)
	points(o.c.ID, "chat_message", 1, 10*time.Minute)
	points(o.c.ID, "given by Mod", 100, 20*time.Minute) // by hand: points given, but no event
	points(o.c.ID, "given by Mod", -30, 20*time.Minute)
	points(o.c.ID, "follow", 10, 9*24*time.Hour) // too old
	for range 7 {
		exec(other.ID, "hug", time.Hour)
		points(other.ID, "follow", 99, time.Hour)
	}

	doc := o.root.get(o.path(""), nil).doc(t)
	stat := func(id string) [2]string {
		s := doc.Find(`[data-testid=ov-stat-` + id + `]`)
		return [2]string{s.Find(`[data-testid=day]`).Text(), s.Find(`[data-testid=week]`).Text()}
	}
	if d := cmp.Diff(map[string][2]string{"runs": {"4", "8"}, "events": {"3", "4"}, "follows": {"1", "2"}, "points": {"161", "171"}},
		map[string][2]string{"runs": stat("runs"), "events": stat("events"), "follows": stat("follows"), "points": stat("points")}); d != "" {
		t.Errorf("stats, day and week (-want +got):\n%s", d)
	}
	bars := func(id string) []string {
		var out []string
		doc.Find(`[data-testid=` + id + `] rect`).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("data-value")
			out = append(out, v)
		})
		return out
	}
	hourly := make([]string, 24)
	for i := range hourly {
		hourly[i] = "0"
	}
	hourly[23], hourly[18] = "2", "2" // the last hour; 5 to 6 hours ago
	if d := cmp.Diff(hourly, bars("chart-runs-24h")); d != "" {
		t.Errorf("runs per hour, oldest first (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"0", "0", "0", "4", "0", "0", "4"}, bars("chart-runs-7d")); d != "" {
		t.Errorf("runs per day, oldest first (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"0", "0", "0", "0", "1", "0", "1"}, bars("chart-follows-7d")); d != "" {
		t.Errorf("follows per day (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"0", "0", "0", "0", "10", "0", "161"}, bars("chart-points-7d")); d != "" {
		t.Errorf("points per day (-want +got):\n%s", d)
	}
	if got := doc.Find(`[data-testid=chart-runs-7d] [data-testid=chart-total]`).Text(); got != "8" {
		t.Errorf("runs chart total %q", got)
	}
	// Each chart is an image with a title and a description, its numbers also in text.
	svg := doc.Find(`[data-testid=chart-runs-24h] svg`)
	if role, _ := svg.Attr("role"); role != "img" || svg.Find("title#chart-runs-24h-t").Length() != 1 ||
		!strings.Contains(svg.Find("desc").Text(), "4 commands run in all; the most, 2,") {
		t.Errorf("chart not described: role %q, desc %q", role, svg.Find("desc").Text())
	}
	if got := doc.Find(`[data-testid=chart-runs-7d] details td`).Last().Text(); got != "4" {
		t.Errorf("the last day's number in text is %q", got)
	}
	counts := func(id string) []string {
		var out []string
		doc.Find(`[data-testid=` + id + `] [data-testid=count-row]`).Each(func(_ int, s *goquery.Selection) {
			name, _ := s.Attr("data-name")
			out = append(out, fmt.Sprintf("%s %s/%s", name, s.Find(`[data-testid=count-day]`).Text(), s.Find(`[data-testid=count-week]`).Text()))
		})
		return out
	}
	if d := cmp.Diff([]string{"so 1/5", "hug 3/3"}, counts("ov-commands")); d != "" {
		t.Errorf("top commands (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"follow 1/2", "chat_message 1/1", "cheer 1/1"}, counts("ov-events")); d != "" {
		t.Errorf("events by kind (-want +got):\n%s", d)
	}
	if n := doc.Find(`[data-testid=ov-exec-row]`).Length(); n != 5 {
		t.Errorf("%d latest executions, want 5", n)
	}
	if href, _ := doc.Find(`[data-testid=ov-exec-all]`).Attr("href"); href != o.path("/executions") {
		t.Errorf("full log link %q", href)
	}
}

// TestOverviewTenancyAndEdges: an empty community reads zeros; another
// community's members and bad ids get 404.
func TestOverviewTenancyAndEdges(t *testing.T) {
	t.Parallel()
	o := newOverviewEnv(t)
	ctx := context.Background()
	root, _ := o.auth.UserByEmail(ctx, "root@example.com")
	stranger := o.user("stranger@example.com", false)
	o.community(root, "geese", map[auth.User]community.Role{stranger: community.Owner})
	sc := o.signedIn(stranger.Email)
	if res := sc.get(o.path(""), nil); res.StatusCode != http.StatusNotFound || strings.Contains(res.body, "Community ducks") {
		t.Errorf("another community's owner: %d", res.StatusCode)
	}
	for _, p := range []string{"/c/abc", "/c/0", "/c/-1", "/c/99999999999999999999", "/c/9223372036854775807"} {
		if res := o.root.get(p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	if res := o.client().get(o.path(""), nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d", res.StatusCode)
	}
	// Empty: zeros everywhere, no rows, nothing done.
	res := o.member.get(o.path(""), nil)
	if res.StatusCode != 200 {
		t.Fatalf("empty overview: %d", res.StatusCode)
	}
	doc := res.doc(t)
	doc.Find(`.ov-stats [data-testid=day], .ov-stats [data-testid=week], [data-testid=chart-total]`).Each(func(_ int, s *goquery.Selection) {
		if s.Text() != "0" {
			t.Errorf("an empty community shows %q", s.Text())
		}
	})
	if doc.Find(`[data-testid=ov-exec-empty]`).Length() != 1 || doc.Find(`[data-testid=ov-progress]`).Text() != "0 of 5 done" {
		t.Error("an empty community does not say it is empty")
	}
}
