package router_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// repEvent is a reputation_events row as the tests compare it.
type repEvent struct {
	Action, Platform, Account string
	Delta                     int32
	Reason                    string
}

func (e *env) reputationOf(platform, account string) (int32, []repEvent) {
	e.t.Helper()
	ctx := context.Background()
	var rep int32
	err := e.pool.QueryRow(ctx, `SELECT p.reputation FROM community_people p
		JOIN identity_accounts a ON a.identity_id = p.identity_id
		WHERE p.community_id = $1 AND a.platform = $2 AND a.account_id = $3`, e.cid, platform, account).Scan(&rep)
	if err != nil {
		e.t.Fatalf("reputation of %s %s: %v", platform, account, err)
	}
	rows, err := e.pool.Query(ctx, `SELECT r.action, r.platform, r.account_id, r.delta, r.reason FROM reputation_events r
		JOIN identity_accounts a ON a.identity_id = r.identity_id
		WHERE r.community_id = $1 AND a.platform = $2 AND a.account_id = $3 ORDER BY r.id`, e.cid, platform, account)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []repEvent
	for rows.Next() {
		var r repEvent
		if err := rows.Scan(&r.Action, &r.Platform, &r.Account, &r.Delta, &r.Reason); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return rep, out
}

func (e *env) rules(rs ...router.Rule) []int64 {
	e.t.Helper()
	var ids []int64
	for _, rl := range rs {
		rl.Enabled = true
		r, err := e.s.CreateRule(context.Background(), audit.Actor{}, e.cid, rl)
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func TestModerationLowersReputation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rules(
		router.Rule{Priority: 1, Match: router.MatchContains, Pattern: "scam", Action: router.ActionBan},
		router.Rule{Priority: 2, Match: router.MatchContains, Pattern: "heck", Action: router.ActionTimeout, TimeoutSeconds: 60},
		router.Rule{Priority: 3, Match: router.MatchContains, Pattern: "caps", Action: router.ActionWarn, Response: "{user}, easy on the caps"},
		router.Rule{Priority: 4, Match: router.MatchContains, Pattern: "link", Action: router.ActionDelete, ExemptModerators: true},
	)
	e.say("rowdy", nil, "CAPS")
	e.say("rowdy", nil, "what the heck")
	e.say("rowdy", nil, "a link")
	e.say("rowdy", nil, "scam here")
	e.say("calm", nil, "hello")
	e.say("mod", []string{router.BadgeModerator}, "my link") // exempt: no action, nothing recorded

	rep, evs := e.reputationOf(router.Twitch, "id-rowdy")
	if rep != -65 {
		t.Errorf("reputation %d, want -5 -10 +0 -50 = -65", rep)
	}
	var got []repEvent
	for _, ev := range evs {
		got = append(got, repEvent{Action: ev.Action, Platform: ev.Platform, Account: ev.Account, Delta: ev.Delta})
		if !strings.HasPrefix(ev.Reason, "rule ") {
			t.Errorf("%s reason %q does not name the rule", ev.Action, ev.Reason)
		}
	}
	want := []repEvent{
		{Action: "warn", Platform: "twitch", Account: "id-rowdy", Delta: -5},
		{Action: "timeout", Platform: "twitch", Account: "id-rowdy", Delta: -10},
		{Action: "delete", Platform: "twitch", Account: "id-rowdy", Delta: 0},
		{Action: "ban", Platform: "twitch", Account: "id-rowdy", Delta: -50},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("moderation history (-want +got):\n%s", d)
	}
	if len(evs) > 0 && !strings.Contains(evs[0].Reason, `"caps"`) || len(evs) > 0 && !strings.HasSuffix(evs[0].Reason, "rowdy, easy on the caps") {
		t.Errorf("warn reason %q: want the rule and the warning given", evs[0].Reason)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM reputation_events r JOIN identity_accounts a ON a.identity_id = r.identity_id
		WHERE a.account_id IN ('id-calm', 'id-mod')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d events for people not moderated (%v)", n, err)
	}
}

// An account linked to another lands its moderation on the one identity.
func TestModerationReputationFollowsTheIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s.LinkEntity(ctx, audit.Actor{}, e.cid, router.Discord, "guild-1", "Duck guild"); err != nil {
		t.Fatal(err)
	}
	e.rules(router.Rule{Priority: 1, Match: router.MatchContains, Pattern: "heck", Action: router.ActionTimeout, TimeoutSeconds: 30})
	e.say("dual", nil, "heck") // twitch account, now known
	// The Discord account joins the Twitch account's identity.
	if _, err := e.pool.Exec(ctx, `INSERT INTO identity_accounts (platform, account_id, identity_id, user_name, linked_at, linked_by)
		SELECT 'discord', 'd-dual', identity_id, 'dual#1', now(), 'chat' FROM identity_accounts WHERE platform = 'twitch' AND account_id = 'id-dual'`); err != nil {
		t.Fatal(err)
	}
	e.event(router.Event{Kind: router.ChatMessage, Platform: router.Discord, Server: "guild-1", Channel: "general",
		User: router.User{ID: "d-dual", Name: "dual#1"}, Text: "oh heck"})
	rep, evs := e.reputationOf(router.Discord, "d-dual")
	if rep != -20 || len(evs) != 2 || evs[1].Platform != "discord" || evs[1].Account != "d-dual" {
		t.Errorf("linked person: reputation %d, history %+v; want -20 over both accounts", rep, evs)
	}
}

// A redelivered event is answered again, not moderated twice; a dry run and
// the simulator record nothing.
func TestModerationRecordsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.rules(router.Rule{Priority: 1, Match: router.MatchContains, Pattern: "scam", Action: router.ActionBan})
	ev := router.Event{ID: "twitch:once", Kind: router.ChatMessage, User: router.User{ID: "id-spam", Name: "spam"}, Text: "scam"}
	e.event(ev)
	if again := e.event(ev); !again.Duplicate {
		t.Fatalf("second delivery not a duplicate: %+v", again)
	}
	if rep, evs := e.reputationOf(router.Twitch, "id-spam"); rep != -50 || len(evs) != 1 {
		t.Errorf("after a redelivery: reputation %d, %d events; want -50 and 1", rep, len(evs))
	}

	dry := router.Event{ID: "dry-ban", Platform: router.Twitch, Server: "duckchan", Channel: "c1", Kind: router.ChatMessage,
		User: router.User{ID: "id-dry", Name: "dry"}, Text: "scam"}
	res, err := e.r.Handle(ctx, dry, router.Options{DryRun: true})
	if err != nil || len(res.Responses) != 1 || res.Responses[0].Moderation == nil {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	sim := router.Event{ID: "sim-1", Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: "simmy"}, Text: "scam"}
	for _, dryRun := range []bool{true, false} {
		if res, err := e.r.Simulate(ctx, audit.Actor{Name: "test"}, e.cid, sim, dryRun); err != nil || len(res.Responses) != 1 {
			t.Fatalf("simulate (dry %v): %+v %v", dryRun, res, err)
		}
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM reputation_events) + (SELECT count(*) FROM community_people p
		JOIN identity_accounts a ON a.identity_id = p.identity_id WHERE a.account_id IN ('id-dry', 'sim:simmy'))`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d reputation rows after dry and simulated bans, want only the real ban's", n)
	}
}
