package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// mustModule inserts a module by author (a marketplace row, as publishing
// makes one) with one version, and returns their ids.
func (e *env) mustModule(t *testing.T, slug string, author int64) (mid, vid int64) {
	t.Helper()
	ctx := context.Background()
	if err := e.pool.QueryRow(ctx, `INSERT INTO marketplace_modules (slug, name, summary, author_id, author_name)
		VALUES ($1, $1, 'A module', $2, 'Author') RETURNING id`, slug, author).Scan(&mid); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `INSERT INTO marketplace_versions (module_id, version, major, minor, patch, manifest)
		VALUES ($1, '1.0.0', 1, 0, 0, '{}') RETURNING id`, mid).Scan(&vid); err != nil {
		t.Fatal(err)
	}
	return mid, vid
}

// mustInstall records an install of the module's version in a community.
func (e *env) mustInstall(t *testing.T, cid, mid, vid int64) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), "INSERT INTO marketplace_installs (community_id, module_id, version_id) VALUES ($1, $2, $3)", cid, mid, vid); err != nil {
		t.Fatal(err)
	}
}

// mustRun logs an execution of a module version in a community, as the router does.
func (e *env) mustRun(t *testing.T, cid, vid int64, outcome string, refused ...string) {
	t.Helper()
	if refused == nil {
		refused = []string{}
	}
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO command_executions (community_id, command, platform, user_id, executor, outcome, duration_us, created_at, module_version_id, refused)
		VALUES ($1, 'dice', 'twitch', 'viewer', 'remote', $2, 1500, $3, $4, $5)`, cid, outcome, time.Now(), vid, refused); err != nil {
		t.Fatal(err)
	}
}

var hx = http.Header{"Hx-Request": {"true"}}

func TestReviewsHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	dev := e.user("dev@example.com", false)
	member := e.user("member@example.com", false)
	outsider := e.user("outsider@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{member: community.Member})
	mid, vid := e.mustModule(t, "dice", dev.ID)
	e.mustInstall(t, a.ID, mid, vid)

	mc, oc, dc, rc := e.signedIn(member.Email), e.signedIn(outsider.Email), e.signedIn(dev.Email), e.signedIn(root.Email)

	// Who gets the form.
	d := mc.get("/marketplace/dice/reviews", nil).doc(t)
	if d.Find("[data-testid=review-form]").Length() != 1 || d.Find("[data-testid=no-reviews]").Length() != 1 {
		t.Fatal("a member of an installing community gets no review form")
	}
	if got, _ := d.Find("[data-testid=review-body]").Attr("maxlength"); got != "2000" {
		t.Errorf("the textarea's maxlength is %q", got)
	}
	d = oc.get("/marketplace/dice/reviews", nil).doc(t)
	if d.Find("[data-testid=review-form]").Length() != 0 || !strings.Contains(d.Find("[data-testid=review-why-not]").Text(), "installed") {
		t.Error("an outsider is offered the form or not told why not")
	}
	if res := oc.get("/marketplace/nope/reviews", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown module: %d", res.StatusCode)
	}

	// Bad input comes back next to its field, in the section, for HTMX.
	res := mc.post("/marketplace/dice/reviews", url.Values{"stars": {"6"}, "body": {"typed text"}}, hx)
	d = res.doc(t)
	if res.StatusCode != http.StatusOK || d.Find("[data-testid=form-error][data-field=stars]").Length() != 1 {
		t.Fatalf("six stars: %d %s", res.StatusCode, res.body)
	}
	if d.Find("[data-testid=review-body]").Text() != "typed text" {
		t.Error("the typed text was lost")
	}
	res = mc.post("/marketplace/dice/reviews", url.Values{"stars": {"3"}, "body": {strings.Repeat("x", 2001)}}, nil)
	if res.StatusCode != http.StatusBadRequest || res.doc(t).Find("[data-testid=form-error][data-field=body]").Length() != 1 {
		t.Errorf("a huge body without script: %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM marketplace_reviews"); n != 0 {
		t.Fatalf("%d reviews after refusals", n)
	}
	if res := oc.post("/marketplace/dice/reviews", url.Values{"stars": {"5"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("an outsider's review: %d", res.StatusCode)
	}
	if res := dc.post("/marketplace/dice/reviews", url.Values{"stars": {"5"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("the author's review: %d", res.StatusCode)
	}

	// Without script: a redirect; the text is shown as text.
	res = mc.post("/marketplace/dice/reviews", url.Values{"stars": {"4"}, "body": {"<script>alert(1)</script> **bold**"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/marketplace/dice#mk-reviews" {
		t.Fatalf("save: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res = oc.get("/marketplace/dice/reviews", nil)
	d = res.doc(t)
	if got := d.Find("[data-testid=review-body-text]").Text(); got != "<script>alert(1)</script> **bold**" {
		t.Errorf("the review reads %q", got)
	}
	if strings.Contains(res.body, "<script>alert") || !strings.Contains(res.body, "&lt;script&gt;") {
		t.Error("the review's text is not escaped")
	}
	if d.Find("[data-testid=rating-average]").Text() != "4.0" || d.Find("[data-testid=rating-count]").Text() != "1" {
		t.Errorf("rating %q from %q", d.Find("[data-testid=rating-average]").Text(), d.Find("[data-testid=rating-count]").Text())
	}

	// The author answers once.
	answer := fmt.Sprintf("/marketplace/dice/reviews/%d/answer", member.ID)
	if res := mc.post(answer, url.Values{"answer": {"self-answer"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a non-author's answer: %d", res.StatusCode)
	}
	d = dc.get("/marketplace/dice/reviews", nil).doc(t)
	if d.Find("[data-testid=answer-form]").Length() != 1 {
		t.Fatal("the author gets no answer form")
	}
	res = dc.post(answer, url.Values{"answer": {"Thanks!"}}, hx)
	d = res.doc(t)
	if res.StatusCode != http.StatusOK || strings.TrimSpace(d.Find("[data-testid=answer] .mk-review-body").Text()) != "Thanks!" || d.Find("[data-testid=answer-form]").Length() != 0 {
		t.Fatalf("answer: %d %s", res.StatusCode, res.body)
	}
	res = dc.post(answer, url.Values{"answer": {"Again"}}, hx)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.doc(t).Find("[data-testid=review-error]").Text(), "once") {
		t.Errorf("a second answer: %d %s", res.StatusCode, res.body)
	}

	// Global admins hide and show; others may not.
	hide := fmt.Sprintf("/marketplace/dice/reviews/%d/hide", member.ID)
	if res := mc.post(hide, url.Values{"hidden": {"true"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member hid a review: %d", res.StatusCode)
	}
	if d := oc.get("/marketplace/dice/reviews", nil).doc(t); d.Find("[data-testid=review-hide]").Length() != 0 {
		t.Error("a non-admin sees the hide button")
	}
	res = rc.post(hide, url.Values{"hidden": {"true"}}, hx)
	d = res.doc(t)
	if res.StatusCode != http.StatusOK || d.Find("[data-testid=hidden-badge]").Length() != 1 || d.Find("[data-testid=review-unhide]").Length() != 1 {
		t.Fatalf("hide: %d %s", res.StatusCode, res.body)
	}
	d = oc.get("/marketplace/dice/reviews", nil).doc(t)
	if d.Find("[data-testid=review]").Length() != 0 || d.Find("[data-testid=rating-count]").Length() != 0 {
		t.Error("a hidden review is listed or counted for readers")
	}
	if d := mc.get("/marketplace/dice/reviews", nil).doc(t); d.Find("[data-testid=own-hidden]").Length() != 1 {
		t.Error("the writer is not told their review is hidden")
	}
	if res := rc.post(hide, url.Values{"hidden": {"false"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("unhide: %d", res.StatusCode)
	}
	if n := e.count("SELECT rating_count FROM marketplace_modules WHERE id = $1", mid); n != 1 {
		t.Errorf("rating count %d after unhiding", n)
	}

	// Delete own.
	if res := oc.post("/marketplace/dice/reviews/delete", nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("an outsider's delete: %d", res.StatusCode)
	}
	res = mc.post("/marketplace/dice/reviews/delete", nil, hx)
	if res.StatusCode != http.StatusOK || res.doc(t).Find("[data-testid=no-reviews]").Length() != 1 {
		t.Errorf("delete: %d %s", res.StatusCode, res.body)
	}
	if n := e.count("SELECT count(*) FROM marketplace_reviews"); n != 0 {
		t.Errorf("%d reviews after the delete", n)
	}
}

func TestUsageHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	dev := e.user("dev@example.com", false)
	admin := e.user("admin@example.com", false)
	member := e.user("member@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{admin: community.Admin, member: community.Member})
	b := e.community(root, "beta", map[auth.User]community.Role{admin: community.Admin})
	mid, vid := e.mustModule(t, "dice", dev.ID)
	e.mustInstall(t, a.ID, mid, vid)
	other := e.community(root, "gamma", nil)
	e.mustInstall(t, other.ID, mid, vid)
	e.mustRun(t, a.ID, vid, "ok")
	e.mustRun(t, a.ID, vid, "error")
	e.mustRun(t, other.ID, vid, "ok", "points:write")

	// The author sees every community's runs: a chart with its numbers.
	res := e.signedIn(dev.Email).get("/marketplace/dice/usage", nil)
	d := res.doc(t)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("author: %d", res.StatusCode)
	}
	if d.Find("[data-testid=usage-runs]").Text() != "3" || d.Find("[data-testid=usage-errors]").Text() != "1" ||
		d.Find("[data-testid=usage-refused]").Text() != "1" || d.Find("[data-testid=usage-communities]").Text() != "2" {
		t.Errorf("totals: %s", d.Find("[data-testid=usage-totals]").Text())
	}
	svg := d.Find("svg[role=img]")
	if svg.Find("title").First().Text() != "Runs per day" || !strings.Contains(svg.Find("desc").Text(), "3 runs in 30 days") {
		t.Errorf("the chart's title and description: %q %q", svg.Find("title").First().Text(), svg.Find("desc").Text())
	}
	if n := d.Find("[data-testid=usage-bar]").Length(); n != 30 {
		t.Errorf("%d bars, want 30", n)
	}
	if n := d.Find("[data-testid=usage-row]").Length(); n != 30 {
		t.Errorf("%d table rows, want 30", n)
	}
	today := d.Find("[data-testid=usage-row]").Last()
	if today.Find("[data-testid=runs]").Text() != "3" || today.AttrOr("data-day", "") != time.Now().UTC().Format("2006-01-02") {
		t.Errorf("today's row: %s", today.Text())
	}
	if d.Find("[data-testid=x-tick]").Length() < 2 || d.Find("[data-testid=y-tick]").Length() < 2 {
		t.Error("the chart has no axis labels")
	}

	// The version picker swaps the section.
	res = e.signedIn(root.Email).get("/marketplace/dice/usage?version=1.0.0", hx)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(res.body), `<section class="mk-usage"`) {
		t.Errorf("a global admin's fragment: %d %.80s", res.StatusCode, res.body)
	}
	if res := e.signedIn(root.Email).get("/marketplace/dice/usage?version=9.9.9", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown version: %d", res.StatusCode)
	}
	if res := e.signedIn(member.Email).get("/marketplace/dice/usage", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member saw the module's usage: %d", res.StatusCode)
	}

	// A community's admins see its own runs only.
	ac := e.signedIn(admin.Email)
	res = ac.get(fmt.Sprintf("/c/%d/marketplace/installed/dice/usage", a.ID), nil)
	d = res.doc(t)
	if res.StatusCode != http.StatusOK || d.Find("[data-testid=usage-runs]").Text() != "2" || d.Find("[data-testid=usage-refused]").Text() != "0" {
		t.Errorf("community usage: %d %s", res.StatusCode, d.Find("[data-testid=usage-totals]").Text())
	}
	if res := ac.get(fmt.Sprintf("/c/%d/marketplace/installed/dice/usage", b.ID), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a community without the install: %d", res.StatusCode)
	}
	if res := ac.get(fmt.Sprintf("/c/%d/marketplace/installed/dice/usage", other.ID), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("another community's usage: %d", res.StatusCode)
	}
	if res := e.signedIn(member.Email).get(fmt.Sprintf("/c/%d/marketplace/installed/dice/usage", a.ID), nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a plain member saw the community's usage: %d", res.StatusCode)
	}
}

// The module page carries the reviews section for everyone and the usage
// section for its author and global admins only.
func TestModulePageSocialSections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	dev := e.user("dev@example.com", false)
	member := e.user("member@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{member: community.Member})
	mid, vid := e.mustModule(t, "dice", dev.ID)
	e.mustInstall(t, a.ID, mid, vid)
	e.mustRun(t, a.ID, vid, "ok")
	cases := []struct {
		who       string
		path      string
		usage     bool
		canReview bool
	}{
		{dev.Email, "/marketplace/dice", true, false},
		{root.Email, "/marketplace/dice", true, true}, // a global admin who owns alpha
		{member.Email, "/marketplace/dice", false, true},
		{member.Email, fmt.Sprintf("/c/%d/marketplace/dice", a.ID), false, true},
	}
	for _, c := range cases {
		res := e.signedIn(c.who).get(c.path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d", c.who, c.path, res.StatusCode)
		}
		d := res.doc(t)
		if d.Find("[data-testid=mk-reviews]").Length() != 1 {
			t.Errorf("%s %s: no reviews section", c.who, c.path)
		}
		if got := d.Find("[data-testid=mk-usage]").Length() == 1; got != c.usage {
			t.Errorf("%s %s: usage shown %v, want %v", c.who, c.path, got, c.usage)
		}
		if got := d.Find("[data-testid=review-form]").Length() == 1; got != c.canReview {
			t.Errorf("%s %s: review form %v, want %v", c.who, c.path, got, c.canReview)
		}
	}
}
