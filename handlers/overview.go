package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

// overviewLatest is how many executions and audit entries the overview shows.
const overviewLatest = 5

// overviewPage is a community's landing page: the getting-started
// checklist read from what the community has set up, each platform's bot,
// the last day's and week's activity, and the latest executions and audit
// entries. Members see it all but the audit log, which is for managers.
func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	ctx := r.Context()
	now := time.Now()
	setup, err := h.settings.Setup(ctx, m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	act, err := h.settings.Activity(ctx, m.ID, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	execs, err := h.settings.Executions(ctx, m.ID, router.ExecutionFilter{Limit: overviewLatest})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	bots := h.overviewBots(setup)
	p := views.Overview{Chrome: h.chrome(r, "Overview · "+m.Name, "communities"), Nav: h.botNav(r, "overview"),
		Steps: setupSteps(m.ID, setup, bots, u.IsAdmin), Bots: bots, ExecURL: botPath(m.ID, "executions"),
		Lapsed: h.lapsedBanner(r)} // paid modules not paid for (marketplace_pay.go)
	for _, s := range p.Steps {
		if s.Done {
			p.Done++
		}
	}
	overviewActivity(&p, act)
	for _, x := range execs {
		p.Executions = append(p.Executions, views.ExecutionRow{At: x.At, Command: x.Command,
			Platform: x.Platform, User: x.User, Outcome: x.Outcome})
	}
	if m.Role.CanManage() {
		items, err := h.cfg.Audit.ListCommunity(ctx, m.ID, audit.Filter{Limit: overviewLatest})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.AuditURL = botPath(m.ID, "audit")
		for _, it := range items {
			p.Audit = append(p.Audit, views.OverviewAudit{At: it.At, Actor: it.Who(), Action: it.Action, Target: it.Target})
		}
	}
	h.render(w, r, http.StatusOK, views.OverviewPage(p))
}

// overviewBots is each platform's bot from the health page's source, with
// this community's links; a platform the instance does not run is off.
func (h *Handler) overviewBots(s router.Setup) []views.OverviewBot {
	states := map[string]platform.BotStatus{}
	for _, b := range h.cfg.Health.BotStates() {
		states[b.Platform] = b
	}
	out := make([]views.OverviewBot, 0, len(router.Platforms))
	for _, p := range router.Platforms {
		b, ok := states[p]
		if !ok {
			b = platform.BotStatus{State: platform.StateOff, Detail: "not set up on this Waddle"}
		}
		out = append(out, views.OverviewBot{Platform: p, State: b.State, Detail: b.Detail, Linked: s.Links[p]})
	}
	return out
}

// setupSteps is the getting-started checklist. The bot step is done when a
// linked platform's bot can speak for this community: on Twitch, the bot
// account (one per Waddle, connected by an admin on the health page) has a
// valid token; on Discord, the bot is connected (it is in every server that
// can be linked); on Slack, a linked workspace's bot token (from its
// install) is stored and valid.
func setupSteps(cid int64, s router.Setup, bots []views.OverviewBot, admin bool) []views.SetupStep {
	linked := s.Links[router.Twitch]+s.Links[router.Discord]+s.Links[router.Slack] > 0
	connected := map[string]bool{}
	for _, b := range bots {
		connected[b.Platform] = b.State == platform.StateConnected
	}
	servers := botPath(cid, "servers")
	bot := views.SetupStep{ID: "bot", Title: "Connect the bot account", URL: servers, Label: "Linked servers"}
	switch {
	case !linked:
		bot.Note = "Link a platform first; then its bot account comes next."
	case s.Links[router.Twitch] > 0 && s.TwitchBotToken,
		s.Links[router.Discord] > 0 && connected[router.Discord],
		s.Links[router.Slack] > 0 && s.SlackTokens > 0:
		bot.Done, bot.Note = true, "The bot can speak on a linked platform."
	case s.Links[router.Twitch] > 0 && !s.TwitchBotToken:
		bot.Note = "Twitch chats through one bot account, connected by an admin of this Waddle."
		if admin {
			bot.URL, bot.Label = "/health", "Connect it on Service health"
		}
	case s.Links[router.Slack] > 0:
		bot.Note = "Install Waddle in the Slack workspace again: its bot token is missing or refused."
	default:
		bot.Note = "The Discord bot is not connected; Service health says why."
		bot.URL, bot.Label = "/health", "Service health"
	}
	steps := []views.SetupStep{
		{ID: "link", Title: "Link a platform", Done: linked, URL: servers, Label: "Linked servers",
			Note: "A Twitch channel, Discord server or Slack workspace of yours."},
		bot,
		{ID: "command", Title: "Create a command", Done: s.Commands > 0, URL: botPath(cid, "commands"), Label: "Commands",
			Note: "For example !hello, answered with a line of text."},
		{ID: "simulate", Title: "Try it in the simulator", Done: s.Simulated, URL: botPath(cid, "simulator"), Label: "Simulator",
			Note: "Send the command with dry run off: only real runs are recorded."},
		{ID: "overlay", Title: "Add an overlay to OBS", Done: s.Overlays > 0, URL: botPath(cid, "overlays"), Label: "Overlays",
			Note: "Create a browser source and paste its URL into OBS."},
	}
	if s.Commands == 0 && !s.Simulated {
		steps[3].Note = "Create a command first, then send it here with dry run off."
	}
	return steps
}

// overviewActivity fills the numbers and charts of the page from a.
func overviewActivity(p *views.Overview, a router.Activity) {
	var events, follows router.Hours
	for k, hs := range a.Events {
		for i, n := range hs {
			events[i] += n
		}
		if k == string(router.Follow) {
			follows = *hs
		}
	}
	p.Stats = []views.OverviewStat{
		{ID: "runs", Label: "Commands run", Day: a.Runs.Day(), Week: a.Runs.Week()},
		{ID: "events", Label: "Events that earned points", Day: events.Day(), Week: events.Week()},
		{ID: "follows", Label: "New followers", Day: follows.Day(), Week: follows.Week()},
		{ID: "points", Label: "Points given", Day: a.Points.Day(), Week: a.Points.Week()},
	}
	hourLabels := make([]string, 24)
	hourly := make([]int64, 24)
	for i := range 24 { // oldest first
		ago := 23 - i
		hourly[i] = a.Runs[ago]
		hourLabels[i] = fmt.Sprintf("%d–%d h ago", ago, ago+1)
	}
	hourLabels[23] = "the last hour"
	dayLabels := make([]string, 7)
	for i := range 7 {
		ago := 6 - i
		dayLabels[i] = fmt.Sprintf("%d–%d days ago", ago, ago+1)
	}
	dayLabels[6] = "the last 24 h"
	daily := func(h router.Hours) []int64 {
		d := h.Days()
		out := make([]int64, 7)
		for i := range 7 {
			out[i] = d[6-i]
		}
		return out
	}
	p.RunsHourly = views.NewBarChart("chart-runs-24h", "Commands run per hour, last 24 hours", "commands run", hourLabels, hourly)
	p.RunsDaily = views.NewBarChart("chart-runs-7d", "Commands run per day, last 7 days", "commands run", dayLabels, daily(a.Runs))
	p.Follows = views.NewBarChart("chart-follows-7d", "New followers per day, last 7 days", "new followers", dayLabels, daily(follows))
	p.Points = views.NewBarChart("chart-points-7d", "Points given per day, last 7 days", "points given", dayLabels, daily(a.Points))

	for _, k := range a.EventKinds() {
		hs := a.Events[k]
		p.Events = append(p.Events, views.OverviewCount{Name: k, Label: kindLabel(k), Day: hs.Day(), Week: hs.Week()})
	}
	for i, c := range a.Commands {
		if i == 10 {
			break
		}
		p.Commands = append(p.Commands, views.OverviewCount{Name: c.Command, Label: "!" + c.Command, Day: c.Day, Week: c.Week})
	}
	scale(p.Events)
	scale(p.Commands)
}

// kindLabels name the events that earn points for a reader.
var kindLabels = map[string]string{
	string(router.ChatMessage): "chat messages", string(router.Follow): "follows", string(router.Subscribe): "subscriptions",
	string(router.GiftSub): "gift subscriptions", string(router.Cheer): "cheers", string(router.Raid): "raids",
	string(router.MemberJoin): "members joining", string(router.Reaction): "reactions", string(router.VoiceLeave): "time in voice",
	string(router.Boost): "server boosts", string(router.FileShare): "file shares", string(router.AppMention): "app mentions",
}

// kindLabel names an event kind, or another reason points were given (a module's), as it is.
func kindLabel(k string) string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return k
}

// scale sets each count's bar against the largest weekly count of xs.
func scale(xs []views.OverviewCount) {
	var top int64
	for _, x := range xs {
		top = max(top, x.Week)
	}
	for i := range xs {
		if top > 0 {
			xs[i].Percent = int(xs[i].Week * 100 / top)
		}
	}
}
