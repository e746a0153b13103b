package handlers_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
)

var htmx = http.Header{"Hx-Request": {"true"}}

func TestInviteForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	mod := e.user("mod@example.com", false)
	c := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Admin, mod: community.Moderator})
	path := fmt.Sprintf("/c/%d/invitations", c.ID)
	hub := e.signedIn("ann@example.com")
	cases := []struct {
		name, email, role string
		wantStatus        int
		wantError         string
		wantField         string // the field the error sits next to, focused; "": above the form
	}{
		{"empty email", "", "member", 400, "Enter an email address.", "email"},
		{"malformed email", "bob@", "member", 400, "is not an email address", "email"},
		{"over-long email", strings.Repeat("b", 260) + "@example.com", "member", 400, "at most 254", "email"},
		{"unknown role", "bob@example.com", "emperor", 400, "Choose a role", "role"},
		{"owner by invitation", "bob@example.com", "owner", 400, "Invite as admin, moderator or member", "role"},
		{"already a member", "mod@example.com", "member", 400, "already a member", ""},
		{"ok", "bob@example.com", "moderator", 303, "", ""},
	}
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			res := hub.post(path, url.Values{"email": {cc.email}, "role": {cc.role}}, nil)
			if res.StatusCode != cc.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, cc.wantStatus)
			}
			if cc.wantError != "" {
				doc := res.doc(t)
				if got := doc.Find(`[data-testid=form-error]`).Text(); !strings.Contains(got, cc.wantError) {
					t.Errorf("error %q, want %q", got, cc.wantError)
				}
				if cc.wantField != "" {
					fieldAt(t, doc.Selection, `[data-testid=invite-form]`, cc.wantField, cc.wantError)
				}
			}
		})
	}
	if n := e.count("SELECT count(*) FROM community_invitations"); n != 1 {
		t.Errorf("%d invitations, want only bob's", n)
	}
	// Inviting bob again replaces the pending invitation: one row, the new role.
	if res := hub.post(path, url.Values{"email": {"bob@example.com"}, "role": {"member"}}, nil); res.StatusCode != 303 {
		t.Fatalf("second invitation: status %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM community_invitations WHERE email = 'bob@example.com' AND role = 'member'"); n != 1 || e.count("SELECT count(*) FROM community_invitations") != 1 {
		t.Error("a second invitation should replace the first")
	}
	page := hub.get(fmt.Sprintf("/c/%d/members", c.ID), nil)
	if !strings.Contains(page.doc(t).Find(`[data-testid=invitations]`).Text(), "bob@example.com") {
		t.Error("the pending invitation is not listed")
	}
	if flash := page.doc(t).Find(`[data-testid=flash]`).Text(); !strings.Contains(flash, "Invitation mailed to bob@example.com") {
		t.Errorf("flash %q", flash)
	}
	// Mail is composed when its job runs: the first invitation was replaced
	// before then, so only the second one's mail goes, with its role.
	if m := e.mails("bob@example.com"); len(m) != 1 || !strings.Contains(m[0].Text, e.srv.URL+"/invite/") || !strings.Contains(m[0].Text, "as member.") {
		t.Errorf("invitation mail: %+v", m)
	}
	// A moderator sees the members but cannot invite.
	modHub := e.signedIn("mod@example.com")
	if res := modHub.post(path, url.Values{"email": {"carl@example.com"}, "role": {"member"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("moderator invite: status %d, want 403", res.StatusCode)
	}
	if doc := modHub.get(fmt.Sprintf("/c/%d/members", c.ID), nil).doc(t); doc.Find(`[data-testid=invite-form]`).Length() != 0 || doc.Find(`[data-testid=member-row]`).Length() != 3 {
		t.Error("a moderator should see the 3 members and no invite form")
	}
}

func TestAcceptInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "alpha", nil)
	e.signedIn("root@example.com").post(fmt.Sprintf("/c/%d/invitations", c.ID), url.Values{"email": {"new@example.com"}, "role": {"member"}}, nil)
	link := strings.Fields(e.mails("new@example.com")[0].Text)
	var path string
	for _, w := range link {
		if strings.Contains(w, "/invite/") {
			path = strings.TrimPrefix(w, e.srv.URL)
		}
	}
	visitor := e.client()
	if page := visitor.get(path, nil); page.StatusCode != 200 || !strings.Contains(page.body, "Join Community alpha") {
		t.Fatalf("invite page: %d", page.StatusCode)
	}
	if res := visitor.post(path, url.Values{"password": {"1234"}}, nil); res.StatusCode != 400 {
		t.Fatalf("short password: status %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM users WHERE email = 'new@example.com'"); n != 0 {
		t.Fatal("a failed acceptance created the account")
	}
	res := visitor.post(path, url.Values{"password": {"my own passphrase"}, "display_name": {"Newbie"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("accept: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if !strings.Contains(visitor.get("/", nil).body, "Community alpha") {
		t.Error("after accepting, the community is not listed")
	}
	if again := e.client().post(path, url.Values{"password": {"another passphrase"}}, nil); again.StatusCode != 400 {
		t.Errorf("second use of the link: status %d, want 400", again.StatusCode)
	}
}

func TestRoleChangeHTMX(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	owner := e.user("owner@example.com", false)
	ann := e.user("ann@example.com", false)
	bob := e.user("bob@example.com", false)
	c := e.community(root, "alpha", map[auth.User]community.Role{owner: community.Owner, ann: community.Admin, bob: community.Member})
	hub := e.signedIn("ann@example.com")

	res := hub.post(fmt.Sprintf("/c/%d/members/%d/role", c.ID, bob.ID), url.Values{"role": {"moderator"}}, htmx)
	doc := res.row(t)
	if res.StatusCode != 200 || doc.Find(`tr[data-testid=member-row]`).Length() != 1 || doc.Find(`option[selected]`).AttrOr("value", "") != "moderator" {
		t.Fatalf("HTMX role change: %d %s", res.StatusCode, res.body)
	}
	if n := e.count("SELECT count(*) FROM community_members WHERE user_id = $1 AND role = 'moderator'", bob.ID); n != 1 {
		t.Error("the role did not change")
	}
	// An admin cannot demote an owner: the row comes back unchanged with the reason.
	res = hub.post(fmt.Sprintf("/c/%d/members/%d/role", c.ID, owner.ID), url.Values{"role": {"member"}}, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.row(t).Find(`[data-testid=row-error]`).Text(), "Only an owner") {
		t.Errorf("demoting an owner: %d %s", res.StatusCode, res.body)
	}
	// Nor promote to owner.
	res = hub.post(fmt.Sprintf("/c/%d/members/%d/role", c.ID, bob.ID), url.Values{"role": {"owner"}}, nil)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("promoting to owner: status %d, want 403", res.StatusCode)
	}
	// The last owner... root created the community, so there are two owners; remove root's ownership as owner.
	ownerHub := e.signedIn("owner@example.com")
	if res := ownerHub.post(fmt.Sprintf("/c/%d/members/%d/remove", c.ID, root.ID), nil, htmx); res.StatusCode != 200 || res.body != "" {
		t.Fatalf("remove root: %d %q", res.StatusCode, res.body)
	}
	res = ownerHub.post(fmt.Sprintf("/c/%d/members/%d/role", c.ID, owner.ID), url.Values{"role": {"admin"}}, htmx)
	if !strings.Contains(res.row(t).Find(`[data-testid=row-error]`).Text(), "at least one owner") {
		t.Errorf("demoting the last owner: %s", res.body)
	}
	if n := e.count("SELECT count(*) FROM community_members WHERE community_id = $1 AND role = 'owner'", c.ID); n != 1 {
		t.Errorf("%d owners, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = 'member_role_changed'", c.ID); n < 2 {
		t.Errorf("%d role changes audited", n)
	}
}

func TestSettingsForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "alpha", nil)
	hub := e.signedIn("root@example.com")
	path := fmt.Sprintf("/c/%d/settings", c.ID)
	for _, cc := range []struct {
		name, cname, desc, want, field string
	}{
		{"empty name", "  ", "", "Give the community a name.", "name"},
		{"over-long name", strings.Repeat("n", 101), "", "at most 100", "name"},
		{"over-long description", "Alpha", strings.Repeat("d", 1001), "at most 1000", "description"},
	} {
		res := hub.post(path, url.Values{"name": {cc.cname}, "description": {cc.desc}}, nil)
		doc := res.doc(t)
		if res.StatusCode != 400 || !strings.Contains(doc.Find(`[data-testid=form-error]`).Text(), cc.want) {
			t.Errorf("%s: status %d", cc.name, res.StatusCode)
		}
		// The message sits next to the field at fault, which is focused.
		fieldAt(t, doc.Selection, `[data-testid=settings-form]`, cc.field, cc.want)
	}
	if n := e.count("SELECT count(*) FROM communities WHERE name = 'Community alpha'"); n != 1 {
		t.Error("a bad settings form changed the community")
	}
	if res := hub.post(path, url.Values{"name": {"Alpha Squad"}, "description": {"We waddle."}}, nil); res.StatusCode != 303 {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if got := hub.get(fmt.Sprintf("/c/%d/settings", c.ID), nil).doc(t).Find(`[data-testid=workspace-name]`).Text(); got != "Alpha Squad" {
		t.Errorf("name %q after save", got)
	}
}

func TestAccountKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	hub := e.signedIn("ann@example.com")
	res := hub.post("/account/keys", url.Values{"name": {"overlay bot"}, "role": {"user"}}, nil)
	secret := res.doc(t).Find(`[data-testid=created-key-secret]`).Text()
	if res.StatusCode != http.StatusCreated || !strings.HasPrefix(secret, "wdl_") {
		t.Fatalf("create key: %d, secret %q", res.StatusCode, secret)
	}
	if n := e.count("SELECT count(*) FROM api_keys WHERE key_hash = $1 AND prefix = $2", auth.HashToken(secret), secret[:12]); n != 1 {
		t.Error("the key is not stored as hash + prefix")
	}
	page := hub.get("/account", nil)
	if strings.Contains(page.body, secret) {
		t.Error("the secret is shown again")
	}
	if page.doc(t).Find(`[data-testid=key-row]`).Length() != 1 {
		t.Error("the key is not listed")
	}
	for _, bad := range []url.Values{{"name": {""}, "role": {"user"}}, {"name": {"x"}, "role": {"admin"}}, {"name": {"x"}, "role": {"wizard"}},
		{"name": {"x"}, "role": {"trigger"}}, {"name": {"x"}, "role": {"action"}}} { // installation-wide: global admins only

		if res := hub.post("/account/keys", bad, nil); res.StatusCode != 400 || res.doc(t).Find(`[data-testid=form-error]`).Length() == 0 {
			t.Errorf("bad key form %v: status %d", bad, res.StatusCode)
		}
	}
	id := e.count("SELECT id FROM api_keys")
	res = hub.post(fmt.Sprintf("/account/keys/%d/revoke", id), nil, htmx)
	if res.StatusCode != 200 || res.row(t).Find(`[data-testid=key-revoked]`).Length() != 1 {
		t.Fatalf("HTMX revoke: %d %s", res.StatusCode, res.body)
	}
	if st, _ := e.api(secret, "GET", "/me", ""); st != 401 {
		t.Errorf("revoked key: status %d", st)
	}
	// Someone else's key is not found.
	e.user("bob@example.com", false)
	if res := e.signedIn("bob@example.com").post(fmt.Sprintf("/account/keys/%d/regenerate", id), nil, nil); res.StatusCode != 404 {
		t.Errorf("regenerating another user's key: status %d, want 404", res.StatusCode)
	}
}

func TestAuditFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	c := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Member})
	hub := e.signedIn("root@example.com")
	hub.post(fmt.Sprintf("/c/%d/settings", c.ID), url.Values{"name": {"Renamed"}}, nil)
	base := fmt.Sprintf("/c/%d/audit", c.ID)

	all := hub.get(base, nil).doc(t).Find(`[data-testid=audit-row]`).Length()
	if all < 3 { // created, invited (added), settings
		t.Fatalf("%d audit rows, want at least 3", all)
	}
	res := hub.get(base+"?action=community_settings_changed", http.Header{"Hx-Request": {"true"}, "Hx-Target": {"audit-rows"}})
	doc := res.doc(t)
	if doc.Find(`[data-testid=audit-filter]`).Length() != 0 {
		t.Error("the HTMX answer should be the table only")
	}
	if rows := doc.Find(`[data-testid=audit-row-action]`); rows.Length() != 1 || rows.Text() != "community_settings_changed" {
		t.Errorf("filtered rows: %q", rows.Text())
	}
	if n := hub.get(base+"?actor=nobody", nil).doc(t).Find(`[data-testid=audit-empty]`).Length(); n != 1 {
		t.Error("a filter matching nothing should say so")
	}
	for _, q := range []string{"?action=drop_tables", "?since=yesterday", "?before=-5"} {
		if res := hub.get(base+q, nil); res.StatusCode != 400 || res.doc(t).Find(`[data-testid=form-error]`).Length() != 1 {
			t.Errorf("%s: status %d, want 400 with an error", q, res.StatusCode)
		}
	}
	// A plain member cannot read the audit log.
	if res := e.signedIn("ann@example.com").get(base, nil); res.StatusCode != 403 {
		t.Errorf("member reading audit: %d, want 403", res.StatusCode)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	c := e.client()
	if res := c.get("/healthz", nil); res.StatusCode != 200 {
		t.Errorf("/healthz: %d", res.StatusCode)
	}
	if res := c.get("/readyz", nil); res.StatusCode != 200 {
		t.Errorf("/readyz: %d %s", res.StatusCode, res.body)
	}
	doc := e.signedIn("ann@example.com").get("/health", nil).doc(t)
	text := doc.Find(`[data-testid=health]`).Text()
	for _, want := range []string{"PostgreSQL (primary)", "Redis", "Schema migrations", "all applied", "Twitch EventSub webhook", "Slack Events API webhook", "Job queue"} {
		if !strings.Contains(text, want) {
			t.Errorf("health page lacks %q", want)
		}
	}
	// Metrics are served to allowed networks only.
	closed := newEnv(t, func(c *handlers.Config) { c.MetricsNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	if res := closed.client().get("/metrics", nil); res.StatusCode != 404 {
		t.Errorf("/metrics from a network not allowed: %d", res.StatusCode)
	}
	open := newEnv(t, func(c *handlers.Config) { c.MetricsNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	open.client().get("/healthz", nil)
	if res := open.client().get("/metrics", nil); res.StatusCode != 200 || !strings.Contains(res.body, `waddle_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
		t.Errorf("/metrics: %d %.300s", res.StatusCode, res.body)
	}
}
