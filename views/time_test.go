package views_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/views"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func TestRelativeTimeThresholds(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	now := time.Date(2026, 12, 6, 14, 3, 12, 0, berlin)
	cases := []struct {
		name string
		t    time.Time
		want string
	}{
		{"this second", now, "just now"},
		{"59 s ago", now.Add(-59 * time.Second), "just now"},
		{"a clock a few seconds fast", now.Add(20 * time.Second), "just now"},
		{"1 min ago", now.Add(-time.Minute), "1 min ago"},
		{"5 min ago", now.Add(-5*time.Minute - 30*time.Second), "5 min ago"},
		{"59 min ago", now.Add(-59 * time.Minute), "59 min ago"},
		{"an hour ago is a clock time", now.Add(-time.Hour), "today 13:03"},
		{"this morning", time.Date(2026, 12, 6, 0, 0, 0, 0, berlin), "today 00:00"},
		{"last night", time.Date(2026, 12, 5, 23, 59, 0, 0, berlin), "yesterday 23:59"},
		{"yesterday at the same time", now.AddDate(0, 0, -1), "yesterday 14:03"},
		{"two days ago", time.Date(2026, 12, 4, 23, 59, 0, 0, berlin), "4 Dec 2026, 23:59"},
		{"in 20 min", now.Add(20 * time.Minute), "in 20 min"},
		{"tonight", time.Date(2026, 12, 6, 22, 0, 0, 0, berlin), "today 22:00"},
		{"tomorrow", time.Date(2026, 12, 7, 9, 0, 0, 0, berlin), "tomorrow 09:00"},
		{"next week", time.Date(2026, 12, 13, 9, 0, 0, 0, berlin), "13 Dec 2026, 09:00"},
		{"last year", time.Date(2025, 1, 2, 3, 4, 5, 0, berlin), "2 Jan 2025, 03:04"},
		{"far future", time.Date(9999, 12, 31, 23, 59, 0, 0, berlin), "31 Dec 9999, 23:59"},
		{"the end of time", time.Unix(1<<62, 0), time.Unix(1<<62, 0).In(berlin).Format("2 Jan 2006, 15:04")},
		{"long ago", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC).In(berlin).Format("2 Jan 2006, 15:04")},
		{"zero time", time.Time{}, "never"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := views.RelativeTime(tc.t, now, berlin); got != tc.want {
				t.Errorf("RelativeTime(%s) = %q, want %q", tc.t, got, tc.want)
			}
		})
	}
}

// The same moment reads differently in each zone, by calendar day in that zone.
func TestRelativeTimeIsInThePersonsZone(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC)
	at := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	cases := []struct {
		zone, want, exact string
	}{
		{"UTC", "today 22:00", "6 Dec 2026, 22:00:00 UTC"},
		{"Europe/Berlin", "yesterday 23:00", "6 Dec 2026, 23:00:00 CET"}, // now is 00:30 on the 7th there
		{"Asia/Tokyo", "today 07:00", "7 Dec 2026, 07:00:00 JST"},        // now is 08:30 on the 7th there
		{"America/New_York", "today 17:00", "6 Dec 2026, 17:00:00 EST"},
		{"Asia/Kolkata", "today 03:30", "7 Dec 2026, 03:30:00 IST"},
	}
	for _, tc := range cases {
		loc := mustZone(t, tc.zone)
		if got := views.RelativeTime(at, now, loc); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.zone, got, tc.want)
		}
		if got := views.ExactTime(at, loc); got != tc.exact {
			t.Errorf("%s: exact %q, want %q", tc.zone, got, tc.exact)
		}
	}
	// Nil is UTC.
	if got := views.RelativeTime(at, now, nil); got != "today 22:00" {
		t.Errorf("nil zone: %q", got)
	}
}

