package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/router"
)

// The secrets the tests type; none may ever appear in a page.
const (
	hookSecret      = "hook-s3cret-Zq8xW"
	whiskSecret     = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:whisk-k3y-Yt5vR"
	lambdaSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYl4mbda"
)

// newModulesEnv is newBotEnv with the router's config changed by rc.
func newModulesEnv(t *testing.T, rc func(*router.Config)) *botEnv {
	t.Helper()
	e := newEnvWithRouter(t, rc)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	mo := e.user("mo@example.com", false)
	c := e.community(root, "ducks", map[auth.User]community.Role{ann: community.Admin, mo: community.Member})
	return &botEnv{env: e, c: c, admin: e.signedIn(ann.Email), member: e.signedIn(mo.Email)}
}

// hook is a module's webhook: it checks the signature and answers pong.
type hook struct {
	*httptest.Server
	mu       sync.Mutex
	requests []router.RemoteRequest
	badSigs  int
}

func newHook(t *testing.T) *hook {
	t.Helper()
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := executor.VerifySignature(hookSecret, r.Header, body, time.Now(), time.Minute); err != nil {
			h.badSigs++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var req router.RemoteRequest
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.requests = append(h.requests, req)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"reply":"pong"}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) calls() ([]router.RemoteRequest, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]router.RemoteRequest(nil), h.requests...), h.badSigs
}

func webhookForm(u string) url.Values {
	return url.Values{"name": {"#Ping"}, "kind": {"webhook"}, "url": {u}, "secret": {hookSecret}, "timeout_ms": {"2000"}, "permission": {"everyone"},
		// Fields of other kinds, typed and then left: they must not be stored.
		"function": {"stray"}, "secret_access_key": {lambdaSecretKey}}
}

// noSecrets fails the test if a page shows any secret the tests typed.
func noSecrets(t *testing.T, what string, res response) {
	t.Helper()
	for _, s := range []string{hookSecret, whiskSecret, lambdaSecretKey, "whisk-k3y"} {
		if strings.Contains(res.body, s) {
			t.Errorf("%s shows the secret %q", what, s)
		}
	}
}

