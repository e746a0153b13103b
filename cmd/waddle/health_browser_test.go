package main

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/dbtest"
)

// TestHealthPageBrowser runs waddle serve with Twitch chat at an address
// that refuses connections, and reads the health page at laptop and phone
// sizes: the Twitch bot has one state with its reason and next step, the
// summary line names it, and the schema migrations are folded away.
func TestHealthPageBrowser(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	api := twitchtest.StartAPI(t)
	_, prefix := dbtest.Redis(t)
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_IRC_ADDR", "irc://"+closed, "TWITCH_API_URL", api.HelixURL(), "TWITCH_AUTH_URL", api.AuthURL())
	mustRunWaddle(t, setVars(vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	base, _ := startServe(t, vars)

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: base}
	defer func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(email, password)
	b.wantPath("/")

	for _, size := range []struct {
		name string
		w, h int64
	}{{"laptop", 1280, 800}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			b.t = t
			b.do("set the viewport", chromedp.EmulateViewport(size.w, size.h))
			// The page is rendered once per load: load it until the bot has tried.
			b.open("/health")
			for i := 0; !b.js(`(document.querySelector('[data-testid="bot-twitch"] [data-testid="bot-detail"]')?.innerText || '').includes('cannot connect')`); i++ {
				if i == 100 {
					b.fail("wait for the Twitch bot's reason", nil)
				}
				b.open("/health")
			}
			if got := b.text(chromedp.CSS(`[data-testid="bot-twitch"] [data-testid="bot-state"]`)); got != "reconnecting" {
				t.Errorf("Twitch bot state %q, want reconnecting", got)
			}
			detail := b.text(chromedp.CSS(`[data-testid="bot-twitch"] [data-testid="bot-detail"]`))
			for _, want := range []string{"Twitch chat: cannot connect to " + closed, "connection refused", "retrying", "check the network"} {
				if !strings.Contains(detail, want) {
					t.Errorf("Twitch bot: %q does not say %q", detail, want)
				}
			}
			if n := run1(b, "count the Twitch bot's states", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="bot-twitch"] [data-testid="bot-state"]').length + [...document.querySelectorAll('[data-testid="health-row"]')].filter(r => r.cells[0].innerText.trim() === 'Twitch bot').length`)); n != 1 {
				t.Errorf("the page shows the Twitch bot's state %d times, want once", n)
			}
			if got := b.text(tid("health-summary")); !strings.Contains(got, "Twitch bot") || !strings.Contains(got, "problem") {
				t.Errorf("summary %q, want it to count the Twitch bot as a problem", got)
			}
			if !b.js(`(() => { const r = document.querySelector('[data-testid="health-summary"]').getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()`) {
				t.Error("the summary line is not on screen when the page opens")
			}
			if b.js(`document.querySelector('[data-testid="migrations-section"]').open || document.querySelector('[data-testid="migrations"]').checkVisibility()`) {
				t.Error("the schema migrations are not folded away")
			}
			if !b.js(`(() => { const m = document.querySelector('main'); return m.scrollWidth <= m.clientWidth + 1; })()`) {
				t.Error("the health page's content is wider than the screen")
			}
		})
	}
	b.t = t
}
