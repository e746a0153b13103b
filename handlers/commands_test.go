package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

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
	if n := doc.Find(`[data-testid=builtin]`).Length(); n != 9 || !strings.Contains(doc.Find(`[data-testid=builtins]`).Text(), "!so") {
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
