package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
)

// storedZone reads a user's saved time zone back from the database.
func (e *env) storedZone(email string) string {
	e.t.Helper()
	var z string
	if err := e.pool.QueryRow(context.Background(), `SELECT time_zone FROM users WHERE email = $1`, email).Scan(&z); err != nil {
		e.t.Fatal(err)
	}
	return z
}

func TestTimeZoneSettingAcceptsAZoneAndRefusesOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("tz@example.com", false)
	c := e.signedIn("tz@example.com")

	page := c.get("/account", nil).doc(t)
	if got := page.Find(`[data-testid=time-zone]`).AttrOr("value", "?"); got != "" {
		t.Errorf("a new account shows the zone %q, want none chosen", got)
	}
	if hint := page.Find(`[data-testid=time-zone-hint]`).Text(); !strings.Contains(hint, "UTC") {
		t.Errorf("the hint does not say times show in UTC until a zone is chosen: %q", hint)
	}

	res := c.post("/account/time-zone", url.Values{"time_zone": {" Asia/Kolkata "}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save Asia/Kolkata: %d", res.StatusCode)
	}
	if got := e.storedZone("tz@example.com"); got != "Asia/Kolkata" {
		t.Fatalf("stored %q", got)
	}
	page = c.get("/account", nil).doc(t)
	if got := page.Find(`[data-testid=flash]`).Text(); !strings.Contains(got, "Asia/Kolkata") {
		t.Errorf("flash %q", got)
	}
	if got := page.Find(`[data-testid=time-zone]`).AttrOr("value", ""); got != "Asia/Kolkata" {
		t.Errorf("the field shows %q after saving", got)
	}
	if got := page.Find(`[data-testid=time-zone-hint] time`).AttrOr("datetime", ""); !strings.HasSuffix(got, "+05:30") {
		t.Errorf("the hint's time is not in Asia/Kolkata: %q", got)
	}

	cases := []struct {
		name, zone, want string
	}{
		{"empty", "", "Choose a time zone"},
		{"unknown", "Mars/Olympus_Mons", `"Mars/Olympus_Mons" is not a time zone we know`},
		{"the server's own", "Local", `"Local" is not a time zone`},
		{"a path", "../../etc/passwd", "is not a time zone we know"},
		{"wrong case", "europe/berlin", "is not a time zone we know"},
		{"too long", "Europe/" + strings.Repeat("x", 80), "at most 64 characters"},
		{"control characters", "Europe/Berlin\x00", "is not a time zone we know"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.post("/account/time-zone", url.Values{"time_zone": {tc.zone}}, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			doc := res.doc(t)
			form := doc.Find(`[data-testid=time-zone-form]`)
			msg := form.Find(`[data-testid=time-zone-error]`)
			if !strings.Contains(msg.Text(), tc.want) {
				t.Errorf("error next to the field: %q, want it to say %q", msg.Text(), tc.want)
			}
			input := form.Find(`[data-testid=time-zone]`)
			if _, ok := input.Attr("autofocus"); !ok {
				t.Error("the refused field is not focused")
			}
			if input.AttrOr("aria-invalid", "") != "true" {
				t.Error("the refused field is not marked invalid")
			}
			if !strings.Contains(input.AttrOr("aria-describedby", ""), msg.AttrOr("id", "-")) {
				t.Error("the field is not described by its error")
			}
			if doc.Find(`[data-testid=form-error]`).Length() != 0 {
				t.Error("the error is also shown as a banner")
			}
			if got := e.storedZone("tz@example.com"); got != "Asia/Kolkata" {
				t.Errorf("a refused zone changed the stored one to %q", got)
			}
		})
	}
}

func hasAttr(s *goquery.Selection, name string) bool {
	_, ok := s.Attr(name)
	return ok
}

