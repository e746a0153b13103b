package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/marketplace"
)

// installHubEnv is community A with an owner, an admin, a moderator and a
// member, community B with its owner, and the module "hub-mod".
type installHubEnv struct {
	*env
	a, b community.Community
}

func newInstallHubEnv(t *testing.T) *installHubEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	admin := e.user("admin@example.com", false)
	mod := e.user("mod@example.com", false)
	member := e.user("member@example.com", false)
	other := e.user("other@example.com", false)
	x := &installHubEnv{env: e}
	x.a = e.community(root, "alpha", map[auth.User]community.Role{admin: community.Admin, mod: community.Moderator, member: community.Member})
	x.b = e.community(root, "beta", map[auth.User]community.Role{other: community.Owner})
	mustTestModule(t, e, "hub-mod", map[string][]marketplace.Capability{
		"1.0.0": {marketplace.CapChat}, "1.1.0": {marketplace.CapChat, marketplace.CapPointsWrite}})
	return x
}

func TestInstallPagesPermissions(t *testing.T) {
	t.Parallel()
	x := newInstallHubEnv(t)
	installURL := fmt.Sprintf("/c/%d/marketplace/hub-mod/install", x.a.ID)
	form := url.Values{"version": {"1.0.0"}, "accept": {"all"}, "config.greeting": {"hi"}, "config.token": {"s3cret"}}
	cases := []struct {
		name     string
		email    string
		wantGet  int
		wantPost int
	}{
		{"member", "member@example.com", http.StatusForbidden, http.StatusForbidden},
		{"moderator", "mod@example.com", http.StatusForbidden, http.StatusForbidden},
		{"another community's owner", "other@example.com", http.StatusNotFound, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := x.signedIn(c.email)
			if res := cl.get(installURL, nil); res.StatusCode != c.wantGet {
				t.Fatalf("GET: %d, want %d", res.StatusCode, c.wantGet)
			}
			if res := cl.post(installURL, form, nil); res.StatusCode != c.wantPost {
				t.Fatalf("POST: %d, want %d", res.StatusCode, c.wantPost)
			}
			for _, action := range []string{"change", "accept", "uninstall"} {
				if res := cl.post(fmt.Sprintf("/c/%d/marketplace/installed/hub-mod/%s", x.a.ID, action), url.Values{}, nil); res.StatusCode != c.wantPost {
					t.Fatalf("POST %s: %d, want %d", action, res.StatusCode, c.wantPost)
				}
			}
		})
	}
	if n := x.count("SELECT count(*) FROM marketplace_installs"); n != 0 {
		t.Fatalf("refused requests installed %d", n)
	}
	// The other community's owner sees only B's installs.
	res := x.signedIn("other@example.com").get(fmt.Sprintf("/c/%d/marketplace/installed", x.a.ID), nil)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("another community's installed page: %d", res.StatusCode)
	}
}

func TestInstallFromTheHub(t *testing.T) {
	t.Parallel()
	x := newInstallHubEnv(t)
	admin := x.signedIn("admin@example.com")
	installURL := fmt.Sprintf("/c/%d/marketplace/hub-mod/install", x.a.ID)

	page := admin.get(installURL, nil)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("install page: %d %s", page.StatusCode, page.body)
	}
	doc := page.doc(t)
	if got := doc.Find(`[data-testid=install-capabilities] [data-capability=chat]`).Text(); !strings.Contains(got, "can reply in chat") {
		t.Fatalf("capabilities: %q", got)
	}
	if doc.Find(`input[type=password][name="config.token"]`).Length() != 1 || doc.Find(`select[name="config.level"] option[value=hard]`).Length() != 1 ||
		doc.Find(`input[name="config.greeting"][maxlength="20"]`).Length() != 1 {
		t.Fatalf("config form: %s", page.body)
	}

	// Not accepted, and a bad value: errors under their fields, nothing installed.
	res := admin.post(installURL, url.Values{"version": {"1.0.0"}, "config.level": {"wild"}}, nil)
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad install: %d", res.StatusCode)
	}
	if d := res.doc(t); d.Find(`[aria-invalid=true][name=accept]`).Length() != 1 {
		t.Fatalf("no error at accept: %s", res.body)
	}
	res = admin.post(installURL, url.Values{"version": {"1.0.0"}, "accept": {"all"}, "config.level": {"wild"}}, nil)
	if d := res.doc(t); d.Find(`select[name="config.level"][aria-invalid=true]`).Length() != 1 ||
		!strings.Contains(d.Find(`[data-field="config.level"]`).Text(), "not one of") {
		t.Fatalf("no error at config.level: %s", res.body)
	}
	if n := x.count("SELECT count(*) FROM marketplace_installs"); n != 0 {
		t.Fatalf("a refused form installed %d", n)
	}

	res = admin.post(installURL, url.Values{"version": {"1.0.0"}, "accept": {"all"}, "config.greeting": {"hi"}, "config.token": {"s3cret"},
		"config.level": {"easy"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("install: %d %s", res.StatusCode, res.body)
	}
	if n := x.count("SELECT count(*) FROM commands WHERE community_id = $1 AND install_id IS NOT NULL", x.a.ID); n != 1 {
		t.Fatalf("%d commands installed", n)
	}
	installed := admin.get(fmt.Sprintf("/c/%d/marketplace/installed", x.a.ID), nil)
	d := installed.doc(t)
	if d.Find(`[data-testid=install-hub-mod]`).Length() != 1 || d.Find(`[data-testid=secret-set]`).Length() != 1 ||
		strings.Contains(installed.body, "s3cret") {
		t.Fatalf("installed page: %s", installed.body)
	}
	// A member sees the list without the forms.
	mem := x.signedIn("member@example.com").get(fmt.Sprintf("/c/%d/marketplace/installed", x.a.ID), nil)
	if md := mem.doc(t); md.Find(`[data-testid=install-hub-mod]`).Length() != 1 || md.Find(`[data-testid=change-form]`).Length() != 0 {
		t.Fatalf("member's installed page: %s", mem.body)
	}

	// An upgrade needing points:write waits; the banner accepts it.
	res = admin.post(fmt.Sprintf("/c/%d/marketplace/installed/hub-mod/change", x.a.ID), url.Values{"version": {"1.1.0"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d %s", res.StatusCode, res.body)
	}
	d = admin.get(fmt.Sprintf("/c/%d/marketplace/installed", x.a.ID), nil).doc(t)
	if d.Find(`[data-testid=pending] [data-capability="points:write"]`).Length() != 1 {
		t.Fatal("no pending banner")
	}
	res = admin.post(fmt.Sprintf("/c/%d/marketplace/installed/hub-mod/accept", x.a.ID), url.Values{"accept": {"points:write"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", res.StatusCode, res.body)
	}
	if v := x.count("SELECT count(*) FROM marketplace_installs i JOIN marketplace_versions v ON v.id = i.version_id WHERE v.version = '1.1.0'"); v != 1 {
		t.Fatal("not upgraded")
	}
	res = admin.post(fmt.Sprintf("/c/%d/marketplace/installed/hub-mod/uninstall", x.a.ID), url.Values{}, nil)
	if res.StatusCode != http.StatusSeeOther || x.count("SELECT count(*) FROM marketplace_installs") != 0 {
		t.Fatalf("uninstall: %d", res.StatusCode)
	}
}
