package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/router"
)

// mustPerson makes a platform account one of community cid's people, with a
// balance; with into, the account joins that identity. It returns the identity.
func (e *env) mustPerson(t testing.TB, cid int64, platform, account, name string, balance, into int64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	var err error
	if into != 0 {
		err = e.pool.QueryRow(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name, identity_id, linked_at, linked_by)
			VALUES ($1, $2, $3, $4, now(), 'chat') RETURNING identity_id`, platform, account, name, into).Scan(&id)
	} else {
		err = e.pool.QueryRow(ctx, `INSERT INTO identity_accounts (platform, account_id, user_name) VALUES ($1, $2, $3)
			ON CONFLICT (platform, account_id) DO UPDATE SET user_name = EXCLUDED.user_name RETURNING identity_id`, platform, account, name).Scan(&id)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO community_people (community_id, identity_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cid, id); err != nil {
		t.Fatal(err)
	}
	if balance != 0 {
		if _, err := e.settings.AddPoints(ctx, cid, platform, account, name, balance, "welcome bonus"); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// peopleEnv is a community with a member, a moderator and an admin signed
// in, and another community.
type peopleEnv struct {
	*env
	a, b                 community.Community
	member, mod, admin   *client
	alice, bob, stranger int64
}

func newPeopleEnv(t *testing.T) *peopleEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	mem := e.user("mem@example.com", false)
	mod := e.user("mod@example.com", false)
	adm := e.user("adm@example.com", false)
	x := &peopleEnv{env: e}
	x.a = e.community(root, "ducks", map[auth.User]community.Role{mem: community.Member, mod: community.Moderator, adm: community.Admin})
	x.b = e.community(root, "geese", nil)
	x.member, x.mod, x.admin = e.signedIn(mem.Email), e.signedIn(mod.Email), e.signedIn(adm.Email)
	ctx := context.Background()
	if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, x.a.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	x.alice = e.mustPerson(t, x.a.ID, "twitch", "t-alice", "Alice", 150, 0)
	e.mustPerson(t, x.a.ID, "discord", "d-alice", "ally", 0, x.alice)
	x.bob = e.mustPerson(t, x.a.ID, "slack", "s-bob", "bob", 0, 0)
	x.stranger = e.mustPerson(t, x.b.ID, "twitch", "t-gary", "gary", 10, 0)
	// Alice is timed out by a rule, through the router.
	if _, err := e.settings.CreateRule(ctx, audit.Actor{}, x.a.ID, router.Rule{Priority: 1, Match: router.MatchContains, Pattern: "heck",
		Action: router.ActionTimeout, TimeoutSeconds: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.router.Handle(ctx, router.Event{ID: "twitch:m1", Platform: router.Twitch, Server: "duckchan", Channel: "duckchan",
		Kind: router.ChatMessage, User: router.User{ID: "t-alice", Name: "Alice"}, Text: "oh heck"}, router.Options{Dedup: true}); err != nil {
		t.Fatal(err)
	}
	return x
}

func (x *peopleEnv) path(format string, args ...any) string {
	return fmt.Sprintf("/c/%d", x.a.ID) + fmt.Sprintf(format, args...)
}

func peopleRows(doc *goquery.Document) []string {
	var out []string
	doc.Find(`[data-testid=person-row]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.Join(strings.Fields(strings.Join(s.Find("td").Map(func(_ int, td *goquery.Selection) string { return td.Text() }), " ")), " "))
	})
	return out
}

