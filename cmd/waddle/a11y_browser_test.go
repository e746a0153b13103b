package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/mailtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/workflow"
)

// axeSource is axe-core, vendored from npm as a test asset only: the hub
// never serves it (README names its version and licence).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// a11yViewports are the laptop and phone sizes every hub page is checked at.
var a11yViewports = []struct {
	name          string
	width, height int64
}{
	{"1280x800", 1280, 800},
	{"390x844", 390, 844},
}

// axeViolation is one failed axe-core rule on a page, as the test reports it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
	Summary string   `json:"summary"` // axe's explanation for the first element
}

// axeCheck runs axe-core's WCAG 2.x A and AA rules (and its best practices)
// on the page the tab shows and returns its violations.
// The script is evaluated through DevTools, which the page's CSP does not
// govern, so the hub needs no exception for it.
const axeCheck = `(async () => {
	const r = await axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		resultTypes: ["violations"],
	});
	return JSON.stringify(r.violations
		.map(v => ({id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.map(n => n.target.join(" ")).slice(0, 8),
			summary: v.nodes[0]?.failureSummary || ""})));
})()`

// unnamedControls finds what axe-core leaves to judgement: every visible
// control needs a name a screen reader can say. Controls not rendered (in a
// closed <details>, hidden) are skipped: checkVisibility knows them. The name is worked out the
// way browsers do for the common cases.
const unnamedControls = `JSON.stringify([...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])")]
	.filter(el => el.checkVisibility({visibilityProperty: true}))
	.filter(el => {
		const lab = el.getAttribute("aria-labelledby");
		if (lab && lab.split(/\s+/).some(id => (document.getElementById(id)?.textContent || "").trim())) return false;
		if ((el.getAttribute("aria-label") || "").trim() || (el.getAttribute("title") || "").trim()) return false;
		if (el.labels && [...el.labels].some(l => l.textContent.trim())) return false;
		if (["submit", "reset", "button"].includes(el.type) && el.tagName === "INPUT") return !(el.value || "").trim();
		if (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA") return true;
		return !(el.innerText || "").trim() && ![...el.querySelectorAll("img[alt], svg[aria-label]")].some(i => (i.alt || i.getAttribute("aria-label") || "").trim());
	})
	.map(el => el.outerHTML.slice(0, 160)))`

// focusInvisible tabs through the page's controls (up to 60) by script
// focus with a keyboard modality and lists those whose outline and box
// shadow show nothing when focused, as :focus-visible draws them.
const focusInvisible = `JSON.stringify([...document.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary")]
	.filter(el => el.checkVisibility({visibilityProperty: true})).slice(0, 60)
	.filter(el => {
		el.focus({focusVisible: true});
		if (document.activeElement !== el) return false;
		const s = getComputedStyle(el);
		const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
		const ring = s.boxShadow && s.boxShadow !== "none";
		el.blur();
		return !outline && !ring;
	})
	.map(el => el.outerHTML.slice(0, 160)))`

// checkA11y runs the checks on the page the tab shows and fails the test
// with each problem: the rule, its impact, the selectors and axe's help.
func (b *tab) checkA11y(page string) {
	b.t.Helper()
	if !b.js(`typeof axe === "object"`) {
		run1(b, "inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource))
	}
	var vs []axeViolation
	raw := run1(b, "run axe-core on "+page, chromedp.Evaluate[string](axeCheck, chromedp.EvalAwaitPromise))
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.t.Fatalf("%s: axe-core's answer %q: %v", page, raw, err)
	}
	for _, v := range vs {
		report := b.t.Errorf
		if v.Impact != "serious" && v.Impact != "critical" {
			report = b.t.Logf // moderate and minor: listed, not failed
		}
		report("%s: axe %s (%s): %s\n    at %s\n    %s", page, v.ID, v.Impact, v.Help,
			strings.Join(v.Targets, "\n    at "), strings.ReplaceAll(v.Summary, "\n", "\n    "))
	}
	for _, check := range []struct{ what, script string }{
		{"a control without an accessible name", unnamedControls},
		{"no visible focus indicator", focusInvisible},
	} {
		var els []string
		raw := run1(b, "check "+check.what+" on "+page, chromedp.Evaluate[string](check.script))
		if err := json.Unmarshal([]byte(raw), &els); err != nil {
			b.t.Fatalf("%s: %s: %q: %v", page, check.what, raw, err)
		}
		for _, el := range els {
			b.t.Errorf("%s: %s: %s", page, check.what, el)
		}
	}
}

