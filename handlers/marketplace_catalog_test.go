package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// catalogManifest is a valid webhook module's manifest; version and slug vary.
func catalogManifest(slug, version string) string {
	m := map[string]any{
		"slug": slug, "name": "Trivia Night", "summary": "Quiz your chat.", "description": "# Trivia\n\n<script>alert(1)</script>\n\n**Rounds** of questions.",
		"category": []string{"Games", "Chat games"}, "labels": []string{"quiz"}, "price": map[string]any{"kind": "free"},
		"version":      version,
		"commands":     []any{map[string]any{"name": "trivia", "usage": "[start|stop]", "permission": "moderator"}},
		"executor":     map[string]any{"kind": "webhook", "url": "https://trivia.example.com/hook"},
		"capabilities": []string{"chat", "points:write"}, "changelog": "Version " + version,
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// developer makes a user with the developer flag.
func (e *env) developer(email string) auth.User {
	e.t.Helper()
	u := e.user(email, false)
	if err := e.cfg.Marketplace.SetDeveloper(context.Background(), audit.Actor{Name: "test"}, u.ID, true); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func TestMarketplaceAPIPublishing(t *testing.T) {
	e := newEnv(t)
	dev := e.developer("dev@example.com")
	other := e.developer("other@example.com")
	plain := e.user("plain@example.com", false)
	admin := e.user("admin@example.com", true)
	devKey, otherKey, plainKey := e.apiKey(dev, "user"), e.apiKey(other, "user"), e.apiKey(plain, "user")

	st, out := e.api(plainKey, "POST", "/marketplace/modules", catalogManifest("trivia-night", "1.0.0"))
	if st != http.StatusForbidden {
		t.Errorf("non-developer: %d %v", st, out)
	}
	st, out = e.api(devKey, "POST", "/marketplace/modules", catalogManifest("trivia-night", "1.0.0"))
	if st != http.StatusCreated {
		t.Fatalf("developer: %d %v", st, out)
	}
	data := out["data"].(map[string]any)
	if s, _ := data["signing_secret"].(string); !strings.HasPrefix(s, "whsec_") {
		t.Errorf("signing secret %v", data["signing_secret"])
	}
	st, _ = e.api(otherKey, "POST", "/marketplace/modules/trivia-night/versions", catalogManifest("trivia-night", "1.1.0"))
	if st != http.StatusForbidden {
		t.Errorf("another author's version: %d", st)
	}
	st, out = e.api(devKey, "POST", "/marketplace/modules/trivia-night/versions", catalogManifest("trivia-night", "1.1.0"))
	if st != http.StatusCreated {
		t.Errorf("author's version: %d %v", st, out)
	}
	st, out = e.api(devKey, "POST", "/marketplace/modules/trivia-night/versions", catalogManifest("trivia-night", "1.1.0"))
	if st != http.StatusBadRequest && st != http.StatusUnprocessableEntity {
		t.Errorf("republished version: %d %v", st, out)
	}

	// A bad manifest: 422 with every error by path.
	bad := strings.NewReplacer(`"slug":"x-bad"`, `"slug":"X Bad"`, `"version":"1.0.0"`, `"version":"1.0"`).Replace(catalogManifest("x-bad", "1.0.0"))
	bad = strings.Replace(bad, `{"capabilities"`, `{"colour":"red","capabilities"`, 1)
	st, out = e.api(devKey, "POST", "/marketplace/modules", bad)
	if st != http.StatusUnprocessableEntity {
		t.Fatalf("bad manifest: %d %v", st, out)
	}
	var paths []string
	for _, x := range out["data"].(map[string]any)["errors"].([]any) {
		paths = append(paths, x.(map[string]any)["path"].(string))
	}
	if strings.Join(paths, ",") != "colour" {
		// Unknown fields are reported first, alone: the rest is checked once the shape is right.
		t.Errorf("paths %v", paths)
	}
	bad = strings.NewReplacer(`"slug":"x-bad"`, `"slug":"X Bad"`, `"version":"1.0.0"`, `"version":"1.0"`).Replace(catalogManifest("x-bad", "1.0.0"))
	st, out = e.api(devKey, "POST", "/marketplace/modules", bad)
	paths = nil
	for _, x := range out["data"].(map[string]any)["errors"].([]any) {
		paths = append(paths, x.(map[string]any)["path"].(string))
	}
	if st != http.StatusUnprocessableEntity || strings.Join(paths, ",") != "slug,version" {
		t.Errorf("bad slug and version: %d %v", st, paths)
	}
	for name, body := range map[string]string{"not json": `{"slug":`, "empty": ``, "array": `[]`} {
		if st, out := e.api(devKey, "POST", "/marketplace/modules", body); st != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %v", name, st, out)
		}
	}

	// Reading: search and one module, for any user key.
	st, out = e.api(plainKey, "GET", "/marketplace/modules?q=triv", "")
	if st != http.StatusOK || out["data"].(map[string]any)["total"].(float64) != 1 {
		t.Errorf("search: %d %v", st, out)
	}
	if st, out = e.api(plainKey, "GET", "/marketplace/modules?sort=random", ""); st != http.StatusBadRequest {
		t.Errorf("bad sort: %d %v", st, out)
	}
	st, out = e.api(plainKey, "GET", "/marketplace/modules/trivia-night", "")
	if st != http.StatusOK || len(out["data"].(map[string]any)["versions"].([]any)) != 2 {
		t.Errorf("module: %d %v", st, out)
	}
	if st, _ = e.api(plainKey, "GET", "/marketplace/modules/nope", ""); st != http.StatusNotFound {
		t.Errorf("missing module: %d", st)
	}

	// Moderation: admin keys of global admins only.
	adminUserKey := e.apiKey(admin, "user")
	if st, _ = e.api(adminUserKey, "POST", "/marketplace/modules/trivia-night/unlist", `{"reason":"spam"}`); st != http.StatusForbidden {
		t.Errorf("global admin's user key unlisting: %d", st)
	}
	if st, _ = e.api(devKey, "POST", "/marketplace/modules/trivia-night/versions/1.1.0/yank", `{}`); st != http.StatusForbidden {
		t.Errorf("author yanking: %d", st)
	}
	adminKey := e.apiKey(admin, "admin")
	if st, out = e.api(adminKey, "POST", "/marketplace/modules/trivia-night/versions/1.1.0/yank", `{"reason":"broken"}`); st != http.StatusOK {
		t.Errorf("admin yanking: %d %v", st, out)
	}
	if st, out = e.api(adminKey, "POST", "/marketplace/modules/trivia-night/unlist", `{"reason":"spam"}`); st != http.StatusOK {
		t.Errorf("admin unlisting: %d %v", st, out)
	}
	st, out = e.api(plainKey, "GET", "/marketplace/modules?q=trivia", "")
	if st != http.StatusOK || out["data"].(map[string]any)["total"].(float64) != 0 {
		t.Errorf("an unlisted module was found: %v", out)
	}
	if n := e.count("SELECT count(*) FROM marketplace_versions WHERE yanked"); n != 1 {
		t.Errorf("%d yanked versions", n)
	}
	if st, _ = e.api("", "GET", "/marketplace/modules", ""); st != http.StatusUnauthorized {
		t.Errorf("no key: %d", st)
	}
}

func TestMarketplaceCommunityKeyCannotPublish(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", true)
	if err := e.cfg.Marketplace.SetDeveloper(context.Background(), audit.Actor{Name: "test"}, owner.ID, true); err != nil {
		t.Fatal(err)
	}
	c := e.community(owner, "alpha", nil)
	key := e.communityKey(owner, "action", c.ID)
	if st, out := e.api(key, "POST", "/marketplace/modules", catalogManifest("trivia-night", "1.0.0")); st != http.StatusForbidden {
		t.Errorf("community key publishing: %d %v", st, out)
	}
}

func TestMarketplaceHubPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.user("admin@example.com", true)
	dev := e.developer("dev@example.com")
	member := e.user("member@example.com", false)
	stranger := e.user("stranger@example.com", false)
	c := e.community(admin, "alpha", map[auth.User]community.Role{member: community.Member})
	_ = stranger
	if err := e.cfg.Marketplace.SyncCore(ctx, e.settings.Builtins()); err != nil {
		t.Fatal(err)
	}

	// Publishing from the hub: errors listed by path, then success with the secret once.
	dc := e.signedIn(dev.Email)
	res := dc.post("/marketplace/publish", url.Values{"manifest": {strings.Replace(catalogManifest("trivia-night", "1.0"), `"trivia"`, `"Bad Name"`, 1)}}, nil)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad manifest: %d", res.StatusCode)
	}
	doc := res.doc(t)
	if doc.Find(`[data-testid=manifest-errors] li[data-path="version"]`).Length() != 1 ||
		doc.Find(`[data-testid=manifest-errors] li[data-path="commands[0].name"]`).Length() != 1 {
		t.Errorf("errors shown: %s", doc.Find(`[data-testid=manifest-errors]`).Text())
	}
	if v, _ := doc.Find(`[data-testid=publish-manifest]`).Attr("aria-invalid"); v != "true" {
		t.Error("the manifest field is not marked invalid")
	}
	res = dc.post("/marketplace/publish", url.Values{"manifest": {catalogManifest("trivia-night", "1.0.0")}}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", res.StatusCode, res.body)
	}
	if s := res.doc(t).Find(`[data-testid=signing-secret]`).Text(); !strings.HasPrefix(s, "whsec_") {
		t.Errorf("signing secret shown: %q", s)
	}
	if got := dc.get("/marketplace/publish", nil).doc(t).Find(`[data-testid=my-modules] li`).Length(); got != 1 {
		t.Errorf("my modules: %d", got)
	}
	// A non-developer is told, and refused.
	mc := e.signedIn(member.Email)
	if mc.get("/marketplace/publish", nil).doc(t).Find(`[data-testid=not-developer]`).Length() != 1 {
		t.Error("a non-developer is not told")
	}
	if res = mc.post("/marketplace/publish", url.Values{"manifest": {catalogManifest("other-one", "1.0.0")}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("non-developer publishing: %d", res.StatusCode)
	}

	// The catalogue: hub-wide and in the workspace, with live search.
	res = mc.get("/marketplace?q=triv", nil)
	doc = res.doc(t)
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid=module-card][data-slug=trivia-night]`).Length() != 1 {
		t.Errorf("catalogue: %d %s", res.StatusCode, doc.Find("main").Text())
	}
	if q, _ := doc.Find(`[data-testid=marketplace-q]`).Attr("hx-trigger"); !strings.Contains(q, "input changed delay:250ms") {
		t.Errorf("search box trigger %q", q)
	}
	res = mc.get("/marketplace?label=core", http.Header{"Hx-Request": {"true"}})
	doc = res.doc(t)
	if doc.Find("html").Length() != 0 && doc.Find("header.topbar").Length() != 0 {
		t.Error("an HTMX search got a whole page")
	}
	if doc.Find(`[data-testid=module-card]`).Length() != len(e.settings.Builtins()) || doc.Find(`[data-testid=core-badge]`).Length() == 0 {
		t.Errorf("core modules: %d cards", doc.Find(`[data-testid=module-card]`).Length())
	}
	if res = mc.get("/marketplace?sort=random", nil); res.StatusCode != http.StatusBadRequest || res.doc(t).Find(`[data-testid=form-error]`).Length() != 1 {
		t.Errorf("bad sort: %d", res.StatusCode)
	}
	ws := mc.get("/c/"+strconv.FormatInt(c.ID, 10)+"/marketplace", nil)
	if ws.StatusCode != http.StatusOK || ws.doc(t).Find(`a[href="/c/`+strconv.FormatInt(c.ID, 10)+`/marketplace/trivia-night"]`).Length() != 1 {
		t.Errorf("workspace catalogue: %d", ws.StatusCode)
	}
	sc := e.signedIn(stranger.Email)
	if res = sc.get("/c/"+strconv.FormatInt(c.ID, 10)+"/marketplace", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a stranger saw a community's catalogue: %d", res.StatusCode)
	}
	if res = sc.get("/c/"+strconv.FormatInt(c.ID, 10)+"/marketplace/trivia-night", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a stranger saw a community's module page: %d", res.StatusCode)
	}
	if res = e.client().get("/marketplace", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d", res.StatusCode)
	}

	// The module page: sanitised description, capabilities in words, commands, versions.
	doc = mc.get("/c/"+strconv.FormatInt(c.ID, 10)+"/marketplace/trivia-night", nil).doc(t)
	if html, _ := doc.Find(`[data-testid=module-description]`).Html(); strings.Contains(html, "<script") || !strings.Contains(html, "<strong>Rounds</strong>") {
		t.Errorf("description %q", html)
	}
	if got := doc.Find(`[data-testid=module-capabilities] li[data-capability="points:write"]`).Text(); !strings.Contains(got, "can change viewers' points") {
		t.Errorf("capability shown as %q", got)
	}
	if !strings.Contains(doc.Find(`[data-testid=module-commands]`).Text(), "!trivia") || doc.Find(`[data-testid=module-new-version]`).Length() != 0 {
		t.Error("commands missing, or the new-version form shown to a member")
	}
	if doc.Find(`[data-testid=unlist]`).Length() != 0 {
		t.Error("unlist shown to a member")
	}
	core := mc.get("/marketplace/core-points", nil).doc(t)
	if !strings.Contains(core.Find(`[data-testid=module-core]`).Text(), "Built in — available in every community") {
		t.Error("core module page lacks its note")
	}

	// The author publishes a new version from the module page.
	if dc.get("/marketplace/trivia-night", nil).doc(t).Find(`[data-testid=module-new-version]`).Length() != 1 {
		t.Error("the author has no new-version form")
	}
	if res = dc.post("/marketplace/trivia-night/versions", url.Values{"manifest": {catalogManifest("trivia-night", "1.0.0")}}, nil); res.StatusCode != http.StatusUnprocessableEntity ||
		res.doc(t).Find(`[data-testid=manifest-errors] li[data-path=version]`).Length() != 1 {
		t.Errorf("republishing 1.0.0: %d", res.StatusCode)
	}
	if res = dc.post("/marketplace/trivia-night/versions", url.Values{"manifest": {catalogManifest("trivia-night", "1.1.0")}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("new version: %d %s", res.StatusCode, res.body)
	}
	if res = mc.post("/marketplace/trivia-night/versions", url.Values{"manifest": {catalogManifest("trivia-night", "1.2.0")}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a non-author's version: %d", res.StatusCode)
	}

	// Global admins yank, unlist and grant the developer flag; others get 404.
	if res = dc.post("/marketplace/trivia-night/unlist", nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("author unlisting: %d", res.StatusCode)
	}
	if res = mc.get("/marketplace/developers", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("member on the developers page: %d", res.StatusCode)
	}
	ac := e.signedIn(admin.Email)
	if res = ac.post("/marketplace/trivia-night/versions/1.1.0/yank", url.Values{"reason": {"broken"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("yank: %d", res.StatusCode)
	}
	if res = ac.post("/marketplace/trivia-night/unlist", url.Values{"reason": {"spam"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("unlist: %d", res.StatusCode)
	}
	doc = ac.get("/marketplace/trivia-night", nil).doc(t)
	if doc.Find(`[data-testid=module-unlisted]`).Length() != 1 || doc.Find(`li[data-version="1.1.0"] [data-testid=version-yanked]`).Length() != 1 {
		t.Error("unlisted and yanked not shown")
	}
	if res = ac.post("/marketplace/developers", url.Values{"email": {member.Email}, "developer": {"on"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("grant: %d", res.StatusCode)
	}
	if ac.get("/marketplace/developers", nil).doc(t).Find(`[data-testid=developers] li[data-email="member@example.com"]`).Length() != 1 {
		t.Error("the new developer is not listed")
	}
	if res = ac.post("/marketplace/developers", url.Values{"email": {"nobody@example.com"}, "developer": {"on"}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown email: %d", res.StatusCode)
	}
	if e.count("SELECT count(*) FROM audit_log WHERE action = 'developer_flag_changed'") != 2 {
		t.Error("developer flag changes are not all in the audit log")
	}
}