func TestModuleWebhookThroughSimulator(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	hk := newHook(t)

	res := b.admin.post(b.path("/modules"), webhookForm(hk.URL+"/waddle?token=abc"), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/modules") {
		t.Fatalf("create: %d %q: %.500s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	mods, err := b.settings.Modules(t.Context(), b.c.ID)
	if err != nil || len(mods) != 1 {
		t.Fatalf("modules: %v, %v", mods, err)
	}
	got := *mods[0]
	want := router.RemoteModule{ID: got.ID, Name: "ping", Kind: executor.Webhook, URL: hk.URL + "/waddle?token=abc", Timeout: 2 * time.Second,
		Permission: router.Everyone, Enabled: true}
	if d := cmp.Diff(want, got, cmpopts.IgnoreUnexported(router.RemoteModule{})); d != "" {
		t.Errorf("created module (-want +got):\n%s", d)
	}
	var sealed, sealedKey []byte
	if err := b.pool.QueryRow(t.Context(), "SELECT secret_sealed, secret_key_sealed FROM community_modules").Scan(&sealed, &sealedKey); err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || strings.Contains(string(sealed), hookSecret) || sealedKey != nil {
		t.Errorf("secret stored as %q, Lambda key as %q; want the HMAC key sealed and no Lambda key", sealed, sealedKey)
	}

	// The list shows the module and where it goes, never the secret.
	page := b.admin.get(b.path("/modules"), nil)
	doc := page.doc(t)
	if f := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Module #ping added") {
		t.Errorf("flash %q", f)
	}
	row := doc.Find(fmt.Sprintf(`#module-%d`, got.ID))
	if row.Find(`[data-testid=module-row-name]`).Text() != "#ping" || row.Find(`[data-testid=module-row-kind]`).Text() != "webhook" ||
		row.Find(`[data-testid=module-row-target]`).Text() != hk.URL+"/waddle?token=abc" ||
		row.Find(`[data-testid=module-row-credentials]`).Text() != "secret set" ||
		row.Find(`[data-testid=module-row-timeout]`).Text() != "2000 ms" || row.Find(`[data-testid=module-row-permission]`).Text() != "everyone" ||
		row.Find(`[data-testid=module-row-state]`).Text() != "enabled" {
		t.Errorf("the row shows %q", row.Text())
	}
	if doc.Find(`[data-testid=community-nav] a[aria-current=page]`).Text() != "Modules" {
		t.Error("the nav does not mark Modules as the current page")
	}
	help := doc.Find(`[data-testid=modules-help]`).Text()
	for _, w := range []string{"#name args", "community_id", "dry_run", `{"reply": "..."}`, `{"responses": [...]}`, "X-Waddle-Timestamp", "X-Waddle-Signature", "timestamp.body"} {
		if !strings.Contains(help, w) {
			t.Errorf("the explanation lacks %q", w)
		}
	}
	if doc.Find(`input[name=secret]`).AttrOr("type", "") != "password" || doc.Find(`input[name=secret_access_key]`).AttrOr("type", "") != "password" {
		t.Error("the secret inputs are not password inputs")
	}
	noSecrets(t, "the admin's modules page", page)
	// A member sees the module, but only the webhook's host: its path and query may hold a token.
	mpage := b.member.get(b.path("/modules"), nil)
	mdoc := mpage.doc(t)
	if mpage.StatusCode != 200 || mdoc.Find(`[data-testid=module-row-target]`).Text() != hk.URL+"/…" ||
		mdoc.Find(`[data-testid=module-create]`).Length() != 0 || mdoc.Find(`[data-testid=module-delete]`).Length() != 0 {
		t.Errorf("member page: %d, target %q, form or delete shown", mpage.StatusCode, mdoc.Find(`[data-testid=module-row-target]`).Text())
	}
	if strings.Contains(mpage.body, "token=abc") {
		t.Error("a member sees the webhook's query")
	}
	noSecrets(t, "the member's modules page", mpage)

	// "#ping" in the simulator, for real: the signed call is answered.
	_, sim := b.sim(t, url.Values{"user": {"alice"}, "text": {"#ping one two"}})
	if got := sim.Find(`[data-testid=sim-reply]`).Text(); !strings.Contains(got, "pong") {
		t.Errorf("reply %q, want pong", got)
	}
	if got := sim.Find(`[data-testid=sim-handled-by]`).Text(); got != "module #ping (webhook)" {
		t.Errorf("handled by %q", got)
	}
	reqs, bad := hk.calls()
	if len(reqs) != 1 || bad != 0 {
		t.Fatalf("the hook got %d good and %d badly signed calls, want 1 and 0", len(reqs), bad)
	}
	if r := reqs[0]; r.Module != "ping" || r.Community != b.c.ID || !cmp.Equal(r.Args, []string{"one", "two"}) || r.DryRun ||
		r.Event.User.Name != "alice" || r.Event.Text != "#ping one two" {
		t.Errorf("the hook got %+v", r)
	}

	// A dry run says what it would send and sends nothing.
	_, sim = b.sim(t, url.Values{"user": {"alice"}, "text": {"#ping"}, "dry_run": {"on"}})
	changes := sim.Find(`[data-testid=sim-changes]`).Text()
	// Only scheme and host: the path of a webhook may hold a token, and members may run dry runs.
	if !strings.Contains(changes, "would send POST "+hk.URL+"/…") || strings.Contains(changes, "/waddle") || !strings.Contains(changes, "#ping") ||
		sim.Find(`[data-testid=sim-reply]`).Length() != 0 {
		t.Errorf("dry run: changes %q, replies %q", changes, sim.Find(`[data-testid=sim-reply]`).Text())
	}
	if reqs, _ := hk.calls(); len(reqs) != 1 {
		t.Errorf("the dry run reached the hook: %d calls", len(reqs))
	}
	// The same without JavaScript, as a member may: a dry run.
	res = b.member.post(b.path("/simulator"), url.Values{"platform": {"twitch"}, "user": {"mo"}, "kind": {"chat_message"}, "text": {"#ping"}, "dry_run": {"on"}}, nil)
	if res.StatusCode != 200 || !strings.Contains(res.doc(t).Find(`[data-testid=sim-changes]`).Text(), "would send POST") {
		t.Errorf("member's plain dry run: %d", res.StatusCode)
	}
	if reqs, _ := hk.calls(); len(reqs) != 1 {
		t.Errorf("a dry run reached the hook: %d calls", len(reqs))
	}
}

func TestModuleKindsListed(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	forms := []url.Values{
		{"name": {"whisk"}, "kind": {"openwhisk"}, "url": {"https://openwhisk.example.com"}, "secret": {whiskSecret}, "namespace": {"guest"},
			"action": {"tools/hello"}, "permission": {"subscriber"}, "access_key_id": {"AKIASTRAYSTRAYSTRAY1"}},
		{"name": {"lam"}, "kind": {"lambda"}, "function": {"hello:live"}, "region": {"eu-west-1"}, "access_key_id": {"AKIAIOSFODNN7EXAMPLE"},
			"secret_access_key": {lambdaSecretKey}, "timeout_ms": {"30000"}, "secret": {hookSecret}},
	}
	for _, f := range forms {
		if res := b.admin.post(b.path("/modules"), f, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s: %d %q", f.Get("name"), res.StatusCode, formError(t, res))
		}
	}
	page := b.admin.get(b.path("/modules"), nil)
	type row struct{ Name, Kind, Target, Credentials, Timeout, Permission string }
	var got []row
	page.doc(t).Find(`[data-testid=module-row]`).Each(func(_ int, s *goquery.Selection) {
		got = append(got, row{s.Find(`[data-testid=module-row-name]`).Text(), s.Find(`[data-testid=module-row-kind]`).Text(),
			s.Find(`[data-testid=module-row-target]`).Text(), s.Find(`[data-testid=module-row-credentials]`).Text(),
			s.Find(`[data-testid=module-row-timeout]`).Text(), s.Find(`[data-testid=module-row-permission]`).Text()})
	})
	want := []row{
		{"#lam", "lambda", "hello:live in eu-west-1", "own AWS keys set", "30000 ms", "everyone"},
		{"#whisk", "openwhisk", "openwhisk.example.com · guest/tools/hello", "secret set", "3000 ms", "subscriber"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	noSecrets(t, "the modules page", page)
	// Fields of the other kinds were dropped, not stored.
	if n := b.count("SELECT count(*) FROM community_modules WHERE (kind = 'openwhisk' AND (access_key_id <> '' OR secret_key_sealed IS NOT NULL)) OR (kind = 'lambda' AND secret_sealed IS NOT NULL)"); n != 0 {
		t.Errorf("%d modules kept fields of another kind", n)
	}
}

func TestModuleCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	if res := b.admin.post(b.path("/modules"), webhookForm("https://hooks.example.com/x"), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %q", res.StatusCode, formError(t, res))
	}
	whisk := url.Values{"name": {"whisk"}, "kind": {"openwhisk"}, "url": {"https://openwhisk.example.com"}, "secret": {whiskSecret}, "action": {"hello"}}
	lambda := url.Values{"name": {"lam"}, "kind": {"lambda"}, "function": {"hello"}, "region": {"us-east-1"}, "access_key_id": {"AKIAIOSFODNN7EXAMPLE"},
		"secret_access_key": {lambdaSecretKey}}
	with := func(base url.Values, k, v string) url.Values {
		out := url.Values{}
		for key, x := range base {
			out[key] = x
		}
		out.Set(k, v)
		return out
	}
	hookForm := func(k, v string) url.Values {
		return with(with(webhookForm("https://hooks.example.com/y"), "name", "other"), k, v)
	}
	cases := []struct {
		name    string
		form    url.Values
		wantErr string
	}{
		{"bad name", hookForm("name", "no spaces"), "A module name has 1 to 32 letters"},
		{"name taken", with(webhookForm("https://hooks.example.com/z"), "name", "PING"), "There is already a module #ping."},
		{"unknown kind", hookForm("kind", "ftp"), `Kind must be "webhook", "openwhisk" or "lambda".`},
		{"webhook without URL", hookForm("url", ""), "URL is required."},
		{"webhook with an ftp URL", hookForm("url", "ftp://files.example.com/hook"), "URL must start with https:// or http://."},
		{"webhook without secret", hookForm("secret", ""), "Secret is required to sign webhook calls."},
		{"openwhisk without action", with(whisk, "action", ""), "Action is required."},
		{"openwhisk without user:key", with(whisk, "secret", "justakey"), `Secret must be the OpenWhisk credentials "uuid:key".`},
		{"lambda without function", with(lambda, "function", ""), "Function is required."},
		{"lambda without region", with(lambda, "region", ""), "Region is required unless function is an ARN."},
		{"lambda with a bad region", with(lambda, "region", "mars"), "Region is not an AWS region name"},
		{"lambda without keys", with(with(lambda, "access_key_id", ""), "secret_access_key", ""), "Access key ID is required: this server does not lend its own AWS credentials."},
		{"lambda with half the keys", with(lambda, "secret_access_key", ""), "Access key ID and secret access key must be given together."},
		{"timeout too short", hookForm("timeout_ms", "99"), "The timeout is between 100 and 30000 milliseconds."},
		{"timeout too long", hookForm("timeout_ms", "30001"), "The timeout is between 100 and 30000 milliseconds."},
		{"timeout not a number", hookForm("timeout_ms", "3s"), "The timeout is a whole number"},
		{"unknown permission", hookForm("permission", "emperor"), "Choose who may use it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := b.admin.post(b.path("/modules"), tc.form, nil)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(formError(t, res), tc.wantErr) {
				t.Errorf("status %d, form error %q; want 400 and %q", res.StatusCode, formError(t, res), tc.wantErr)
			}
			doc := res.doc(t)
			if doc.Find(`[data-testid=module-create]`).Length() != 1 || doc.Find(`[data-testid=module-name]`).AttrOr("value", "") != tc.form.Get("name") {
				t.Error("the form is not shown again with what was typed")
			}
			if v, ok := doc.Find(`input[name=secret]`).Attr("value"); ok && v != "" {
				t.Errorf("the secret input is filled with %q", v)
			}
			noSecrets(t, "the form error page", res)
			if n := b.count("SELECT count(*) FROM community_modules"); n != 1 {
				t.Errorf("%d modules, want only the first", n)
			}
		})
	}
}

