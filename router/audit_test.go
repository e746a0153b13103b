package router_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// chatEntry is an audit entry of a change made from chat, as a test expects it.
type chatEntry struct {
	Action, Email, Name, Target string
	Before, After               map[string]any
}

// auditSince returns the community's entries newer than id, oldest first.
func (e *env) auditSince(id int64) []audit.Item {
	e.t.Helper()
	items, err := audit.Log{Pool: e.pool}.ListCommunity(context.Background(), e.cid, audit.Filter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []audit.Item
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].ID > id {
			out = append(out, items[i])
		}
	}
	return out
}

func (e *env) lastAuditID() int64 {
	e.t.Helper()
	var id int64
	if err := e.pool.QueryRow(context.Background(), "SELECT coalesce(max(id), 0) FROM audit_log").Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func jsonObject(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	if raw == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestChatChangesAreAudited changes commands, aliases, quotes and counters
// from chat, as a moderator would, and finds each change in the audit log
// under the chat user's name; refused changes leave no entry.
func TestChatChangesAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mod := []string{router.BadgeModerator}
	const alice = "twitch user alice (id id-alice)"
	hello := map[string]any{"name": "hello", "response": "Hi there", "modules": []any{}, "parallel": false, "permission": "everyone",
		"user_cooldown_seconds": 0.0, "global_cooldown_seconds": 0.0, "enabled": true, "platforms": []any{"twitch", "discord", "slack"}}
	edited := map[string]any{}
	for k, v := range hello {
		edited[k] = v
	}
	edited["response"] = "Hey"
	deleted := map[string]any{"aliases": []any{"yo"}}
	for k, v := range edited {
		deleted[k] = v
	}

	cases := []struct {
		user  string
		roles []string
		text  string
		want  []chatEntry
	}{
		{"alice", mod, "!commands add hello Hi there", []chatEntry{{Action: audit.CommandCreated, Name: alice, Target: "command hello", After: hello}}},
		{"alice", mod, "!commands edit hello Hey", []chatEntry{{Action: audit.CommandUpdated, Name: alice, Target: "command hello", Before: hello, After: edited}}},
		{"alice", mod, "!alias add hey hello", []chatEntry{{Action: audit.AliasAdded, Name: alice, Target: "alias hey of command hello",
			After: map[string]any{"alias": "hey", "command": "hello"}}}},
		{"alice", mod, "!alias add yo hello", []chatEntry{{Action: audit.AliasAdded, Name: alice, Target: "alias yo of command hello",
			After: map[string]any{"alias": "yo", "command": "hello"}}}},
		{"alice", mod, "!alias del hey", []chatEntry{{Action: audit.AliasDeleted, Name: alice, Target: "alias hey of command hello",
			Before: map[string]any{"alias": "hey", "command": "hello"}}}},
		{"alice", mod, "!counter hello set 5", []chatEntry{{Action: audit.CounterSet, Name: alice, Target: "command hello",
			Before: map[string]any{"counter": 0.0}, After: map[string]any{"counter": 5.0}}}},
		{"alice", mod, "!quote add Never trust a goose", []chatEntry{{Action: audit.QuoteAdded, Name: alice, Target: "quote #1",
			After: map[string]any{"number": 1.0, "text": "Never trust a goose", "added_by": "alice"}}}},
		{"bob", []string{router.BadgeBroadcaster}, "!quote del 1", []chatEntry{{Action: audit.QuoteDeleted, Name: "twitch user bob (id id-bob)", Target: "quote #1",
			Before: map[string]any{"number": 1.0, "text": "Never trust a goose", "added_by": "alice"}}}},
		{"alice", mod, "!commands del hello", []chatEntry{{Action: audit.CommandDeleted, Name: alice, Target: "command hello", Before: deleted}}},
		// Refused: nothing changes, nothing is recorded.
		{"carol", nil, "!commands add sneaky x", nil},
		{"carol", nil, "!quote add not a mod", nil},
		{"alice", mod, "!commands add help x", nil},
		{"alice", mod, "!commands edit nosuch x", nil},
		{"alice", mod, "!alias add hi nosuch", nil},
		{"alice", mod, "!alias del nosuch", nil},
		{"alice", mod, "!quote del 42", nil},
		{"alice", mod, "!counter no-such set 1", nil}, // no command, and not a counter name
		// No command nosuch: a named counter (counters.go).
		{"alice", mod, "!counter nosuch set 1", []chatEntry{{Action: audit.NamedCounterSet, Name: alice, Target: "counter nosuch",
			After: map[string]any{"name": "nosuch", "value": 1.0}}}},
		{"alice", mod, "!commands del nosuch", nil},
	}
	for _, tc := range cases {
		last := e.lastAuditID()
		e.say(tc.user, tc.roles, tc.text)
		var got []chatEntry
		for _, it := range e.auditSince(last) {
			got = append(got, chatEntry{Action: it.Action, Email: it.ActorEmail, Name: it.ActorName, Target: it.Target,
				Before: jsonObject(t, it.Before), After: jsonObject(t, it.After)})
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s says %q: audit entries (-want +got):\n%s", tc.user, tc.text, d)
		}
	}
}

// TestSimulatedChangesAreAuditedAsTheHubUser runs a chat change in the
// simulator: it is recorded as the hub user who ran it, through the simulator;
// a dry run records nothing.
func TestSimulatedChangesAreAuditedAsTheHubUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := audit.Actor{Email: "ann@example.com", IP: "192.0.2.7"}
	ev := router.Event{ID: "sim-1", Platform: router.Discord, Kind: router.ChatMessage, User: router.User{Name: "Viewer", Roles: []string{router.BadgeModerator}},
		Text: "!quote add Quack"}
	last := e.lastAuditID()
	if _, err := e.r.Simulate(context.Background(), ann, e.cid, ev, true); err != nil {
		t.Fatal(err)
	}
	if got := e.auditSince(last); len(got) != 0 {
		t.Fatalf("a dry run recorded %d entries", len(got))
	}
	ev.ID = "sim-2"
	if _, err := e.r.Simulate(context.Background(), ann, e.cid, ev, false); err != nil {
		t.Fatal(err)
	}
	got := e.auditSince(last)
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
	want := chatEntry{Action: audit.QuoteAdded, Email: "ann@example.com", Name: "simulator, as discord user Viewer (id sim:viewer)", Target: "quote #1",
		After: map[string]any{"number": 1.0, "text": "Quack", "added_by": "Viewer"}}
	it := got[0]
	if d := cmp.Diff(want, chatEntry{Action: it.Action, Email: it.ActorEmail, Name: it.ActorName, Target: it.Target,
		Before: jsonObject(t, it.Before), After: jsonObject(t, it.After)}); d != "" || it.IP != "192.0.2.7" {
		t.Errorf("entry (-want +got):\n%s\nIP %q", d, it.IP)
	}
}
