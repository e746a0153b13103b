package router_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestSlashCommandsRankByUseWithinDiscordsCap: past Discord's 100, the
// chosen names come first, then the most used of the 30 whole days before
// today; each name left out says why.
func TestSlashCommandsRankByUseWithinDiscordsCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := range 110 {
		e.command(router.CommandInput{Name: fmt.Sprintf("c%03d", i), Response: "hi"})
	}
	if err := e.s.AddAlias(ctx, audit.Actor{}, e.cid, "hey", "c000"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateCommand(ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "off", Response: "x", Permission: router.Everyone}); err != nil {
		t.Fatal(err)
	}
	e.command(router.CommandInput{Name: "tw", Response: "x", Platforms: []string{router.Twitch}})
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var runs []db.CommandExecutionInsertParams
	run := func(cmd string, at time.Time, n int) {
		for range n {
			runs = append(runs, db.CommandExecutionInsertParams{CommunityID: e.cid, Command: cmd, Platform: router.Discord, UserID: "1",
				Executor: "text", Outcome: "ok", CreatedAt: at, Refused: []string{}})
		}
	}
	run("c109", now.AddDate(0, 0, -2), 10)
	run("c108", now.Add(-time.Hour), 50)    // today: counts from tomorrow
	run("c105", now.AddDate(0, 0, -40), 50) // too long ago
	run("c104", now.AddDate(0, 0, -29), 1)  // within 30 days
	if _, err := db.New(e.pool).CommandExecutionInsert(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetSlashChoice(ctx, audit.Actor{}, e.cid, "c107", router.SlashAlways); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetSlashChoice(ctx, audit.Actor{}, e.cid, "points", router.SlashNever); err != nil {
		t.Fatal(err)
	}
	plan, err := e.s.SlashCommands(ctx, e.cid, now)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]router.SlashEntry{}
	slash := 0
	for _, p := range plan {
		by[p.Name] = p
		if p.Slash {
			slash++
		}
	}
	if slash != router.MaxSlashCommands {
		t.Errorf("%d slash commands, want %d", slash, router.MaxSlashCommands)
	}
	if plan[0].Name != "c107" || plan[1].Name != "c109" || plan[2].Name != "c104" {
		t.Errorf("plan starts %s, %s, %s; want the chosen c107, then c109 and c104 by use", plan[0].Name, plan[1].Name, plan[2].Name)
	}
	cases := []struct {
		name   string
		slash  bool
		reason string
		uses   int64
	}{
		{"c107", true, "", 0},
		{"c109", true, "", 10},
		{"c104", true, "", 1},
		{"help", true, "", 0},
		{"c000", true, "", 0},
		{"c108", false, router.SlashOverLimit, 0},
		{"c105", false, router.SlashOverLimit, 0},
		{"hey", false, router.SlashOverLimit, 0},
		{"points", false, "left out by choice", 0},
		{"off", false, "the command is disabled", 0},
		{"tw", false, "the command is not used on Discord", 0},
	}
	for _, c := range cases {
		p, ok := by[c.name]
		if !ok || p.Slash != c.slash || p.Reason != c.reason || p.Uses != c.uses {
			t.Errorf("%s: %+v, want slash %v, reason %q, uses %d", c.name, p, c.slash, c.reason, c.uses)
		}
	}
	// Tomorrow, today's runs count.
	plan, err = e.s.SlashCommands(ctx, e.cid, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plan {
		if p.Name == "c108" && (!p.Slash || p.Uses != 50) {
			t.Errorf("c108 the next day: %+v, want a slash command with 50 uses", p)
		}
	}
}

func TestSetSlashChoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "hello", Response: "hi"})
	since := e.lastAuditID()
	if err := e.s.SetSlashChoice(ctx, audit.Actor{Name: "ann"}, e.cid, "Hello", router.SlashNever); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetSlashChoice(ctx, audit.Actor{Name: "ann"}, e.cid, "hello", router.SlashNever); err != nil {
		t.Fatal(err) // unchanged: no second audit entry
	}
	items := e.auditSince(since)
	if len(items) != 1 || items[0].Action != audit.SlashChoiceChanged || items[0].Target != "slash command hello" ||
		!strings.Contains(string(items[0].Before), "auto") || !strings.Contains(string(items[0].After), "never") {
		t.Errorf("audit %+v, want one change auto → never", items)
	}
	var pe *problem.Error
	if err := e.s.SetSlashChoice(ctx, audit.Actor{}, e.cid, "hello", "sometimes"); !errors.As(err, &pe) {
		t.Errorf("an unknown choice: %v, want a problem", err)
	}
	if err := e.s.SetSlashChoice(ctx, audit.Actor{}, e.cid, "nope", router.SlashAlways); !errors.Is(err, router.ErrCommandNotFound) {
		t.Errorf("an unknown name: %v, want ErrCommandNotFound", err)
	}
	other := e.otherCommunity("geese", "goosechan")
	if err := e.s.SetSlashChoice(ctx, audit.Actor{}, other, "hello", router.SlashAlways); !errors.Is(err, router.ErrCommandNotFound) {
		t.Errorf("another community's command: %v, want ErrCommandNotFound", err)
	}
	// A deleted command's choice goes with it.
	c, err := e.s.CommandByName(ctx, e.cid, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteCommand(ctx, audit.Actor{}, e.cid, c.ID); err != nil {
		t.Fatal(err)
	}
	e.command(router.CommandInput{Name: "hello", Response: "hi again"})
	plan, err := e.s.SlashCommands(ctx, e.cid, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plan {
		if p.Name == "hello" && (p.Choice != router.SlashAuto || !p.Slash) {
			t.Errorf("the new hello: %+v, want auto and a slash command", p)
		}
	}
}

func TestSlashNameProblem(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"hello", true}, {"-x_1", true}, {"ñandú", true}, {"数字", true},
		{"", false}, {strings.Repeat("a", 33), false}, {"Hello", false}, {"a b", false}, {"hi!", false},
	}
	for _, c := range cases {
		msg := router.SlashNameProblem(c.name)
		if (msg == "") != c.ok {
			t.Errorf("%q: %q, want ok %v", c.name, msg, c.ok)
		}
		if msg != "" && !strings.HasPrefix(msg, "name not allowed by Discord: ") {
			t.Errorf("%q: %q does not say Discord refuses the name", c.name, msg)
		}
	}
}
