package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/community"
)

// TestOverviewBrowser walks the overview's getting-started checklist as the
// owner of a new community would, on a laptop (1280×800) and on a phone
// (390×844): each step's link leads to where it is done, and coming back
// the overview counts it. The overview never overflows the screen sideways.
func TestOverviewBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, h.vars)
	ada := mustSignIn(t, a, email, password)

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

	// Nothing in the overview reaches past the right edge of the screen,
	// except inside a container that scrolls on its own.
	const fits = `(() => {
		const w = document.documentElement.clientWidth;
		return [...document.querySelectorAll('[data-testid="overview"], [data-testid="overview"] *')]
			.every(n => n.closest('.scroll') && n.closest('.scroll') !== n || n.getBoundingClientRect().right <= w + 1);
	})()`

	for i, vp := range []struct {
		name          string
		width, height int64
	}{{"laptop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(vp.name, func(t *testing.T) {
			b.t = t
			c, err := a.comm.Create(t.Context(), ada, "", fmt.Sprintf("duck-pond-%d", i), community.Settings{Name: "Duck Pond " + vp.name})
			if err != nil {
				t.Fatal(err)
			}
			overview := fmt.Sprintf("/c/%d", c.ID)
			b.do("set the viewport", chromedp.EmulateViewport(vp.width, vp.height))
			// back opens the overview again and checks the progress and the fit.
			back := func(progress string, done ...string) {
				t.Helper()
				b.open(overview)
				b.wantText(tid("ov-progress"), progress)
				for _, id := range done {
					if !b.js(fmt.Sprintf(`document.querySelector('[data-testid="step-%s"]').dataset.done === "true"`, id)) {
						t.Errorf("at %s, step %s is not done", progress, id)
					}
				}
				if !b.js(fits) {
					t.Errorf("at %s the overview is wider than the %d px screen", progress, vp.width)
				}
			}
			follow := func(step, wantPath string) {
				t.Helper()
				b.submit("follow the "+step+" step", chromedp.CSS(fmt.Sprintf(`[data-testid="step-%s"] [data-testid="step-link"]`, step)))
				b.wantPath(wantPath)
			}
			path := func(p string) string { return fmt.Sprintf("/c/%d/%s", c.ID, p) }

			back("0 of 5 done")
			follow("link", path("servers"))
			b.do("fill the link form", chromedp.SetValue(tid("server-platform"), "twitch"), fill(tid("server-server"), fmt.Sprintf("duckchan%d", i)))
			b.submit("link the channel", tid("server-submit"))
			if i == 0 {
				back("1 of 5 done", "link")
				// The admin connects the Twitch bot account (its OAuth flow has tests of its own).
				if _, err := a.pool.Exec(t.Context(), `INSERT INTO platform_tokens (platform, subject, access_sealed, account_login) VALUES ('twitch', 'bot', 'sealed', 'duckbot')`); err != nil {
					t.Fatal(err)
				}
			}
			back("2 of 5 done", "link", "bot")

			follow("command", path("commands"))
			b.do("fill the command form", fill(tid("command-name"), "hello"), fill(tid("command-response"), "hi {user}"))
			b.submit("create the command", tid("command-submit"))
			back("3 of 5 done", "link", "bot", "command")

			follow("simulate", path("simulator"))
			b.do("send the command for real", chromedp.Click(tid("sim-dry-run")), fill(tid("sim-text"), "!hello"), chromedp.Click(tid("sim-submit")))
			// The first real run of a sign-in session asks once; the phone
			// run reuses the laptop's session, which already said yes.
			b.waitFor("wait for the question or the answer", `!!document.querySelector('[data-testid="sim-confirm"]') || document.querySelectorAll('[data-testid="sim-entry"]').length === 1`)
			if run1(b, "look for the question", chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="sim-confirm"]')`)) {
				b.do("confirm the real run", chromedp.Click(tid("sim-confirm-yes")))
			}
			b.waitFor("wait for the answer", `document.querySelectorAll('[data-testid="sim-entry"]').length === 1`)
			b.wantText(chromedp.CSS(`[data-testid="sim-reply"]`), "hi")
			b.waitFor("wait for the run in the log", fmt.Sprintf(`fetch(%q).then(r => r.text()).then(t => window.__ov = t), (window.__ov || "").includes('data-testid="step-simulate" data-done="true"')`, overview))
			back("4 of 5 done", "link", "bot", "command", "simulate")

			follow("overlay", path("overlays"))
			b.do("fill the overlay form", fill(tid("overlay-name"), "Alerts"))
			b.submit("add the overlay", tid("overlay-submit"))
			back("5 of 5 done", "link", "bot", "command", "simulate", "overlay")
		})
	}
}
