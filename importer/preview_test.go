package importer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// TestPreview shows every category, the translations side by side and the
// clashes with what the community has, and writes nothing.
func TestPreview(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	if _, err := e.settings.CreateCommand(e.ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "discord", Response: "old", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, "INSERT INTO counters (community_id, name, value) VALUES ($1, 'deaths', 1)", e.cid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, "WITH q AS (INSERT INTO quotes (community_id, number, text) VALUES ($1, 1, 'mine')) INSERT INTO quote_counters VALUES ($1, 1)", e.cid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, "INSERT INTO identity_accounts (platform, account_id, user_name) VALUES ('twitch', '1001', 'alice')"); err != nil {
		t.Fatal(err)
	}
	b := sample()
	b.Commands = append(b.Commands, sample().Commands[0])
	b.Commands[3].Name, b.Commands[3].Aliases = "points", nil
	im := e.create(b)
	before := e.scalar("SELECT (SELECT count(*) FROM commands) + (SELECT count(*) FROM quotes) + (SELECT count(*) FROM points_ledger)")
	p, err := e.s.Preview(e.ctx, e.cid, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, c := range p.Commands {
		byName[c.Name] = i
	}
	hello, disc, weather, points := p.Commands[byName["hello"]], p.Commands[byName["discord"]], p.Commands[byName["weather"]], p.Commands[byName["points"]]
	if !hello.Adapted || hello.Original != "Hello ${user}!" || hello.Response != "Hello {user}!" || len(hello.Conflicts) != 0 {
		t.Errorf("hello = %+v, want adapted side by side, no conflict", hello)
	}
	if len(disc.Conflicts) != 1 || !disc.CanOverwrite || !strings.Contains(disc.Conflicts[0], "already a command") {
		t.Errorf("discord = %+v, want an overwritable conflict", disc)
	}
	if !weather.Adapted || len(weather.Attention) != 1 {
		t.Errorf("weather = %+v, want adapted with attention", weather)
	}
	if len(points.Conflicts) != 1 || points.CanOverwrite || !strings.Contains(points.Conflicts[0], "built-in") {
		t.Errorf("points = %+v, want a built-in clash that cannot be overwritten", points)
	}
	if !p.Counters[0].Conflict || p.Timers[0].Conflict || p.TimerTarget != "twitch channel duckchan" {
		t.Errorf("counters %+v, timers %+v, target %q", p.Counters, p.Timers, p.TimerTarget)
	}
	if p.Quotes.Count != 2 || p.Quotes.LastNow != 1 || p.Quotes.First != 2 || p.Quotes.Last != 3 || p.Quotes.Renumbered != 1 {
		t.Errorf("quotes = %+v, want #1 renumbered to 3 and #2 kept", p.Quotes)
	}
	pp := p.Points
	if pp.Viewers != 3 || pp.Resolved != 2 || pp.Unresolved != 1 || pp.Points != 427 || pp.Seconds != 3600 || pp.AskCurrency {
		t.Errorf("points = %+v", pp)
	}
	var cats []string
	for _, s := range p.Summary {
		cats = append(cats, s.Category)
	}
	if !slices.Equal(cats, []string{"commands", "timers", "quotes", "counters", "filters", "points"}) || p.Summary[0].Conflicts != 2 || p.Summary[0].Skipped != 1 {
		t.Errorf("summary = %+v", p.Summary)
	}
	if after := e.scalar("SELECT (SELECT count(*) FROM commands) + (SELECT count(*) FROM quotes) + (SELECT count(*) FROM points_ledger)"); after != before {
		t.Errorf("preview wrote: %d rows before, %d after", before, after)
	}
}