// static/hub.js sends the browser's zone (from=browser): it is taken while
// the person has not chosen one, and never replaces a choice.
func TestBrowserZoneIsTakenOnlyUntilOneIsChosen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("new@example.com", false)
	c := e.signedIn("new@example.com")

	if !hasAttr(c.get("/account", nil).doc(t).Find("body"), "data-time-zone-unset") {
		t.Fatal("the page does not ask the browser for its zone")
	}
	if res := c.post("/account/time-zone", url.Values{"time_zone": {"Not/AZone"}, "from": {"browser"}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown browser zone: %d, want 400", res.StatusCode)
	}
	if got := e.storedZone("new@example.com"); got != "" {
		t.Fatalf("an unknown browser zone was stored: %q", got)
	}
	if res := c.post("/account/time-zone", url.Values{"time_zone": {"Asia/Tokyo"}, "from": {"browser"}}, nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("offer Asia/Tokyo: %d", res.StatusCode)
	}
	if got := e.storedZone("new@example.com"); got != "Asia/Tokyo" {
		t.Fatalf("the browser's zone was not taken: %q", got)
	}
	if hasAttr(c.get("/account", nil).doc(t).Find("body"), "data-time-zone-unset") {
		t.Error("the page still asks the browser once a zone is set")
	}
	// Another browser, elsewhere, does not undo the zone in place.
	if res := c.post("/account/time-zone", url.Values{"time_zone": {"America/Sao_Paulo"}, "from": {"browser"}}, nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("second offer: %d", res.StatusCode)
	}
	if got := e.storedZone("new@example.com"); got != "Asia/Tokyo" {
		t.Errorf("a browser's offer replaced the zone: %q", got)
	}
	// Signed out: no zone to set.
	if res := e.client().post("/account/time-zone", url.Values{"time_zone": {"Asia/Tokyo"}, "from": {"browser"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: %d, want a redirect to sign in", res.StatusCode)
	}
}

// The audit page shows its times in the reader's zone, and its date filter
// reads days midnight to midnight in that zone.
func TestAuditPageShowsTimesInTheChosenZone(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	for target, at := range map[string]time.Time{
		"early":  time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC), // 11 Mar 08:30 in Tokyo
		"late":   time.Date(2026, 3, 11, 16, 0, 0, 0, time.UTC),  // 12 Mar 01:00 in Tokyo
		"before": time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC),  // 10 Mar everywhere here
	} {
		if _, err := b.pool.Exec(context.Background(), `INSERT INTO audit_log (community_id, action, target, created_at) VALUES ($1, $2, $3, $4)`,
			b.c.ID, audit.CommandCreated, target, at); err != nil {
			t.Fatal(err)
		}
	}
	type row struct{ target, text, title, datetime string }
	rows := func(c *client, query string) []row {
		t.Helper()
		res := c.get(b.path("/audit")+query, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("audit%s: %d", query, res.StatusCode)
		}
		var out []row
		res.doc(t).Find(`[data-testid=audit-row]`).Each(func(_ int, s *goquery.Selection) {
			w := s.Find(`time[data-testid=when]`)
			out = append(out, row{s.Find(`[data-testid=audit-row-target]`).Text(), w.Text(), w.AttrOr("title", ""), w.AttrOr("datetime", "")})
		})
		return out
	}
	day := "?since=2026-03-11&until=2026-03-11"

	// Unset: UTC.
	got := rows(b.admin, day)
	if len(got) != 1 || got[0] != (row{"late", "11 Mar 2026, 16:00", "11 Mar 2026, 16:00:00 UTC", "2026-03-11T16:00:00Z"}) {
		t.Errorf("in UTC, 11 Mar holds %+v", got)
	}

	if res := b.admin.post("/account/time-zone", url.Values{"time_zone": {"Asia/Tokyo"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose Asia/Tokyo: %d", res.StatusCode)
	}
	got = rows(b.admin, day)
	if len(got) != 1 || got[0] != (row{"early", "11 Mar 2026, 08:30", "11 Mar 2026, 08:30:00 JST", "2026-03-11T08:30:00+09:00"}) {
		t.Errorf("in Tokyo, 11 Mar holds %+v", got)
	}
	if zone := b.admin.get(b.path("/audit"), nil).doc(t).Find(`[data-testid=date-zone]`).Text(); !strings.Contains(zone, "Asia/Tokyo") {
		t.Errorf("the filter does not say its days are Tokyo's: %q", zone)
	}
	shown := func(rs []row) map[string]string {
		m := map[string]string{}
		for _, r := range rs {
			m[r.target] = r.text
		}
		return m
	}
	march := "?until=2026-03-12" // the entries above, not those the test's setup made today
	if got := shown(rows(b.admin, march)); len(got) != 3 || got["late"] != "12 Mar 2026, 01:00" || got["before"] != "10 Mar 2026, 21:00" {
		t.Errorf("in Tokyo, to 12 Mar: %+v", got)
	}
	// Another reader of the same page still sees UTC, and its days.
	b.user("root2@example.com", true)
	if got := shown(rows(b.signedIn("root2@example.com"), march)); len(got) != 3 || got["early"] != "10 Mar 2026, 23:30" {
		t.Errorf("another reader: %+v", got)
	}
}

// A day of the filter is the person's whole calendar day, 25 hours long when
// the clocks go back.
func TestAuditDateFilterCoversTheWholeDSTDay(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	for target, at := range map[string]time.Time{
		"first minute": time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC),  // 00:00 CEST, 25 Oct in Berlin
		"last hour":    time.Date(2026, 10, 25, 22, 30, 0, 0, time.UTC), // 23:30 CET, 25 Oct in Berlin
		"next day":     time.Date(2026, 10, 25, 23, 0, 0, 0, time.UTC),  // 00:00 CET, 26 Oct in Berlin
	} {
		if _, err := b.pool.Exec(context.Background(), `INSERT INTO audit_log (community_id, action, target, created_at) VALUES ($1, $2, $3, $4)`,
			b.c.ID, audit.CommandCreated, target, at); err != nil {
			t.Fatal(err)
		}
	}
	if res := b.admin.post("/account/time-zone", url.Values{"time_zone": {"Europe/Berlin"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose Europe/Berlin: %d", res.StatusCode)
	}
	var got []string
	b.admin.get(b.path("/audit?since=2026-10-25&until=2026-10-25"), nil).doc(t).Find(`[data-testid=audit-row-target]`).Each(func(_ int, s *goquery.Selection) {
		got = append(got, s.Text())
	})
	slices.Sort(got)
	if strings.Join(got, ", ") != "first minute, last hour" {
		t.Errorf("25 Oct in Berlin holds %q, want the last hour and the first minute", got)
	}
}