// Around a DST change, "yesterday" and "today" follow the calendar, not 24-hour steps.
func TestRelativeTimeAcrossDST(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	ny := mustZone(t, "America/New_York")
	cases := []struct {
		name     string
		t, now   time.Time
		loc      *time.Location
		want     string
		exactEnd string // the zone abbreviation shown on hover
	}{
		// 29 Mar 2026 has 23 hours in Berlin: 02:00 CET becomes 03:00 CEST.
		{"spring: 23 h before is yesterday", time.Date(2026, 3, 28, 23, 30, 0, 0, berlin), time.Date(2026, 3, 29, 23, 30, 0, 0, berlin), berlin, "yesterday 23:30", "CET"},
		{"spring: just after the gap", time.Date(2026, 3, 29, 3, 0, 0, 0, berlin), time.Date(2026, 3, 29, 12, 0, 0, 0, berlin), berlin, "today 03:00", "CEST"},
		{"spring: an hour apart on the clock, minutes apart in fact", time.Date(2026, 3, 29, 1, 59, 0, 0, berlin), time.Date(2026, 3, 29, 3, 1, 0, 0, berlin), berlin, "2 min ago", "CET"},
		// 25 Oct 2026 has 25 hours in Berlin: 03:00 CEST becomes 02:00 CET.
		{"autumn: 24 h before is still today", time.Date(2026, 10, 25, 0, 30, 0, 0, berlin), time.Date(2026, 10, 25, 23, 30, 0, 0, berlin), berlin, "today 00:30", "CEST"},
		{"autumn: the repeated hour, first pass", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 12, 0, 0, 0, berlin), berlin, "today 02:30", "CEST"},
		{"autumn: the repeated hour, second pass", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 12, 0, 0, 0, berlin), berlin, "today 02:30", "CET"},
		{"New York spring", time.Date(2026, 3, 7, 23, 0, 0, 0, ny), time.Date(2026, 3, 8, 23, 0, 0, 0, ny), ny, "yesterday 23:00", "EST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := views.RelativeTime(tc.t, tc.now, tc.loc); got != tc.want {
				t.Errorf("RelativeTime = %q, want %q", got, tc.want)
			}
			if got := views.ExactTime(tc.t, tc.loc); !strings.HasSuffix(got, " "+tc.exactEnd) {
				t.Errorf("ExactTime = %q, want it in %s", got, tc.exactEnd)
			}
		})
	}
}

func renderWhen(t *testing.T, ctx context.Context, at time.Time) *goquery.Selection {
	t.Helper()
	var b strings.Builder
	if err := views.When(at).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return doc.Find(`[data-testid="when"]`)
}

func TestWhenShowsTheExactTimeOnHover(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	now := time.Date(2026, 12, 6, 14, 8, 12, 0, time.UTC)
	ctx := views.WithClock(context.Background(), views.Clock{Loc: berlin, Now: now})

	el := renderWhen(t, ctx, now.Add(-5*time.Minute))
	if el.Length() != 1 || goquery.NodeName(el) != "time" {
		t.Fatalf("not one <time>: %d %s", el.Length(), goquery.NodeName(el))
	}
	if got := el.Text(); got != "5 min ago" {
		t.Errorf("text %q", got)
	}
	if got, _ := el.Attr("datetime"); got != "2026-12-06T15:03:12+01:00" {
		t.Errorf("datetime %q", got)
	}
	if got, _ := el.Attr("title"); got != "6 Dec 2026, 15:03:12 CET" {
		t.Errorf("title %q", got)
	}

	old := renderWhen(t, ctx, time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC))
	if got, _ := old.Attr("title"); old.Text() != "1 Jul 2026, 12:00" || got != "1 Jul 2026, 12:00:00 CEST" {
		t.Errorf("old: %q, title %q", old.Text(), got)
	}

	zero := renderWhen(t, ctx, time.Time{})
	if goquery.NodeName(zero) == "time" || zero.Text() != "never" {
		t.Errorf("zero time: <%s>%s", goquery.NodeName(zero), zero.Text())
	}

	// Without a clock in the context (a page outside the hub's requests): UTC, now.
	bare := renderWhen(t, context.Background(), time.Date(2020, 2, 3, 4, 5, 6, 0, berlin))
	if got, _ := bare.Attr("title"); bare.Text() != "3 Feb 2020, 03:05" || got != "3 Feb 2020, 03:05:06 UTC" {
		t.Errorf("no clock: %q, title %q", bare.Text(), got)
	}
}
