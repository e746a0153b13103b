package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
)

// hubPage is one page of the hub a signed-in person can open.
type hubPage struct {
	path  string
	nav   string // inside a community: the entry its navigation marks
	top   string // outside: the entry the top bar marks
	admin bool   // global admins only
}

// hubPages lists every hub page a community's owner (and a global admin)
// can open, for checks that must hold on all of them.
func hubPages(cid int64) []hubPage {
	c := func(p string) string { return fmt.Sprintf("/c/%d%s", cid, p) }
	return []hubPage{
		{path: "/", top: "Communities"},
		{path: "/account", top: "Account"},
		{path: "/health", top: "Service health"},
		{path: "/admin/audit", top: "Audit log", admin: true},
		{path: c(""), nav: "Overview"},
		{path: c("/commands"), nav: "Commands"},
		{path: c("/moderation"), nav: "Moderation"},
		{path: c("/simulator"), nav: "Simulator"},
		{path: c("/points"), nav: "Points"},
		{path: c("/overlays"), nav: "Overlays"},
		{path: c("/modules"), nav: "Modules"},
		{path: c("/workflows"), nav: "Workflows"},
		{path: c("/executions"), nav: "Execution log"},
		{path: c("/audit"), nav: "Audit log"},
		{path: c("/servers"), nav: "Platforms"},
		{path: c("/members"), nav: "Members"},
		{path: c("/settings"), nav: "Settings"},
	}
}

// viewports are the screens every hub page must fit: a laptop and a phone.
var viewports = []struct {
	name          string
	width, height int64
	phone         bool
}{
	{"laptop", 1280, 800, false},
	{"phone", 390, 844, true},
	{"small phone", 360, 740, true},
}

