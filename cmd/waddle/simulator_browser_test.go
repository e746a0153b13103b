package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/community"
)

// TestSimulatorBrowser drives the chat simulator in headless Chromium: a
// moderator's shout-out and a follow come back into the transcript through
// HTMX, without a page load, and the pages cause no console errors.
func TestSimulatorBrowser(t *testing.T) {
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
	path := fmt.Sprintf("/c/%d/simulator", c.ID)
	b.open(path)
	b.wantText(chromedp.CSS("main h1"), "Chat simulator")
	if !b.js(`document.querySelector('[data-testid="sim-dry-run"]').checked`) {
		t.Error("the dry-run box is not ticked at first")
	}
	// A full page load would lose this mark; an HTMX swap keeps it.
	b.js(`window.__marker = 1; true`)

	entries := func(n int) string {
		return fmt.Sprintf(`document.querySelectorAll('[data-testid="sim-entry"]').length === %d`, n)
	}
	b.do("type a shout-out as a moderator",
		chromedp.Click(tid("sim-badge-moderator")),
		fill(tid("sim-text"), "!so DuckStreamer"),
		chromedp.Click(tid("sim-submit")))
	b.waitFor("wait for the shout-out in the transcript", entries(1))
	last := `[data-testid="sim-entry"]:last-child `
	b.wantText(chromedp.CSS(last+`[data-testid="sim-sent"]`), "[moderator]: !so DuckStreamer")
	b.wantText(chromedp.CSS(last+`[data-testid="sim-reply"]`), "Go check out @DuckStreamer at https://twitch.tv/duckstreamer")
	b.wantText(chromedp.CSS(last+`[data-testid="sim-handled-by"]`), "command !so")
	b.wantText(chromedp.CSS(last+`[data-testid="sim-dry"]`), "dry run: nothing was stored")
	if got := run1(b, "read the text field", chromedp.Value(tid("sim-text"))); got != "" {
		t.Errorf("after sending, the text field holds %q, want it empty", got)
	}

	// A follow, for real this time.
	b.do("send a follow",
		chromedp.Click(tid("sim-badge-moderator")),
		chromedp.SetValue(tid("sim-kind"), "follow"),
		chromedp.Click(tid("sim-dry-run")),
		chromedp.Click(tid("sim-submit")))
	b.waitFor("wait for the question before the first real run", `!!document.querySelector('[data-testid="sim-confirm"]')`)
	b.do("confirm the real run", chromedp.Click(tid("sim-confirm-yes")))
	b.waitFor("wait for the follow in the transcript", entries(2))
	b.wantText(chromedp.CSS(last+`[data-testid="sim-points"]`), "+10 → 10")
	if b.js(`document.querySelector('[data-testid="sim-entry"]:last-child [data-testid="sim-dry"]') !== null`) {
		t.Error("the live follow says it was a dry run")
	}
	if !b.js(`window.__marker === 1`) {
		t.Error("sending reloaded the page; want the answers appended by HTMX")
	}
	b.wantPath(path)

	var n int
	if err := a.pool.QueryRow(t.Context(), "SELECT count(*) FROM points_ledger WHERE community_id = $1 AND delta = 10 AND reason = 'follow'", c.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d ledger rows for the follow, want 1", n)
	}
}
