package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestTimeZoneBrowser signs a new account in from a browser in Tokyo: the
// hub takes the browser's zone and shows times in it; from a browser
// elsewhere later, the account page offers that browser's zone and changes
// only when asked.
func TestTimeZoneBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		email    = "kei@example.com"
		password = "kei-keeps-the-hub-on-time"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Kei")

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
	browserIn := func(zone string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
			t.Fatalf("put the browser in %s: %v", zone, err)
		}
	}

	browserIn("Asia/Tokyo")
	b.open("/signin")
	b.signIn(email, password)
	b.wantPath("/")
	b.waitFor("the browser's zone is sent", `document.body.getAttribute("data-time-zone-offered") === "Asia/Tokyo"`)

	b.open("/account")
	if got := run1(b, "read the zone field", chromedp.Evaluate[string](`document.querySelector('[data-testid="time-zone"]').value`)); got != "Asia/Tokyo" {
		t.Errorf("the account's zone is %q, want the browser's Asia/Tokyo", got)
	}
	if !b.js(`document.querySelector('[data-testid="time-zone-hint"] time').getAttribute("datetime").endsWith("+09:00")`) {
		t.Errorf("the account page does not show its time in Tokyo: %s", b.text(tid("time-zone-hint")))
	}
	if !b.js(`getComputedStyle(document.querySelector("time.when")).whiteSpace === "nowrap"`) {
		t.Error("a time may wrap over lines")
	}
	if !b.js(`document.querySelector('[data-testid="browser-zone"]').hidden`) {
		t.Error("the page offers the zone the account already has")
	}
	if !b.js(`document.querySelectorAll("#time-zones option").length > 100`) {
		t.Error("the zone field does not list the browser's zones")
	}

	// Travelling: a browser in São Paulo is offered, not applied.
	browserIn("America/Sao_Paulo")
	b.open("/account")
	b.wantText(tid("browser-zone"), "This browser is in America/Sao_Paulo.")
	if got := run1(b, "read the zone field", chromedp.Evaluate[string](`document.querySelector('[data-testid="time-zone"]').value`)); got != "Asia/Tokyo" {
		t.Errorf("a browser elsewhere changed the zone to %q without asking", got)
	}
	b.submit("use the browser's zone", tid("use-browser-zone"))
	b.wantText(tid("flash"), "dates and times now show in America/Sao_Paulo")
	if got := run1(b, "read the zone field", chromedp.Evaluate[string](`document.querySelector('[data-testid="time-zone"]').value`)); got != "America/Sao_Paulo" {
		t.Errorf("after using the browser's zone the field shows %q", got)
	}
	if !b.js(`document.querySelector('[data-testid="time-zone-hint"] time').getAttribute("datetime").endsWith("-03:00")`) {
		t.Errorf("the account page does not show its time in São Paulo: %s", b.text(tid("time-zone-hint")))
	}

	// A zone that is none: the error is next to the field, which has the focus.
	b.do("type a wrong zone", fill(tid("time-zone"), "Atlantis/Capital"))
	b.submit("save it", tid("time-zone-save"))
	b.wantText(tid("time-zone-error"), `"Atlantis/Capital" is not a time zone we know`)
	if !b.js(`document.activeElement === document.querySelector('[data-testid="time-zone"]')`) {
		t.Error("the refused field does not have the focus")
	}
}
