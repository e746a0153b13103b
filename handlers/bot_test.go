package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/router"
)

// botEnv is a community with an owner (root), an admin (ann) and a plain member (mo).
type botEnv struct {
	*env
	c      community.Community
	admin  *client
	member *client
}

func newBotEnv(t *testing.T) *botEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	mo := e.user("mo@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{ann: community.Admin, mo: community.Member})
	return &botEnv{env: e, c: c, admin: e.signedIn(ann.Email), member: e.signedIn(mo.Email)}
}

func (b *botEnv) path(format string, args ...any) string {
	return fmt.Sprintf("/c/%d", b.c.ID) + fmt.Sprintf(format, args...)
}

// mustCommand creates a command through the router.
func (b *botEnv) mustCommand(t *testing.T, name, response string) *router.Command {
	t.Helper()
	c, err := b.settings.CreateCommand(context.Background(), audit.Actor{}, b.c.ID, router.CommandInput{Name: name, Response: response, Permission: router.Everyone, Enabled: true})
	if err != nil {
		t.Fatalf("create command %s: %v", name, err)
	}
	return c
}

// command reads a command back from the router.
func (b *botEnv) command(t *testing.T, name string) *router.Command {
	t.Helper()
	c, err := b.settings.CommandByName(context.Background(), b.c.ID, name)
	if err != nil {
		t.Fatalf("command %s: %v", name, err)
	}
	return c
}

func formError(t *testing.T, res response) string {
	t.Helper()
	return res.doc(t).Find(`[data-testid=form-error]`).Text()
}

