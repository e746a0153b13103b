package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// lastAudit returns the community's newest audit entry of action.
func (b *botEnv) lastAudit(t *testing.T, action string) audit.Item {
	t.Helper()
	items, err := audit.Log{Pool: b.pool}.ListCommunity(t.Context(), b.c.ID, audit.Filter{Action: action, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) == 0 {
		t.Fatalf("no %s in the audit log", action)
	}
	return items[0]
}

// decoded reads a before or after for comparison; nil stays nil.
func decoded(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	if raw == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v", raw, err)
	}
	return m
}

// auditState is everything but the id and time of an entry, as a test expects it.
type auditState struct {
	Email, Name, Target string
	Before, After       map[string]any
	Changes             []string
}

func stateOfItem(t *testing.T, it audit.Item) auditState {
	t.Helper()
	st := auditState{Email: it.ActorEmail, Name: it.ActorName, Target: it.Target, Before: decoded(t, it.Before), After: decoded(t, it.After)}
	for _, c := range it.Changes() {
		st.Changes = append(st.Changes, c.String())
	}
	return st
}

// overlayToken reads the secret URL's token from the page that shows it once.
func overlayToken(t *testing.T, b *botEnv, res response) string {
	t.Helper()
	u := res.doc(t).Find(`[data-testid=overlay-url]`).AttrOr("value", "")
	m := regexp.MustCompile(`/overlay/([A-Za-z0-9_-]{43})$`).FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("no overlay URL shown: %d %q", res.StatusCode, formError(t, res))
	}
	return m[1]
}

