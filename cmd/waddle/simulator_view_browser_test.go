package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/community"
)

// TestSimulatorKeepsNewestInView drives the simulator at laptop and phone
// sizes: after ten messages the newest answer shows inside the transcript
// box and the Send button is on screen; the amount field shows only for the
// events that take one; a real run is marked, asked about once per session,
// and its points show once.
func TestSimulatorKeepsNewestInView(t *testing.T) {
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
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(email, password)
	b.wantPath("/")
	path := fmt.Sprintf("/c/%d/simulator", c.ID)

	entries := func(n int) string {
		return fmt.Sprintf(`document.querySelectorAll('[data-testid="sim-entry"]').length === %d`, n)
	}
	shown := func(testid string) bool {
		return b.js(fmt.Sprintf(`(() => { const e = document.querySelector('[data-testid=%q]'); return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden'; })()`, testid))
	}
	const newestInBox = `(() => {
		const box = document.querySelector('[data-testid="sim-transcript"]');
		const last = box.lastElementChild, b = box.getBoundingClientRect(), l = last.getBoundingClientRect();
		return box.scrollHeight > box.clientHeight && l.bottom <= b.bottom + 1 && l.bottom > b.top &&
			b.top < innerHeight && l.bottom <= innerHeight && l.bottom > 0;
	})()`
	const sendOnScreen = `(() => { const r = document.querySelector('[data-testid="sim-submit"]').getBoundingClientRect();
		return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; })()`

	for i, size := range []struct {
		name string
		w, h int64
	}{{"laptop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			b.t = t
			b.do("set the viewport", chromedp.EmulateViewport(size.w, size.h))
			b.open(path)

			// The amount field belongs to cheers, raids and voice minutes only.
			for _, k := range []struct {
				kind, label string
			}{{"chat_message", ""}, {"follow", ""}, {"cheer", "Bits"}, {"raid", "Viewers"}, {"voice_leave", "Minutes"}, {"reaction", ""}} {
				b.do("choose "+k.kind, chromedp.SetValue(tid("sim-kind"), k.kind))
				if got := shown("sim-amount-field"); got != (k.label != "") {
					t.Errorf("%s: amount field shown %v, want %v", k.kind, got, k.label != "")
				}
				if k.label != "" {
					if got := b.text(tid("sim-amount-field")); got != k.label {
						t.Errorf("%s: the amount field is labelled %q, want %q", k.kind, got, k.label)
					}
				}
			}
			b.do("back to chat", chromedp.SetValue(tid("sim-kind"), "chat_message"))

			// Ten messages: the newest answer is in the box, Send on screen.
			for n := 1; n <= 10; n++ {
				b.do(fmt.Sprintf("send message %d", n), fill(tid("sim-text"), fmt.Sprintf("!so Duck%d", n)), chromedp.Click(tid("sim-submit")))
				b.waitFor(fmt.Sprintf("answer %d", n), entries(n))
			}
			b.waitFor("the newest answer in the transcript box", newestInBox)
			b.wantText(chromedp.CSS(`[data-testid="sim-entry"]:last-child [data-testid="sim-sent"]`), "!so Duck10")
			if !b.js(sendOnScreen) {
				t.Error("after ten messages the Send button is off screen")
			}
			// The message field is back in focus for the next message.
			b.waitFor("the message field focused again", `document.activeElement && document.activeElement.id === "sim-text"`)

			// A real run looks like one.
			if shown("sim-real-note") {
				t.Error("the real-run note shows during a dry run")
			}
			b.do("untick dry run", chromedp.Click(tid("sim-dry-run")))
			if !shown("sim-real-note") || !strings.Contains(b.text(tid("sim-real-note")), "Real run:") {
				t.Error("unticking dry run does not say it is a real run")
			}
			if got := b.text(tid("sim-submit")); got != "Send for real" {
				t.Errorf("the button says %q for a real run, want Send for real", got)
			}
			b.do("send a real follow", chromedp.SetValue(tid("sim-kind"), "follow"), fill(tid("sim-user"), fmt.Sprintf("fan%d", i)), chromedp.Click(tid("sim-submit")))
			if i == 0 {
				// The first real run of the session asks first.
				b.waitFor("the question before the first real run", `!!document.querySelector('[data-testid="sim-confirm"]')`)
				if !b.js(entries(10)) {
					t.Error("the unconfirmed real run answered")
				}
				b.do("confirm", chromedp.Click(tid("sim-confirm-yes")))
			}
			b.waitFor("the real follow's answer", entries(11))
			if shown("sim-confirm") {
				t.Error("the question stays after the real run")
			}
			last := `[data-testid="sim-entry"]:last-child `
			b.wantText(chromedp.CSS(last+`[data-testid="sim-real"]`), "real run")
			if !b.js(`document.querySelector('[data-testid="sim-entry"]:last-child').classList.contains('real')`) {
				t.Error("the real run's answer is not styled as one")
			}
			if !b.js(`document.querySelectorAll('[data-testid="sim-entry"]:last-child [data-testid="sim-points"]').length === 1`) ||
				b.js(`(document.querySelector('[data-testid="sim-entry"]:last-child [data-testid="sim-changes"]')?.innerText || '').includes('points of')`) {
				t.Error("the follow's points do not show exactly once")
			}
			b.wantText(chromedp.CSS(last+`[data-testid="sim-points"]`), "+10 → 10")
			b.waitFor("the real answer in the transcript box", newestInBox)
			if !b.js(sendOnScreen) {
				t.Error("after the real run the Send button is off screen")
			}
		})
	}
	b.t = t
}
