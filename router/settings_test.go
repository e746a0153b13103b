package router_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestCommandByID finds a community's command with its aliases, and no
// other community's.
func TestCommandByID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	hello := e.command(router.CommandInput{Name: "hello", Response: "hi"})
	if err := e.s.AddAlias(ctx, audit.Actor{}, e.cid, "hey", "hello"); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.CommandByID(ctx, e.cid, hello.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "hello" || got.Response != "hi" || !slices.Equal(got.Aliases, []string{"hey"}) {
		t.Errorf("CommandByID = %+v, want hello with alias hey", got)
	}
	other := e.otherCommunity("geese", "goosechan")
	if _, err := e.s.CommandByID(ctx, other, hello.ID); !errors.Is(err, router.ErrCommandNotFound) {
		t.Errorf("another community's command by id: %v, want ErrCommandNotFound", err)
	}
	if _, err := e.s.CommandByID(ctx, e.cid, hello.ID+1000); !errors.Is(err, router.ErrCommandNotFound) {
		t.Errorf("a missing id: %v, want ErrCommandNotFound", err)
	}
}

// TestUpdateRule edits a rule, disables it (chat is no longer moderated by
// it) and enables it again, each change in the audit log.
func TestUpdateRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	in := router.RuleInput{Priority: 1, Match: router.MatchWord, Pattern: "spam", Action: router.ActionDelete}
	rl, err := e.s.CreateRule(ctx, audit.Actor{}, e.cid, in)
	if err != nil {
		t.Fatal(err)
	}
	action := func(text string) string {
		t.Helper()
		for _, r := range e.say("viewer", nil, text).Responses {
			if r.Moderation != nil {
				return r.Moderation.Action
			}
		}
		return ""
	}
	if got := action("buy spam"); got != router.ActionDelete {
		t.Fatalf("before the edit: action %q, want delete", got)
	}

	in.Pattern, in.Action, in.TimeoutSeconds, in.Enabled = "eggs", router.ActionTimeout, 60, true
	edited, err := e.s.UpdateRule(ctx, audit.Actor{Email: "ann@example.com"}, e.cid, rl.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if edited.Pattern != "eggs" || edited.Action != router.ActionTimeout || !edited.Enabled {
		t.Errorf("UpdateRule = %+v", edited)
	}
	if got := action("buy spam"); got != "" {
		t.Errorf("the old pattern still acts: %q", got)
	}
	if got := action("buy eggs"); got != router.ActionTimeout {
		t.Errorf("the new pattern: action %q, want timeout", got)
	}

	in.Enabled = false
	if _, err := e.s.UpdateRule(ctx, audit.Actor{Email: "ann@example.com"}, e.cid, rl.ID, in); err != nil {
		t.Fatal(err)
	}
	if got := action("buy eggs"); got != "" {
		t.Errorf("a disabled rule acts: %q", got)
	}
	rules, err := e.s.Rules(ctx, e.cid)
	if err != nil || len(rules) != 1 || rules[0].Enabled {
		t.Errorf("Rules after disabling = %+v, %v: want the rule kept, disabled", rules, err)
	}

	in.Enabled = true
	if _, err := e.s.UpdateRule(ctx, audit.Actor{Email: "ann@example.com"}, e.cid, rl.ID, in); err != nil {
		t.Fatal(err)
	}
	if got := action("buy eggs"); got != router.ActionTimeout {
		t.Errorf("enabled again: action %q, want timeout", got)
	}
	// Saved unchanged: nothing to record.
	if _, err := e.s.UpdateRule(ctx, audit.Actor{Email: "ann@example.com"}, e.cid, rl.ID, in); err != nil {
		t.Fatal(err)
	}

	items, err := audit.Log{Pool: e.pool}.ListCommunity(ctx, e.cid, audit.Filter{Action: audit.RuleUpdated, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("%d rule updates in the audit log, want 3 (edit, disable, enable)", len(items))
	}
	for _, it := range items {
		if it.ActorEmail != "ann@example.com" || !strings.HasPrefix(it.Target, fmt.Sprintf("rule %d ", rl.ID)) {
			t.Errorf("audit entry %+v: want ann's change of rule %d", it, rl.ID)
		}
	}
}

// TestUpdateRuleRefusesBadInput names the field at fault and changes nothing.
func TestUpdateRuleRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	good := router.RuleInput{Priority: 1, Match: router.MatchContains, Pattern: "spam", Action: router.ActionDelete, Enabled: true}
	rl, err := e.s.CreateRule(ctx, audit.Actor{}, e.cid, good)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		edit      func(*router.RuleInput)
		wantField string
	}{
		{"empty pattern", func(in *router.RuleInput) { in.Pattern = "  " }, "pattern"},
		{"bad regex", func(in *router.RuleInput) { in.Match, in.Pattern = router.MatchRegex, "(" }, "pattern"},
		{"unknown action", func(in *router.RuleInput) { in.Action = "explode" }, "action"},
		{"timeout without seconds", func(in *router.RuleInput) { in.Action = router.ActionTimeout }, "timeout_seconds"},
		{"reply without text", func(in *router.RuleInput) { in.Action = router.ActionReply }, "response"},
		{"priority out of range", func(in *router.RuleInput) { in.Priority = 2_000_000 }, "priority"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := good
			c.edit(&in)
			_, err := e.s.UpdateRule(ctx, audit.Actor{}, e.cid, rl.ID, in)
			p := problem.As(err)
			if p == nil || p.Field != c.wantField {
				t.Errorf("UpdateRule: %v, want a problem with field %q", err, c.wantField)
			}
		})
	}
	other := e.otherCommunity("geese", "goosechan")
	if _, err := e.s.UpdateRule(ctx, audit.Actor{}, other, rl.ID, good); !errors.Is(err, router.ErrRuleNotFound) {
		t.Errorf("another community's rule: %v, want ErrRuleNotFound", err)
	}
	rules, err := e.s.Rules(ctx, e.cid)
	if err != nil || len(rules) != 1 || rules[0].Pattern != "spam" || rules[0].Action != router.ActionDelete || !rules[0].Enabled {
		t.Errorf("rules after refused edits = %+v, %v: want it unchanged", rules, err)
	}
}

// TestConcurrentQuoteAdds: quotes added at the same moment get distinct
// numbers, and every add succeeds.
func TestConcurrentQuoteAdds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	got := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := router.Event{ID: fmt.Sprintf("q%d", i), Platform: router.Twitch, Server: "duckchan", Channel: "c1", Kind: router.ChatMessage,
				User: router.User{ID: fmt.Sprintf("m%d", i), Name: fmt.Sprintf("mod%d", i), Roles: []string{router.BadgeModerator}},
				Text: fmt.Sprintf("!quote add wisdom %d", i)}
			if err := ev.Validate(); err != nil {
				t.Error(err)
				return
			}
			res, err := e.r.Handle(ctx, ev, router.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			got <- replies(res)
		}()
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for r := range got {
		if !strings.HasPrefix(r, "Quote #") || !strings.HasSuffix(r, " added.") {
			t.Errorf("reply %q, want Quote #N added.", r)
		}
		seen[r] = true
	}
	var rows, distinct, top int
	if err := e.pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT number), max(number) FROM quotes WHERE community_id = $1", e.cid).Scan(&rows, &distinct, &top); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n || rows != n || distinct != n || top != n {
		t.Errorf("%d distinct replies, %d quotes with %d numbers up to %d; want %d of each", len(seen), rows, distinct, top, n)
	}
}
