package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/router"
)

// greeterModule is a marketplace module's server speaking the module
// protocol: it checks Waddle's signature as a real module would and answers
// "<greeting>, <user>!" from its install's config, in capitals when "loud"
// is set; a call without the install's api_token is refused.
type greeterModule struct {
	*httptest.Server
	mu      sync.Mutex
	signing string
	token   string
	calls   []router.RemoteRequest
}

func startGreeterModule(t *testing.T, token string) *greeterModule {
	t.Helper()
	g := &greeterModule{token: token}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func (g *greeterModule) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	signing := g.signing
	g.mu.Unlock()
	if err := executor.VerifySignature(signing, r.Header, body, time.Now(), 0); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req router.RemoteRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.calls = append(g.calls, req)
	g.mu.Unlock()
	if tok, _ := req.Config["api_token"].(string); tok != g.token {
		http.Error(w, "wrong api_token", http.StatusForbidden)
		return
	}
	greeting, _ := req.Config["greeting"].(string)
	reply := fmt.Sprintf("%s, %s!", greeting, req.Event.User.Name)
	if loud, _ := req.Config["loud"].(bool); loud {
		reply = strings.ToUpper(reply)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(router.RemoteAnswer{Reply: reply})
}

// setSigning stores the signing secret publishing returned.
func (g *greeterModule) setSigning(s string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.signing = s
}

func (g *greeterModule) requests() []router.RemoteRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]router.RemoteRequest(nil), g.calls...)
}

// greeterManifest is the module as its author publishes it: one command,
// a config schema with a text, a checkbox and a secret, and the chat
// capability. Its description, not its name, holds "marmalade penguins".
func greeterManifest(url string) marketplace.Manifest {
	return marketplace.Manifest{
		Slug: "greeter", Name: "Greeter", Summary: "Greets whoever asks.",
		Description: "Says hello the way **marmalade penguins** do on a cold morning.",
		Category:    []string{"Chat", "Greetings"}, Labels: []string{"greeting"},
		Price: marketplace.Price{Kind: marketplace.PriceFree}, Version: "1.0.0",
		Commands: []marketplace.CommandSpec{{Name: "greet", Usage: "!greet"}},
		Executor: marketplace.Executor{Kind: marketplace.ExecWebhook, URL: url, TimeoutMS: 3000},
		Config: json.RawMessage(`{"type":"object","properties":{
			"greeting":{"type":"string","title":"Greeting"},
			"loud":{"type":"boolean","title":"Shout it"},
			"api_token":{"type":"secret","title":"API token"}},
			"required":["greeting","api_token"]}`),
		Capabilities: []marketplace.Capability{marketplace.CapChat},
	}
}

