package router_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// counterValue reads a named counter straight from the database; -1 when
// the community has no such counter.
func (e *env) counterValue(cid int64, name string) int64 {
	e.t.Helper()
	n, err := db.New(e.pool).CounterValue(context.Background(), db.CounterValueParams{CommunityID: cid, Name: name})
	if err != nil {
		return -1
	}
	return n
}

func TestNamedCounterTemplate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "death", Response: "{user} died: {counter:Deaths} ({counter:deaths}), now {getcounter:DEATHS}"})
	e.command(router.CommandInput{Name: "deaths", Response: "{getcounter:deaths} deaths, {getcounter:never} nevers"})
	e.command(router.CommandInput{Name: "both", Response: "{getcounter:wins} then {counter:wins} then {getcounter:wins}"})

	if got := replies(e.say("alice", nil, "!death")); got != "alice died: 1 (1), now 1" {
		t.Errorf("first !death = %q, want the counter added to once: 1", got)
	}
	if got := replies(e.say("bob", nil, "!death")); got != "bob died: 2 (2), now 2" {
		t.Errorf("second !death = %q, want 2", got)
	}
	if n := e.counterValue(e.cid, "deaths"); n != 2 {
		t.Errorf("stored deaths %d, want 2 (once per reply)", n)
	}
	if got := replies(e.say("carol", nil, "!deaths")); got != "2 deaths, 0 nevers" {
		t.Errorf("!deaths = %q", got)
	}
	if n := e.counterValue(e.cid, "never"); n != -1 {
		t.Errorf("{getcounter:never} created the counter (value %d)", n)
	}
	if got := replies(e.say("dave", nil, "!both")); got != "0 then 1 then 1" {
		t.Errorf("!both = %q, want get before add 0, after 1", got)
	}
}

func TestNamedCounterInvalidNamesStayAsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("a", 33)
	tmpl := "{counter:no-way} {counter:} {getcounter:" + long + "} {counter:é} {counter:a b} {getcounter}"
	e.command(router.CommandInput{Name: "bad", Response: tmpl})
	if got := replies(e.say("alice", nil, "!bad")); got != tmpl {
		t.Errorf("!bad = %q, want the template as written", got)
	}
	if n := e.count("SELECT count(*) FROM counters"); n != 0 {
		t.Errorf("%d counters created by invalid names, want 0", n)
	}
	// The hub's preview reads nothing: sample values.
	if got := router.PreviewReply("{counter:x}{getcounter:x} {getcounter:y} {quote}"); got != "55 4 "+router.PreviewQuote {
		t.Errorf("preview = %q", got)
	}
}

func TestNamedCounterDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "death", Response: "{counter:deaths}/{counter:deaths}/{getcounter:deaths}"})
	e.say("alice", nil, "!death")
	e.say("alice", nil, "!death")
	ev := chat("dry-1", "bob", "!death")
	res, err := e.r.Handle(ctx, ev, router.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := replies(res); got != "3/3/3" {
		t.Errorf("dry run = %q, want the current value + 1 everywhere", got)
	}
	if !slices.Contains(res.Changes, "counter deaths 2 → 3") {
		t.Errorf("dry-run changes %q, want the counter's change listed", res.Changes)
	}
	if n := e.counterValue(e.cid, "deaths"); n != 2 {
		t.Errorf("stored deaths %d after a dry run, want 2", n)
	}
	// A counter that does not exist yet is not created by a dry run.
	e.command(router.CommandInput{Name: "fresh", Response: "{counter:fresh}"})
	res, err = e.r.Handle(ctx, chat("dry-2", "bob", "!fresh"), router.Options{DryRun: true})
	if err != nil || replies(res) != "1" {
		t.Errorf("dry run of a new counter = %q, %v; want 1", replies(res), err)
	}
	if n := e.counterValue(e.cid, "fresh"); n != -1 {
		t.Errorf("a dry run created the counter fresh (%d)", n)
	}
	// The simulator's dry run too.
	sim, err := e.r.Simulate(ctx, audit.Actor{Name: "tester"}, e.cid, router.Event{ID: "sim-1", Platform: router.Twitch, Server: "duckchan", Channel: "c1",
		Kind: router.ChatMessage, User: router.User{ID: "sim:v", Name: "v"}, Text: "!death"}, true)
	if err != nil || replies(sim) != "3/3/3" {
		t.Errorf("simulated dry run = %q, %v; want 3/3/3", replies(sim), err)
	}
	if n := e.counterValue(e.cid, "deaths"); n != 2 {
		t.Errorf("stored deaths %d after a simulated dry run, want 2", n)
	}
}

