package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/mailtest"
)

// Each browser step gets this long; a hang fails the step instead of the run.
const stepTimeout = 20 * time.Second

// mailTimeout bounds the wait for a mail that the app's job workers send.
const mailTimeout = 15 * time.Second

// hub is the whole app, started as production starts it, with its mail
// going to a test SMTP server.
type hub struct {
	base string
	vars map[string]string
	mail *mailtest.Server
}

// startHub starts the hub; kv are more environment variables (key, value…).
func startHub(t *testing.T, kv ...string) *hub {
	t.Helper()
	_, prefix := dbtest.Redis(t)
	h := &hub{mail: mailtest.Start(t)}
	h.vars = setVars(testVars(t),
		"REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"SMTP_URL", h.mail.URL(), "MAIL_FROM", "Waddle <waddle@example.com>")
	h.vars = setVars(h.vars, kv...) // more variables, such as EXECUTOR_ALLOW_PRIVATE
	h.base, _ = startServe(t, h.vars)
	return h
}

// browserConsole collects what every tab writes to its console; the test
// fails on errors and uncaught exceptions. CSP violations are errors too.
type browserConsole struct {
	mu      sync.Mutex
	errs    []string
	entries []string
}

// listener returns a chromedp.WithListener func for the tab named tab. It runs
// on the tab's event loop, so it only records.
func (c *browserConsole) listener(tab string) func(ev any) {
	return func(ev any) {
		var line string
		isErr := false
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					args = append(args, string(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			line = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			isErr = ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				desc += " " + d.Exception.Description
			}
			line = fmt.Sprintf("uncaught exception at %s:%d:%d: %s", d.URL, d.LineNumber+1, d.ColumnNumber+1, desc)
			isErr = true
		case *log.EventEntryAdded:
			e := ev.Entry
			line = fmt.Sprintf("%s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL)
			// Chrome logs every 4xx response as a network error. A page
			// answered with 401 or 400 on purpose (a wrong password, a used
			// link) is no script error; an asset or icon that fails to load is.
			isErr = e.Level == log.EntryLevelError &&
				(e.Source != log.EntrySourceNetwork || strings.Contains(e.URL, "/static/") || strings.Contains(e.URL, "favicon"))
		default:
			return
		}
		line = tab + ": " + line
		c.mu.Lock()
		defer c.mu.Unlock()
		c.entries = append(c.entries, line)
		if isErr {
			c.errs = append(c.errs, line)
		}
	}
}

func (c *browserConsole) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

func (c *browserConsole) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.entries...)
}

// startBrowser starts headless Chromium, closed when the test ends, and
// returns a context for its first tab.
func startBrowser(t *testing.T, console *browserConsole) context.Context {
	t.Helper()
	path := os.Getenv("WADDLE_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Chromium is needed for the browser test and is not at %s (%v): install it with `WITH_CHROMIUM=1 scripts/services.sh start`, or set WADDLE_CHROMIUM to its path", path, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no first run, no background networking, no sync
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
		// No user-data-dir: chromedp makes a fresh one and removes it at the end.
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc) // waits for the browser to exit
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(console.listener("tab 1")))
	t.Cleanup(cancel)
	// The first run starts the browser; it must not have a timeout, which would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	return ctx
}

// tab drives one browser tab for a test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func tid(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

// fail ends the test with what the tab shows, to tell a wrong page from a slow one.
func (b *tab) fail(step string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(text) > 1500 {
		text = text[:1500] + "…"
	}
	b.t.Fatalf("%s: %v\npage %s shows:\n%s", step, err, loc, text)
}

// do runs actions as one step with a timeout.
func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

// run runs one action that returns a value, with a timeout.
func run1[T any](b *tab, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(step, err)
	}
	return v
}