// TestMarketplaceBrowser drives the marketplace in headless Chromium as a
// community admin would: find a module by part of its description (HTMX,
// no page load), read what it may do, install it through its generated
// config form, run its command in the simulator against the module's own
// server, uninstall it and see the command gone. No console errors.
func TestMarketplaceBrowser(t *testing.T) {
	t.Parallel()
	// The module's server is on 127.0.0.1, which the outbound guard refuses
	// unless the operator allows private addresses.
	// Config secrets and the signing secret are sealed with TOKEN_ENCRYPTION_KEY.
	key := make([]byte, 32)
	rand.Read(key)
	h := startHub(t, "EXECUTOR_ALLOW_PRIVATE", "true", "TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key))
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
		token    = "tok-7f3a-greeter"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, h.vars)
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(t.Context(), ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}
	mod := startGreeterModule(t, token)
	market := marketplace.New(marketplace.Config{Pool: a.pool, Box: a.secrets})
	by := audit.Actor{UserID: ada.ID, Email: email}
	if err := market.SetDeveloper(t.Context(), by, ada.ID, true); err != nil {
		t.Fatal(err)
	}
	_, _, signing, err := market.CreateModule(t.Context(), by, ada.ID, greeterManifest(mod.URL), marketplace.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	mod.setSigning(signing)

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

	// Search by part of the description, as one types.
	base := fmt.Sprintf("/c/%d/marketplace", c.ID)
	b.open(base)
	b.js(`window.__marker = 1; true`)
	b.do("type part of the description", fill(tid("marketplace-q"), "marmalade pengu"))
	card := `[data-testid="module-card"][data-slug="greeter"]`
	b.waitFor("wait for the module among the results",
		`document.querySelectorAll('[data-testid="module-card"]').length === 1 && !!document.querySelector('`+card+`')`)
	if !b.js(`window.__marker === 1`) {
		t.Error("searching reloaded the page; want the results swapped in by HTMX")
	}

	// The module page says what it may do in plain words.
	b.submit("open the module", chromedp.CSS(card+` h3 a`))
	b.wantPath(base + "/greeter")
	b.wantText(tid("module-name"), "Greeter")
	b.wantText(tid("module-description"), "marmalade penguins")
	b.wantText(tid("module-capabilities"), marketplace.CapChat.Describe())

	// Install with the generated config form.
	b.submit("go to install", tid("install-link"))
	b.wantPath(base + "/greeter/install")
	b.wantText(tid("install-capabilities"), marketplace.CapChat.Describe())
	b.do("fill the config form",
		fill(chromedp.CSS(`[data-testid="config-greeting"] input`), "Ahoy"),
		chromedp.Click(chromedp.CSS(`[data-testid="config-loud"] input[type="checkbox"]`)),
		fill(chromedp.CSS(`[data-testid="config-api_token"] input[type="password"]`), token),
		chromedp.Click(tid("accept")))
	b.submit("install", tid("install-submit"))
	b.wantPath(base + "/installed")
	installed := `[data-testid="install-greeter"] `
	b.wantText(chromedp.CSS(installed+`h2`), "Greeter")
	b.wantText(chromedp.CSS(installed+`p`), "!greet")
	b.wantText(chromedp.CSS(installed+`[data-testid="granted"]`), marketplace.CapChat.Describe())
	if b.js(`document.body.innerText.includes(` + jsString(token) + `)`) {
		t.Error("the installed page shows the secret api_token")
	}

	// Run the command in the simulator, for real.
	sim := fmt.Sprintf("/c/%d/simulator", c.ID)
	send := func(step string) {
		t.Helper()
		b.open(sim)
		before := run1(b, "count the transcript", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="sim-entry"]').length`))
		b.do(step, fill(tid("sim-text"), "!greet"), chromedp.Click(tid("sim-dry-run")), chromedp.Click(tid("sim-submit")))
		more := fmt.Sprintf(`document.querySelectorAll('[data-testid="sim-entry"]').length > %d`, before)
		b.waitFor("wait for the answer or the question", more+` || !!document.querySelector('[data-testid="sim-confirm"]')`)
		if !b.js(more) {
			b.do("confirm the real run", chromedp.Click(tid("sim-confirm-yes")))
			b.waitFor("wait for the answer", more)
		}
	}
	last := `[data-testid="sim-entry"]:last-child `
	send("send !greet for real")
	b.wantText(chromedp.CSS(last+`[data-testid="sim-reply"]`), "AHOY, VIEWER!")
	if b.js(`document.querySelector('` + last + `[data-testid="sim-dry"]') !== null`) {
		t.Error("the run says it was a dry run")
	}
	calls := mod.requests()
	if len(calls) != 1 {
		t.Fatalf("the module got %d calls, want 1", len(calls))
	}
	got := calls[0]
	if got.Command != "greet" || got.ModuleVersion != "1.0.0" || got.Config["greeting"] != "Ahoy" || got.Config["loud"] != true || got.Config["api_token"] != token {
		t.Errorf("the module got command %q version %q config %v; want greet, 1.0.0 and the config as filled in", got.Command, got.ModuleVersion, got.Config)
	}

	// Uninstall, confirming in place; the command no longer answers.
	b.open(base + "/installed")
	b.do("open the uninstall question", chromedp.Click(chromedp.CSS(installed+`[data-testid="uninstall"]`)))
	b.submit("really uninstall", chromedp.CSS(installed+`[data-testid="uninstall-confirm"]`))
	b.wantPath(base + "/installed")
	b.wantText(tid("no-installs"), "No modules installed yet.")
	send("send !greet again")
	if b.js(`document.querySelector('` + last + `[data-testid="sim-reply"]') !== null`) {
		t.Errorf("after uninstalling, !greet still answers: %q", b.text(chromedp.CSS(last+`[data-testid="sim-reply"]`)))
	}
	b.wantText(chromedp.CSS(last+`[data-testid="sim-silent"]`), "The bot says nothing.")
	if n := len(mod.requests()); n != 1 {
		t.Errorf("after uninstalling, the module got %d calls in all, want still 1", n)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