func (b *botEnv) id(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := b.pool.QueryRow(t.Context(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func anyStrings(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestAuditRecordsEveryBotChange makes each kind of change through the hub's
// handlers, as an admin would, and reads the audit log back: the actor, the
// action, the target, the state before and after, and the change as the page shows it.
func TestAuditRecordsEveryBotChange(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	const ann = "ann@example.com"
	hub := b.admin
	allPlatforms := anyStrings(router.Platforms)
	hug := map[string]any{"name": "hug", "response": "hugs", "modules": []any{}, "parallel": false, "permission": "everyone",
		"user_cooldown_seconds": 0.0, "global_cooldown_seconds": 0.0, "enabled": true, "platforms": allPlatforms}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	var overlayTokens []string
	var cmdID, ruleID, modID, srcID int64

	steps := []struct {
		name   string
		do     func(t *testing.T) response
		status int
		action string
		want   func() auditState
	}{
		{"prefix", func(t *testing.T) response {
			return hub.post(b.path("/prefix"), url.Values{"prefix": {"?"}}, nil)
		}, http.StatusSeeOther, audit.PrefixChanged, func() auditState {
			return auditState{Email: ann, Target: "command prefix", Before: map[string]any{"prefix": "!"}, After: map[string]any{"prefix": "?"},
				Changes: []string{`prefix: "!" → "?"`}}
		}},
		{"command created", func(t *testing.T) response {
			return hub.post(b.path("/commands"), url.Values{"name": {"hug"}, "response": {"hugs"}, "permission": {"everyone"}, "enabled": {"on"},
				"platforms": router.Platforms}, nil)
		}, http.StatusSeeOther, audit.CommandCreated, func() auditState {
			cmdID = b.command(t, "hug").ID
			return auditState{Email: ann, Target: "command hug", After: hug, Changes: []string{
				`enabled: true`, `global_cooldown_seconds: 0`, `modules: []`, `name: "hug"`, `parallel: false`, `permission: "everyone"`,
				`platforms: ["twitch","discord","slack"]`, `response: "hugs"`, `user_cooldown_seconds: 0`}}
		}},
		{"command updated", func(t *testing.T) response {
			return hub.post(b.path("/commands/%d", cmdID), url.Values{"response": {"big hugs"}, "permission": {"vip"}, "user_cooldown": {"0"},
				"global_cooldown": {"30"}, "platforms": router.Platforms, "enabled": {"on"}}, nil)
		}, http.StatusSeeOther, audit.CommandUpdated, func() auditState {
			return auditState{Email: ann, Target: "command hug", Before: hug,
				After:   with(hug, "response", "big hugs", "permission", "vip", "global_cooldown_seconds", 30.0),
				Changes: []string{`global_cooldown_seconds: 0 → 30`, `permission: "everyone" → "vip"`, `response: "hugs" → "big hugs"`}}
		}},
		{"command disabled", func(t *testing.T) response {
			return hub.post(b.path("/commands/%d/toggle", cmdID), nil, nil)
		}, http.StatusSeeOther, audit.CommandUpdated, func() auditState {
			big := with(hug, "response", "big hugs", "permission", "vip", "global_cooldown_seconds", 30.0)
			return auditState{Email: ann, Target: "command hug", Before: big, After: with(big, "enabled", false),
				Changes: []string{`enabled: true → false`}}
		}},
		{"alias added", func(t *testing.T) response {
			return hub.post(b.path("/commands/%d/aliases", cmdID), url.Values{"alias": {"Cuddle"}}, nil)
		}, http.StatusSeeOther, audit.AliasAdded, func() auditState {
			return auditState{Email: ann, Target: "alias cuddle of command hug", After: map[string]any{"alias": "cuddle", "command": "hug"},
				Changes: []string{`alias: "cuddle"`, `command: "hug"`}}
		}},
		{"second alias added", func(t *testing.T) response {
			return hub.post(b.path("/commands/%d/aliases", cmdID), url.Values{"alias": {"squeeze"}}, nil)
		}, http.StatusSeeOther, audit.AliasAdded, func() auditState {
			return auditState{Email: ann, Target: "alias squeeze of command hug", After: map[string]any{"alias": "squeeze", "command": "hug"},
				Changes: []string{`alias: "squeeze"`, `command: "hug"`}}
		}},
		{"alias deleted", func(t *testing.T) response {
			return hub.post(b.path("/commands/%d/aliases/cuddle/delete", cmdID), nil, nil)
		}, http.StatusSeeOther, audit.AliasDeleted, func() auditState {
			return auditState{Email: ann, Target: "alias cuddle of command hug", Before: map[string]any{"alias": "cuddle", "command": "hug"},
				Changes: []string{`alias: "cuddle"`, `command: "hug"`}}
		}},
		{"command deleted", func(t *testing.T) response {
			return hub.post(b.path("/commands/%d/delete", cmdID), nil, nil)
		}, http.StatusSeeOther, audit.CommandDeleted, func() auditState {
			before := with(hug, "response", "big hugs", "permission", "vip", "global_cooldown_seconds", 30.0, "enabled", false,
				"aliases", []any{"squeeze"})
			return auditState{Email: ann, Target: "command hug", Before: before, Changes: []string{
				`aliases: ["squeeze"]`, `enabled: false`, `global_cooldown_seconds: 30`, `modules: []`, `name: "hug"`, `parallel: false`,
				`permission: "vip"`, `platforms: ["twitch","discord","slack"]`, `response: "big hugs"`, `user_cooldown_seconds: 0`}}
		}},
		{"rule created", func(t *testing.T) response {
			return hub.post(b.path("/moderation/rules"), url.Values{"priority": {"5"}, "match": {"contains"}, "pattern": {"spam"},
				"action": {"timeout"}, "timeout_seconds": {"60"}, "exempt_moderators": {"on"}}, nil)
		}, http.StatusSeeOther, audit.RuleCreated, func() auditState {
			ruleID = b.id(t, "SELECT id FROM moderation_rules WHERE community_id = $1 AND pattern = 'spam'", b.c.ID)
			return auditState{Email: ann, Target: fmt.Sprintf(`rule %d (contains "spam")`, ruleID), After: spamRule, Changes: spamRuleChanges}
		}},
		{"rule deleted", func(t *testing.T) response {
			return hub.post(b.path("/moderation/rules/%d/delete", ruleID), nil, nil)
		}, http.StatusSeeOther, audit.RuleDeleted, func() auditState {
			return auditState{Email: ann, Target: fmt.Sprintf(`rule %d (contains "spam")`, ruleID), Before: spamRule, Changes: spamRuleChanges}
		}},
		{"points value", func(t *testing.T) response {
			return hub.post(b.path("/points/twitch.follow"), url.Values{"points": {"25"}}, nil)
		}, http.StatusSeeOther, audit.PointsValueChanged, func() auditState {
			def := float64(router.DefaultPoints["twitch.follow"])
			return auditState{Email: ann, Target: "points for twitch.follow", Before: map[string]any{"points": def}, After: map[string]any{"points": 25.0},
				Changes: []string{fmt.Sprintf("points: %v → 25", def)}}
		}},
		{"points value back to the default", func(t *testing.T) response {
			return hub.post(b.path("/points/twitch.follow"), url.Values{"points": {fmt.Sprint(router.DefaultPoints["twitch.follow"])}}, nil)
		}, http.StatusSeeOther, audit.PointsValueChanged, func() auditState {
			def := float64(router.DefaultPoints["twitch.follow"])
			return auditState{Email: ann, Target: "points for twitch.follow", Before: map[string]any{"points": 25.0}, After: map[string]any{"points": def},
				Changes: []string{fmt.Sprintf("points: 25 → %v", def)}}
		}},
		{"webhook module created", func(t *testing.T) response {
			return hub.post(b.path("/modules"), webhookForm("https://hooks.example.com/waddle/t0ken-in-path?token=abc"), nil)
		}, http.StatusSeeOther, audit.ModuleCreated, func() auditState {
			modID = b.id(t, "SELECT id FROM community_modules WHERE community_id = $1 AND name = 'ping'", b.c.ID)
			return auditState{Email: ann, Target: "module #ping", After: pingModule, Changes: pingModuleChanges}
		}},
		{"lambda module created", func(t *testing.T) response {
			return hub.post(b.path("/modules"), url.Values{"name": {"lam"}, "kind": {"lambda"}, "function": {"hello"}, "region": {"us-east-1"},
				"access_key_id": {"AKIAIOSFODNN7EXAMPLE"}, "secret_access_key": {lambdaSecretKey}, "timeout_ms": {"3000"}}, nil)
		}, http.StatusSeeOther, audit.ModuleCreated, func() auditState {
			return auditState{Email: ann, Target: "module #lam", After: map[string]any{"name": "lam", "kind": "lambda", "function": "hello",
				"region": "us-east-1", "access_key_id": "(set)", "secret_access_key": "(set)", "timeout_ms": 3000.0, "permission": "everyone", "enabled": true},
				Changes: []string{`access_key_id: (set)`, `enabled: true`, `function: "hello"`, `kind: "lambda"`, `name: "lam"`, `permission: "everyone"`,
					`region: "us-east-1"`, `secret_access_key: (set)`, `timeout_ms: 3000`}}
		}},
		{"module deleted", func(t *testing.T) response {
			return hub.post(b.path("/modules/%d/delete", modID), nil, nil)
		}, http.StatusSeeOther, audit.ModuleDeleted, func() auditState {
			return auditState{Email: ann, Target: "module #ping", Before: pingModule, Changes: pingModuleChanges}
		}},
		{"overlay created", func(t *testing.T) response {
			res := hub.post(b.path("/overlays"), url.Values{"kind": {"ticker"}, "name": {"News"}}, nil)
			overlayTokens = append(overlayTokens, overlayToken(t, b, res))
			return res
		}, http.StatusCreated, audit.OverlayCreated, func() auditState {
			srcID = b.id(t, "SELECT id FROM overlay_sources WHERE community_id = $1 AND name = 'News'", b.c.ID)
			return auditState{Email: ann, Target: "ticker overlay News", After: map[string]any{"kind": "ticker", "name": "News"},
				Changes: []string{`kind: "ticker"`, `name: "News"`}}
		}},
		{"overlay settings", func(t *testing.T) response {
			return hub.post(b.path("/overlays/%d", srcID), url.Values{"name": {"Breaking news"}}, nil)
		}, http.StatusSeeOther, audit.OverlaySettings, func() auditState {
			return auditState{Email: ann, Target: "ticker overlay News", Before: map[string]any{"kind": "ticker", "name": "News"},
				After: map[string]any{"kind": "ticker", "name": "Breaking news"}, Changes: []string{`name: "News" → "Breaking news"`}}
		}},
		{"overlay content", func(t *testing.T) response {
			return hub.post(b.path("/overlays/%d/content", srcID), url.Values{"text": {"Duck <b>race</b> at 9"}}, nil)
		}, http.StatusSeeOther, audit.OverlayContentSet, func() auditState {
			return auditState{Email: ann, Target: "ticker overlay Breaking news", Before: map[string]any{}, After: map[string]any{"text": "Duck <b>race</b> at 9"},
				Changes: []string{`text: (none) → "Duck <b>race</b> at 9"`}}
		}},
		{"overlay URL regenerated", func(t *testing.T) response {
			res := hub.post(b.path("/overlays/%d/regenerate", srcID), nil, nil)
			overlayTokens = append(overlayTokens, overlayToken(t, b, res))
			return res
		}, http.StatusOK, audit.OverlayURLRenewed, func() auditState {
			return auditState{Email: ann, Target: "ticker overlay Breaking news", After: map[string]any{"url": "(changed)"},
				Changes: []string{`url: (changed)`}}
		}},
		{"overlay deleted", func(t *testing.T) response {
			return hub.post(b.path("/overlays/%d/delete", srcID), nil, nil)
		}, http.StatusSeeOther, audit.OverlayDeleted, func() auditState {
			return auditState{Email: ann, Target: "ticker overlay Breaking news",
				Before:  map[string]any{"kind": "ticker", "name": "Breaking news", "text": "Duck <b>race</b> at 9"},
				Changes: []string{`kind: "ticker"`, `name: "Breaking news"`, `text: "Duck <b>race</b> at 9"`}}
		}},
		{"command created from chat in the simulator", func(t *testing.T) response {
			return hub.post(b.path("/simulator"), url.Values{"platform": {"twitch"}, "user": {"Alice"}, "kind": {"chat_message"},
				"badges": {"moderator"}, "text": {"?commands add wave o/"}, "real_ok": {"1"}}, nil)
		}, http.StatusOK, audit.CommandCreated, func() auditState {
			return auditState{Email: ann, Name: "simulator, as twitch user Alice (id sim:alice)", Target: "command wave",
				After: map[string]any{"name": "wave", "response": "o/", "modules": []any{}, "parallel": false, "permission": "everyone",
					"user_cooldown_seconds": 0.0, "global_cooldown_seconds": 0.0, "enabled": true, "platforms": allPlatforms},
				Changes: []string{`enabled: true`, `global_cooldown_seconds: 0`, `modules: []`, `name: "wave"`, `parallel: false`,
					`permission: "everyone"`, `platforms: ["twitch","discord","slack"]`, `response: "o/"`, `user_cooldown_seconds: 0`}}
		}},
	}
	for _, s := range steps {
		before := b.count("SELECT count(*) FROM audit_log WHERE community_id = $1", b.c.ID)
		res := s.do(t)
		if res.StatusCode != s.status {
			t.Fatalf("%s: %d, want %d: %q %.300s", s.name, res.StatusCode, s.status, formError(t, res), res.body)
		}
		if n := b.count("SELECT count(*) FROM audit_log WHERE community_id = $1", b.c.ID); n != before+1 {
			t.Errorf("%s: %d audit entries recorded, want 1", s.name, n-before)
		}
		it := b.lastAudit(t, s.action)
		if it.ActorName == "" && it.IP == "" {
			t.Errorf("%s: no IP recorded for a hub user", s.name)
		}
		if d := cmp.Diff(s.want(), stateOfItem(t, it)); d != "" {
			t.Errorf("%s: %s entry (-want +got):\n%s", s.name, s.action, d)
		}
	}

	// No secret the admin typed, and no overlay URL, is anywhere in the log,
	// nor on the audit page, nor in the API's answer.
	var dump string
	if err := b.pool.QueryRow(t.Context(), `SELECT string_agg(concat_ws(' ', actor_email, actor_name, action, target, ip, before::text, after::text), E'\n')
		FROM audit_log`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	page := hub.get(b.path("/audit"), nil)
	annUser, err := b.auth.UserByEmail(t.Context(), ann)
	if err != nil {
		t.Fatal(err)
	}
	_, api := b.api(b.apiKey(annUser, "user"), "GET", fmt.Sprintf("/communities/%d/audit", b.c.ID), "")
	apiBody, _ := json.Marshal(api)
	for what, text := range map[string]string{"the audit log": dump, "the audit page": page.body, "the audit API": string(apiBody)} {
		for _, secret := range append([]string{hookSecret, lambdaSecretKey, "AKIAIOSFODNN7EXAMPLE", "t0ken-in-path", "token=abc"}, overlayTokens...) {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the secret %q", what, secret)
			}
		}
	}
	if !strings.Contains(dump, `"secret": "(set)"`) || !strings.Contains(dump, `"url": "(changed)"`) {
		t.Errorf("the log does not say the secrets were set or changed:\n%s", dump)
	}
}

var (
	spamRule = map[string]any{"priority": 5.0, "match": "contains", "pattern": "spam", "action": "timeout", "response": "", "timeout_seconds": 60.0,
		"exempt_moderators": true, "exempt_subscribers": false, "enabled": true}
	spamRuleChanges = []string{`action: "timeout"`, `enabled: true`, `exempt_moderators: true`, `exempt_subscribers: false`, `match: "contains"`,
		`pattern: "spam"`, `priority: 5`, `response: ""`, `timeout_seconds: 60`}
	pingModule = map[string]any{"name": "ping", "kind": "webhook", "url": "https://hooks.example.com/…", "secret": "(set)", "timeout_ms": 2000.0,
		"permission": "everyone", "enabled": true}
	pingModuleChanges = []string{`enabled: true`, `kind: "webhook"`, `name: "ping"`, `permission: "everyone"`, `secret: (set)`, `timeout_ms: 2000`,
		`url: "https://hooks.example.com/…"`}
)

// TestAuditRecordsNothingForFailedChanges sends changes the hub refuses (bad
// input, unknown ids, a name taken, which fails inside the transaction) and
// saves that change nothing: none of them is recorded.
func TestAuditRecordsNothingForFailedChanges(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	hub := b.admin
	cmd := b.mustCommand(t, "hug", "hugs")
	if res := hub.post(b.path("/modules"), webhookForm("https://hooks.example.com/x"), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create module: %d %q", res.StatusCode, formError(t, res))
	}
	src, _ := b.mustOverlay(t, b.c.ID, "ticker", "News")
	recorded := b.count("SELECT count(*) FROM audit_log")

	cases := []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"unknown prefix", "/prefix", url.Values{"prefix": {"x"}}, http.StatusBadRequest},
		{"prefix saved unchanged", "/prefix", url.Values{"prefix": {"!"}}, http.StatusSeeOther},
		{"command with a built-in name", "/commands", url.Values{"name": {"help"}, "response": {"x"}, "permission": {"everyone"}}, http.StatusBadRequest},
		{"command name taken", "/commands", url.Values{"name": {"hug"}, "response": {"x"}, "permission": {"everyone"}}, http.StatusBadRequest},
		{"command with a bad permission", fmt.Sprintf("/commands/%d", cmd.ID), url.Values{"response": {"x"}, "permission": {"emperor"}}, http.StatusBadRequest},
		{"command saved unchanged", fmt.Sprintf("/commands/%d", cmd.ID), url.Values{"response": {"hugs"}, "permission": {"everyone"},
			"platforms": router.Platforms, "enabled": {"on"}}, http.StatusSeeOther},
		{"unknown command", "/commands/999999/delete", nil, http.StatusNotFound},
		{"alias that is a built-in", fmt.Sprintf("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"help"}}, http.StatusBadRequest},
		{"alias that is the command", fmt.Sprintf("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"hug"}}, http.StatusBadRequest},
		{"unknown alias", fmt.Sprintf("/commands/%d/aliases/nope/delete", cmd.ID), nil, http.StatusNotFound},
		{"rule that does not compile", "/moderation/rules", url.Values{"match": {"regex"}, "pattern": {"("}, "action": {"delete"}}, http.StatusBadRequest},
		{"unknown rule", "/moderation/rules/999999/delete", nil, http.StatusNotFound},
		{"points out of range", "/points/twitch.follow", url.Values{"points": {"1000000"}}, http.StatusBadRequest},
		{"points of an unknown event", "/points/twitch.nope", url.Values{"points": {"5"}}, http.StatusBadRequest},
		{"points saved unchanged", "/points/twitch.follow", url.Values{"points": {fmt.Sprint(router.DefaultPoints["twitch.follow"])}}, http.StatusSeeOther},
		{"module name taken", "/modules", webhookForm("https://hooks.example.com/y"), http.StatusBadRequest},
		{"module at a private address", "/modules", url.Values{"name": {"lan"}, "kind": {"webhook"}, "url": {"ftp://hooks.example.com"}, "secret": {hookSecret}}, http.StatusBadRequest},
		{"unknown module", "/modules/999999/delete", nil, http.StatusNotFound},
		{"overlay of an unknown kind", "/overlays", url.Values{"kind": {"hologram"}, "name": {"x"}}, http.StatusBadRequest},
		{"overlay without a name", fmt.Sprintf("/overlays/%d", src.ID), url.Values{"name": {"  "}}, http.StatusBadRequest},
		{"overlay content too long", fmt.Sprintf("/overlays/%d/content", src.ID), url.Values{"text": {strings.Repeat("x", 10001)}}, http.StatusBadRequest},
		{"overlay saved unchanged", fmt.Sprintf("/overlays/%d", src.ID), url.Values{"name": {"News"}}, http.StatusSeeOther},
		{"unknown overlay", "/overlays/999999/regenerate", nil, http.StatusNotFound},
		{"unknown overlay deleted", "/overlays/999999/delete", nil, http.StatusNotFound},
	}
	for _, tc := range cases {
		res := hub.post(b.path("%s", tc.path), tc.form, nil)
		if res.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d (%q)", tc.name, res.StatusCode, tc.status, formError(t, res))
		}
		if n := b.count("SELECT count(*) FROM audit_log"); n != recorded {
			t.Errorf("%s: %d entries recorded, want none", tc.name, n-recorded)
			recorded = n
		}
	}
	// A plain member may change nothing, so nothing is recorded either.
	if res := b.member.post(b.path("/prefix"), url.Values{"prefix": {"?"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("member changing the prefix: %d", res.StatusCode)
	}
	// A dry run in the simulator changes nothing and records nothing.
	res := hub.post(b.path("/simulator"), url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"},
		"badges": {"moderator"}, "text": {"!commands add wave o/"}, "dry_run": {"on"}}, nil)
	if res.StatusCode != 200 || !strings.Contains(res.body, "would be added") {
		t.Errorf("dry run: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM audit_log"); n != recorded {
		t.Errorf("a refused change or a dry run recorded %d entries", n-recorded)
	}
}

// TestAuditChangeAndRecordCommitTogether makes the audit log refuse every
// insert: each change then fails as a whole, leaving the bot as it was. A
// change is never made without its record.
func TestAuditChangeAndRecordCommitTogether(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	hub := b.admin
	cmd := b.mustCommand(t, "hug", "hugs")
	if err := b.settings.AddAlias(t.Context(), audit.Actor{}, b.c.ID, "cuddle", "hug"); err != nil {
		t.Fatal(err)
	}
	rule, err := b.settings.CreateRule(t.Context(), audit.Actor{}, b.c.ID, router.RuleInput{Priority: 1, Match: router.MatchWord, Pattern: "spam", Action: router.ActionDelete})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := b.settings.CreateModule(t.Context(), audit.Actor{}, b.c.ID, router.ModuleInput{Name: "ping", Kind: "webhook", URL: "https://hooks.example.com/x", Secret: hookSecret})
	if err != nil {
		t.Fatal(err)
	}
	src, token := b.mustOverlay(t, b.c.ID, "ticker", "News")
	snapshot := func() string {
		t.Helper()
		var s string
		err := b.pool.QueryRow(t.Context(), `SELECT concat_ws(' | ',
			(SELECT command_prefix FROM communities WHERE id = $1),
			(SELECT string_agg(concat_ws(',', name, response, enabled, counter), ';' ORDER BY name) FROM commands WHERE community_id = $1),
			(SELECT string_agg(alias, ',' ORDER BY alias) FROM command_aliases WHERE community_id = $1),
			(SELECT string_agg(pattern, ',' ORDER BY id) FROM moderation_rules WHERE community_id = $1),
			(SELECT string_agg(key || '=' || points, ',' ORDER BY key) FROM points_values WHERE community_id = $1),
			(SELECT string_agg(name, ',' ORDER BY name) FROM community_modules WHERE community_id = $1),
			(SELECT string_agg(concat_ws(',', name, settings::text, token_hash), ';' ORDER BY id) FROM overlay_sources WHERE community_id = $1),
			(SELECT count(*) FROM quotes WHERE community_id = $1))`, b.c.ID).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := snapshot()
	if _, err := b.pool.Exec(t.Context(), `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'the audit log is read-only in this test'; END $$;
		CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		path string
		form url.Values
	}{
		{"prefix", "/prefix", url.Values{"prefix": {"?"}}},
		{"command created", "/commands", url.Values{"name": {"wave"}, "response": {"o/"}, "permission": {"everyone"}}},
		{"command updated", fmt.Sprintf("/commands/%d", cmd.ID), url.Values{"response": {"big hugs"}, "permission": {"everyone"}, "enabled": {"on"}}},
		{"command toggled", fmt.Sprintf("/commands/%d/toggle", cmd.ID), nil},
		{"command deleted", fmt.Sprintf("/commands/%d/delete", cmd.ID), nil},
		{"alias added", fmt.Sprintf("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"squeeze"}}},
		{"alias deleted", fmt.Sprintf("/commands/%d/aliases/cuddle/delete", cmd.ID), nil},
		{"rule created", "/moderation/rules", url.Values{"match": {"word"}, "pattern": {"eggs"}, "action": {"delete"}}},
		{"rule deleted", fmt.Sprintf("/moderation/rules/%d/delete", rule.ID), nil},
		{"points value", "/points/twitch.follow", url.Values{"points": {"77"}}},
		{"module created", "/modules", url.Values{"name": {"pong"}, "kind": {"webhook"}, "url": {"https://hooks.example.com/y"}, "secret": {hookSecret}}},
		{"module deleted", fmt.Sprintf("/modules/%d/delete", mod.ID), nil},
		{"overlay created", "/overlays", url.Values{"kind": {"alerts"}, "name": {"Alerts"}}},
		{"overlay settings", fmt.Sprintf("/overlays/%d", src.ID), url.Values{"name": {"Renamed"}}},
		{"overlay content", fmt.Sprintf("/overlays/%d/content", src.ID), url.Values{"text": {"Hello"}}},
		{"overlay URL regenerated", fmt.Sprintf("/overlays/%d/regenerate", src.ID), nil},
		{"overlay deleted", fmt.Sprintf("/overlays/%d/delete", src.ID), nil},
		{"quote added from chat", "/simulator", url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"},
			"badges": {"moderator"}, "text": {"!quote add Quack"}, "real_ok": {"1"}}},
		{"counter set from chat", "/simulator", url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"},
			"badges": {"moderator"}, "text": {"!counter hug set 9"}, "real_ok": {"1"}}},
	}
	for _, tc := range cases {
		res := hub.post(b.path("%s", tc.path), tc.form, nil)
		if res.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s: %d, want 500 when the change cannot be recorded", tc.name, res.StatusCode)
		}
		if got := snapshot(); got != want {
			t.Errorf("%s: the change was made without its record:\n got %s\nwant %s", tc.name, got, want)
		}
	}
	if res := b.client().get("/overlay/"+token, nil); res.StatusCode != http.StatusOK {
		t.Errorf("the overlay's URL stopped working: %d", res.StatusCode)
	}
}

// TestAuditPageFiltersBotChanges filters the audit page and the API by the