func TestCommandsWithPlainForms(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin

	res := hub.post(b.path("/commands"), url.Values{"name": {"!Hug"}, "response": {"{user} hugs {touser} (#{count})"}, "permission": {"vip"},
		"user_cooldown": {"5"}, "global_cooldown": {"2"}, "platforms": {"twitch", "discord"}, "enabled": {"on"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/commands") {
		t.Fatalf("create: %d %q: %.300s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	got := b.command(t, "hug")
	want := router.Command{ID: got.ID, Name: "hug", Response: "{user} hugs {touser} (#{count})", Modules: []string{}, Permission: "vip",
		UserCooldown: 5e9, GlobalCooldown: 2e9, Enabled: true, Platforms: []string{"twitch", "discord"}}
	if d := cmp.Diff(want, *got); d != "" {
		t.Errorf("created command (-want +got):\n%s", d)
	}
	page := hub.get(b.path("/commands"), nil)
	doc := page.doc(t)
	if f := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Command !hug created.") {
		t.Errorf("flash %q", f)
	}
	row := doc.Find(fmt.Sprintf(`#command-%d`, got.ID))
	if row.Find(`[data-testid=command-row-name]`).Text() != "!hug" || row.Find(`[data-testid=command-row-permission]`).Text() != "vip" ||
		!strings.Contains(row.Text(), "twitch, discord") || row.Find(`[data-testid=command-row-state]`).Text() != "enabled" {
		t.Errorf("the row shows %q", row.Text())
	}
	if n := doc.Find(`[data-testid=builtins] li`).Length(); n != 9 || !strings.Contains(doc.Find(`[data-testid=builtins]`).Text(), "!so") {
		t.Errorf("%d built-in commands listed, want 9 with !so", n)
	}

	// Edit without JavaScript: the edit link opens the page with the row as a form.
	edit := hub.get(b.path("/commands/%d/edit", got.ID), nil)
	form := edit.doc(t).Find(`[data-testid=command-edit-form]`)
	if edit.StatusCode != 200 || form.Length() != 1 || form.Find(`textarea[name=response]`).Text() != got.Response ||
		form.Find(`option[selected]`).AttrOr("value", "") != "vip" {
		t.Fatalf("edit page: %d, form %q", edit.StatusCode, form.Text())
	}
	res = hub.post(b.path("/commands/%d", got.ID), url.Values{"response": {"hugs!"}, "permission": {"moderator"}, "user_cooldown": {"0"},
		"global_cooldown": {"30"}, "platforms": {"slack"}, "enabled": {"on"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %.300s", res.StatusCode, res.body)
	}
	if c := b.command(t, "hug"); c.Response != "hugs!" || c.Permission != "moderator" || c.GlobalCooldown != 30e9 || c.UserCooldown != 0 ||
		!cmp.Equal(c.Platforms, []string{"slack"}) {
		t.Errorf("after save: %+v", c)
	}
	// A bad edit shows the form again with the reason and changes nothing.
	res = hub.post(b.path("/commands/%d", got.ID), url.Values{"response": {"x"}, "permission": {"emperor"}}, nil)
	if res.StatusCode != 400 || !strings.Contains(formError(t, res), "Choose who may use it") ||
		res.doc(t).Find(`[data-testid=command-edit-form] textarea`).Text() != "x" {
		t.Errorf("bad edit: %d %q", res.StatusCode, formError(t, res))
	}
	if c := b.command(t, "hug"); c.Response != "hugs!" {
		t.Errorf("a bad edit changed the response to %q", c.Response)
	}

	// Toggle off and on.
	if res := hub.post(b.path("/commands/%d/toggle", got.ID), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("toggle: %d", res.StatusCode)
	}
	if b.command(t, "hug").Enabled {
		t.Error("toggle did not disable the command")
	}
	if st := hub.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=command-row-state]`).Text(); st != "disabled" {
		t.Errorf("state shows %q after disabling", st)
	}
	hub.post(b.path("/commands/%d/toggle", got.ID), nil, nil)
	if c := b.command(t, "hug"); !c.Enabled || c.Response != "hugs!" || c.Permission != "moderator" {
		t.Errorf("toggling back: %+v", c)
	}

	// Aliases.
	if res := hub.post(b.path("/commands/%d/aliases", got.ID), url.Values{"alias": {"!Cuddle"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add alias: %d %.300s", res.StatusCode, res.body)
	}
	if got := hub.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=command-alias]`).Text(); got != "!cuddle" {
		t.Errorf("aliases shown: %q", got)
	}
	for _, bad := range []string{"hug", "ban", "help", "no spaces"} {
		res := hub.post(b.path("/commands/%d/aliases", got.ID), url.Values{"alias": {bad}}, nil)
		if res.StatusCode != 400 || formError(t, res) == "" {
			t.Errorf("alias %q: %d %q", bad, res.StatusCode, formError(t, res))
		}
	}
	if n := b.count("SELECT count(*) FROM command_aliases WHERE command_id = $1", got.ID); n != 1 {
		t.Errorf("%d aliases, want 1", n)
	}
	if res := hub.post(b.path("/commands/%d/aliases/cuddle/delete", got.ID), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove alias: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM command_aliases WHERE command_id = $1", got.ID); n != 0 {
		t.Error("the alias was not removed")
	}
	if res := hub.post(b.path("/commands/%d/aliases/cuddle/delete", got.ID), nil, nil); res.StatusCode != 404 {
		t.Errorf("removing a missing alias: %d, want 404", res.StatusCode)
	}

	// Prefix.
	if res := hub.post(b.path("/prefix"), url.Values{"prefix": {"?"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("prefix: %d", res.StatusCode)
	}
	if got := hub.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=command-row-name]`).Text(); got != "?hug" {
		t.Errorf("with prefix ?, the command shows as %q", got)
	}
	res = hub.post(b.path("/prefix"), url.Values{"prefix": {"/"}}, nil)
	if res.StatusCode != 400 || !strings.Contains(formError(t, res), "Choose one of") {
		t.Errorf("bad prefix: %d %q", res.StatusCode, formError(t, res))
	}
	if n := b.count("SELECT count(*) FROM communities WHERE id = $1 AND command_prefix = '?'", b.c.ID); n != 1 {
		t.Error("a bad prefix changed the prefix")
	}

	// Delete.
	if res := hub.post(b.path("/commands/%d/delete", got.ID), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM commands WHERE community_id = $1", b.c.ID); n != 0 {
		t.Error("the command was not deleted")
	}
	if res := hub.post(b.path("/commands/%d/delete", got.ID), nil, nil); res.StatusCode != 404 {
		t.Errorf("deleting again: %d, want 404", res.StatusCode)
	}
}

func TestCommandsWithHTMX(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	cmd := b.mustCommand(t, "lurk", "{user} lurks")

	res := hub.get(b.path("/commands/%d/edit", cmd.ID), htmx)
	doc := res.row(t)
	if res.StatusCode != 200 || doc.Find(`tr[data-testid=command-edit-row]`).Length() != 1 || doc.Find(`form[hx-post]`).AttrOr("hx-post", "") != b.path("/commands/%d", cmd.ID) {
		t.Fatalf("edit fragment: %d %s", res.StatusCode, res.body)
	}
	if strings.Contains(res.body, "<html") {
		t.Error("the edit fragment is a whole page")
	}
	// Cancel brings the row back.
	res = hub.get(b.path("/commands/%d", cmd.ID), htmx)
	if res.row(t).Find(`tr[data-testid=command-row]`).Length() != 1 {
		t.Errorf("cancel: %s", res.body)
	}

	res = hub.post(b.path("/commands/%d", cmd.ID), url.Values{"response": {"{user} is lurking"}, "permission": {"subscriber"}, "enabled": {"on"}}, htmx)
	doc = res.row(t)
	if res.StatusCode != 200 || doc.Find(`[data-testid=command-row-response]`).Text() != "{user} is lurking" ||
		doc.Find(`[data-testid=command-row-permission]`).Text() != "subscriber" {
		t.Fatalf("save: %d %s", res.StatusCode, res.body)
	}
	if c := b.command(t, "lurk"); c.Response != "{user} is lurking" || !cmp.Equal(c.Platforms, router.Platforms) {
		t.Errorf("after save: %+v (no platform ticked means all)", c)
	}

	// Errors stay in the row, as an edit form keeping what was typed.
	for _, cc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"empty response", url.Values{"response": {" "}, "permission": {"everyone"}}, "Write what the command answers"},
		{"bad permission", url.Values{"response": {"x"}, "permission": {"emperor"}}, "Choose who may use it"},
		{"negative cooldown", url.Values{"response": {"x"}, "permission": {"everyone"}, "user_cooldown": {"-1"}}, "Cooldowns are 0 to 86400 seconds."},
		{"over-long response", url.Values{"response": {strings.Repeat("r", 501)}, "permission": {"everyone"}}, "at most 500 characters"},
		{"bad platform", url.Values{"response": {"x"}, "permission": {"everyone"}, "platforms": {"myspace"}}, `Unknown platform "myspace"`},
	} {
		res := hub.post(b.path("/commands/%d", cmd.ID), cc.form, htmx)
		doc := res.row(t)
		if res.StatusCode != 200 || doc.Find(`tr[data-testid=command-edit-row]`).Length() != 1 || !strings.Contains(doc.Find(`[data-testid=form-error]`).Text(), cc.want) {
			t.Errorf("%s: %d %s", cc.name, res.StatusCode, res.body)
		}
	}
	if c := b.command(t, "lurk"); c.Response != "{user} is lurking" || c.UserCooldown != 0 {
		t.Errorf("bad edits changed the command: %+v", c)
	}

	res = hub.post(b.path("/commands/%d/toggle", cmd.ID), nil, htmx)
	if got := res.row(t).Find(`[data-testid=command-row-state]`).Text(); got != "disabled" || b.command(t, "lurk").Enabled {
		t.Errorf("toggle: state %q", got)
	}
	if got := strings.TrimSpace(res.row(t).Find(`[data-testid=command-toggle]`).Text()); got != "Enable" {
		t.Errorf("after disabling, the button says %q", got)
	}

	res = hub.post(b.path("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"afk"}}, htmx)
	if got := res.row(t).Find(`[data-testid=command-alias]`).Text(); got != "!afk" {
		t.Errorf("alias row: %s", res.body)
	}
	res = hub.post(b.path("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"so"}}, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.row(t).Find(`[data-testid=form-error]`).Text(), "cannot be an alias") {
		t.Errorf("built-in alias: %d %s", res.StatusCode, res.body)
	}
	res = hub.post(b.path("/commands/%d/aliases/afk/delete", cmd.ID), nil, htmx)
	if res.row(t).Find(`[data-testid=command-alias]`).Length() != 0 || b.count("SELECT count(*) FROM command_aliases") != 0 {
		t.Errorf("alias removal: %s", res.body)
	}

	// A module command keeps its modules through an edit and a toggle.
	mod, err := b.settings.CreateCommand(context.Background(), audit.Actor{}, b.c.ID, router.CommandInput{Name: "shout", Modules: []string{"so", "points"}, Parallel: true,
		Permission: router.Moderator, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	res = hub.post(b.path("/commands/%d", mod.ID), url.Values{"response": {""}, "permission": {"vip"}, "user_cooldown": {"9"}, "enabled": {"on"}}, htmx)
	if got := res.row(t).Find(`[data-testid=command-row-modules]`).Text(); res.StatusCode != 200 || got != "runs modules at once: so, points" {
		t.Errorf("module command after edit: %d %q", res.StatusCode, got)
	}
	hub.post(b.path("/commands/%d/toggle", mod.ID), nil, htmx)
	if c := b.command(t, "shout"); !cmp.Equal(c.Modules, []string{"so", "points"}) || !c.Parallel || c.Enabled || c.Permission != "vip" || c.UserCooldown != 9e9 {
		t.Errorf("module command after edit and toggle: %+v", c)
	}
	hub.post(b.path("/commands/%d/delete", mod.ID), nil, htmx)

	res = hub.post(b.path("/commands/%d/delete", cmd.ID), nil, htmx)
	if res.StatusCode != 200 || res.body != "" || b.count("SELECT count(*) FROM commands") != 0 {
		t.Errorf("delete: %d %q", res.StatusCode, res.body)
	}
	if res := hub.post(b.path("/commands/%d/toggle", cmd.ID), nil, htmx); res.StatusCode != 404 || res.Header.Get("HX-Reswap") != "none" {
		t.Errorf("toggling a deleted command: %d", res.StatusCode)
	}
}

func TestCommandCreateErrors(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	b.mustCommand(t, "hug", "hugs")
	ok := url.Values{"name": {"wave"}, "response": {"o/"}, "permission": {"everyone"}, "enabled": {"on"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, x := range ok {
			v[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"empty name", with("name", ""), "A command name has 1 to 32 letters"},
		{"bad name", with("name", "wave hello"), "A command name has 1 to 32 letters"},
		{"reserved name", with("name", "ban"), `"ban" is a command the chat platforms keep`},
		{"built-in name", with("name", "help"), `"help" is a built-in command.`},
		{"taken name", with("name", "HUG"), `There is already a command or alias "hug".`},
		{"empty response", with("response", "  "), "Write what the command answers"},
		{"over-long response", with("response", strings.Repeat("é", 501)), "A response has at most 500 characters."},
		{"bad permission", with("permission", "emperor"), "Choose who may use it"},
		{"missing permission", with("permission", ""), "Choose who may use it"},
		{"negative cooldown", with("user_cooldown", "-5"), "Cooldowns are 0 to 86400 seconds."},
		{"huge cooldown", with("global_cooldown", "90000"), "Cooldowns are 0 to 86400 seconds."},
		{"cooldown not a number", with("user_cooldown", "soon"), "is a whole number"},
		{"bad platform", with("platforms", "myspace"), `Unknown platform "myspace".`},
	}
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			res := b.admin.post(b.path("/commands"), cc.form, nil)
			if res.StatusCode != 400 {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			if got := formError(t, res); !strings.Contains(got, cc.want) {
				t.Errorf("error %q, want %q", got, cc.want)
			}
			// What was typed is kept.
			if got := res.doc(t).Find(`[data-testid=command-create] input[name=name]`).AttrOr("value", "?"); got != cc.form.Get("name") {
				t.Errorf("the name field holds %q, want %q", got, cc.form.Get("name"))
			}
		})
	}
	if n := b.count("SELECT count(*) FROM commands"); n != 1 {
		t.Errorf("%d commands after bad forms, want only hug", n)
	}
}

func TestMemberMayLookNotChange(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	cmd := b.mustCommand(t, "hug", "hugs")
	rule, err := b.settings.CreateRule(ctx, audit.Actor{}, b.c.ID, router.RuleInput{Priority: 1, Match: router.MatchContains, Pattern: "spam", Action: router.ActionDelete})
	if err != nil {
		t.Fatal(err)
	}
	ent, err := b.settings.LinkEntity(ctx, audit.Actor{}, b.c.ID, router.Discord, "1234", "Ducks guild")
	if err != nil {
		t.Fatal(err)
	}
	pages := []struct{ path, testid, managerOnly string }{
		{"/commands", "commands", "command-create"},
		{"/moderation", "rules", "rule-create"},
		{"/points", "points-values", "points-input"},
		{"/executions", "exec-table", ""},
		{"/servers", "servers", "server-unlink"},
		{"/simulator", "sim-form", ""},
		{"/overlays", "overlays-help", "overlay-create"},
	}
	for _, p := range pages {
		res := b.member.get(b.path("%s", p.path), nil)
		doc := res.doc(t)
		if res.StatusCode != 200 || doc.Find(fmt.Sprintf(`[data-testid=%q]`, p.testid)).Length() != 1 {
			t.Errorf("member GET %s: %d", p.path, res.StatusCode)
		}
		if p.managerOnly != "" && doc.Find(fmt.Sprintf(`[data-testid=%q]`, p.managerOnly)).Length() != 0 {
			t.Errorf("member GET %s shows %s", p.path, p.managerOnly)
		}
		if doc.Find(`[data-testid=community-nav] a`).Length() != 8 {
			t.Errorf("%s: the community's bot pages are not all linked", p.path)
		}
		// The manager sees the forms.
		if p.managerOnly != "" && b.admin.get(b.path("%s", p.path), nil).doc(t).Find(fmt.Sprintf(`[data-testid=%q]`, p.managerOnly)).Length() == 0 {
			t.Errorf("admin GET %s lacks %s", p.path, p.managerOnly)
		}
	}
	if doc := b.member.get(b.path("/commands"), nil).doc(t); doc.Find(`[data-testid=command-edit]`).Length() != 0 || doc.Find(`[data-testid=prefix]`).Text() != "!" {
		t.Error("a member sees edit links or no prefix")
	}
	// The simulator page of a member offers dry runs only.
	if doc := b.member.get(b.path("/simulator"), nil).doc(t); doc.Find(`input[type=hidden][name=dry_run]`).Length() != 1 {
		t.Error("the member's simulator form does not force a dry run")
	}

	writes := []struct {
		method, path string
		form         url.Values
	}{
		{"POST", "/prefix", url.Values{"prefix": {"?"}}},
		{"POST", "/commands", url.Values{"name": {"evil"}, "response": {"x"}, "permission": {"everyone"}}},
		{"GET", fmt.Sprintf("/commands/%d/edit", cmd.ID), nil},
		{"POST", fmt.Sprintf("/commands/%d", cmd.ID), url.Values{"response": {"pwned"}, "permission": {"everyone"}}},
		{"POST", fmt.Sprintf("/commands/%d/toggle", cmd.ID), nil},
		{"POST", fmt.Sprintf("/commands/%d/delete", cmd.ID), nil},
		{"POST", fmt.Sprintf("/commands/%d/aliases", cmd.ID), url.Values{"alias": {"evil"}}},
		{"POST", fmt.Sprintf("/commands/%d/aliases/x/delete", cmd.ID), nil},
		{"POST", "/moderation/rules", url.Values{"match": {"contains"}, "pattern": {"x"}, "action": {"ban"}}},
		{"POST", fmt.Sprintf("/moderation/rules/%d/delete", rule.ID), nil},
		{"POST", "/points/twitch.follow", url.Values{"points": {"99"}}},
		{"POST", "/servers", url.Values{"platform": {"twitch"}, "server": {"evilchan"}}},
		{"POST", fmt.Sprintf("/servers/%d/unlink", ent.ID), nil},
		{"POST", "/simulator", url.Values{"platform": {"twitch"}, "user": {"mo"}, "kind": {"follow"}}}, // not a dry run
	}
	for _, w := range writes {
		for _, hdr := range []http.Header{nil, htmx} {
			var res response
			if w.method == "GET" {
				res = b.member.get(b.path("%s", w.path), hdr)
			} else {
				res = b.member.post(b.path("%s", w.path), w.form, hdr)
			}
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("member %s %s (HTMX %v): %d, want 403", w.method, w.path, hdr != nil, res.StatusCode)
			}
		}
	}
	c := b.command(t, "hug")
	if c.Response != "hugs" || !c.Enabled || b.count("SELECT count(*) FROM commands") != 1 || b.count("SELECT count(*) FROM command_aliases") != 0 {
		t.Errorf("a member changed the commands: %+v", c)
	}
	if b.count("SELECT count(*) FROM moderation_rules") != 1 || b.count("SELECT count(*) FROM platform_entities") != 1 ||
		b.count("SELECT count(*) FROM points_values") != 0 || b.count("SELECT count(*) FROM points_ledger") != 0 ||
		b.count("SELECT count(*) FROM communities WHERE command_prefix <> '!'") != 0 {
		t.Error("a member changed rules, servers, points or the prefix")
	}
	// A member's dry run works.
	res := b.member.post(b.path("/simulator"), url.Values{"platform": {"twitch"}, "user": {"mo"}, "kind": {"chat_message"}, "text": {"!hug"}, "dry_run": {"on"}}, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.doc(t).Find(`[data-testid=sim-reply]`).Text(), "hugs") {
		t.Errorf("member dry run: %d %s", res.StatusCode, res.body)
	}
}

func TestModerationRules(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	path := b.path("/moderation/rules")
	good := url.Values{"priority": {"20"}, "match": {"word"}, "pattern": {"heck"}, "action": {"timeout"}, "timeout_seconds": {"600"},
		"response": {""}, "exempt_moderators": {"on"}}
	if res := hub.post(path, good, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %.400s", res.StatusCode, res.body)
	}
	if res := hub.post(path, url.Values{"priority": {"5"}, "match": {"regex"}, "pattern": {`^(?:buy|cheap)\b`}, "action": {"reply"},
		"response": {"{user}, no ads please"}, "exempt_subscribers": {"on"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create regex rule: %d %.400s", res.StatusCode, res.body)
	}
	rules, err := b.settings.Rules(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []router.Rule{
		{Priority: 5, Match: "regex", Pattern: `^(?:buy|cheap)\b`, Action: "reply", Response: "{user}, no ads please", ExemptSubscribers: true, Enabled: true},
		{Priority: 20, Match: "word", Pattern: "heck", Action: "timeout", TimeoutSeconds: 600, ExemptModerators: true, Enabled: true},
	}
	for i := range rules {
		rules[i].ID = 0
	}
	if d := cmp.Diff(want, rules); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	doc := hub.get(b.path("/moderation"), nil).doc(t)
	var patterns []string
	doc.Find(`[data-testid=rule-row-pattern]`).Each(func(_ int, s *goquery.Selection) { patterns = append(patterns, s.Text()) })
	if !cmp.Equal(patterns, []string{`^(?:buy|cheap)\b`, "heck"}) {
		t.Errorf("rules shown in order %v", patterns)
	}
	if got := doc.Find(`[data-testid=rule-row-action]`).Last().Text(); !strings.Contains(got, "timeout 600s") {
		t.Errorf("timeout rule shows %q", got)
	}

	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, x := range good {
			v[k] = x
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, cc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"bad regex", with("match", "regex", "pattern", "(unclosed"), "The regular expression does not compile"},
		{"over-long regex", with("match", "regex", "pattern", strings.Repeat("a", 301)), "at most 300 characters"},
		{"bad glob", with("match", "glob", "pattern", "[a-"), "The glob pattern is malformed"},
		{"unknown match", with("match", "fuzzy"), "Choose how to match"},
		{"empty pattern", with("pattern", "  "), "A pattern has 1 to 500 characters."},
		{"unknown action", with("action", "shame"), "Choose an action"},
		{"no timeout", with("timeout_seconds", "0"), "A timeout lasts 1 second to 14 days."},
		{"over-long timeout", with("timeout_seconds", "9999999"), "A timeout lasts 1 second to 14 days."},
		{"timeout not a number", with("timeout_seconds", "long"), "is a whole number"},
		{"reply without text", with("action", "reply", "response", ""), "An auto-response needs the text"},
		{"huge priority", with("priority", "99999999999"), "whole number"},
		{"priority out of range", with("priority", "2000000"), "The priority is between"},
	} {
		res := hub.post(path, cc.form, nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), cc.want) {
			t.Errorf("%s: %d %q, want 400 %q", cc.name, res.StatusCode, formError(t, res), cc.want)
		}
		if got := res.doc(t).Find(`[data-testid=rule-create] input[name=pattern]`).AttrOr("value", "?"); got != cc.form.Get("pattern") {
			t.Errorf("%s: the pattern field holds %q", cc.name, got)
		}
	}
	if n := b.count("SELECT count(*) FROM moderation_rules"); n != 2 {
		t.Errorf("%d rules after bad forms, want 2", n)
	}

	ids := []int64{}
	for _, rl := range mustRules(t, b) {
		ids = append(ids, rl.ID)
	}
	if res := hub.post(b.path("/moderation/rules/%d/delete", ids[0]), nil, htmx); res.StatusCode != 200 || res.body != "" {
		t.Errorf("HTMX delete: %d %q", res.StatusCode, res.body)
	}
	if res := hub.post(b.path("/moderation/rules/%d/delete", ids[1]), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM moderation_rules"); n != 0 {
		t.Errorf("%d rules left", n)
	}
	if res := hub.post(b.path("/moderation/rules/%d/delete", ids[1]), nil, nil); res.StatusCode != 404 {
		t.Errorf("deleting again: %d", res.StatusCode)
	}
}

func mustRules(t *testing.T, b *botEnv) []router.Rule {
	t.Helper()
	rules, err := b.settings.Rules(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

func pointsOf(t *testing.T, b *botEnv, key string) router.PointsValue {
	t.Helper()
	values, err := b.settings.PointsValues(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if v.Key == key {
			return v
		}
	}
	t.Fatalf("no points value %s", key)
	return router.PointsValue{}
}

func TestPointsPage(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	ctx := context.Background()
	for i, name := range []string{"alice", "bob", "carol"} {
		if _, err := b.settings.AddPoints(ctx, b.c.ID, router.Twitch, "id-"+name, name, int64(10*(i+1)), "test"); err != nil {
			t.Fatal(err)
		}
	}
	doc := hub.get(b.path("/points"), nil).doc(t)
	if n := doc.Find(`[data-testid=points-row]`).Length(); n != len(router.DefaultPoints) {
		t.Errorf("%d points rows, want %d", n, len(router.DefaultPoints))
	}
	var board []string
	doc.Find(`[data-testid=leaderboard-row]`).Each(func(_ int, s *goquery.Selection) {
		board = append(board, strings.Join(strings.Fields(strings.Join(s.Find("td").Map(func(_ int, td *goquery.Selection) string { return td.Text() }), " ")), " "))
	})
	if d := cmp.Diff([]string{"1 carol twitch 30", "2 bob twitch 20", "3 alice twitch 10"}, board); d != "" {
		t.Errorf("leaderboard (-want +got):\n%s", d)
	}

	// HTMX saves one row on change.
	res := hub.post(b.path("/points/twitch.follow"), url.Values{"points": {"25"}}, htmx)
	row := res.row(t)
	if res.StatusCode != 200 || row.Find(`input[data-testid=points-input]`).AttrOr("value", "") != "25" || row.Find(`[data-testid=points-custom]`).Length() != 1 {
		t.Fatalf("HTMX save: %d %s", res.StatusCode, res.body)
	}
	if v := pointsOf(t, b, "twitch.follow"); v.Points != 25 || !v.Custom {
		t.Errorf("after save: %+v", v)
	}
	// A plain form works too; the default value removes the override.
	if res := hub.post(b.path("/points/twitch.follow"), url.Values{"points": {"10"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("plain save: %d", res.StatusCode)
	}
	if v := pointsOf(t, b, "twitch.follow"); v.Points != 10 || v.Custom {
		t.Errorf("after setting the default: %+v", v)
	}
	if n := b.count("SELECT count(*) FROM points_values"); n != 0 {
		t.Errorf("%d overrides, want none", n)
	}

	for _, cc := range []struct {
		name, key, points, want string
	}{
		{"unknown key", "twitch.dance", "5", `Unknown event "twitch.dance".`},
		{"too many", "twitch.raid", "100001", "Points are between -100000 and 100000."},
		{"too few", "twitch.raid", "-100001", "Points are between -100000 and 100000."},
		{"not a number", "twitch.raid", "lots", "is a whole number"},
		{"empty", "twitch.raid", "", "Give the points"},
	} {
		res := hub.post(b.path("/points/%s", cc.key), url.Values{"points": {cc.points}}, nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), cc.want) {
			t.Errorf("%s: %d %q", cc.name, res.StatusCode, formError(t, res))
		}
	}
	// Through HTMX, the row shows the stored value and the reason.
	res = hub.post(b.path("/points/twitch.raid"), url.Values{"points": {"100001"}}, htmx)
	row = res.row(t)
	if res.StatusCode != 200 || row.Find(`input[data-testid=points-input]`).AttrOr("value", "") != "30" || !strings.Contains(row.Find(`[data-testid=form-error]`).Text(), "between") {
		t.Errorf("HTMX out of range: %d %s", res.StatusCode, res.body)
	}
	if res := hub.post(b.path("/points/twitch.dance"), url.Values{"points": {"5"}}, htmx); res.StatusCode != 400 || res.Header.Get("HX-Reswap") != "none" {
		t.Errorf("HTMX unknown key: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM points_values"); n != 0 {
		t.Errorf("bad values stored %d overrides", n)
	}
}

func TestLinkedServers(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	if doc := hub.get(b.path("/servers"), nil).doc(t); doc.Find(`[data-testid=no-servers]`).Length() != 1 || doc.Find(`[data-testid=no-flows]`).Length() != 1 {
		t.Error("an empty servers page should say so and explain the install flows")
	}
	// A community admin cannot claim a server by typing its id: that proves no ownership.
	if doc := hub.get(b.path("/servers"), nil).doc(t); doc.Find(`[data-testid=server-form]`).Length() != 0 {
		t.Error("a community admin is offered linking by hand")
	}
	res := hub.post(b.path("/servers"), url.Values{"platform": {"twitch"}, "server": {" DuckChan "}, "name": {"Duck channel"}}, nil)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(res.body, "link servers by hand") {
		t.Errorf("community admin linking by hand: %d %.300s", res.StatusCode, res.body)
	}
	rootHub := b.signedIn("root@example.com")
	res = rootHub.post(b.path("/servers"), url.Values{"platform": {"twitch"}, "server": {" DuckChan "}, "name": {"Duck channel"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d %.300s", res.StatusCode, res.body)
	}
	es, err := b.settings.Entities(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Server != "duckchan" || es[0].Name != "Duck channel" || es[0].Platform != "twitch" {
		t.Fatalf("entities: %+v", es)
	}
	if got := hub.get(b.path("/servers"), nil).doc(t).Find(`[data-testid=server-id]`).Text(); got != "duckchan" {
		t.Errorf("listed server %q", got)
	}

	// Another community cannot take the same channel.
	root, err := b.auth.UserByEmail(context.Background(), "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	other := b.community(root, "geese", nil)
	for _, cc := range []struct {
		name string
		cid  int64
		form url.Values
		want string
	}{
		{"duplicate", other.ID, url.Values{"platform": {"twitch"}, "server": {"duckchan"}}, "already linked to a community"},
		{"duplicate here", b.c.ID, url.Values{"platform": {"twitch"}, "server": {"DUCKCHAN"}}, "already linked to a community"},
		{"bad platform", b.c.ID, url.Values{"platform": {"myspace"}, "server": {"x"}}, "Choose twitch, discord or slack."},
		{"empty server", b.c.ID, url.Values{"platform": {"discord"}, "server": {"  "}}, "Give the channel login"},
		{"over-long server", b.c.ID, url.Values{"platform": {"discord"}, "server": {strings.Repeat("9", 101)}}, "1 to 100 characters"},
		{"over-long name", b.c.ID, url.Values{"platform": {"discord"}, "server": {"1"}, "name": {strings.Repeat("n", 101)}}, "at most 100 characters"},
	} {
		res := rootHub.post(fmt.Sprintf("/c/%d/servers", cc.cid), cc.form, nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), cc.want) {
			t.Errorf("%s: %d %q", cc.name, res.StatusCode, formError(t, res))
		}
	}
	if n := b.count("SELECT count(*) FROM platform_entities"); n != 1 {
		t.Errorf("%d linked servers, want 1", n)
	}

	if res := hub.post(b.path("/servers/%d/unlink", es[0].ID), nil, htmx); res.StatusCode != 200 || res.body != "" {
		t.Errorf("unlink: %d %q", res.StatusCode, res.body)
	}
	if n := b.count("SELECT count(*) FROM platform_entities"); n != 0 {
		t.Error("the server is still linked")
	}
	// Both are in the community's audit log, with who did them.
	if n := b.count("SELECT count(*) FROM audit_log WHERE action = 'server_linked' AND actor_email = 'root@example.com' AND target = 'twitch duckchan (Duck channel)'"); n != 1 {
		t.Errorf("%d server_linked audit entries by root, want 1", n)
	}
	if n := b.count("SELECT count(*) FROM audit_log WHERE action = 'server_unlinked' AND actor_email = 'ann@example.com' AND community_id IS NOT NULL"); n != 1 {
		t.Errorf("%d server_unlinked audit entries by ann, want 1", n)
	}
	if res := hub.post(b.path("/servers/%d/unlink", es[0].ID), nil, nil); res.StatusCode != 404 {
		t.Errorf("unlinking again: %d", res.StatusCode)
	}
}

// sim posts the simulator form through HTMX and parses the transcript entry.
func (b *botEnv) sim(t *testing.T, form url.Values) (response, *goquery.Document) {
	t.Helper()
	v := url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"}}
	for k, x := range form {
		v[k] = x
	}
	res := b.admin.post(b.path("/simulator"), v, htmx)
	if res.StatusCode != 200 {
		t.Fatalf("simulate %v: status %d: %s", form, res.StatusCode, res.body)
	}
	return res, res.doc(t)
}

func TestSimulator(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hug := b.mustCommand(t, "hug", "{user} hugs {touser} (hug #{count})")
	if _, err := b.settings.CreateRule(context.Background(), audit.Actor{}, b.c.ID, router.RuleInput{Priority: 1, Match: router.MatchWord, Pattern: "heck",
		Action: router.ActionTimeout, TimeoutSeconds: 600, ExemptModerators: true}); err != nil {
		t.Fatal(err)
	}

	page := b.admin.get(b.path("/simulator"), nil).doc(t)
	if page.Find(`[data-testid=sim-dry-run]`).AttrOr("checked", "no") == "no" || page.Find(`[data-testid=sim-form]`).AttrOr("hx-swap", "") != "beforeend scroll:bottom" {
		t.Error("the simulator form should default to a dry run and append to the transcript")
	}

	// A dry run answers and lists what would change, storing nothing.
	res, doc := b.sim(t, url.Values{"badges": {"moderator"}, "text": {"!hug @bob"}, "dry_run": {"on"}})
	if got := doc.Find(`[data-testid=sim-sent]`).Text(); got != "alice [moderator]: !hug @bob" {
		t.Errorf("sent %q", got)
	}
	if got := doc.Find(`[data-testid=sim-reply]`).Text(); !strings.Contains(got, "alice hugs bob (hug #1)") {
		t.Errorf("reply %q", got)
	}
	changes := doc.Find(`[data-testid=sim-changes]`).Text()
	if !strings.Contains(changes, "counter of !hug 0 → 1") || !strings.Contains(changes, "points of alice +5") {
		t.Errorf("changes %q", changes)
	}
	if doc.Find(`[data-testid=sim-handled-by]`).Text() != "command !hug" || doc.Find(`[data-testid=sim-dry]`).Text() != "dry run: nothing was stored" {
		t.Errorf("handled by %q, dry %q", doc.Find(`[data-testid=sim-handled-by]`).Text(), doc.Find(`[data-testid=sim-dry]`).Text())
	}
	if !strings.HasSuffix(doc.Find(`[data-testid=sim-duration]`).Text(), " ms") {
		t.Errorf("duration %q", doc.Find(`[data-testid=sim-duration]`).Text())
	}
	// The answer empties the text field (an out-of-band swap) and is no whole page.
	if oob := doc.Find(`input#sim-text[hx-swap-oob=true]`); oob.Length() != 1 || oob.AttrOr("value", "x") != "" || strings.Contains(res.body, "<html") {
		t.Errorf("answer: %s", res.body)
	}
	if c := b.command(t, "hug"); c.Counter != 0 {
		t.Errorf("a dry run moved the counter to %d", c.Counter)
	}
	if n := b.count("SELECT count(*) FROM points_ledger") + b.count("SELECT count(*) FROM points_balances"); n != 0 {
		t.Errorf("a dry run stored %d points rows", n)
	}

	// For real: the counter moves and points are stored.
	_, doc = b.sim(t, url.Values{"text": {"!hug @bob"}})
	if got := doc.Find(`[data-testid=sim-reply]`).Text(); !strings.Contains(got, "alice hugs bob (hug #1)") {
		t.Errorf("live reply %q", got)
	}
	if doc.Find(`[data-testid=sim-dry]`).Length() != 0 {
		t.Error("a live run says it is a dry run")
	}
	if got := doc.Find(`[data-testid=sim-points]`).Text(); !strings.Contains(got, "alice +5 → 5") {
		t.Errorf("points %q", got)
	}
	if c := b.command(t, "hug"); c.Counter != 1 {
		t.Errorf("counter %d after a live run, want 1", c.Counter)
	}
	if n := b.count("SELECT count(*) FROM points_ledger WHERE community_id = $1 AND user_name = 'alice' AND delta = 5", b.c.ID); n != 1 {
		t.Errorf("%d ledger rows for alice's message, want 1", n)
	}

	// A follow earns points; a cheer earns per 100 bits from the number field.
	_, doc = b.sim(t, url.Values{"user": {"bob"}, "kind": {"follow"}})
	if got := doc.Find(`[data-testid=sim-points]`).Text(); !strings.Contains(got, "bob +10 → 10") || doc.Find(`[data-testid=sim-sent]`).Text() != "bob · follow" {
		t.Errorf("follow: %q %q", doc.Find(`[data-testid=sim-sent]`).Text(), got)
	}
	_, doc = b.sim(t, url.Values{"user": {"bob"}, "kind": {"cheer"}, "amount": {"500"}, "dry_run": {"on"}})
	if got := doc.Find(`[data-testid=sim-points]`).Text(); !strings.Contains(got, "bob +5 → 15") || !strings.Contains(got, "cheer of 500 bits") {
		t.Errorf("cheer: %q", got)
	}

	// A moderation rule acts; a moderator is exempt.
	_, doc = b.sim(t, url.Values{"user": {"carl"}, "text": {"what the heck"}, "dry_run": {"on"}})
	if got := doc.Find(`[data-testid=sim-moderation]`).Text(); !strings.Contains(got, "timeout 600s") {
		t.Errorf("moderation %q", got)
	}
	_, doc = b.sim(t, url.Values{"user": {"carl"}, "badges": {"moderator"}, "text": {"what the heck"}, "dry_run": {"on"}})
	if doc.Find(`[data-testid=sim-moderation]`).Length() != 0 {
		t.Error("an exempt moderator was moderated")
	}
	// A shout-out shows its overlay.
	_, doc = b.sim(t, url.Values{"badges": {"moderator"}, "text": {"!so DuckStreamer"}, "dry_run": {"on"}})
	if !strings.Contains(doc.Find(`[data-testid=sim-reply]`).Text(), "twitch.tv/duckstreamer") || doc.Find(`[data-testid=sim-overlay]`).Text() != "overlay: shoutout" {
		t.Errorf("shout-out: %s", doc.Text())
	}
	// The leaderboard answers with an embed.
	_, doc = b.sim(t, url.Values{"text": {"!leaderboard"}, "dry_run": {"on"}})
	if embed := doc.Find(`[data-testid=sim-embed]`).Text(); !strings.Contains(embed, "Leaderboard") || !strings.Contains(embed, "1. bob") {
		t.Errorf("embed %q", embed)
	}

	// Bad input: a clear error in the transcript, nothing changed, the text kept.
	ledger := b.count("SELECT count(*) FROM points_ledger")
	for _, cc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"empty user", url.Values{"user": {" "}, "text": {"!hug"}}, "Give the user a name."},
		{"over-long text", url.Values{"text": {strings.Repeat("q", 2001)}}, "The text has at most 2000 characters"},
		{"unknown kind", url.Values{"kind": {"stream_online"}, "text": {"!hug"}}, `Unknown event kind "stream_online"`},
		{"bad platform", url.Values{"platform": {"myspace"}, "text": {"!hug"}}, `Unknown platform "myspace"`},
		{"bad badge", url.Values{"badges": {"king"}, "text": {"!hug"}}, `Unknown role "king"`},
		{"negative bits", url.Values{"kind": {"cheer"}, "amount": {"-5"}}, "The number of bits is a whole number from 0"},
		{"over-long user", url.Values{"user": {strings.Repeat("u", 101)}}, "A user name has at most 50 characters."},
	} {
		_, doc := b.sim(t, cc.form)
		if got := doc.Find(`[data-testid=sim-error]`).Text(); !strings.Contains(got, cc.want) {
			t.Errorf("%s: error %q, want %q", cc.name, got, cc.want)
		}
		if doc.Find(`input#sim-text`).Length() != 0 {
			t.Errorf("%s: a refused message empties the text field", cc.name)
		}
		// Without JavaScript: the page with the error, 400.
		v := url.Values{"platform": {"twitch"}, "user": {"alice"}, "kind": {"chat_message"}}
		for k, x := range cc.form {
			v[k] = x
		}
		res := b.admin.post(b.path("/simulator"), v, nil)
		if res.StatusCode != 400 || !strings.Contains(res.doc(t).Find(`[data-testid=sim-error]`).Text(), cc.want) {
			t.Errorf("%s without HTMX: %d", cc.name, res.StatusCode)
		}
		if got := res.doc(t).Find(`[data-testid=sim-text]`).AttrOr("value", ""); got != cc.form.Get("text") {
			t.Errorf("%s: the text field holds %q, want what was typed", cc.name, got)
		}
	}
	if n := b.count("SELECT count(*) FROM points_ledger"); n != ledger {
		t.Errorf("bad input stored points: %d ledger rows, had %d", n, ledger)
	}
	if c := b.command(t, "hug"); c.Counter != hug.Counter+1 {
		t.Errorf("counter %d", c.Counter)
	}

	// Without JavaScript, a good message shows the page with the answer.
	res = b.admin.post(b.path("/simulator"), url.Values{"platform": {"discord"}, "user": {"dana"}, "kind": {"chat_message"}, "text": {"!so @Pip"}, "badges": {"broadcaster"}, "dry_run": {"on"}}, nil)
	doc = res.doc(t)
	if res.StatusCode != 200 || !strings.Contains(doc.Find(`#sim-transcript [data-testid=sim-reply]`).Text(), "Shout-out to Pip!") ||
		doc.Find(`[data-testid=sim-text]`).AttrOr("value", "x") != "" || doc.Find(`[data-testid=sim-platform] option[selected]`).AttrOr("value", "") != "discord" {
		t.Errorf("plain simulator post: %d %s", res.StatusCode, doc.Find("main").Text())
	}
}

func TestExecutionLog(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	b.mustCommand(t, "hug", "hugs")
	b.mustCommand(t, "secret", "psst")
	if _, err := b.settings.UpdateCommand(ctx, audit.Actor{}, b.c.ID, b.command(t, "secret").ID, router.CommandInput{Name: "secret", Response: "psst", Permission: router.Moderator, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// Through the simulator page, as a manager would.
	if _, doc := b.sim(t, url.Values{"user": {"Alice"}, "text": {"!hug bob"}}); !strings.Contains(doc.Find(`[data-testid=sim-reply]`).Text(), "hugs") {
		t.Fatal("the simulator did not run !hug")
	}
	b.sim(t, url.Values{"user": {"eve"}, "text": {"!secret"}})
	b.sim(t, url.Values{"user": {"eve"}, "text": {"!hug"}, "dry_run": {"on"}}) // dry runs are not logged
	if err := b.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	doc := b.admin.get(b.path("/executions"), nil).doc(t)
	var rows []string
	doc.Find(`[data-testid=exec-row]`).Each(func(_ int, s *goquery.Selection) {
		rows = append(rows, s.Find(`[data-testid=exec-row-command]`).Text()+" "+strings.Fields(s.Find(`[data-testid=exec-row-user]`).Text())[0]+" "+s.Find(`[data-testid=exec-row-outcome]`).Text())
	})
	if d := cmp.Diff([]string{"secret eve denied", "hug Alice ok"}, rows); d != "" {
		t.Errorf("log, newest first (-want +got):\n%s", d)
	}
	// Members may read the log.
	if n := b.member.get(b.path("/executions"), nil).doc(t).Find(`[data-testid=exec-row]`).Length(); n != 2 {
		t.Errorf("a member sees %d rows", n)
	}

	// Filters, through HTMX as the filter form sends them.
	filtered := func(q string) []string {
		t.Helper()
		res := b.admin.get(b.path("/executions?%s", q), http.Header{"Hx-Request": {"true"}, "Hx-Target": {"exec-rows"}})
		if res.StatusCode != 200 || strings.Contains(res.body, "<html") {
			t.Fatalf("filter %s: %d", q, res.StatusCode)
		}
		var out []string
		res.doc(t).Find(`[data-testid=exec-row-command]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
		return out
	}
	for q, want := range map[string][]string{
		"command=%21HUG":          {"hug"},
		"user=ali":                {"hug"},
		"outcome=denied":          {"secret"},
		"outcome=ok&command=hug":  {"hug"},
		"outcome=rate_limited":    nil,
		"command=secret&user=ali": nil,
	} {
		if d := cmp.Diff(want, filtered(q)); d != "" {
			t.Errorf("filter %s (-want +got):\n%s", q, d)
		}
	}
	res := b.admin.get(b.path("/executions?outcome=sideways"), nil)
	if res.StatusCode != 400 || !strings.Contains(formError(t, res), `Unknown outcome "sideways"`) {
		t.Errorf("bad outcome: %d %q", res.StatusCode, formError(t, res))
	}

	// Pages of 50 with an "Older" link.
	for i := range 53 {
		ev := router.Event{ID: fmt.Sprintf("page-%d", i), Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: fmt.Sprintf("u%d", i), Roles: []string{router.BadgeModerator}}, Text: "!hug"}
		if _, err := b.router.Simulate(ctx, audit.Actor{}, b.c.ID, ev, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	doc = b.admin.get(b.path("/executions?command=hug"), nil).doc(t)
	older := doc.Find(`[data-testid=exec-older]`).AttrOr("href", "")
	if n := doc.Find(`[data-testid=exec-row]`).Length(); n != 50 || !strings.Contains(older, "command=hug") || !strings.Contains(older, "before=") {
		t.Fatalf("first page: %d rows, older link %q", n, older)
	}
	doc = b.admin.get(older, nil).doc(t)
	if n := doc.Find(`[data-testid=exec-row]`).Length(); n != 4 || doc.Find(`[data-testid=exec-older]`).Length() != 0 {
		t.Errorf("second page: %d rows (want 4: 54 hugs in all), older link %v", n, doc.Find(`[data-testid=exec-older]`).Length())
	}
}