func TestModuleCreateWhenModulesAreOff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		rc      func(*router.Config)
		wantErr string
	}{
		{"no executor", nil, "Remote modules are not enabled on this server."},
		{"no TOKEN_ENCRYPTION_KEY", func(c *router.Config) { c.Executor = executor.New(executor.Config{AllowPrivate: true}) }, "TOKEN_ENCRYPTION_KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newModulesEnv(t, tc.rc)
			res := b.admin.post(b.path("/modules"), webhookForm("https://hooks.example.com/x"), nil)
			if res.StatusCode != http.StatusConflict || !strings.Contains(formError(t, res), tc.wantErr) {
				t.Errorf("status %d, form error %q; want 409 and %q", res.StatusCode, formError(t, res), tc.wantErr)
			}
			noSecrets(t, "the form error page", res)
			if n := b.count("SELECT count(*) FROM community_modules"); n != 0 {
				t.Errorf("%d modules created", n)
			}
		})
	}
}

func TestModuleMemberMayNotChange(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	mod, err := b.settings.CreateModule(t.Context(), audit.Actor{}, b.c.ID, router.ModuleInput{Name: "ping", Kind: "webhook", URL: "https://hooks.example.com/x", Secret: hookSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []http.Header{nil, htmx} {
		if res := b.member.post(b.path("/modules"), webhookForm("https://hooks.example.com/evil"), hdr); res.StatusCode != http.StatusForbidden {
			t.Errorf("member create (HTMX %v): %d, want 403", hdr != nil, res.StatusCode)
		}
		if res := b.member.post(b.path("/modules/%d/delete", mod.ID), nil, hdr); res.StatusCode != http.StatusForbidden {
			t.Errorf("member delete (HTMX %v): %d, want 403", hdr != nil, res.StatusCode)
		}
	}
	if n := b.count("SELECT count(*) FROM community_modules WHERE name = 'ping' AND url = 'https://hooks.example.com/x'"); n != 1 || b.count("SELECT count(*) FROM community_modules") != 1 {
		t.Error("a member changed the modules")
	}
}

func TestModuleDelete(t *testing.T) {
	t.Parallel()
	b := newModulesEnv(t, withModules(t))
	create := func(name string) int64 {
		t.Helper()
		m, err := b.settings.CreateModule(t.Context(), audit.Actor{}, b.c.ID, router.ModuleInput{Name: name, Kind: "webhook", URL: "https://hooks.example.com/" + name, Secret: hookSecret})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	plain, viaHTMX := create("plain"), create("htmx")

	res := b.admin.post(b.path("/modules/%d/delete", plain), nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/modules") {
		t.Fatalf("delete: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if f := b.admin.get(b.path("/modules"), nil).doc(t).Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Module #plain deleted.") {
		t.Errorf("flash %q", f)
	}
	if res := b.admin.post(b.path("/modules/%d/delete", plain), nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("deleting again: %d, want 404", res.StatusCode)
	}

	// Delete asks first, in place (a second click), and swaps its row for the empty answer.
	confirm := b.admin.get(b.path("/modules"), nil).doc(t).Find(fmt.Sprintf(`#module-%d details.confirm`, viaHTMX))
	form := confirm.Find(`form`)
	if form.AttrOr("hx-post", "") != b.path("/modules/%d/delete", viaHTMX) || form.AttrOr("hx-target", "") != "closest tr" ||
		!strings.Contains(form.Text(), "#htmx") || confirm.Find(`summary[data-testid=module-delete]`).Length() != 1 ||
		form.Find(`button.danger[data-testid=module-delete-confirm]`).Length() != 1 {
		t.Errorf("delete: hx-post %q, hx-target %q, question %q", form.AttrOr("hx-post", ""), form.AttrOr("hx-target", ""), form.Text())
	}
	res = b.admin.post(b.path("/modules/%d/delete", viaHTMX), nil, htmx)
	if res.StatusCode != http.StatusOK || res.body != "" {
		t.Errorf("HTMX delete: %d %q, want 200 and no body", res.StatusCode, res.body)
	}
	if n := b.count("SELECT count(*) FROM community_modules"); n != 0 {
		t.Errorf("%d modules left", n)
	}
	if doc := b.admin.get(b.path("/modules"), nil).doc(t); doc.Find(`[data-testid=no-modules]`).Length() != 1 {
		t.Error("the empty list is not shown")
	}
	if res := b.admin.post(b.path("/modules/x/delete"), nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("bad id: %d, want 404", res.StatusCode)
	}
}