// A redelivered event adds nothing; a failed one adds nothing, and its
// retry adds one.
func TestNamedCounterRetriedEventCountsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "death", Response: "{counter:deaths}"})
	ev := chat("redelivered", "alice", "!death")
	for i := range 3 {
		res, err := e.r.Handle(ctx, ev, router.Options{Dedup: true})
		if err != nil || replies(res) != "1" || res.Duplicate != (i > 0) {
			t.Errorf("delivery %d: %q duplicate %v, %v; want 1", i, replies(res), res.Duplicate, err)
		}
	}
	if n := e.counterValue(e.cid, "deaths"); n != 1 {
		t.Errorf("deaths %d after three deliveries, want 1", n)
	}

	// {count} after {counter:…} fails (its command went behind the cache's
	// back): the increment of the named counter is rolled back with it.
	e.command(router.CommandInput{Name: "tick", Response: "{counter:ticks} {count}"})
	e.say("warm", nil, "!help")
	if _, err := e.pool.Exec(ctx, "DELETE FROM commands WHERE name = 'tick'"); err != nil {
		t.Fatal(err)
	}
	failing := chat("fails-once", "ann", "!tick")
	if _, err := e.r.Handle(ctx, failing, router.Options{Dedup: true}); err == nil {
		t.Fatal("the event did not fail")
	}
	if n := e.counterValue(e.cid, "ticks"); n != -1 {
		t.Errorf("the failed event left the counter ticks at %d", n)
	}
	e.command(router.CommandInput{Name: "tick", Response: "{counter:ticks} {count}"})
	res, err := e.r.Handle(ctx, failing, router.Options{Dedup: true})
	if err != nil || replies(res) != "1 1" {
		t.Errorf("retry = %q, %v; want 1 1", replies(res), err)
	}
	if n := e.counterValue(e.cid, "ticks"); n != 1 {
		t.Errorf("ticks %d after the retry, want 1", n)
	}
}

func TestCountOncePerReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "tick", Response: "{count} and {count}"})
	e.say("alice", nil, "!tick")
	if got := replies(e.say("alice", nil, "!tick")); got != "2 and 2" {
		t.Errorf("!tick = %q, want 2 and 2", got)
	}
}

func TestQuoteVariable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "q", Response: "Q[{quote}] again [{quote}]"})
	if got := replies(e.say("alice", nil, "!q")); got != "Q[] again []" {
		t.Errorf("!q without quotes = %q, want empty parts", got)
	}
	e.say("mo", []string{"moderator"}, "!quote add Quack is a language")
	e.say("mo", []string{"moderator"}, "!quote add Bread <b>is</b> life")
	for range 5 {
		got := replies(e.say("alice", nil, "!q"))
		if got != "Q[#1: Quack is a language] again [#1: Quack is a language]" && got != "Q[#2: Bread <b>is</b> life] again [#2: Bread <b>is</b> life]" {
			t.Errorf("!q = %q, want one quote, twice", got)
		}
	}
	res := e.say("alice", nil, "!q")
	for _, p := range res.Responses[0].Parts {
		if strings.Contains(p.Text, "#") && p.Template {
			t.Errorf("the quote %q is marked as template text; it is a value", p.Text)
		}
	}
}