func TestPeoplePage(t *testing.T) {
	t.Parallel()
	x := newPeopleEnv(t)
	res := x.member.get(x.path("/people"), nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("people page: %d", res.StatusCode)
	}
	doc := res.doc(t)
	if got := peopleRows(doc); len(got) != 2 {
		t.Errorf("rows %q, want Alice and bob", got)
	}
	if doc.Find(`[data-testid=community-nav] a[href$="/people"]`).Length() != 1 {
		t.Error("no People entry in the navigation")
	}

	cases := []struct {
		q    string
		want []string
	}{
		{"ALI", []string{"Alice Discord ally Twitch Alice -10 150 just now"}},
		{"ally", []string{"Alice Discord ally Twitch Alice -10 150 just now"}},
		{"@bo", []string{"bob Slack bob 0 0 just now"}},
		{"gary", nil},
	}
	for _, c := range cases {
		doc := x.member.get(x.path("/people?q=%s", url.QueryEscape(c.q)), nil).doc(t)
		if d := cmp.Diff(c.want, peopleRows(doc)); d != "" {
			t.Errorf("search %q (-want +got):\n%s", c.q, d)
		}
		if c.want == nil && doc.Find(`[data-testid=people-none]`).Length() != 1 {
			t.Errorf("search %q: no 'nobody' line", c.q)
		}
	}
	// Search as you type: HTMX gets the results alone.
	frag := x.member.get(x.path("/people?q=bo"), http.Header{"Hx-Request": {"true"}, "Hx-Target": {"people-results"}})
	if frag.StatusCode != 200 || strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, `id="people-results"`) {
		t.Errorf("HTMX search: %d %s", frag.StatusCode, frag.body)
	}
	// Links go to the profile.
	if href := doc.Find(`[data-testid=person-link]`).First().AttrOr("href", ""); !strings.HasPrefix(href, x.path("/people/")) {
		t.Errorf("person link %q", href)
	}

	// An empty community explains where people come from.
	root := x.signedIn("root@example.com")
	empty := root.get(fmt.Sprintf("/c/%d/people", x.b.ID), nil).doc(t)
	if got := peopleRows(empty); len(got) != 1 { // gary only
		t.Errorf("B's people %q", got)
	}
	c := x.community(x.user("owner2@example.com", true), "swans", nil)
	doc = root.get(fmt.Sprintf("/c/%d/people", c.ID), nil).doc(t)
	if s := doc.Find(`[data-testid=people-empty]`).Text(); !strings.Contains(s, "when they chat") {
		t.Errorf("empty state %q", s)
	}
}