// TestHubPagesBrowser opens every hub page as a community's owner and as a
// global admin, on a laptop and on a phone: no page is wider than the
// screen, each marks where you are (the community's navigation inside a
// community, the top bar outside), the breadcrumbs lead back, and no page
// causes a console error.
func TestHubPagesBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		adminEmail, adminPassword = "ada@example.com", "ada-runs-the-waddle-hub"
		ownerEmail, ownerPassword = "olga@example.com", "olga-owns-the-duck-pond"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", adminPassword), "admin", "create", "--email", adminEmail, "--name", "Ada Admin", "--admin")
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", ownerPassword), "admin", "create", "--email", ownerEmail, "--name", "Olga Owner-of-the-Pond")
	a := openTestApp(t, h.vars)
	ctx := t.Context()
	ada := mustSignIn(t, a, adminEmail, adminPassword)
	c, err := a.comm.Create(ctx, ada, "", "duck-pond", community.Settings{Name: "The Duck Pond Streaming Collective", Description: "Ducks who stream."})
	if err != nil {
		t.Fatal(err)
	}
	boss := community.Actor{User: ada, Role: community.Owner}
	if _, err := a.comm.Invite(ctx, boss, c, ownerEmail, community.Member); err != nil {
		t.Fatal(err)
	}
	olga := mustSignIn(t, a, ownerEmail, ownerPassword)
	if _, err := a.comm.ChangeRole(ctx, boss, c.ID, olga.ID, community.Owner); err != nil {
		t.Fatal(err)
	}
	if _, err := a.comm.Invite(ctx, boss, c, "a-rather-long-address-for-a-pending-invitation@example.com", community.Moderator); err != nil {
		t.Fatal(err)
	}
	// A second community, so the switcher has something to offer.
	if _, err := a.comm.Create(ctx, ada, "", "owl-watch", community.Settings{Name: "Owl Watch"}); err != nil {
		t.Fatal(err)
	}
	// Something in every table: wide rows are what overflow a phone.
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Limiter: a.limiter, Logger: slog.New(slog.DiscardHandler)})
	settings := router.NewSettings(rt)
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckpondstreamingcollective", "The Duck Pond Streaming Collective"); err != nil {
		t.Fatal(err)
	}
	if _, err := settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "discord", Permission: router.Everyone, Enabled: true,
		Response: "Join the pond on Discord: https://discord.example.com/invite/the-duck-pond-streaming-collective-and-friends {user}!"}); err != nil {
		t.Fatal(err)
	}
	if _, err := settings.CreateRule(ctx, audit.Actor{}, c.ID, router.RuleInput{Priority: 1, Match: router.MatchContains, Pattern: "buy-followers-cheap-at-example-dot-com", Action: router.ActionDelete}); err != nil {
		t.Fatal(err)
	}
	ov := overlay.New(overlay.Config{Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	if _, _, err := ov.Create(ctx, audit.Actor{}, c.ID, overlay.Alerts, "Stream alerts"); err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	bctx := startBrowser(t, console)
	defer func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()

	people := []struct {
		name, email, password string
		admin                 bool
	}{
		{"owner", ownerEmail, ownerPassword, false},
		{"admin", adminEmail, adminPassword, true},
	}
	for _, p := range people {
		b := newBrowserTab(t, bctx, console, p.name, h.base)
		b.open("/signin")
		b.signIn(p.email, p.password)
		b.wantPath("/")
		for _, vp := range viewports {
			opts := []chromedp.EmulateViewportOption{}
			if vp.phone {
				opts = append(opts, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			b.do("set the "+vp.name+" screen", chromedp.EmulateViewport(vp.width, vp.height, opts...))
			for _, pg := range hubPages(c.ID) {
				if pg.admin && !p.admin {
					continue
				}
				where := fmt.Sprintf("%s on a %s: %s", p.name, vp.name, pg.path)
				b.open(pg.path)
				b.wantPath(pg.path)
				checkHubPage(t, b, where, pg, vp.width, c.ID)
				saveScreenshot(t, b, p.name, vp.name, pg.path)
			}
			checkWorkspaceMenu(t, b, c.ID, vp.phone)
		}
	}
}

// saveScreenshot keeps a picture of the page in $WADDLE_SCREENSHOTS, when
// set: README's tour of the hub is made from them.
func saveScreenshot(t *testing.T, b *tab, who, screen, path string) {
	t.Helper()
	dir := os.Getenv("WADDLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := run1(b, "take a screenshot of "+path, chromedp.FullScreenshot(100))
	name := strings.NewReplacer("/", "_", " ", "-").Replace(fmt.Sprintf("%s-%s%s.png", who, screen, path))
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newBrowserTab opens a tab with cookies of its own, as another person's browser.
func newBrowserTab(t *testing.T, bctx context.Context, console *browserConsole, name, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(console.listener(name)))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // the first run opens the tab: no timeout
		t.Fatalf("open a tab for %s: %v", name, err)
	}
	return &tab{t: t, ctx: ctx, base: base}
}

// checkHubPage checks what every hub page must do on a screen width px wide.
func checkHubPage(t *testing.T, b *tab, where string, pg hubPage, width int64, cid int64) {
	t.Helper()
	if b.js(`document.querySelector('[data-testid="error-message"]') !== null`) {
		t.Errorf("%s: shows an error page: %s", where, b.text(tid("error-message")))
		return
	}
	wide := run1(b, "measure "+pg.path, chromedp.Evaluate[int64](`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`))
	inner := run1(b, "measure the window", chromedp.Evaluate[int64](`window.innerWidth`))
	if wide > width || wide > inner {
		culprits := run1(b, "find what overflows", chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll('body *')]
			.filter(e => e.getBoundingClientRect().right > %d + 1)
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + (e.dataset.testid ? '[' + e.dataset.testid + ']' : '')).join(', ')`, width)))
		t.Errorf("%s: the page is %d px wide on a %d px screen (window %d); too wide: %s", where, wide, width, inner, culprits)
	}
	if !b.js(`document.querySelector('main h1') !== null`) {
		t.Errorf("%s: no heading", where)
	}
	topCurrent := run1(b, "read the top bar", chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="hub-nav"] a[aria-current]')].map(a => a.textContent.trim()).join(", ")`))
	if pg.nav == "" {
		if topCurrent != pg.top {
			t.Errorf("%s: the top bar marks %q, want %q", where, topCurrent, pg.top)
		}
		if b.js(`document.querySelector('[data-testid="community-nav"]') !== null`) {
			t.Errorf("%s: a community's navigation outside any community", where)
		}
		return
	}
	if topCurrent != "" {
		t.Errorf("%s: the top bar marks %q inside a community", where, topCurrent)
	}
	if got := run1(b, "read the community's navigation", chromedp.Evaluate[string](`(() => { const a = document.querySelector('[data-testid="community-nav"] a[aria-current="page"]'); return a ? a.textContent.trim() : ""; })()`)); got != pg.nav {
		t.Errorf("%s: the navigation marks %q, want %q", where, got, pg.nav)
	}
	back := run1(b, "read the breadcrumbs", chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="breadcrumbs"] a')].map(a => a.getAttribute('href')).join(" ")`))
	if want := fmt.Sprintf("/ /c/%d", cid); back != want {
		t.Errorf("%s: the breadcrumbs lead to %q, want %q", where, back, want)
	}
}

// checkWorkspaceMenu: on a phone the community's navigation is a folded
// menu that opens to the pages; on a laptop it is an open sidebar. The
// breadcrumb back to the community works either way.
func checkWorkspaceMenu(t *testing.T, b *tab, cid int64, phone bool) {
	t.Helper()
	b.open(fmt.Sprintf("/c/%d/commands", cid))
	b.waitFor("wait for hub.js", `window.waddleHub === true`)
	open := b.js(`document.querySelector('[data-testid="workspace-menu"]').open`)
	if open == phone {
		t.Errorf("phone=%v: the community's menu is open=%v", phone, open)
	}
	if phone {
		b.do("open the menu", chromedp.Click(chromedp.CSS(`[data-testid="workspace-menu"] > summary`)))
	}
	b.do("see the current page in the menu", chromedp.WaitVisible(chromedp.CSS(`[data-testid="community-nav"] a[aria-current="page"]`)))
	b.submit("follow a link in the menu", chromedp.CSS(`[data-testid="community-nav"] a[href$="/points"]`))
	b.wantPath(fmt.Sprintf("/c/%d/points", cid))
	b.submit("go back by the breadcrumb", tid("crumb-community"))
	b.wantPath(fmt.Sprintf("/c/%d", cid))
	b.submit("go back to the list", tid("crumb-communities"))
	b.wantPath("/")
}
