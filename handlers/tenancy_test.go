package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
)

// TestCrossCommunityAccess proves that the owner of community A gets 403 or
// 404, and changes nothing, on every route of community B: hub pages, HTMX
// actions and the API.
func TestCrossCommunityAccess(t *testing.T) {
	t.Parallel()
	e := newEnvWithRouter(t, withModules(t)) // modules on, so a create that got through would succeed
	ctx := context.Background()
	root := e.user("root@example.com", true)
	alice := e.user("alice@example.com", false)
	bob := e.user("bob@example.com", false)
	carol := e.user("carol@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{alice: community.Owner})
	b := e.community(root, "beta", map[auth.User]community.Role{bob: community.Owner, carol: community.Member})
	if _, err := e.comm.Invite(ctx, community.Actor{User: bob, Role: community.Owner}, b, "dave@example.com", community.Member); err != nil {
		t.Fatal(err)
	}
	invB := e.count("SELECT id FROM community_invitations WHERE community_id = $1", b.ID)
	cmdB, err := e.settings.CreateCommand(ctx, audit.Actor{}, b.ID, router.CommandInput{Name: "hug", Response: "hugs", Permission: router.Everyone, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.settings.AddAlias(ctx, audit.Actor{}, b.ID, "cuddle", "hug"); err != nil {
		t.Fatal(err)
	}
	ruleB, err := e.settings.CreateRule(ctx, audit.Actor{}, b.ID, router.RuleInput{Priority: 1, Match: router.MatchContains, Pattern: "spam", Action: router.ActionDelete})
	if err != nil {
		t.Fatal(err)
	}
	entB, err := e.settings.LinkEntity(ctx, audit.Actor{}, b.ID, router.Twitch, "betachan", "Beta channel")
	if err != nil {
		t.Fatal(err)
	}
	modB, err := e.settings.CreateModule(ctx, audit.Actor{}, b.ID, router.ModuleInput{Name: "weather", Kind: "webhook", URL: "https://hooks.example.com/beta-token", Secret: "beta-hook-secret"})
	if err != nil {
		t.Fatal(err)
	}

	ovB, ovTokenB, err := e.ov.Create(ctx, audit.Actor{}, b.ID, overlay.Ticker, "Beta ticker")
	if err != nil {
		t.Fatal(err)
	}

	keyB, keySecretB, err := e.auth.CreateCommunityAPIKey(ctx, bob, "", b.ID, "beta events", auth.RoleTrigger)
	if err != nil {
		t.Fatal(err)
	}

	var lblB int64 // B's label, for the entity group routes
	if err := e.pool.QueryRow(ctx, "INSERT INTO labels (community_id, name) VALUES ($1, 'Beta VIP') RETURNING id", b.ID).Scan(&lblB); err != nil {
		t.Fatal(err)
	}
	labelB, personB := mustLabelledPerson(t, e, b.ID)
	if _, err := e.settings.SetCounter(ctx, audit.Actor{}, b.ID, "deaths", 7); err != nil { // counters.go
		t.Fatal(err)
	}

	hub := e.signedIn(alice.Email)
	key := e.apiKey(alice, "user")
	B, A, uid := b.ID, a.ID, carol.ID
	if _, err := e.pool.Exec(ctx, "UPDATE communities SET require_two_factor = true WHERE id = $1", B); err != nil {
		t.Fatal(err)
	}

	impB := e.mustImport(t, b.ID, false)                                      // imports.go
	profileB := e.mustPerson(t, b.ID, "twitch", "t-beta", "betaviewer", 0, 0) // people.go
	timerB, err := e.cfg.Timers.Create(ctx, audit.Actor{}, b.ID, timers.Input{Name: "beta", Message: "Beta says hi", Platform: router.Twitch,
		Server: "betachan", IntervalMinutes: 5, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	evilTimer := url.Values{"name": {"evil"}, "message": {"pwned"}, "target": {"twitch|betachan"}, "interval_minutes": {"1"}, "enabled": {"on"}}
	evilRep := url.Values{"delta": {"-1000"}, "reason": {"pwned"}}
	evilRule := url.Values{"priority": {"1"}, "match": {"contains"}, "pattern": {"pwned"}, "action": {"ban"}, "enabled": {"on"}}
	type route struct {
		method, pattern string // the chi pattern this case covers
		path            string
		form            url.Values
		body            string
	}
	hubCases := []route{
		{"GET", "/c/{cid}/", fmt.Sprintf("/c/%d", B), nil, ""},
		{"GET", "/c/{cid}/members", fmt.Sprintf("/c/%d/members", B), nil, ""},
		{"GET", "/c/{cid}/marketplace", fmt.Sprintf("/c/%d/marketplace", B), nil, ""},
		{"GET", "/c/{cid}/marketplace/{slug}", fmt.Sprintf("/c/%d/marketplace/core-help", B), nil, ""},
		{"GET", "/c/{cid}/settings", fmt.Sprintf("/c/%d/settings", B), nil, ""},
		{"GET", "/c/{cid}/audit", fmt.Sprintf("/c/%d/audit", B), nil, ""},
		{"POST", "/c/{cid}/settings", fmt.Sprintf("/c/%d/settings", B), url.Values{"name": {"Hijacked"}}, ""},
		{"POST", "/c/{cid}/settings/two-factor", fmt.Sprintf("/c/%d/settings/two-factor", B), url.Values{"require_two_factor": {"off"}}, ""},
		{"POST", "/c/{cid}/settings/licence", fmt.Sprintf("/c/%d/settings/licence", B), url.Values{"key": {"x"}}, ""},
		{"POST", "/c/{cid}/settings/licence/remove", fmt.Sprintf("/c/%d/settings/licence/remove", B), nil, ""},
		{"POST", "/c/{cid}/invitations", fmt.Sprintf("/c/%d/invitations", B), url.Values{"email": {"eve@example.com"}, "role": {"admin"}}, ""},
		{"POST", "/c/{cid}/invitations/{iid}/revoke", fmt.Sprintf("/c/%d/invitations/%d/revoke", B, invB), nil, ""},
		{"POST", "/c/{cid}/members/{uid}/role", fmt.Sprintf("/c/%d/members/%d/role", B, uid), url.Values{"role": {"admin"}}, ""},
		{"POST", "/c/{cid}/members/{uid}/remove", fmt.Sprintf("/c/%d/members/%d/remove", B, uid), nil, ""},
		{"POST", "/c/{cid}/keys", fmt.Sprintf("/c/%d/keys", B), url.Values{"name": {"evil"}, "role": {"trigger"}}, ""},
		{"POST", "/c/{cid}/keys/{kid}/regenerate", fmt.Sprintf("/c/%d/keys/%d/regenerate", B, keyB.ID), nil, ""},
		{"POST", "/c/{cid}/keys/{kid}/revoke", fmt.Sprintf("/c/%d/keys/%d/revoke", B, keyB.ID), nil, ""},
		{"GET", "/c/{cid}/marketplace/installed/{slug}/usage", fmt.Sprintf("/c/%d/marketplace/installed/dice/usage", B), nil, ""},
		// A label's platform roles (label_groups.go).
		{"GET", "/c/{cid}/labels/{label}/groups", fmt.Sprintf("/c/%d/labels/%d/groups", B, lblB), nil, ""},
		{"POST", "/c/{cid}/labels/{label}/groups", fmt.Sprintf("/c/%d/labels/%d/groups", B, lblB), url.Values{"target": {"twitch|betachan|vip"}}, ""},
		{"POST", "/c/{cid}/labels/{label}/groups/{gid}/remove", fmt.Sprintf("/c/%d/labels/%d/groups/1/remove", B, lblB), nil, ""},
		{"POST", "/c/{cid}/labels/{label}/groups/resync", fmt.Sprintf("/c/%d/labels/%d/groups/resync", B, lblB), nil, ""},
		{"POST", "/c/{cid}/labels/{label}/groups/assignments/{aid}/resolve", fmt.Sprintf("/c/%d/labels/%d/groups/assignments/1/resolve", B, lblB), url.Values{"keep": {"label"}}, ""},
		{"POST", "/c/{cid}/labels/{label}/groups/resolve-all", fmt.Sprintf("/c/%d/labels/%d/groups/resolve-all", B, lblB), url.Values{"keep": {"label"}}, ""},
		{"GET", "/c/{cid}/people/{identity}/roles", fmt.Sprintf("/c/%d/people/1/roles", B), nil, ""},
		// The bot pages.
		{"GET", "/c/{cid}/commands", fmt.Sprintf("/c/%d/commands", B), nil, ""},
		{"GET", "/c/{cid}/commands/{id}", fmt.Sprintf("/c/%d/commands/%d", B, cmdB.ID), nil, ""},
		{"GET", "/c/{cid}/commands/{id}/edit", fmt.Sprintf("/c/%d/commands/%d/edit", B, cmdB.ID), nil, ""},
		{"GET", "/c/{cid}/moderation", fmt.Sprintf("/c/%d/moderation", B), nil, ""},
		{"GET", "/c/{cid}/moderation/rules/{rid}", fmt.Sprintf("/c/%d/moderation/rules/%d", B, ruleB.ID), nil, ""},
		{"GET", "/c/{cid}/moderation/rules/{rid}/edit", fmt.Sprintf("/c/%d/moderation/rules/%d/edit", B, ruleB.ID), nil, ""},
		{"GET", "/c/{cid}/points", fmt.Sprintf("/c/%d/points", B), nil, ""},
		{"GET", "/c/{cid}/executions", fmt.Sprintf("/c/%d/executions", B), nil, ""},
		{"GET", "/c/{cid}/servers", fmt.Sprintf("/c/%d/servers", B), nil, ""},
		{"GET", "/c/{cid}/simulator", fmt.Sprintf("/c/%d/simulator", B), nil, ""},
		{"POST", "/c/{cid}/simulator", fmt.Sprintf("/c/%d/simulator", B), url.Values{"platform": {"twitch"}, "user": {"eve"}, "kind": {"follow"}}, ""},
		// The catalogue in the workspace (marketplace_catalog_hub.go; missing on main when payments merged it).
		{"GET", "/c/{cid}/marketplace", fmt.Sprintf("/c/%d/marketplace", B), nil, ""},
		{"GET", "/c/{cid}/marketplace/{slug}", fmt.Sprintf("/c/%d/marketplace/some-module", B), nil, ""},
		// Paying for marketplace modules (marketplace_pay.go).
		{"GET", "/c/{cid}/marketplace/{slug}/price", fmt.Sprintf("/c/%d/marketplace/some-module/price", B), nil, ""},
		{"GET", "/c/{cid}/marketplace/{slug}/paid", fmt.Sprintf("/c/%d/marketplace/some-module/paid", B), nil, ""},
		{"GET", "/c/{cid}/marketplace/{slug}/cancelled", fmt.Sprintf("/c/%d/marketplace/some-module/cancelled", B), nil, ""},
		{"POST", "/c/{cid}/marketplace/{slug}/buy", fmt.Sprintf("/c/%d/marketplace/some-module/buy", B), nil, ""},
		{"POST", "/c/{cid}/marketplace/{slug}/renew", fmt.Sprintf("/c/%d/marketplace/some-module/renew", B), nil, ""},
		{"POST", "/c/{cid}/prefix", fmt.Sprintf("/c/%d/prefix", B), url.Values{"prefix": {"?"}}, ""},
		{"POST", "/c/{cid}/commands", fmt.Sprintf("/c/%d/commands", B), url.Values{"name": {"evil"}, "response": {"pwned"}, "permission": {"everyone"}}, ""},
		{"POST", "/c/{cid}/commands/preview", fmt.Sprintf("/c/%d/commands/preview", B), url.Values{"response": {"{user}"}}, ""},
		{"POST", "/c/{cid}/commands/{id}", fmt.Sprintf("/c/%d/commands/%d", B, cmdB.ID), url.Values{"response": {"pwned"}, "permission": {"everyone"}}, ""},
		{"POST", "/c/{cid}/commands/{id}/toggle", fmt.Sprintf("/c/%d/commands/%d/toggle", B, cmdB.ID), nil, ""},
		{"POST", "/c/{cid}/commands/{id}/delete", fmt.Sprintf("/c/%d/commands/%d/delete", B, cmdB.ID), nil, ""},
		{"POST", "/c/{cid}/commands/{id}/aliases", fmt.Sprintf("/c/%d/commands/%d/aliases", B, cmdB.ID), url.Values{"alias": {"evil"}}, ""},
		{"POST", "/c/{cid}/commands/{id}/aliases/{alias}/delete", fmt.Sprintf("/c/%d/commands/%d/aliases/cuddle/delete", B, cmdB.ID), nil, ""},
		{"POST", "/c/{cid}/commands/slash/{name}", fmt.Sprintf("/c/%d/commands/slash/%s", B, cmdB.Name), url.Values{"choice": {"never"}}, ""},
		{"POST", "/c/{cid}/moderation/rules", fmt.Sprintf("/c/%d/moderation/rules", B), url.Values{"match": {"contains"}, "pattern": {"x"}, "action": {"ban"}}, ""},
		{"POST", "/c/{cid}/moderation/rules/{rid}", fmt.Sprintf("/c/%d/moderation/rules/%d", B, ruleB.ID), evilRule, ""},
		{"POST", "/c/{cid}/moderation/rules/{rid}/toggle", fmt.Sprintf("/c/%d/moderation/rules/%d/toggle", B, ruleB.ID), nil, ""},
		{"POST", "/c/{cid}/moderation/rules/{rid}/delete", fmt.Sprintf("/c/%d/moderation/rules/%d/delete", B, ruleB.ID), nil, ""},
		{"POST", "/c/{cid}/points/{key}", fmt.Sprintf("/c/%d/points/twitch.follow", B), url.Values{"points": {"9999"}}, ""},
		{"POST", "/c/{cid}/viewer-tracking", fmt.Sprintf("/c/%d/viewer-tracking", B), url.Values{"enabled": {"on"}, "points": {"5"}, "every": {"5"}}, ""},
		{"POST", "/c/{cid}/servers", fmt.Sprintf("/c/%d/servers", B), url.Values{"platform": {"twitch"}, "server": {"evilchan"}}, ""},
		{"POST", "/c/{cid}/servers/{eid}/unlink", fmt.Sprintf("/c/%d/servers/%d/unlink", B, entB.ID), nil, ""},
		{"GET", "/c/{cid}/servers/twitch/connect", fmt.Sprintf("/c/%d/servers/twitch/connect", B), nil, ""},
		{"GET", "/c/{cid}/servers/slack/install", fmt.Sprintf("/c/%d/servers/slack/install", B), nil, ""},
		{"GET", "/c/{cid}/modules", fmt.Sprintf("/c/%d/modules", B), nil, ""},
		{"POST", "/c/{cid}/modules", fmt.Sprintf("/c/%d/modules", B), url.Values{"name": {"evil"}, "kind": {"webhook"}, "url": {"https://evil.example.com/"}, "secret": {"x"}}, ""},
		{"POST", "/c/{cid}/modules/{mid}/delete", fmt.Sprintf("/c/%d/modules/%d/delete", B, modB.ID), nil, ""},
		{"GET", "/c/{cid}/marketplace/installed", fmt.Sprintf("/c/%d/marketplace/installed", B), nil, ""},
		{"GET", "/c/{cid}/marketplace/{slug}/install", fmt.Sprintf("/c/%d/marketplace/some-mod/install", B), nil, ""},
		{"POST", "/c/{cid}/marketplace/{slug}/install", fmt.Sprintf("/c/%d/marketplace/some-mod/install", B), url.Values{"accept": {"all"}}, ""},
		{"POST", "/c/{cid}/marketplace/installed/{slug}/change", fmt.Sprintf("/c/%d/marketplace/installed/some-mod/change", B), url.Values{"version": {"1.0.0"}}, ""},
		{"POST", "/c/{cid}/marketplace/installed/{slug}/accept", fmt.Sprintf("/c/%d/marketplace/installed/some-mod/accept", B), nil, ""},
		{"POST", "/c/{cid}/marketplace/installed/{slug}/uninstall", fmt.Sprintf("/c/%d/marketplace/installed/some-mod/uninstall", B), nil, ""},
		{"GET", "/c/{cid}/overlays", fmt.Sprintf("/c/%d/overlays", B), nil, ""},
		// Importing from another bot (imports.go).
		{"GET", "/c/{cid}/imports", fmt.Sprintf("/c/%d/imports", B), nil, ""},
		{"GET", "/c/{cid}/imports/new/{source}", fmt.Sprintf("/c/%d/imports/new/nightbot", B), nil, ""},
		{"POST", "/c/{cid}/imports/new/{source}", fmt.Sprintf("/c/%d/imports/new/streamelements", B), url.Values{"token": {"x"}}, ""},
		{"GET", "/c/{cid}/imports/nightbot/connect", fmt.Sprintf("/c/%d/imports/nightbot/connect", B), nil, ""},
		{"GET", "/c/{cid}/imports/{iid}", fmt.Sprintf("/c/%d/imports/%d", B, impB), nil, ""},
		{"POST", "/c/{cid}/imports/{iid}/apply", fmt.Sprintf("/c/%d/imports/%d/apply", B, impB), url.Values{"all_conflicts": {"overwrite"}}, ""},
		{"GET", "/c/{cid}/imports/{iid}/progress", fmt.Sprintf("/c/%d/imports/%d/progress", B, impB), nil, ""},
		{"GET", "/c/{cid}/imports/{iid}/undo", fmt.Sprintf("/c/%d/imports/%d/undo", B, impB), nil, ""},
		{"POST", "/c/{cid}/imports/{iid}/undo", fmt.Sprintf("/c/%d/imports/%d/undo", B, impB), nil, ""},
		{"POST", "/c/{cid}/overlays", fmt.Sprintf("/c/%d/overlays", B), url.Values{"kind": {"chat"}, "name": {"evil"}}, ""},
		{"POST", "/c/{cid}/overlays/{oid}", fmt.Sprintf("/c/%d/overlays/%d", B, ovB.ID), url.Values{"name": {"Hijacked"}}, ""},
		{"POST", "/c/{cid}/overlays/{oid}/content", fmt.Sprintf("/c/%d/overlays/%d/content", B, ovB.ID), url.Values{"text": {"pwned"}}, ""},
		{"POST", "/c/{cid}/overlays/{oid}/test", fmt.Sprintf("/c/%d/overlays/%d/test", B, ovB.ID), nil, ""},
		{"POST", "/c/{cid}/overlays/{oid}/regenerate", fmt.Sprintf("/c/%d/overlays/%d/regenerate", B, ovB.ID), nil, ""},
		{"POST", "/c/{cid}/overlays/{oid}/delete", fmt.Sprintf("/c/%d/overlays/%d/delete", B, ovB.ID), nil, ""},
		{"GET", "/c/{cid}/overlays/{oid}/preview", fmt.Sprintf("/c/%d/overlays/%d/preview", B, ovB.ID), nil, ""},
		// Workflows (workflows_hub_test.go also covers them with the engine on and real ids).
		{"GET", "/c/{cid}/workflows", fmt.Sprintf("/c/%d/workflows", B), nil, ""},
		{"POST", "/c/{cid}/workflows", fmt.Sprintf("/c/%d/workflows", B), url.Values{"name": {"evil"}}, ""},
		{"POST", "/c/{cid}/workflows/import", fmt.Sprintf("/c/%d/workflows/import", B), url.Values{"json": {`{"name":"evil","definition":{"nodes":[],"connections":[]}}`}}, ""},
		{"GET", "/c/{cid}/workflows/{id}/edit", fmt.Sprintf("/c/%d/workflows/1/edit", B), nil, ""},
		{"GET", "/c/{cid}/workflows/{id}/export", fmt.Sprintf("/c/%d/workflows/1/export", B), nil, ""},
		{"GET", "/c/{cid}/workflows/{id}/nodes/{node}", fmt.Sprintf("/c/%d/workflows/1/nodes/n1", B), nil, ""},
		{"POST", "/c/{cid}/workflows/{id}/nodes/{node}", fmt.Sprintf("/c/%d/workflows/1/nodes/n1", B), url.Values{"node_label": {"evil"}}, ""},
		{"PUT", "/c/{cid}/workflows/{id}/definition", fmt.Sprintf("/c/%d/workflows/1/definition", B), url.Values{}, ""},
		{"POST", "/c/{cid}/workflows/{id}/delete", fmt.Sprintf("/c/%d/workflows/1/delete", B), nil, ""},
		{"POST", "/c/{cid}/workflows/{id}/publish", fmt.Sprintf("/c/%d/workflows/1/publish", B), nil, ""},
		{"POST", "/c/{cid}/workflows/{id}/draft", fmt.Sprintf("/c/%d/workflows/1/draft", B), nil, ""},
		// Workflow runs (workflow_runs_test.go also covers A's pages with B's run and workflow ids).
		{"GET", "/c/{cid}/runs", fmt.Sprintf("/c/%d/runs", B), nil, ""},
		{"GET", "/c/{cid}/runs/{runID}", fmt.Sprintf("/c/%d/runs/1", B), nil, ""},
		{"POST", "/c/{cid}/runs/{runID}/retry", fmt.Sprintf("/c/%d/runs/1/retry", B), nil, ""},
		{"POST", "/c/{cid}/runs/{runID}/replay", fmt.Sprintf("/c/%d/runs/1/replay", B), url.Values{"on": {"original"}}, ""},
		{"POST", "/c/{cid}/runs/{runID}/cancel", fmt.Sprintf("/c/%d/runs/1/cancel", B), nil, ""},
		{"GET", "/c/{cid}/workflows/{id}/runs", fmt.Sprintf("/c/%d/workflows/1/runs", B), nil, ""},
		{"POST", "/c/{cid}/workflows/{id}/test", fmt.Sprintf("/c/%d/workflows/1/test", B), url.Values{"payload": {"{}"}}, ""},
		// Alice's own community with B's command, rule and server ids.
		{"", "", fmt.Sprintf("/c/%d/commands/%d", A, cmdB.ID), url.Values{"response": {"pwned"}, "permission": {"everyone"}}, ""},
		{"", "", fmt.Sprintf("/c/%d/commands/%d/toggle", A, cmdB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/commands/%d/delete", A, cmdB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/commands/%d/aliases", A, cmdB.ID), url.Values{"alias": {"evil"}}, ""},
		{"", "", fmt.Sprintf("/c/%d/commands/%d/aliases/cuddle/delete", A, cmdB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/moderation/rules/%d", A, ruleB.ID), evilRule, ""},
		{"", "", fmt.Sprintf("/c/%d/moderation/rules/%d/toggle", A, ruleB.ID), nil, ""},
		{"GET", "", fmt.Sprintf("/c/%d/moderation/rules/%d", A, ruleB.ID), nil, ""},
		{"GET", "", fmt.Sprintf("/c/%d/moderation/rules/%d/edit", A, ruleB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/moderation/rules/%d/delete", A, ruleB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/servers/%d/unlink", A, entB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/modules/%d/delete", A, modB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/overlays/%d", A, ovB.ID), url.Values{"name": {"Hijacked"}}, ""},
		{"", "", fmt.Sprintf("/c/%d/overlays/%d/content", A, ovB.ID), url.Values{"text": {"pwned"}}, ""},
		{"", "", fmt.Sprintf("/c/%d/overlays/%d/test", A, ovB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/overlays/%d/regenerate", A, ovB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/overlays/%d/delete", A, ovB.ID), nil, ""},
		{"GET", "", fmt.Sprintf("/c/%d/overlays/%d/preview", A, ovB.ID), nil, ""},
		// Labels (labels_hub.go), in B and in A with B's label and person.
		{"GET", "/c/{cid}/labels", fmt.Sprintf("/c/%d/labels", B), nil, ""},
		{"POST", "/c/{cid}/labels", fmt.Sprintf("/c/%d/labels", B), url.Values{"name": {"evil"}}, ""},
		{"GET", "/c/{cid}/labels/{label}", fmt.Sprintf("/c/%d/labels/%d", B, labelB), nil, ""},
		{"POST", "/c/{cid}/labels/{label}", fmt.Sprintf("/c/%d/labels/%d", B, labelB), url.Values{"name": {"evil"}}, ""},
		{"POST", "/c/{cid}/labels/{label}/delete", fmt.Sprintf("/c/%d/labels/%d/delete", B, labelB), nil, ""},
		{"POST", "/c/{cid}/community-labels", fmt.Sprintf("/c/%d/community-labels", B), url.Values{"label": {"1"}}, ""},
		{"GET", "/c/{cid}/people/{identity}/labels", fmt.Sprintf("/c/%d/people/%d/labels", B, personB), nil, ""},
		{"POST", "/c/{cid}/people/{identity}/labels", fmt.Sprintf("/c/%d/people/%d/labels", B, personB), url.Values{"label": {"vip"}}, ""},
		{"POST", "/c/{cid}/people/{identity}/labels/{label}/remove", fmt.Sprintf("/c/%d/people/%d/labels/%d/remove", B, personB, labelB), nil, ""},
		{"GET", "", fmt.Sprintf("/c/%d/labels/%d", A, labelB), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/labels/%d", A, labelB), url.Values{"name": {"evil"}}, ""},
		{"", "", fmt.Sprintf("/c/%d/labels/%d/delete", A, labelB), nil, ""},
		{"GET", "", fmt.Sprintf("/c/%d/people/%d/labels", A, personB), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/people/%d/labels/%d/remove", A, personB, labelB), nil, ""},
		{"GET", "/c/{cid}/people", fmt.Sprintf("/c/%d/people", B), nil, ""},
		// Timers (timers_hub.go), in B and in A with B's timer.
		{"GET", "/c/{cid}/timers", fmt.Sprintf("/c/%d/timers", B), nil, ""},
		{"POST", "/c/{cid}/timers", fmt.Sprintf("/c/%d/timers", B), evilTimer, ""},
		{"GET", "/c/{cid}/timers/{tid}/edit", fmt.Sprintf("/c/%d/timers/%d/edit", B, timerB.ID), nil, ""},
		{"POST", "/c/{cid}/timers/{tid}", fmt.Sprintf("/c/%d/timers/%d", B, timerB.ID), evilTimer, ""},
		{"POST", "/c/{cid}/timers/{tid}/toggle", fmt.Sprintf("/c/%d/timers/%d/toggle", B, timerB.ID), nil, ""},
		{"POST", "/c/{cid}/timers/{tid}/delete", fmt.Sprintf("/c/%d/timers/%d/delete", B, timerB.ID), nil, ""},
		{"GET", "", fmt.Sprintf("/c/%d/timers/%d/edit", A, timerB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/timers/%d", A, timerB.ID), evilTimer, ""},
		{"", "", fmt.Sprintf("/c/%d/timers/%d/toggle", A, timerB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/timers/%d/delete", A, timerB.ID), nil, ""},
		{"GET", "/c/{cid}/people/{identity}", fmt.Sprintf("/c/%d/people/%d", B, profileB), nil, ""},
		{"POST", "/c/{cid}/people/{identity}/reputation", fmt.Sprintf("/c/%d/people/%d/reputation", B, profileB), evilRep, ""},
		{"GET", "", fmt.Sprintf("/c/%d/people/%d", A, profileB), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/people/%d/reputation", A, profileB), evilRep, ""},
		// Named counters (counters.go); alice's own community has no counter deaths.
		{"GET", "/c/{cid}/counters", fmt.Sprintf("/c/%d/counters", B), nil, ""},
		{"POST", "/c/{cid}/counters", fmt.Sprintf("/c/%d/counters", B), url.Values{"name": {"deaths"}, "value": {"0"}}, ""},
		{"POST", "/c/{cid}/counters/{name}/delete", fmt.Sprintf("/c/%d/counters/deaths/delete", B), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/counters/deaths/delete", A), nil, ""},
		// Alice's own community with B's key id.
		{"", "", fmt.Sprintf("/c/%d/keys/%d/regenerate", A, keyB.ID), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/keys/%d/revoke", A, keyB.ID), nil, ""},
		// Alice's own community with B's member and invitation ids.
		{"", "", fmt.Sprintf("/c/%d/members/%d/role", A, uid), url.Values{"role": {"admin"}}, ""},
		{"", "", fmt.Sprintf("/c/%d/members/%d/remove", A, uid), nil, ""},
		{"", "", fmt.Sprintf("/c/%d/invitations/%d/revoke", A, invB), nil, ""},
	}
	apiCases := []route{
		{"GET", "/api/v1/communities/{cid}/timers", fmt.Sprintf("/communities/%d/timers", B), nil, ""},
		{"POST", "/api/v1/communities/{cid}/timers", fmt.Sprintf("/communities/%d/timers", B), nil, `{"name":"evil","message":"pwned","platform":"twitch","server":"betachan","interval_minutes":1}`},
		{"GET", "/api/v1/communities/{cid}/timers/{tid}", fmt.Sprintf("/communities/%d/timers/%d", B, timerB.ID), nil, ""},
		{"PATCH", "/api/v1/communities/{cid}/timers/{tid}", fmt.Sprintf("/communities/%d/timers/%d", B, timerB.ID), nil, `{"message":"pwned"}`},
		{"DELETE", "/api/v1/communities/{cid}/timers/{tid}", fmt.Sprintf("/communities/%d/timers/%d", B, timerB.ID), nil, ""},
		{"GET", "", fmt.Sprintf("/communities/%d/timers/%d", A, timerB.ID), nil, ""},
		{"PATCH", "", fmt.Sprintf("/communities/%d/timers/%d", A, timerB.ID), nil, `{"message":"pwned"}`},
		{"DELETE", "", fmt.Sprintf("/communities/%d/timers/%d", A, timerB.ID), nil, ""},
		{"GET", "/api/v1/communities/{cid}/imports", fmt.Sprintf("/communities/%d/imports", B), nil, ""},
		{"POST", "/api/v1/communities/{cid}/imports", fmt.Sprintf("/communities/%d/imports", B), nil, `{"source":"streamelements","token":"x"}`},
		{"GET", "/api/v1/communities/{cid}/imports/{iid}", fmt.Sprintf("/communities/%d/imports/%d", B, impB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/imports/{iid}/apply", fmt.Sprintf("/communities/%d/imports/%d/apply", B, impB), nil, `{"all_conflicts":"overwrite"}`},
		{"POST", "/api/v1/communities/{cid}/imports/{iid}/undo", fmt.Sprintf("/communities/%d/imports/%d/undo", B, impB), nil, ""},
		{"GET", "/api/v1/communities/{cid}/labels/{label}/groups", fmt.Sprintf("/communities/%d/labels/%d/groups", B, lblB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/labels/{label}/groups", fmt.Sprintf("/communities/%d/labels/%d/groups", B, lblB), nil, `{"platform":"twitch","server":"betachan","group":"vip"}`},
		{"DELETE", "/api/v1/communities/{cid}/labels/{label}/groups/{gid}", fmt.Sprintf("/communities/%d/labels/%d/groups/1", B, lblB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/labels/{label}/groups/resync", fmt.Sprintf("/communities/%d/labels/%d/groups/resync", B, lblB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/labels/{label}/groups/resolve", fmt.Sprintf("/communities/%d/labels/%d/groups/resolve", B, lblB), nil, `{"keep":"label"}`},
		{"GET", "/api/v1/communities/{cid}/", fmt.Sprintf("/communities/%d", B), nil, ""},
		{"GET", "/api/v1/communities/{cid}/members", fmt.Sprintf("/communities/%d/members", B), nil, ""},
		{"POST", "/api/v1/communities/{cid}/members", fmt.Sprintf("/communities/%d/members", B), nil, `{"email":"eve@example.com","role":"admin"}`},
		{"PATCH", "/api/v1/communities/{cid}/members/{uid}", fmt.Sprintf("/communities/%d/members/%d", B, uid), nil, `{"role":"admin"}`},
		{"DELETE", "/api/v1/communities/{cid}/members/{uid}", fmt.Sprintf("/communities/%d/members/%d", B, uid), nil, ""},
		{"GET", "/api/v1/communities/{cid}/audit", fmt.Sprintf("/communities/%d/audit", B), nil, ""},
		{"", "", fmt.Sprintf("/communities/%d/members/%d", A, uid), nil, `{"role":"admin"}`},
		{"GET", "/api/v1/communities/{cid}/people", fmt.Sprintf("/communities/%d/people", B), nil, ""},
		{"GET", "/api/v1/communities/{cid}/people/{identity}", fmt.Sprintf("/communities/%d/people/%d", B, profileB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/people/{identity}/reputation", fmt.Sprintf("/communities/%d/people/%d/reputation", B, profileB), nil, `{"delta":-1000,"reason":"pwned"}`},
		{"GET", "", fmt.Sprintf("/communities/%d/people/%d", A, profileB), nil, ""},
		{"POST", "", fmt.Sprintf("/communities/%d/people/%d/reputation", A, profileB), nil, `{"delta":-1000,"reason":"pwned"}`},
		{"POST", "/api/v1/communities/{cid}/overlays/{id}/events", fmt.Sprintf("/communities/%d/overlays/%d/events", B, ovB.ID), nil, `{"type":"ticker","message":"pwned"}`},
	}
	apiCases = append(apiCases, []route{ // named counters (counters_api.go)
		{"GET", "/api/v1/communities/{cid}/counters", fmt.Sprintf("/communities/%d/counters", B), nil, ""},
		{"PUT", "/api/v1/communities/{cid}/counters/{name}", fmt.Sprintf("/communities/%d/counters/deaths", B), nil, `{"value":0}`},
		{"DELETE", "/api/v1/communities/{cid}/counters/{name}", fmt.Sprintf("/communities/%d/counters/deaths", B), nil, ""},
		{"DELETE", "", fmt.Sprintf("/communities/%d/counters/deaths", A), nil, ""},
	}...)
	apiCases = append(apiCases, []route{ // labels (labels_api.go)
		{"GET", "/api/v1/communities/{cid}/labels", fmt.Sprintf("/communities/%d/labels", B), nil, ""},
		{"POST", "/api/v1/communities/{cid}/labels", fmt.Sprintf("/communities/%d/labels", B), nil, `{"name":"evil"}`},
		{"GET", "/api/v1/communities/{cid}/labels/search", fmt.Sprintf("/communities/%d/labels/search?labels=vip", B), nil, ""},
		{"GET", "/api/v1/communities/{cid}/labels/{label}", fmt.Sprintf("/communities/%d/labels/%d", B, labelB), nil, ""},
		{"PATCH", "/api/v1/communities/{cid}/labels/{label}", fmt.Sprintf("/communities/%d/labels/%d", B, labelB), nil, `{"name":"evil"}`},
		{"DELETE", "/api/v1/communities/{cid}/labels/{label}", fmt.Sprintf("/communities/%d/labels/%d", B, labelB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/labels/bulk", fmt.Sprintf("/communities/%d/labels/bulk", B), nil, fmt.Sprintf(`{"operations":[{"op":"remove","person":%d,"label":"vip"}]}`, personB)},
		{"GET", "/api/v1/communities/{cid}/people/{identity}/labels", fmt.Sprintf("/communities/%d/people/%d/labels", B, personB), nil, ""},
		{"POST", "/api/v1/communities/{cid}/people/{identity}/labels", fmt.Sprintf("/communities/%d/people/%d/labels", B, personB), nil, `{"label":"vip"}`},
		{"DELETE", "/api/v1/communities/{cid}/people/{identity}/labels/{label}", fmt.Sprintf("/communities/%d/people/%d/labels/vip", B, personB), nil, ""},
		{"GET", "/api/v1/communities/{cid}/community-labels", fmt.Sprintf("/communities/%d/community-labels", B), nil, ""},
		{"PUT", "/api/v1/communities/{cid}/community-labels", fmt.Sprintf("/communities/%d/community-labels", B), nil, `{"labels":[]}`},
		{"", "", fmt.Sprintf("/communities/%d/labels/%d", A, labelB), nil, `{"name":"evil"}`},
		{"DELETE", "", fmt.Sprintf("/communities/%d/people/%d/labels/%d", A, personB, labelB), nil, ""},
	}...)
	// Overlay updates take action keys: alice's reaches neither B nor B's source through A.
	actionKey := e.communityKey(alice, auth.RoleAction, A)
	for _, p := range []string{fmt.Sprintf("/communities/%d/overlays/%d/events", B, ovB.ID), fmt.Sprintf("/communities/%d/overlays/%d/events", A, ovB.ID)} {
		if st, out := e.api(actionKey, "POST", p, `{"type":"ticker","message":"pwned"}`); st != http.StatusNotFound {
			t.Errorf("action key POST %s: %d, want 404: %v", p, st, out)
		}
	}

	for _, c := range hubCases {
		t.Run("hub "+c.path, func(t *testing.T) {
			var res response
			if c.form == nil && c.method == "GET" {
				res = hub.get(c.path, nil)
			} else {
				res = hub.post(c.path, c.form, nil)
			}
			if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403 or 404; body: %.300s", res.StatusCode, res.body)
			}
			if strings.Contains(res.body, "Community beta") || strings.Contains(res.body, carol.Email) {
				t.Errorf("the answer reveals community B: %.300s", res.body)
			}
			// The same through HTMX.
			if c.method != "GET" {
				res = hub.post(c.path, c.form, http.Header{"Hx-Request": {"true"}})
				if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusForbidden {
					t.Errorf("HTMX status %d, want 403 or 404", res.StatusCode)
				}
			}
		})
	}
	for _, c := range apiCases {
		method := c.method
		if method == "" {
			method = "PATCH"
		}
		t.Run("api "+method+" "+c.path, func(t *testing.T) {
			st, out := e.api(key, method, c.path, c.body)
			if st != http.StatusNotFound && st != http.StatusForbidden {
				t.Errorf("status %d, want 403 or 404: %v", st, out)
			}
			if out["success"] != false {
				t.Errorf("success = %v, want false", out["success"])
			}
		})
	}
	t.Run("community list hides B", func(t *testing.T) {
		res := hub.get("/", nil)
		if strings.Contains(res.body, "Community beta") || !strings.Contains(res.body, "Community alpha") {
			t.Errorf("community list: want alpha only; got %.500s", res.body)
		}
		_, out := e.api(key, "GET", "/communities", "")
		list, _ := out["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["slug"] != "alpha" {
			t.Errorf("API communities = %v, want alpha only", out["data"])
		}
	})

	// Nothing in B changed.
	if n := e.count("SELECT count(*) FROM person_labels l JOIN labels x ON x.id = l.label_id WHERE l.community_id = $1 AND l.identity_id = $2 AND x.name = 'vip'", B, personB); n != 1 ||
		e.count("SELECT count(*) FROM labels WHERE name = 'evil'") != 0 {
		t.Error("B's labels changed through B's routes")
	}
	if n := e.count("SELECT count(*) FROM communities WHERE id = $1 AND name = 'Community beta' AND require_two_factor", B); n != 1 {
		t.Error("community B was renamed or its two-factor rule changed")
	}
	if n := e.count("SELECT count(*) FROM community_members WHERE community_id = $1 AND user_id = $2 AND role = 'member'", B, uid); n != 1 {
		t.Error("carol's membership in B changed")
	}
	if n := e.count("SELECT count(*) FROM community_invitations WHERE id = $1 AND accepted_at IS NULL", invB); n != 1 {
		t.Error("B's invitation was withdrawn")
	}
	if n := e.count("SELECT count(*) FROM community_invitations WHERE email = 'eve@example.com'"); n != 0 {
		t.Error("an invitation into B was created")
	}
	if n := e.count("SELECT count(*) FROM commands WHERE community_id = $1 AND name = 'hug' AND response = 'hugs' AND enabled", B); n != 1 {
		t.Error("B's command was changed or deleted")
	}
	if n := e.count("SELECT count(*) FROM commands WHERE name = 'evil'") + e.count("SELECT count(*) FROM command_aliases WHERE alias = 'evil'"); n != 0 {
		t.Error("a command or alias was created through B's routes")
	}
	if n := e.count("SELECT count(*) FROM command_aliases WHERE community_id = $1 AND alias = 'cuddle'", B); n != 1 {
		t.Error("B's alias was removed")
	}
	if n := e.count("SELECT count(*) FROM moderation_rules WHERE community_id = $1", B); n != 1 {
		t.Errorf("B has %d moderation rules, want its one", n)
	}
	if n := e.count("SELECT count(*) FROM moderation_rules WHERE id = $1 AND pattern = 'spam' AND action = 'delete' AND enabled", ruleB.ID); n != 1 {
		t.Error("B's moderation rule was edited or disabled")
	}
	if n := e.count("SELECT count(*) FROM platform_entities WHERE community_id = $1 AND server = 'betachan'", B); n != 1 || e.count("SELECT count(*) FROM platform_entities") != 1 {
		t.Error("B's linked servers changed")
	}
	if n := e.count("SELECT count(*) FROM community_modules WHERE community_id = $1 AND id = $2 AND name = 'weather'", B, modB.ID); n != 1 || e.count("SELECT count(*) FROM community_modules") != 1 {
		t.Error("B's modules changed, or a module was created through B's routes")
	}
	if n := e.count("SELECT count(*) FROM overlay_sources WHERE community_id = $1 AND id = $2 AND name = 'Beta ticker'", B, ovB.ID); n != 1 ||
		e.count("SELECT count(*) FROM overlay_sources") != 1 || e.count("SELECT count(*) FROM overlay_updates") != 0 {
		t.Error("B's overlay sources changed, got updates, or a source was created through B's routes")
	}
	if _, err := e.ov.ByToken(ctx, ovTokenB); err != nil {
		t.Errorf("B's overlay URL stopped working: %v", err)
	}
	if n := e.count("SELECT count(*) FROM communities WHERE id = $1 AND command_prefix = '!'", B); n != 1 {
		t.Error("B's prefix changed")
	}
	if n := e.count("SELECT count(*) FROM slash_choices"); n != 0 {
		t.Error("a slash command choice was made through B's routes")
	}
	if n := e.count("SELECT count(*) FROM points_values") + e.count("SELECT count(*) FROM points_ledger"); n != 0 {
		t.Error("points changed through B's routes")
	}
	if n := e.count("SELECT count(*) FROM reputation_events") + e.count("SELECT count(*) FROM community_people WHERE reputation <> 0"); n != 0 {
		t.Error("a reputation changed through B's routes")
	}
	if n := e.count("SELECT count(*) FROM counters WHERE community_id = $1 AND name = 'deaths' AND value = 7", B); n != 1 || e.count("SELECT count(*) FROM counters") != 1 {
		t.Error("B's counter changed, or a counter was created through B's routes")
	}
	if n := e.count("SELECT count(*) FROM viewer_tracking"); n != 0 {
		t.Error("viewer tracking changed through B's routes")
	}
	if id, err := e.auth.AuthenticateAPIKey(ctx, keySecretB); err != nil || id.CommunityID != B {
		t.Errorf("B's key was revoked or regenerated: %+v, %v", id, err)
	}
	if n := e.count("SELECT count(*) FROM api_keys WHERE name = 'evil' OR community_id = $1 AND id <> $2", B, keyB.ID); n != 0 {
		t.Error("a key was created in B through B's routes")
	}
	if n := e.count("SELECT count(*) FROM timers WHERE community_id = $1 AND id = $2 AND name = 'beta' AND message = 'Beta says hi' AND enabled", B, timerB.ID); n != 1 ||
		e.count("SELECT count(*) FROM timers") != 1 {
		t.Error("B's timer changed, or a timer was created")
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND actor_id = $2", B, alice.ID); n != 0 {
		t.Errorf("%d audit entries by alice in B", n)
	}

	if n := e.count("SELECT count(*) FROM imports WHERE community_id = $1 AND state = 'previewed'", B) + e.count("SELECT count(*) FROM imports"); n != 2 {
		t.Error("imports changed through B's routes")
	}

	// Every community route is in the tables above: a new route must be added here.
	covered := map[string]bool{}
	for _, c := range append(hubCases, apiCases...) {
		covered[c.method+" "+c.pattern] = true
	}
	routes := e.srvRoutes()
	err = chi.Walk(routes, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.Contains(pattern, "{cid}") && !covered[method+" "+pattern] {
			t.Errorf("route %s %s is not covered by the cross-community test", method, pattern)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