func TestPeoplePageBadInput(t *testing.T) {
	t.Parallel()
	x := newPeopleEnv(t)
	for _, q := range []string{
		"q=" + strings.Repeat("a", 101),
		"q=a%00b",
		"cursor=nonsense",
		"q=a&cursor=" + strings.Repeat("x", 3000),
	} {
		res := x.member.get(x.path("/people?%s", q), nil)
		if res.StatusCode != http.StatusBadRequest || formError(t, res) == "" {
			t.Errorf("%.40s: %d, error %q", q, res.StatusCode, formError(t, res))
		}
	}
	for _, p := range []string{"/people/abc", "/people/0", "/people/-3", "/people/99999999999", fmt.Sprintf("/people/%d", x.stranger)} {
		if res := x.member.get(x.path("%s", p), nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
	// Typed too long, as you type: the error shows where the results were.
	frag := x.member.get(x.path("/people?q=%s", strings.Repeat("b", 101)), http.Header{"Hx-Request": {"true"}, "Hx-Target": {"people-results"}})
	if frag.StatusCode != 200 || !strings.Contains(frag.body, `data-testid="form-error"`) || strings.Contains(frag.body, "<html") {
		t.Errorf("HTMX search too long: %d %s", frag.StatusCode, frag.body)
	}
	if res := x.member.get(x.path("/people/%d?ledger_before=abc", x.alice), nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad ledger cursor: %d", res.StatusCode)
	}
}

func TestPersonPage(t *testing.T) {
	t.Parallel()
	x := newPeopleEnv(t)
	res := x.member.get(x.path("/people/%d", x.alice), nil)
	if res.StatusCode != 200 {
		t.Fatalf("profile: %d", res.StatusCode)
	}
	doc := res.doc(t)
	if got := doc.Find(`[data-testid=person-name]`).Text(); got != "Alice" {
		t.Errorf("name %q", got)
	}
	if got := doc.Find(`dd[data-testid=person-balance]`).Text(); got != "150" {
		t.Errorf("balance %q", got)
	}
	var accts []string
	doc.Find(`[data-testid=person-account-name]`).Each(func(_ int, s *goquery.Selection) { accts = append(accts, s.Text()) })
	if d := cmp.Diff([]string{"ally", "Alice"}, accts); d != "" {
		t.Errorf("accounts (-want +got):\n%s", d)
	}
	if got := doc.Find(`[data-testid=person-history-action]`).Text(); got != "timeout" {
		t.Errorf("history %q", got)
	}
	if got := doc.Find(`[data-testid=person-history-delta]`).Text(); got != "-10" {
		t.Errorf("history delta %q", got)
	}
	if got := doc.Find(`[data-testid=person-ledger-delta]`).Text(); got != "+150" {
		t.Errorf("ledger %q", got)
	}
	labels := doc.Find(`[data-testid=person-labels]`)
	if labels.AttrOr("hx-get", "") != x.path("/people/%d/labels", x.alice) || labels.AttrOr("hx-trigger", "") != "load" {
		t.Errorf("labels panel: %s", labels.AttrOr("hx-get", ""))
	}
	if doc.Find(`[data-testid=reputation-form]`).Length() != 0 {
		t.Error("a plain member sees the reputation form")
	}
	if x.mod.get(x.path("/people/%d", x.alice), nil).doc(t).Find(`[data-testid=reputation-form]`).Length() != 1 {
		t.Error("a moderator does not see the reputation form")
	}
}

func TestAdjustReputationFromTheHub(t *testing.T) {
	t.Parallel()
	x := newPeopleEnv(t)
	path := x.path("/people/%d/reputation", x.bob)
	res := x.mod.post(path, url.Values{"delta": {"15"}, "reason": {"ran the quiz"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != x.path("/people/%d", x.bob) {
		t.Fatalf("adjust: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res = x.admin.post(path, url.Values{"delta": {"-5"}, "reason": {"too loud"}}, htmx)
	frag := res.doc(t)
	if res.StatusCode != 200 || frag.Find(`[data-testid=person-reputation-now]`).Text() != "10" || frag.Find(`[data-testid=person-history-row]`).Length() != 2 {
		t.Fatalf("HTMX adjust: %d %s", res.StatusCode, res.body)
	}
	if got := frag.Find(`[data-testid=person-history-reason]`).First().Text(); got != "too loud" {
		t.Errorf("newest reason %q", got)
	}
	if n := x.count(`SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = 'reputation_adjusted'`, x.a.ID); n != 2 {
		t.Errorf("%d audit entries, want 2", n)
	}

	bad := []struct {
		name string
		form url.Values
	}{
		{"no delta", url.Values{"reason": {"x"}}},
		{"zero", url.Values{"delta": {"0"}, "reason": {"x"}}},
		{"too much", url.Values{"delta": {"5000"}, "reason": {"x"}}},
		{"not a number", url.Values{"delta": {"lots"}, "reason": {"x"}}},
		{"no reason", url.Values{"delta": {"5"}, "reason": {"  "}}},
		{"long reason", url.Values{"delta": {"5"}, "reason": {strings.Repeat("r", 501)}}},
	}
	for _, c := range bad {
		res := x.mod.post(path, c.form, nil)
		if res.StatusCode != http.StatusBadRequest || formError(t, res) == "" {
			t.Errorf("%s: %d, error %q", c.name, res.StatusCode, formError(t, res))
		}
		res = x.mod.post(path, c.form, htmx)
		if res.StatusCode != 200 || res.doc(t).Find(`[data-testid=form-error]`).Text() == "" {
			t.Errorf("%s (HTMX): %d %s", c.name, res.StatusCode, res.body)
		}
	}
	if res := x.member.post(path, url.Values{"delta": {"5"}, "reason": {"x"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member adjusted: %d", res.StatusCode)
	}
	if res := x.mod.post(x.path("/people/%d/reputation", x.stranger), url.Values{"delta": {"5"}, "reason": {"x"}}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("another community's person: %d", res.StatusCode)
	}
	var rep int
	if err := x.pool.QueryRow(context.Background(), `SELECT reputation FROM community_people WHERE community_id = $1 AND identity_id = $2`, x.a.ID, x.bob).Scan(&rep); err != nil || rep != 10 {
		t.Errorf("reputation %d after refusals (%v), want 10", rep, err)
	}
}