// open loads a page of the hub.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// fill replaces the text of a field, typing it as a user would.
func fill(sel chromedp.CSS, text string) chromedp.Action[chromedp.Void] {
	// chromedp.Clear fails on an empty textarea and SetValue on an empty
	// value, so the field is emptied by script.
	return chromedp.Steps(
		chromedp.WaitVisible(sel),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, string(sel))),
		chromedp.SendKeys(sel, text))
}

// submit clicks sel and waits until the page it leads to has loaded.
func (b *tab) submit(step string, sel chromedp.CSS) {
	b.t.Helper()
	run1(b, step, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel)))
}

// text waits for sel to be visible and returns its text.
func (b *tab) text(sel chromedp.CSS) string {
	b.t.Helper()
	return strings.TrimSpace(run1(b, "read "+string(sel), chromedp.Text(sel, chromedp.NodeVisible)))
}

// js evaluates a JavaScript expression that yields a boolean.
func (b *tab) js(expr string) bool {
	b.t.Helper()
	return run1(b, "evaluate "+expr, chromedp.Evaluate[bool](expr))
}

// path is the path of the page the tab shows.
func (b *tab) path() string {
	b.t.Helper()
	loc := run1(b, "read location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u.Path
}

// wantPath checks the page the tab shows.
func (b *tab) wantPath(want string) {
	b.t.Helper()
	if got := b.path(); got != want {
		b.fail("check location", fmt.Errorf("on %s, want %s", got, want))
	}
}

// wantText checks that sel's text contains want.
func (b *tab) wantText(sel chromedp.CSS, want string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, want) {
		b.fail("check "+string(sel), fmt.Errorf("text %q, want it to contain %q", got, want))
	}
}

// signIn signs in from the sign-in page.
func (b *tab) signIn(email, password string) {
	b.t.Helper()
	b.do("fill the sign-in form", fill(tid("email"), email), fill(tid("password"), password))
	b.submit("sign in", tid("signin-submit"))
}

