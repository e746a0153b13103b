package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// fieldAt checks that the answer shows the error next to field name of the
// form sel: the message beside it, the input flagged, described by the
// message and focused, and no other input flagged.
func fieldAt(t *testing.T, doc *goquery.Selection, sel, name, want string) {
	t.Helper()
	form := doc.Find(sel)
	if form.Length() != 1 {
		t.Fatalf("no form %s in %.300s", sel, goquery.NewDocumentFromNode(doc.Nodes[0]).Text())
	}
	msg := form.Find(fmt.Sprintf(`[data-field=%q]`, name))
	if !strings.Contains(msg.Text(), want) {
		t.Errorf("message next to %s: %q, want %q", name, msg.Text(), want)
	}
	input := form.Find(fmt.Sprintf(`[name=%q]`, name)).First()
	if input.AttrOr("aria-invalid", "") != "true" || input.AttrOr("aria-describedby", "") != msg.AttrOr("id", "-") {
		t.Errorf("%s: aria-invalid %q, aria-describedby %q, message id %q", name, input.AttrOr("aria-invalid", ""),
			input.AttrOr("aria-describedby", ""), msg.AttrOr("id", ""))
	}
	if _, ok := input.Attr("autofocus"); !ok {
		t.Errorf("%s is not focused", name)
	}
	if n := form.Find(`[aria-invalid]`).Length(); n != 1 {
		t.Errorf("%d fields flagged, want 1", n)
	}
	if n := form.Find(`[data-testid=form-error]`).Length(); n != 1 {
		t.Errorf("%d messages in the form, want 1 (next to %s)", n, name)
	}
}

func TestFormErrorsNextToTheirField(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	command := url.Values{"name": {"wave"}, "response": {"hi {user}"}, "permission": {"everyone"}, "user_cooldown": {"0"},
		"global_cooldown": {"0"}, "platforms": {"twitch"}, "enabled": {"on"}}
	rule := url.Values{"priority": {"10"}, "match": {"contains"}, "pattern": {"spam"}, "action": {"timeout"}, "timeout_seconds": {"60"}}
	module := url.Values{"name": {"weather"}, "kind": {"webhook"}, "url": {"https://example.com/hook"}, "secret": {"k3y"},
		"timeout_ms": {"2000"}, "permission": {"everyone"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, x := range v {
			out[k] = x
		}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		name, path, form, field, want, table string
		values                               url.Values
	}{
		{"reserved command name", "/commands", "command-create", "name", `"ban" is a command the chat platforms keep`, "commands",
			with(command, "name", "ban")},
		{"command cooldown", "/commands", "command-create", "global_cooldown", "Cooldowns are 0 to 86400 seconds.", "commands",
			with(command, "global_cooldown", "90000")},
		{"command response", "/commands", "command-create", "response", "Write what the command answers", "commands",
			with(command, "response", " ")},
		{"rule timeout", "/moderation/rules", "rule-create", "timeout_seconds", "A timeout lasts 1 second to 14 days.", "moderation_rules",
			with(rule, "timeout_seconds", "0")},
		{"rule pattern", "/moderation/rules", "rule-create", "pattern", "The regular expression does not compile", "moderation_rules",
			with(rule, "match", "regex", "pattern", "(")},
		{"module url", "/modules", "module-create", "url", "URL", "community_modules", with(module, "url", "")},
		{"module timeout", "/modules", "module-create", "timeout_ms", "The timeout is between", "community_modules",
			with(module, "timeout_ms", "5")},
	}
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			sel := fmt.Sprintf(`form[data-testid=%q]`, cc.form)
			// Without JavaScript: the page again, the error next to the field.
			res := b.admin.post(b.path("%s", cc.path), cc.values, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("plain: status %d, want 400", res.StatusCode)
			}
			fieldAt(t, res.doc(t).Selection, sel, cc.field, cc.want)
			// With HTMX: the form alone, which replaces itself.
			res = b.admin.post(b.path("%s", cc.path), cc.values, htmx)
			if res.StatusCode != http.StatusOK || strings.Contains(res.body, "<html") {
				t.Fatalf("HTMX: status %d, body %.200s", res.StatusCode, res.body)
			}
			doc := res.doc(t)
			if f := doc.Find(sel); f.AttrOr("hx-target", "") != "this" || f.AttrOr("hx-swap", "") != "outerHTML" {
				t.Errorf("HTMX form: hx-target %q, hx-swap %q", f.AttrOr("hx-target", ""), f.AttrOr("hx-swap", ""))
			}
			fieldAt(t, doc.Selection, sel, cc.field, cc.want)
			if n := b.count("SELECT count(*) FROM " + cc.table); n != 0 {
				t.Errorf("%d rows in %s after a refused form, want none", n, cc.table)
			}
		})
	}

	// A form HTMX sends that is accepted leads to the page, with its flash.
	res := b.admin.post(b.path("/commands"), command, htmx)
	if res.Header.Get("HX-Redirect") != b.path("/commands") || b.count("SELECT count(*) FROM commands") != 1 {
		t.Fatalf("HTMX create: %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	if f := b.admin.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Command !wave created.") {
		t.Errorf("flash %q", f)
	}
}

