package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// TestWorkspaceNavigation walks a community's pages: each marks itself in
// the community's navigation, its breadcrumbs lead back to the community and
// to the list, and the top bar claims no page of its own.
func TestWorkspaceNavigation(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	cmd := b.mustCommand(t, "hello", "Hi!")
	pages := []struct{ path, current, crumb string }{
		{"", "Overview", ""},
		{"/commands", "Commands", "Commands"},
		{fmt.Sprintf("/commands/%d/edit", cmd.ID), "Commands", "Commands"},
		{"/moderation", "Moderation", "Moderation"},
		{"/simulator", "Simulator", "Simulator"},
		{"/people", "People", "People"},
		{"/points", "Points", "Points"},
		{"/labels", "Labels", "Labels"},
		{"/overlays", "Overlays", "Overlays"},
		{"/modules", "Modules", "Modules"},
		{"/runs", "Runs", "Runs"},
		{"/timers", "Timers", "Timers"},
		{"/marketplace", "Marketplace", "Marketplace"},
		{"/marketplace/installed", "Installed modules", "Installed modules"},
		{"/executions", "Execution log", "Execution log"},
		{"/audit", "Audit log", "Audit log"},
		{"/servers", "Platforms", "Platforms"},
		{"/members", "Members", "Members"},
		{"/imports", "Import from another bot", "Import from another bot"},
		{"/settings", "Settings", "Settings"},
	}
	for _, p := range pages {
		t.Run("page"+p.path, func(t *testing.T) {
			res := b.admin.get(b.path("%s", p.path), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			doc := res.doc(t)
			if got := doc.Find(`[data-testid=community-nav] a[aria-current=page]`).Text(); got != p.current {
				t.Errorf("the navigation marks %q, want %q", got, p.current)
			}
			if n := doc.Find(`[data-testid=community-nav] a`).Length(); n != 20 {
				t.Errorf("a manager's navigation has %d links, want 20", n)
			}
			if got := doc.Find(`[data-testid=hub-nav] a[aria-current]`).Text(); got != "" {
				t.Errorf("the top bar marks %q as the current page inside a community", got)
			}
			if href, _ := doc.Find(`[data-testid=crumb-communities]`).Attr("href"); href != "/" {
				t.Errorf("the first breadcrumb leads to %q, want /", href)
			}
			crumb := doc.Find(`[data-testid=crumb-community]`)
			if href, _ := crumb.Attr("href"); href != b.path("") || crumb.Text() != "Community ducks" {
				t.Errorf("the community's breadcrumb is %q to %q, want Community ducks to %s", crumb.Text(), href, b.path(""))
			}
			if got := doc.Find(`[data-testid=crumb-page]`).Text(); got != p.crumb {
				t.Errorf("the page's breadcrumb is %q, want %q", got, p.crumb)
			}
		})
	}
	// Outside a community there is no workspace, and the top bar marks its page.
	for path, want := range map[string]string{"/": "Communities", "/account": "Your account", "/health": "Service health"} {
		doc := b.admin.get(path, nil).doc(t)
		if doc.Find(`[data-testid=community-nav]`).Length() != 0 || doc.Find(`[data-testid=breadcrumbs]`).Length() != 0 {
			t.Errorf("%s shows a community's navigation", path)
		}
		if got := doc.Find(`[data-testid=hub-nav] a[aria-current=page]`).Length(); got != 1 {
			t.Errorf("%s: the top bar marks %d pages, want 1 (%s)", path, got, want)
		}
	}
}

// TestWorkspaceMemberNavigation: a plain member is offered only the pages they may open.
func TestWorkspaceMemberNavigation(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	doc := b.member.get(b.path("/members"), nil).doc(t)
	var labels []string
	doc.Find(`[data-testid=community-nav] a`).Each(func(_ int, s *goquery.Selection) { labels = append(labels, s.Text()) })
	got := strings.Join(labels, ", ")
	want := "Overview, Commands, Moderation, Simulator, People, Points, Labels, Overlays, Modules, Workflows, Runs, Timers, Marketplace, Installed modules, Execution log, Platforms, Members"
	if got != want {
		t.Errorf("a member's navigation: %s\nwant: %s", got, want)
	}
	for _, p := range []string{"/settings", "/audit"} {
		if res := b.member.get(b.path("%s", p), nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("member GET %s: %d, want 403", p, res.StatusCode)
		}
	}
	if doc.Find(`[data-testid=member-row]`).Length() != 3 || doc.Find(`[data-testid=invite-form]`).Length() != 0 {
		t.Error("a member should see the 3 members and no invite form")
	}
}

// TestMembersAndSettingsPages: the old community page is split in two, and
// each form answers with the page it sits on.
func TestMembersAndSettingsPages(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	members := b.admin.get(b.path("/members"), nil).doc(t)
	if members.Find(`[data-testid=members]`).Length() != 1 || members.Find(`[data-testid=invite-form]`).Length() != 1 {
		t.Error("the members page lacks the members table or the invite form")
	}
	if members.Find(`[data-testid=settings-form]`).Length() != 0 || members.Find(`[data-testid=community-keys]`).Length() != 0 {
		t.Error("the members page shows settings")
	}
	settings := b.admin.get(b.path("/settings"), nil).doc(t)
	for _, id := range []string{"settings-form", "community-two-factor", "community-keys"} {
		if settings.Find(fmt.Sprintf(`[data-testid=%q]`, id)).Length() != 1 {
			t.Errorf("the settings page lacks %s", id)
		}
	}
	if settings.Find(`[data-testid=members]`).Length() != 0 {
		t.Error("the settings page lists members")
	}

	cases := []struct {
		name, path string
		form       url.Values
		wantStatus int
		wantTo     string // Location, or the page whose form shows the error
		wantTestID string
	}{
		{"invite", "/invitations", url.Values{"email": {"new@example.com"}, "role": {"member"}}, 303, b.path("/members"), ""},
		{"bad invite", "/invitations", url.Values{"email": {"not-an-address"}, "role": {"member"}}, 400, "", "invite-form"},
		{"settings", "/settings", url.Values{"name": {"Ducks United"}}, 303, b.path("/settings"), ""},
		{"bad settings", "/settings", url.Values{"name": {""}}, 400, "", "settings-form"},
		{"bad key", "/keys", url.Values{"name": {""}, "role": {"trigger"}}, 400, "", "community-keys"},
	}
	for _, c := range cases {
		res := b.admin.post(b.path("%s", c.path), c.form, nil)
		if res.StatusCode != c.wantStatus {
			t.Errorf("%s: status %d, want %d", c.name, res.StatusCode, c.wantStatus)
			continue
		}
		if c.wantTo != "" && res.Header.Get("Location") != c.wantTo {
			t.Errorf("%s: to %q, want %q", c.name, res.Header.Get("Location"), c.wantTo)
		}
		if c.wantTestID != "" {
			doc := res.doc(t)
			if doc.Find(fmt.Sprintf(`[data-testid=%q] [data-testid=form-error], [data-testid=form-error] + [data-testid=%q]`, c.wantTestID, c.wantTestID)).Length() != 1 {
				t.Errorf("%s: the error is not shown with its form", c.name)
			}
		}
	}
}

// TestCommunitySwitcher lists the user's other communities, and only theirs.
func TestCommunitySwitcher(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Owner})
	bc := e.community(root, "beta", map[auth.User]community.Role{ann: community.Member})
	e.community(root, "gamma", nil) // not ann's
	doc := e.signedIn(ann.Email).get(fmt.Sprintf("/c/%d/commands", a.ID), nil).doc(t)
	sw := doc.Find(`[data-testid=community-switcher] [data-testid=switch-community]`)
	if href, _ := sw.Attr("href"); sw.Length() != 1 || sw.Text() != "Community beta" || href != fmt.Sprintf("/c/%d", bc.ID) {
		t.Errorf("switcher offers %d communities (%q to %q), want Community beta", sw.Length(), sw.Text(), href)
	}
	if strings.Contains(doc.Text(), "Community gamma") {
		t.Error("the switcher names a community the user is not in")
	}
	// One community: its name, no switcher.
	e.user("solo@example.com", false)
	if _, err := e.comm.Invite(t.Context(), community.Actor{User: root, Role: community.Owner}, a, "solo@example.com", community.Member); err != nil {
		t.Fatal(err)
	}
	doc = e.signedIn("solo@example.com").get(fmt.Sprintf("/c/%d", a.ID), nil).doc(t)
	if doc.Find(`[data-testid=community-switcher]`).Length() != 0 || doc.Find(`[data-testid=workspace-name]`).Text() != "Community alpha" {
		t.Error("a member of one community should see its name and no switcher")
	}
}