// waitFor polls a JavaScript condition. chromedp.Poll builds its predicate with
// new Function, which the hub's CSP (no unsafe-eval) refuses, so the loop is here.
func (b *tab) waitFor(step, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !b.js(expr) {
		if time.Now().After(deadline) {
			b.fail(step, fmt.Errorf("%s is still false after %v", expr, stepTimeout))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// linkIn finds the hub link to path prefix (such as /reset-password/) in a mail's text.
func linkIn(t *testing.T, m mailtest.Message, base, prefix string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(base+prefix) + `[A-Za-z0-9_-]+`)
	link := re.FindString(m.Text)
	if link == "" {
		t.Fatalf("mail %q has no %s%s… link in its text:\n%s", m.Subject, base, prefix, m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Errorf("mail %q: the HTML body does not link to %s", m.Subject, link)
	}
	return link
}

func mailTo(to, subject string) func(mailtest.Message) bool {
	return func(m mailtest.Message) bool {
		return m.Subject == subject && len(m.To) == 1 && m.To[0] == to
	}
}

// TestBrowser drives the hub in headless Chromium as people use it: sign-in,
// password reset by mail, an invitation accepted in another browser, and a
// role change through HTMX. The pages must cause no console errors.
func TestBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		adminEmail    = "ada@example.com"
		adminPassword = "ada-runs-the-waddle-hub"
		samEmail      = "sam@example.com"
		samOld        = "sams-first-passphrase"
		samNew        = "sams-second-passphrase"
		newbieEmail   = "nell@example.com"
	)
	out := mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", adminPassword),
		"admin", "create", "--email", adminEmail, "--name", "Ada Admin", "--admin")
	if !strings.Contains(out, "created "+adminEmail) {
		t.Fatalf("admin create: %q", out)
	}
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", samOld), "admin", "create", "--email", samEmail)

	console := &browserConsole{}
	bctx := startBrowser(t, console)
	admin := &tab{t: t, ctx: bctx, base: h.base}
	// newTab opens a tab in a browser context of its own: its own cookies, as another person's browser.
	newTab := func(t *testing.T, name string) *tab {
		t.Helper()
		ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(console.listener(name)))
		t.Cleanup(cancel)
		// The first run opens the tab and ties it to the context it gets, so it has no timeout.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("open a tab for %s: %v", name, err)
		}
		return &tab{t: t, ctx: ctx, base: h.base}
	}

	defer func() {
		for _, e := range console.all() {
			t.Logf("browser console: %s", e)
		}
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"wrong password stays on sign-in with an error", func(t *testing.T) {
			admin.t = t
			admin.open("/")
			admin.wantPath("/signin")
			admin.signIn(adminEmail, "not-adas-password")
			admin.wantPath("/signin")
			admin.wantText(tid("form-error"), "The email or password is wrong.")
			if got := run1(admin, "read email", chromedp.Value(tid("email"))); got != adminEmail {
				t.Errorf("after a failed sign-in the email field holds %q, want %q", got, adminEmail)
			}
		}},
		{"right password shows the communities", func(t *testing.T) {
			admin.t = t
			admin.signIn(adminEmail, adminPassword)
			admin.wantPath("/")
			admin.wantText(tid("current-user"), "Ada Admin")
			admin.wantText(chromedp.CSS("main h1"), "Communities")
		}},
		{"password reset by mail", func(t *testing.T) {
			sam := newTab(t, "sam")
			sam.open("/signin")
			sam.submit("follow the forgot link", tid("forgot-link"))
			sam.wantPath("/forgot-password")
			sam.do("fill the forgot form", fill(tid("email"), samEmail))
			sam.submit("ask for a reset link", tid("forgot-submit"))
			sam.wantText(tid("forgot-sent"), samEmail)

			m := h.mail.Wait(t, mailTo(samEmail, "Reset your Waddle password"), mailTimeout)
			link := linkIn(t, m, h.base, "/reset-password/")
			sam.do("open the reset link", chromedp.Navigate(link), fill(tid("new-password"), samNew))
			sam.submit("set the new password", tid("reset-submit"))
			sam.wantPath("/signin")
			sam.wantText(tid("flash"), "Your password is changed")

			sam.signIn(samEmail, samNew)
			sam.wantPath("/")
			sam.wantText(tid("current-user"), samEmail)
			sam.submit("sign out", tid("signout"))
			sam.wantPath("/signin")

			sam.signIn(samEmail, samOld)
			sam.wantPath("/signin")
			sam.wantText(tid("form-error"), "The email or password is wrong.")

			sam.open(strings.TrimPrefix(link, h.base))
			sam.wantText(tid("form-error"), "This password reset link is wrong, has expired or was already used")
			if sam.js(`document.querySelector('[data-testid="new-password"]') !== null`) {
				t.Error("the used reset link still shows a password field")
			}
			h.mail.Wait(t, mailTo(samEmail, "Your Waddle password was changed"), mailTimeout)
		}},
		{"invitation and an inline role change", func(t *testing.T) {
			admin.t = t
			admin.open("/")
			form := `[data-testid="create-community"] `
			admin.do("fill the new community form",
				fill(chromedp.CSS(form+`input[name="name"]`), "Owl Watchers"),
				fill(chromedp.CSS(form+`input[name="slug"]`), "owl-watchers"),
				fill(chromedp.CSS(form+`textarea[name="description"]`), "Night birds."))
			admin.submit("create the community", chromedp.CSS(form+`button[type="submit"]`))
			cpath := admin.path()
			cid, err := strconv.ParseInt(strings.TrimPrefix(cpath, "/c/"), 10, 64)
			if err != nil {
				admin.fail("create the community", fmt.Errorf("landed on %s, want /c/ID", cpath))
			}
			admin.wantText(tid("flash"), "Community Owl Watchers created.")
			admin.wantText(tid("workspace-name"), "Owl Watchers")
			// Members and invitations have their own page in the community's navigation.
			admin.submit("open the members page", chromedp.CSS(`[data-testid="community-nav"] a[href$="/members"]`))
			mpath := cpath + "/members"
			admin.wantPath(mpath)

			admin.do("fill the invite form", fill(tid("invite-email"), newbieEmail))
			if got := run1(admin, "read the invite role", chromedp.Value(tid("invite-role"))); got != "member" {
				t.Errorf("the invite form proposes the role %q, want member", got)
			}
			admin.submit("invite", tid("invite-submit"))
			admin.wantPath(mpath)
			admin.wantText(tid("flash"), "Invitation mailed to "+newbieEmail)
			admin.wantText(tid("invitations"), newbieEmail)

			m := h.mail.Wait(t, mailTo(newbieEmail, "You're invited to a community on Waddle"), mailTimeout)
			if !strings.Contains(m.Text, "Ada Admin invited you to join Owl Watchers on Waddle as member.") {
				t.Errorf("invitation text:\n%s", m.Text)
			}
			link := linkIn(t, m, h.base, "/invite/")

			nell := newTab(t, "nell")
			nell.do("open the invitation", chromedp.Navigate(link))
			nell.wantText(chromedp.CSS("main h1"), "Join Owl Watchers")
			nell.do("fill the invitation form", fill(tid("display-name"), "Nell Newbie"), fill(tid("new-password"), "nells-own-passphrase"))
			nell.submit("accept the invitation", tid("accept-submit"))
			nell.wantPath("/")
			nell.wantText(tid("flash"), "Welcome to Owl Watchers!")
			nell.wantText(tid("current-user"), "Nell Newbie")
			nell.wantText(tid("community-link"), "Owl Watchers")

			admin.open(mpath)
			rowID := run1(admin, "find Nell's row", chromedp.Evaluate[string](`(() => {
				const r = [...document.querySelectorAll('[data-testid="member-row"]')]
					.find(r => r.querySelector('[data-testid="member-name"]').textContent.trim() === "Nell Newbie");
				return r ? r.id : "";
			})()`))
			uid, err := strconv.ParseInt(strings.TrimPrefix(rowID, "member-"), 10, 64)
			if err != nil {
				admin.fail("find Nell's row", fmt.Errorf("row id %q, want member-ID", rowID))
			}
			sel := fmt.Sprintf(`#%s [data-testid="member-role-select"]`, rowID)
			if got := run1(admin, "read Nell's role", chromedp.Value(chromedp.CSS(sel))); got != "member" {
				t.Fatalf("Nell's role shows as %q, want member", got)
			}
			// Mark the page and the row: a full reload would lose both marks, an HTMX swap only the row's.
			admin.js(fmt.Sprintf(`window.__marker = 1; document.getElementById(%q).__old = true; true`, rowID))
			// SetValue fires input and change, as choosing an option does; HTMX posts on change.
			admin.do("choose moderator", chromedp.SetValue(chromedp.CSS(sel), "moderator"))
			admin.waitFor("wait for the row to be swapped", fmt.Sprintf(`(() => { const r = document.getElementById(%q); return !!r && !r.__old; })()`, rowID))
			if !admin.js(`window.__marker === 1`) {
				t.Error("the role change reloaded the whole page; want only the row swapped")
			}
			admin.wantPath(mpath)
			if got := run1(admin, "read Nell's new role", chromedp.Value(chromedp.CSS(sel))); got != "moderator" {
				t.Errorf("after the change the row shows %q, want moderator", got)
			}
			if admin.js(fmt.Sprintf(`document.querySelector('#%s [data-testid="row-error"]') !== null`, rowID)) {
				t.Errorf("the row shows an error: %s", admin.text(chromedp.CSS("#"+rowID+` [data-testid="row-error"]`)))
			}

			a := openTestApp(t, h.vars)
			mem, err := a.comm.Member(t.Context(), cid, uid)
			if err != nil || mem.Role != community.Moderator {
				t.Errorf("Nell in the database: %+v (%v), want a moderator", mem, err)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			return // later steps build on this one
		}
	}
}