func TestCommandAliasesInTheEditForm(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	b.admin.post(b.path("/commands"), url.Values{"name": {"hug"}, "response": {"hugs"}, "permission": {"everyone"}, "enabled": {"on"}}, nil)
	cmd := b.command(t, "hug")
	save := func(aliases string, hdr http.Header) response {
		return b.admin.post(b.path("/commands/%d", cmd.ID), url.Values{"response": {"hugs!"}, "permission": {"everyone"},
			"enabled": {"on"}, "aliases": {aliases}}, hdr)
	}
	if res := save("!Cuddle, squeeze cuddle", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %.300s", res.StatusCode, res.body)
	}
	if n := b.count("SELECT count(*) FROM command_aliases WHERE command_id = $1", cmd.ID); n != 2 {
		t.Errorf("%d aliases, want cuddle and squeeze", n)
	}
	edit := b.admin.get(b.path("/commands/%d/edit", cmd.ID), htmx).row(t)
	if v := edit.Find(`input[name=aliases]`).AttrOr("value", ""); v != "cuddle squeeze" {
		t.Errorf("the edit form's aliases hold %q", v)
	}
	if n := b.admin.get(b.path("/commands"), nil).doc(t).Find(`[data-testid=alias-form]`).Length(); n != 0 {
		t.Errorf("%d alias forms in the table, want none (aliases are edited in the edit form)", n)
	}

	// A bad alias: the error next to Aliases, and nothing saved, response included.
	for _, bad := range []string{"wave hello!", "so"} {
		for _, hdr := range []http.Header{nil, htmx} {
			res := save("squeeze "+bad, hdr)
			doc := res.doc(t)
			if hdr != nil {
				doc = res.row(t)
			}
			fieldAt(t, doc.Selection, `form[data-testid=command-edit-form]`, "aliases", "cannot be an alias")
			if v := doc.Find(`input[name=aliases]`).AttrOr("value", ""); v != "squeeze "+bad {
				t.Errorf("the typed aliases are not kept: %q", v)
			}
		}
	}
	if c, n := b.command(t, "hug"), b.count("SELECT count(*) FROM command_aliases"); c.Response != "hugs!" || n != 2 {
		t.Errorf("after bad aliases: response %q, %d aliases", c.Response, n)
	}
	if res := save("", nil); res.StatusCode != http.StatusSeeOther || b.count("SELECT count(*) FROM command_aliases") != 0 {
		t.Errorf("clearing the aliases: %d, %d left", res.StatusCode, b.count("SELECT count(*) FROM command_aliases"))
	}
}

func TestCommandResponsePreview(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	page := b.admin.get(b.path("/commands"), nil).doc(t)
	area := page.Find(`[data-testid=command-create] textarea[name=response]`)
	if area.AttrOr("hx-post", "") != b.path("/commands/preview") || page.Find(`[data-testid=var-chip][data-insert="{user}"]`).AttrOr("data-target", "") != area.AttrOr("id", "-") {
		t.Errorf("response field: hx-post %q, id %q", area.AttrOr("hx-post", ""), area.AttrOr("id", ""))
	}
	for resp, want := range map[string]string{
		"{user} hugs {touser} for the {count}th time": "Viewer hugs Friend for the 7th time",
		"rolls {random:3-3}, has {points}":            "rolls 3, has 120",
		"":                                            "(nothing yet)",
		strings.Repeat("x", 70000):                    "",
	} {
		res := b.admin.post(b.path("/commands/preview"), url.Values{"response": {resp}}, htmx)
		if want == "" {
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("a 70 kB preview: %d, want 400", res.StatusCode)
			}
			continue
		}
		if got := res.doc(t).Find(`[data-testid=command-preview]`).Text(); res.StatusCode != 200 || got != want {
			t.Errorf("preview of %q: %d %q, want %q", resp, res.StatusCode, got, want)
		}
	}
	if res := b.member.post(b.path("/commands/preview"), url.Values{"response": {"x"}}, htmx); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member's preview: %d, want 403", res.StatusCode)
	}
}

func TestDeletesAreConfirmedInPlace(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	b.admin.post(b.path("/commands"), url.Values{"name": {"hug"}, "response": {"hugs"}, "permission": {"everyone"}, "enabled": {"on"}}, nil)
	b.admin.post(b.path("/moderation/rules"), url.Values{"priority": {"1"}, "match": {"contains"}, "pattern": {"spam"}, "action": {"delete"}}, nil)
	for page, id := range map[string]string{"/commands": "command-delete", "/moderation": "rule-delete"} {
		doc := b.admin.get(b.path("%s", page), nil).doc(t)
		d := doc.Find(`details.confirm`)
		if d.Find(fmt.Sprintf(`summary[data-testid=%s]`, id)).Length() != 1 || d.Find(`form button.danger`).Text() != "Really delete" {
			t.Errorf("%s: no delete asked in place: %q", page, d.Text())
		}
		if doc.Find(`[hx-confirm]`).Length() != 0 {
			t.Errorf("%s: a browser dialog still asks", page)
		}
	}
}