// visit opens path at each viewport and checks it; the page must be the one
// asked for (no redirect to sign-in or an error page).
func (b *tab) visitA11y(who, path string, wantStatusOK func() bool) {
	b.t.Helper()
	for _, vp := range a11yViewports {
		b.do("resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
		b.open(path)
		if wantStatusOK != nil && !wantStatusOK() {
			b.fail("open "+path, fmt.Errorf("%s does not show the page", path))
		}
		b.checkA11y(fmt.Sprintf("%s %s at %s", who, path, vp.name))
	}
}

// TestAccessibilityBrowser runs axe-core on every hub page, signed out, as a
// community owner and as an admin, at 1280×800 and 390×844, with rows in
// every table: no serious or critical violation, every control named, and
// keyboard focus visible.
func TestAccessibilityBrowser(t *testing.T) {
	t.Parallel()
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	mail := mailtest.Start(t)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"SMTP_URL", mail.URL(), "MAIL_FROM", "Waddle <waddle@example.com>",
		"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key))
	base, _ := startServe(t, vars)
	const (
		adminEmail, adminPassword = "ada@example.com", "ada-runs-the-waddle-hub"
		ownerEmail, ownerPassword = "olga@example.com", "olga-owns-the-duck-pond"
	)
	mustRunWaddle(t, setVars(vars, "WADDLE_ADMIN_PASSWORD", adminPassword), "admin", "create", "--email", adminEmail, "--name", "Ada Admin", "--admin")
	mustRunWaddle(t, setVars(vars, "WADDLE_ADMIN_PASSWORD", ownerPassword), "admin", "create", "--email", ownerEmail, "--name", "Olga Owner")

	// A community the owner made, with a row in each of its tables.
	a := openTestApp(t, vars)
	ctx := t.Context()
	ada := mustSignIn(t, a, adminEmail, adminPassword)
	olga := mustSignIn(t, a, ownerEmail, ownerPassword)
	c, err := a.comm.Create(ctx, ada, "", "duck-pond", community.Settings{Name: "Duck Pond", Description: "Quacks and streams."})
	if err != nil {
		t.Fatal(err)
	}
	// Only admins create communities; Olga is made its owner directly.
	if err := db.New(a.pool).MemberAdd(ctx, db.MemberAddParams{CommunityID: c.ID, UserID: olga.ID, Role: string(community.Owner)}); err != nil {
		t.Fatal(err)
	}
	by := audit.Actor{UserID: olga.ID}
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Limiter: a.limiter, Logger: slog.New(slog.DiscardHandler), Executor: a.exec, Secrets: a.secrets})
	settings := router.NewSettings(rt)
	if _, err := settings.LinkEntity(ctx, by, c.ID, router.Twitch, "duckpond", "Duck Pond"); err != nil {
		t.Fatal(err)
	}
	cmd, err := settings.CreateCommand(ctx, by, c.ID, router.CommandInput{Name: "hello", Response: "Hello $(user)!", Permission: "everyone", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := settings.AddAlias(ctx, by, c.ID, "hi", "hello"); err != nil {
		t.Fatal(err)
	}
	rule, err := settings.CreateRule(ctx, by, c.ID, router.RuleInput{Priority: 1, Match: router.MatchContains, Pattern: "spam", Action: router.ActionTimeout, TimeoutSeconds: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settings.CreateModule(ctx, by, c.ID, router.ModuleInput{Name: "weather", Kind: "webhook", URL: "https://example.com/weather", Secret: "hook-secret"}); err != nil {
		t.Fatal(err)
	}
	// A real (not dry) run, so the execution log has a row; the log is
	// written by Run, stopped once it is flushed.
	rctx, stopRouter := context.WithCancel(ctx)
	routerDone := make(chan error, 1)
	go func() { routerDone <- rt.Run(rctx) }()
	if _, err := rt.Simulate(ctx, by, c.ID, router.Event{ID: "a11y-1", Platform: router.Twitch, Kind: router.ChatMessage, Text: "!hello", Time: time.Now(), User: router.User{ID: "42", Name: "quackers"}}, false); err != nil {
		t.Fatal(err)
	}
	fctx, cancelFlush := context.WithTimeout(ctx, stepTimeout)
	err = rt.Flush(fctx)
	cancelFlush()
	stopRouter()
	if rerr := <-routerDone; err != nil || rerr != nil {
		t.Fatalf("write the execution log: flush %v, run %v", err, rerr)
	}
	if _, err := settings.AddPoints(ctx, c.ID, router.Twitch, "42", "quackers", 25, "chat"); err != nil {
		t.Fatal(err)
	}
	ov := overlay.New(overlay.Config{Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	for _, k := range overlay.Kinds {
		if _, _, err := ov.Create(ctx, by, c.ID, k, "Stream "+k); err != nil {
			t.Fatal(err)
		}
	}
	// A workflow with a failed test run, for the runs pages.
	wdef, err := workflow.ParseDefinition([]byte(`{"nodes": [
	 {"id": "hook", "type": "trigger_webhook", "label": "Shop hook", "position": {"x": 40, "y": 40}, "config": {"mode": "async", "timeout_seconds": 5}},
	 {"id": "each", "type": "loop_foreach", "position": {"x": 260, "y": 40}, "config": {"concurrency": 1, "max_items": 10}}],
	 "connections": [{"from": "hook", "from_port": "out", "to": "each", "to_port": "in"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool, Jobs: a.jobs})
	wf, _, err := flows.Create(ctx, c.ID, by, workflow.Input{Name: "Shop orders", Definition: wdef})
	if err != nil {
		t.Fatal(err)
	}
	testRun, err := flows.TestRun(ctx, c.ID, wf.ID, map[string]any{"x": 1}, olga.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.comm.Invite(ctx, community.Actor{User: olga, Role: community.Owner}, c, "nell@example.com", community.Member); err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	bctx := startBrowser(t, console)
	defer func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	newTab := func(name string) *tab {
		tctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(console.listener(name)))
		t.Cleanup(cancel)
		if err := chromedp.Do(tctx); err != nil {
			t.Fatalf("open a tab for %s: %v", name, err)
		}
		return &tab{t: t, ctx: tctx, base: base}
	}
	// hasForm (or any element) with the data-testid id must be on the page.
	hasForm := func(b *tab, id string) func() bool {
		return func() bool { return b.js(fmt.Sprintf(`!!document.querySelector('[data-testid=%q]')`, id)) }
	}
	signedIn := func(b *tab) func() bool {
		return func() bool {
			return b.js(`!!document.querySelector('[data-testid="current-user"]') && !document.querySelector('[data-testid="error-message"]')`)
		}
	}
	cp := fmt.Sprintf("/c/%d", c.ID)
	// Each community page, with what it must show: its rows are checked too.
	communityPages := []struct{ path, want string }{
		{cp + "/", "current-user"}, {cp + "/members", "member-row"}, {cp + "/settings", "current-user"}, {cp + "/audit", "audit-row"}, {cp + "/commands", "command-row"},
		{fmt.Sprintf("%s/commands/%d/edit", cp, cmd.ID), "command-edit-form"}, {cp + "/moderation", "rule-row"},
		{fmt.Sprintf("%s/moderation/rules/%d/edit", cp, rule.ID), "rule-edit-form"}, {cp + "/points", "leaderboard-row"},
		{cp + "/executions", "exec-row"}, {cp + "/servers", "current-user"}, {cp + "/simulator", "sim-submit"},
		{cp + "/modules", "module-row"}, {cp + "/overlays", "overlay-alerts"},
		{cp + "/runs", "run-row"}, {fmt.Sprintf("%s/workflows/%d/runs", cp, wf.ID), "test-run-form"},
		{fmt.Sprintf("%s/runs/%d", cp, testRun.RunID), "trace-row"},
	}

	t.Run("signed out", func(t *testing.T) {
		b := newTab("signed out")
		b.t = t
		b.visitA11y("signed out", "/signin", hasForm(b, "signin-submit"))
		b.visitA11y("signed out", "/forgot-password", hasForm(b, "forgot-submit"))
		b.open("/forgot-password")
		b.do("ask for a reset link", fill(tid("email"), ownerEmail))
		b.submit("ask for a reset link", tid("forgot-submit"))
		b.checkA11y("signed out: reset link sent")
		m := mail.Wait(t, mailTo(ownerEmail, "Reset your Waddle password"), mailTimeout)
		link := linkIn(t, m, base, "/reset-password/")
		b.visitA11y("signed out", strings.TrimPrefix(link, base), hasForm(b, "reset-submit"))
		b.open("/signin")
		b.signIn(ownerEmail, "not-olgas-password")
		b.checkA11y("signed out: wrong password")
		m = mail.Wait(t, mailTo("nell@example.com", "You're invited to a community on Waddle"), mailTimeout)
		link = linkIn(t, m, base, "/invite/")
		b.visitA11y("signed out", strings.TrimPrefix(link, base), hasForm(b, "accept-submit"))
		b.visitA11y("signed out", "/no-such-page", hasForm(b, "error-message"))

		// The focus check itself: a page whose stylesheet hides the focus
		// ring must fail it.
		b.open("/signin")
		b.js(`document.styleSheets[0].insertRule("*:focus, *:focus-visible { outline: none !important; box-shadow: none !important }", document.styleSheets[0].cssRules.length); true`)
		var hidden []string
		if err := json.Unmarshal([]byte(run1(b, "check the focus check", chromedp.Evaluate[string](focusInvisible))), &hidden); err != nil || len(hidden) == 0 {
			t.Errorf("with the focus ring hidden by CSS, the focus check finds %d controls (%v); want the sign-in form's", len(hidden), err)
		}
		// And the name check: an input without a label must fail it.
		b.js(`document.querySelector("form").append(Object.assign(document.createElement("input"), {name: "nameless"})); true`)
		var unnamed []string
		if err := json.Unmarshal([]byte(run1(b, "check the name check", chromedp.Evaluate[string](unnamedControls))), &unnamed); err != nil ||
			len(unnamed) != 1 || !strings.Contains(unnamed[0], "nameless") {
			t.Errorf("with an unlabelled input added, the name check finds %q (%v); want that input alone", unnamed, err)
		}
	})
	t.Run("owner", func(t *testing.T) {
		b := newTab("owner")
		b.t = t
		b.open("/signin")
		b.signIn(ownerEmail, ownerPassword)
		b.wantPath("/")
		for _, p := range []string{"/", "/account", "/health"} {
			b.visitA11y("owner", p, signedIn(b))
		}
		for _, p := range communityPages {
			shown := hasForm(b, p.want)
			b.visitA11y("owner", p.path, func() bool { return signedIn(b)() && shown() })
		}
		b.open("/account")
		b.submit("start the authenticator set-up", tid("totp-start"))
		b.wantPath("/account/two-factor/totp")
		b.checkA11y("owner /account/two-factor/totp at 390x844")
		b.do("resize to 1280x800", chromedp.EmulateViewport(1280, 800))
		b.checkA11y("owner /account/two-factor/totp at 1280x800")
	})
	t.Run("admin", func(t *testing.T) {
		b := newTab("admin")
		b.t = t
		b.open("/signin")
		b.signIn(adminEmail, adminPassword)
		b.wantPath("/")
		for _, p := range []string{"/", "/admin/audit", "/health", "/account", cp + "/", cp + "/audit"} {
			b.visitA11y("admin", p, signedIn(b))
		}
	})
}
