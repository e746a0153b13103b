package main

import (
	"encoding/json"
	"fmt"
	"io"
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

// TestOverlayBrowser opens an alerts source's URL in headless Chromium, as
// OBS does, then sends a follow and a moderator's "!so bob" through the
// events API: both alerts show in the page, one after the other, never on top
// of each other, and the page causes no console errors.
func TestOverlayBrowser(t *testing.T) {
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
	settings := router.NewSettings(rt)
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckpond", "Duck Pond"); err != nil {
		t.Fatal(err)
	}
	ov := overlay.New(overlay.Config{Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	src, token, err := ov.Create(ctx, audit.Actor{}, c.ID, overlay.Alerts, "Stream alerts")
	if err != nil {
		t.Fatal(err)
	}
	// Short alerts, so the two play one after the other within a few seconds.
	st := src.Settings
	st.Alerts = map[string]overlay.AlertStyle{}
	for k, v := range overlay.DefaultAlerts {
		v.Seconds = 1
		st.Alerts[k] = v
	}
	if err := ov.UpdateSettings(ctx, audit.Actor{}, c.ID, src.ID, src.Name, st); err != nil {
		t.Fatal(err)
	}
	_, trigger, err := a.auth.CreateAPIKey(ctx, ada, "", "events", auth.RoleTrigger)
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
			t.Errorf("the overlay page caused %d console errors; it must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()

	b.open("/overlay/" + token)
	b.waitFor("wait for the event stream", `document.getElementById("overlay").dataset.connected === "true"`)
	if !b.js(`getComputedStyle(document.body).backgroundColor === "rgba(0, 0, 0, 0)"`) {
		t.Error("the page's background is not transparent")
	}
	// Record every alert shown, and the most shown at once.
	b.js(`window.__seen = []; window.__most = 0;
		new MutationObserver(() => {
			const shown = document.querySelectorAll('[data-testid="overlay-alert"]');
			window.__most = Math.max(window.__most, shown.length);
			shown.forEach(a => { if (!a.__seen) { a.__seen = true; window.__seen.push({text: a.textContent, at: performance.now()}); } });
		}).observe(document.getElementById("overlay"), {childList: true, subtree: true}); true`)

	// One at a time: the events of a batch run concurrently, in no set order.
	// The page's clock marks when the follow is sent, so the wait is measured
	// without this test's polling.
	b.js(`window.__sent = performance.now(); true`)
	postEvents(t, h.base, trigger, `{"id":"f1","platform":"twitch","kind":"follow","server":"duckpond","channel":"duckpond",`+
		`"user":{"id":"101","name":"duckfan","display_name":"DuckFan"}}`)
	postEvents(t, h.base, trigger, `{"id":"m1","platform":"twitch","kind":"chat_message","server":"duckpond","channel":"duckpond",`+
		`"user":{"id":"102","name":"mod","roles":["moderator"]},"text":"!so bob"}`)
	b.waitFor("wait for the follow alert", `window.__seen.length >= 1`)
	b.waitFor("wait for the shout-out alert", `window.__seen.length >= 2`)
	texts := run1(b, "read the alerts", chromedp.Evaluate[[]string](`window.__seen.map(s => s.text)`))
	want := []string{"DuckFan just followed!", "Go check out bob!"}
	if fmt.Sprint(texts) != fmt.Sprint(want) {
		t.Errorf("alerts shown %q, want %q in this order", texts, want)
	}
	if most := run1(b, "read the most alerts at once", chromedp.Evaluate[int](`window.__most`)); most != 1 {
		t.Errorf("%d alerts were shown at once, want 1", most)
	}
	first := run1(b, "read the first alert's delay", chromedp.Evaluate[float64](`window.__seen[0].at - window.__sent`))
	gap := run1(b, "read the gap", chromedp.Evaluate[float64](`window.__seen[1].at - window.__seen[0].at`))
	t.Logf("the follow alert showed %.0f ms after the follow was sent; the shout-out %.0f ms after it", first, gap)
	if first > 1000 {
		t.Errorf("the follow alert took %.0f ms to show, want under a second", first)
	}
	// The shout-out waited for the follow's second, and no longer than it needed to.
	if gap < 1000 || gap > 3000 {
		t.Errorf("the shout-out came %.0f ms after the follow alert, want after its 1 s and soon after", gap)
	}
	b.waitFor("wait for the alerts to end", `document.querySelectorAll('[data-testid="overlay-alert"]').length === 0`)

	// The hub: a new source shows its URL once, with a copy button and a
	// preview; "send test" plays a test alert in the preview, through HTMX.
	b.open("/signin")
	b.signIn(email, password)
	path := fmt.Sprintf("/c/%d/overlays", c.ID)
	b.open(path)
	b.wantText(chromedp.CSS("main h1"), "Overlays")
	b.do("fill the new source form", fill(tid("overlay-name"), "Hub alerts"), chromedp.SetValue(tid("overlay-kind"), "alerts"))
	b.submit("add the source", tid("overlay-submit"))
	url := run1(b, "read the URL", chromedp.Value(tid("overlay-url")))
	if !strings.HasPrefix(url, h.base+"/overlay/") {
		t.Fatalf("shown URL %q", url)
	}
	b.do("copy the URL", chromedp.Click(tid("overlay-copy")))
	if !b.js(`document.activeElement === document.querySelector('[data-testid="overlay-url"]') || document.querySelector('[data-testid="overlay-copy"]').textContent !== "Copy"`) {
		t.Error("the copy button did nothing")
	}
	preview := `document.querySelector('[data-testid="overlay-preview"]').contentDocument`
	b.waitFor("wait for the preview to connect", preview+` && `+preview+`.getElementById("overlay") && `+preview+`.getElementById("overlay").dataset.connected === "true"`)
	b.js(`window.__marker = 1; true`)
	b.do("send a test", chromedp.Click(tid("overlay-test")))
	b.waitFor("wait for the HTMX answer", `(document.querySelector('[data-testid="overlay-status-text"]') || {}).textContent === "Test sent to Hub alerts."`)
	b.waitFor("wait for the test alert in the preview", preview+`.querySelector('[data-testid="overlay-alert"][data-test="true"]') !== null`)
	if !b.js(`window.__marker === 1`) {
		t.Error("sending a test reloaded the page")
	}
}

// postEvents sends one event to the events API with a trigger key; it must be handled.
func postEvents(t *testing.T, base, key, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out struct {
		Success bool `json:"success"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || res.StatusCode != http.StatusOK || !out.Success {
		t.Fatalf("POST /api/v1/events: %d %s (%v)", res.StatusCode, raw, err)
	}
}