func TestCounterModuleNamedCounters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mod := []string{"moderator"}
	e.command(router.CommandInput{Name: "hug", Response: "hug #{count}"})
	e.command(router.CommandInput{Name: "death", Response: "{counter:deaths} {counter:hug}"})
	e.say("alice", nil, "!death")
	e.say("alice", nil, "!hug")
	cases := []struct{ text, want string }{
		{"!counter deaths", "The counter deaths is 1."},
		{"!counter Deaths set 40", "The counter deaths is now 40."},
		{"!counter deaths", "The counter deaths is 40."},
		{"!counter newone set -3", "The counter newone is now -3."},
		{"!counter nothing", "The counter nothing is 0."},
		// A command comes first: !counter hug is the command's {count}.
		{"!counter hug", "The counter of !hug is 1."},
		{"!counter hug set 9", "The counter of !hug is now 9."},
		{"!counter deaths set many", `@mo "many" is not a whole number between -9007199254740991 and 9007199254740991.`},
		{"!counter deaths set 9007199254740992", `@mo "9007199254740992" is not a whole number between -9007199254740991 and 9007199254740991.`},
		{"!counter no-way", `@mo There is no command "no-way", and a counter name has 1 to 32 letters, digits or underscores.`},
	}
	for _, c := range cases {
		if got := replies(e.say("mo", mod, c.text)); got != c.want {
			t.Errorf("%s = %q, want %q", c.text, got, c.want)
		}
	}
	e.say("pleb", nil, "!counter deaths set 1")
	if n := e.counterValue(e.cid, "deaths"); n != 40 {
		t.Errorf("a viewer set the counter deaths to %d", n)
	}
	if e.counterValue(e.cid, "hug") != 1 || e.counterValue(e.cid, "newone") != -3 || e.counterValue(e.cid, "nothing") != -1 {
		t.Errorf("counters hug %d newone %d nothing %d; want 1, -3 and none", e.counterValue(e.cid, "hug"), e.counterValue(e.cid, "newone"), e.counterValue(e.cid, "nothing"))
	}
	entries, err := audit.Log{Pool: e.pool}.ListCommunity(context.Background(), e.cid, audit.Filter{Action: audit.NamedCounterSet})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("%d counter_set audit entries, want 2 (deaths, newone)", len(entries))
	}
}

func TestCounterSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	other, err := db.New(e.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "geese", Name: "Geese"})
	if err != nil {
		t.Fatal(err)
	}
	by := audit.Actor{Name: "tester"}
	if _, err := e.s.SetCounter(ctx, by, e.cid, " Deaths ", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetCounter(ctx, by, other.ID, "deaths", 99); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetCounter(ctx, by, e.cid, "wins", 0); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.Counters(ctx, e.cid)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]router.NamedCounter{{Name: "deaths", Value: 5}, {Name: "wins", Value: 0}}, got); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	e.command(router.CommandInput{Name: "death", Response: "{counter:deaths}"})
	if got := replies(e.say("alice", nil, "!death")); got != "6" {
		t.Errorf("!death = %q, want 6 (this community's counter)", got)
	}
	if e.counterValue(other.ID, "deaths") != 99 {
		t.Errorf("the other community's counter changed")
	}
	for _, bad := range []struct {
		name  string
		value int64
		field string
	}{{"no way", 1, "name"}, {"", 1, "name"}, {strings.Repeat("x", 33), 1, "name"}, {"ok", router.MaxCounter + 1, "value"}, {"ok", -router.MaxCounter - 1, "value"}} {
		_, err := e.s.SetCounter(ctx, by, e.cid, bad.name, bad.value)
		if p := problem.As(err); p == nil || p.Field != bad.field {
			t.Errorf("SetCounter(%q, %d) = %v, want an error on %s", bad.name, bad.value, err, bad.field)
		}
	}
	if err := e.s.DeleteCounter(ctx, by, e.cid, "deaths"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteCounter(ctx, by, e.cid, "deaths"); !errors.Is(err, router.ErrCounterNotFound) {
		t.Errorf("deleting twice: %v, want not found", err)
	}
	if err := e.s.DeleteCounter(ctx, by, other.ID, "wins"); !errors.Is(err, router.ErrCounterNotFound) {
		t.Errorf("deleting another community's counter: %v, want not found", err)
	}
	if e.counterValue(e.cid, "wins") != 0 || e.counterValue(other.ID, "deaths") != 99 {
		t.Errorf("a delete reached the wrong counter")
	}
	entries, err := audit.Log{Pool: e.pool}.ListCommunity(ctx, e.cid, audit.Filter{Action: audit.NamedCounterDeleted})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Target != "counter deaths" {
		t.Errorf("delete audit entries %+v, want one for counter deaths", entries)
	}
}

func TestCounterSettingsLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, "INSERT INTO counters (community_id, name) SELECT $1, 'c' || g FROM generate_series(1, $2::int) g", e.cid, router.MaxCounters); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetCounter(ctx, audit.Actor{}, e.cid, "one_more", 1); problem.As(err) == nil {
		t.Errorf("counter %d: %v, want refused", router.MaxCounters+1, err)
	}
	if _, err := e.s.SetCounter(ctx, audit.Actor{}, e.cid, "c1", 7); err != nil {
		t.Errorf("setting an existing counter at the limit: %v", err)
	}
	// A reply still counts.
	e.command(router.CommandInput{Name: "more", Response: "{counter:more}"})
	if got := replies(e.say("alice", nil, "!more")); got != "1" {
		t.Errorf("!more at the limit = %q, want 1", got)
	}
}
