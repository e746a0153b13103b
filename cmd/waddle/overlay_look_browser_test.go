package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
)

// TestOverlayLookBrowser: on the overlays page a manager picks the Slide look;
// the preview plays it at once, the saved look is what OBS shows for a real
// follow (animated in, its text readable), and Regenerate URL asks, saying
// what breaks, before the URL changes. The page fits a phone.
func TestOverlayLookBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const email, password = "ada@example.com", "ada-runs-the-waddle-hub"
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, h.vars)
	ctx := t.Context()
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(ctx, ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Limiter: a.limiter, Logger: slog.New(slog.DiscardHandler)})
	if _, err := router.NewSettings(rt).LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckpond", "Duck Pond"); err != nil {
		t.Fatal(err)
	}
	ov := overlay.New(overlay.Config{Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	src, token, err := ov.Create(ctx, audit.Actor{}, c.ID, overlay.Alerts, "Stream alerts")
	if err != nil {
		t.Fatal(err)
	}
	_, trigger, err := a.auth.CreateAPIKey(ctx, ada, "", "events", auth.RoleTrigger)
	if err != nil {
		t.Fatal(err)
	}

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: h.base}
	defer func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(email, password)
	path := fmt.Sprintf("/c/%d/overlays", c.ID)
	b.open(path)
	card := fmt.Sprintf(`document.getElementById("overlay-%d")`, src.ID)
	frame := card + `.querySelector('[data-testid="overlay-look-preview"]')`

	// The preview plays the default look, then the chosen one as soon as it is picked.
	b.waitFor("wait for the preview's Pop alert", frame+`.contentDocument && `+frame+`.contentDocument.querySelector('.alert.preset-pop') !== null`)
	b.do("choose Slide", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#overlay-%d [data-testid="overlay-preset-slide"]`, src.ID))))
	b.waitFor("wait for the preview's Slide alert", frame+`.contentDocument && `+frame+`.contentDocument.querySelector('.alert.preset-slide.alert-in') !== null`)
	wantReadable(t, b, frame+`.contentDocument`, "slide-in", "TestDuck just followed!")

	b.submit("save the settings", chromedp.CSS(fmt.Sprintf(`#overlay-%d [data-testid="overlay-settings-submit"]`, src.ID)))
	b.wantText(tid("flash"), "saved")

	// OBS: a real follow plays with the saved look.
	b.open("/overlay/" + token)
	b.waitFor("wait for the event stream", `document.getElementById("overlay").dataset.connected === "true"`)
	postEvents(t, h.base, trigger, `{"id":"f1","platform":"twitch","kind":"follow","server":"duckpond","channel":"duckpond",`+
		`"user":{"id":"101","name":"duckfan","display_name":"DuckFan"}}`)
	b.waitFor("wait for the follow alert", `document.querySelector('[data-testid="overlay-alert"]') !== null`)
	if !b.js(`document.querySelector('[data-testid="overlay-alert"]').classList.contains("preset-slide")`) {
		t.Errorf("the alert's classes are %q, want the Slide look", run1(b, "read classes", chromedp.Evaluate[string](`document.querySelector('[data-testid="overlay-alert"]').className`)))
	}
	wantReadable(t, b, `document`, "slide-in", "DuckFan just followed!")
	b.waitFor("wait for the alert to leave", `document.querySelector('[data-testid="overlay-alert"]') === null || document.querySelector('[data-testid="overlay-alert"]').classList.contains("alert-out")`)

	// Regenerate URL: the first click only asks, and says OBS breaks; the URL still works.
	b.open(path)
	b.do("open Regenerate URL", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#overlay-%d [data-testid="overlay-regenerate"]`, src.ID))))
	warning := b.text(chromedp.CSS(fmt.Sprintf(`#overlay-%d [data-testid="overlay-regenerate-warning"]`, src.ID)))
	if !strings.Contains(warning, "OBS") || !strings.Contains(warning, "stops working") {
		t.Errorf("the confirmation says %q; it must say the OBS source stops working", warning)
	}
	if b.js(`document.querySelector('[data-testid="overlay-url"]') !== null`) || overlayStatus(t, h.base, token) != http.StatusOK {
		t.Fatal("the URL changed before the confirmation")
	}
	b.submit("confirm", chromedp.CSS(fmt.Sprintf(`#overlay-%d [data-testid="overlay-regenerate-submit"]`, src.ID)))
	nu := run1(b, "read the new URL", chromedp.Value(tid("overlay-url")))
	if !strings.HasPrefix(nu, h.base+"/overlay/") || strings.HasSuffix(nu, token) {
		t.Errorf("new URL %q", nu)
	}
	if got := overlayStatus(t, h.base, token); got != http.StatusNotFound {
		t.Errorf("the old URL after confirming: %d, want 404", got)
	}

	// On a phone the sources' cards fit the screen: nothing to scroll sideways.
	b.do("phone size", chromedp.EmulateViewport(390, 844))
	b.open(path)
	fits := `Array.from(document.querySelectorAll('[data-testid="overlay-row"], [data-testid="overlay-create"], [data-testid="overlays-help"]')).every(e =>
		e.getBoundingClientRect().right <= window.innerWidth + 0.5 && e.scrollWidth <= e.clientWidth + 1)`
	if !b.js(fits) {
		t.Error("the overlays page's parts are wider than a 390-px phone")
	}
}

// wantReadable waits for doc's alert to finish entering and checks that it
// entered with the animation named in, and that its text is shown: opaque,
// white on a dark panel, and the topmost thing where it is.
func wantReadable(t *testing.T, b *tab, doc, in, text string) {
	t.Helper()
	panel := doc + `.querySelector('[data-testid="overlay-alert-panel"]')`
	if got := run1(b, "read the animation", chromedp.Evaluate[string](`getComputedStyle(`+panel+`).animationName`)); got != in {
		t.Errorf("the alert enters with animation %q, want %q", got, in)
	}
	b.waitFor("wait for the alert to finish entering", panel+` && `+panel+`.getAnimations().every(a => a.playState === "finished")`)
	checks := map[string]string{
		"its text":             `(` + panel + `.querySelector('[data-testid="overlay-alert-text"]').textContent === ` + fmt.Sprintf("%q", text) + `)`,
		"opaque":               `getComputedStyle(` + panel + `).opacity === "1"`,
		"white type":           `getComputedStyle(` + panel + `.querySelector(".alert-text")).color === "rgb(255, 255, 255)"`,
		"on a dark panel":      `(() => { const m = getComputedStyle(` + panel + `).backgroundImage.match(/rgba?\(([^)]*)\)/); if (!m) return false; const [r, g, bl, al] = m[1].split(",").map(Number); return r + g + bl < 150 && (al === undefined || al >= 0.8); })()`,
		"on top where it is":   `(() => { const e = ` + panel + `.querySelector(".alert-text"); const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && e.contains(` + doc + `.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); })()`,
		"inside the page area": `(() => { const r = ` + panel + `.getBoundingClientRect(); const w = ` + doc + `.defaultView; return r.left >= 0 && r.right <= w.innerWidth && r.top >= 0 && r.bottom <= w.innerHeight; })()`,
	}
	for what, expr := range checks {
		if !b.js(expr) {
			t.Errorf("the alert's text is not readable: not %s", what)
		}
	}
}

// overlayStatus is the status of a GET of an overlay URL.
func overlayStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/overlay/"+token, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
