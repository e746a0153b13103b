package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/community"
)

// TestFormsBrowser drives the commands, moderation and modules forms in
// headless Chromium: a refused command comes back over HTMX with the error
// next to the name field, which has the focus; a rule's timeout shows only
// for the timeout action and a module's fields only for its kind; the
// variable chips insert into the response and the preview follows.
func TestFormsBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, h.vars)
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(t.Context(), ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: h.base}
	defer func() {
		for _, e := range console.all() {
			t.Logf("browser console: %s", e)
		}
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(email, password)
	b.wantPath("/")

	// The reserved name: the error beside the name field, which has the focus, without a page load.
	b.open(fmt.Sprintf("/c/%d/commands", c.ID))
	b.js(`window.__marker = 1; true`)
	b.do("create !ban",
		fill(tid("command-name"), "ban"),
		fill(tid("command-response"), "bye"),
		chromedp.Click(tid("command-submit")))
	nameError := `document.querySelector('[data-testid="command-create"] [data-field="name"]')`
	b.waitFor("wait for the error next to the name", nameError+` !== null`)
	b.wantText(chromedp.CSS(`[data-testid="command-create"] [data-field="name"]`), `"ban" is a command the chat platforms keep`)
	if !b.js(`window.__marker === 1`) {
		t.Error("the refused form reloaded the page; HTMX should swap the form alone")
	}
	b.waitFor("wait for the focus on the name field", `document.activeElement === document.querySelector('[data-testid="command-name"]')`)
	if !b.js(`document.activeElement.getAttribute('aria-invalid') === 'true' && document.activeElement.value === 'ban'`) {
		t.Error("the focused name field is not marked invalid, or lost what was typed")
	}
	// Beside the field: the message starts right under the input, in the viewport.
	if !b.js(`(() => { const i = document.querySelector('[data-testid="command-name"]').getBoundingClientRect();
		const e = ` + nameError + `.getBoundingClientRect();
		return e.top >= i.bottom - 2 && e.top - i.bottom < 40 && e.bottom <= window.innerHeight; })()`) {
		t.Error("the error is not right under the name field, in view")
	}
	if b.js(`document.querySelectorAll('[data-testid="form-error"]').length !== 1`) {
		t.Error("more than one error message shows")
	}

	// The chips put a variable at the cursor, and the preview follows.
	b.do("type a response", fill(tid("command-response"), "Hello "))
	b.do("insert {user}", chromedp.Click(`[data-testid="command-create"] [data-testid="var-chip"][data-insert="{user}"]`))
	if got := run1(b, "read the response", chromedp.Value(tid("command-response"))); got != "Hello {user}" {
		t.Errorf("after the chip the response holds %q, want %q", got, "Hello {user}")
	}
	preview := `document.querySelector('[data-testid="command-create"] [data-testid="command-preview"]').textContent`
	b.waitFor("wait for the preview", preview+` === "Hello Viewer"`)
	b.do("insert {count} before the name",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="command-response"]').setSelectionRange(0, 0)`),
		chromedp.Click(`[data-testid="command-create"] [data-testid="var-chip"][data-insert="{count}"]`))
	b.waitFor("wait for the preview with the count", preview+` === "7Hello Viewer"`)

	// A rule's timeout shows only for the timeout action.
	b.open(fmt.Sprintf("/c/%d/moderation", c.ID))
	shown := func(sel string) string {
		return fmt.Sprintf(`getComputedStyle(document.querySelector('[data-testid="rule-create"] %s')).display !== 'none'`, sel)
	}
	if got := run1(b, "read the action", chromedp.Value(tid("rule-action"))); got == "timeout" {
		t.Fatalf("the new rule starts as a timeout; the test wants another action first")
	}
	if b.js(shown(`[data-testid="rule-timeout-field"]`)) {
		t.Error("the timeout shows for a rule that does not time out")
	}
	b.do("choose timeout", chromedp.SetValue(tid("rule-action"), "timeout"))
	b.waitFor("wait for the timeout field", shown(`[data-testid="rule-timeout-field"]`))
	if !b.js(shown(`.when-action[data-action~="timeout"]`)) || b.js(shown(`.when-action[data-action="reply"]`)) {
		t.Error("the response's help is not the timeout's")
	}
	b.do("choose reply", chromedp.SetValue(tid("rule-action"), "reply"))
	b.waitFor("wait for the timeout field to go", "!("+shown(`[data-testid="rule-timeout-field"]`)+")")

	// A module shows only its kind's fields.
	b.open(fmt.Sprintf("/c/%d/modules", c.ID))
	fields := func(kind string) string {
		return fmt.Sprintf(`getComputedStyle(document.querySelector('[data-testid="module-fields-%s"]')).display !== 'none'`, kind)
	}
	b.do("choose webhook", chromedp.SetValue(tid("module-kind"), "webhook"))
	b.waitFor("webhook fields", fields("endpoint")+" && !("+fields("openwhisk")+") && !("+fields("lambda")+")")
	b.do("choose lambda", chromedp.SetValue(tid("module-kind"), "lambda"))
	b.waitFor("lambda fields", "!("+fields("endpoint")+") && !("+fields("openwhisk")+") && "+fields("lambda"))
	b.do("choose openwhisk", chromedp.SetValue(tid("module-kind"), "openwhisk"))
	b.waitFor("openwhisk fields", fields("endpoint")+" && "+fields("openwhisk")+" && !("+fields("lambda")+")")
}
