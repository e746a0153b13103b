package marketplace_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

func TestUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newSocialFixture(t)
	now := time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)
	marketplace.SetNow(f.svc, func() time.Time { return now })
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	author, stranger := f.user(false), f.user(false)
	mid, v := f.module("clock", author, "1.0.0", "1.1.0")
	otherMod, ov := f.module("other", author, "1.0.0")
	a, b, c, none := f.community(), f.community(), f.community(), f.community()
	f.install(a, mid, v["1.0.0"])
	f.install(b, mid, v["1.1.0"])
	f.install(c, mid, v["1.0.0"])
	f.install(none, otherMod, ov["1.0.0"])

	f.execution(a, v["1.0.0"], today.Add(time.Hour), "ok", 1000)
	f.execution(a, v["1.0.0"], today.Add(2*time.Hour), "ok", 3000)
	f.execution(a, v["1.0.0"], today.Add(3*time.Hour), "error", 5000)
	f.execution(b, v["1.1.0"], today.Add(4*time.Hour), "ok", 2000, "points:write")
	f.execution(c, v["1.0.0"], today.Add(5*time.Hour), "denied", 10) // never ran the module
	f.execution(a, v["1.1.0"], today.AddDate(0, 0, -3).Add(20*time.Hour), "ok", 10000)
	f.execution(a, v["1.0.0"], today.AddDate(0, 0, -30).Add(23*time.Hour), "ok", 7)  // a day before the window
	f.execution(a, v["1.0.0"], today.AddDate(0, 0, -29), "rate_limited", 7)          // the window's first instant: no run
	f.execution(none, ov["1.0.0"], today.Add(time.Hour), "error", 99999, "moderate") // another module

	u, err := f.svc.Usage(ctx, mid, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Days) != marketplace.UsageDays || !u.Days[0].Day.Equal(today.AddDate(0, 0, -29)) || !u.Days[29].Day.Equal(today) {
		t.Fatalf("days from %v to %v (%d)", u.Days[0].Day, u.Days[len(u.Days)-1].Day, len(u.Days))
	}
	want := marketplace.UsageFigures{Runs: 4, Errors: 1, Refused: 1, P50Ms: 2.5, P95Ms: 4.7, Communities: 2}
	if diff := cmp.Diff(want, u.Days[29].UsageFigures); diff != "" {
		t.Errorf("today (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(marketplace.UsageFigures{Runs: 1, P50Ms: 10, P95Ms: 10, Communities: 1}, u.Days[26].UsageFigures); diff != "" {
		t.Errorf("three days ago (-want +got):\n%s", diff)
	}
	for i, d := range u.Days {
		if i != 26 && i != 29 && d.UsageFigures != (marketplace.UsageFigures{}) {
			t.Errorf("day %d (%v) is not zero: %+v", i, d.Day, d.UsageFigures)
		}
	}
	// Percentiles over all 30 days, not from the days' own.
	if diff := cmp.Diff(marketplace.UsageFigures{Runs: 5, Errors: 1, Refused: 1, P50Ms: 3, P95Ms: 9, Communities: 2}, u.Total); diff != "" {
		t.Errorf("total (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1.0.0", "1.1.0"}, u.Versions); diff != "" {
		t.Errorf("versions: %s", diff)
	}

	// One version.
	u, err = f.svc.Usage(ctx, mid, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(marketplace.UsageFigures{Runs: 3, Errors: 1, P50Ms: 3, P95Ms: 4.8, Communities: 1}, u.Total); diff != "" {
		t.Errorf("version 1.0.0 (-want +got):\n%s", diff)
	}
	_, err = f.svc.Usage(ctx, mid, "9.9.9")
	wantProblem(t, err, problem.NotFound, "")

	// A community's view counts its own executions only.
	u, err = f.svc.CommunityUsage(ctx, b, mid)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(marketplace.UsageFigures{Runs: 1, Refused: 1, P50Ms: 2, P95Ms: 2, Communities: 1}, u.Total); diff != "" {
		t.Errorf("community B (-want +got):\n%s", diff)
	}
	if u.Days[29].Runs != 1 || u.CommunityID != b {
		t.Errorf("community B today: %+v", u.Days[29])
	}
	_, err = f.svc.CommunityUsage(ctx, none, mid)
	wantProblem(t, err, problem.NotFound, "")
	u, err = f.svc.CommunityUsageBySlug(ctx, c, "clock")
	if err != nil || u.Total != (marketplace.UsageFigures{}) {
		t.Errorf("community C ran nothing: %+v, %v", u.Total, err)
	}

	// Who sees a module's usage.
	if _, err := f.svc.ModuleUsage(ctx, author, false, "clock", ""); err != nil {
		t.Errorf("the author: %v", err)
	}
	if _, err := f.svc.ModuleUsage(ctx, stranger, true, "clock", ""); err != nil {
		t.Errorf("a global admin: %v", err)
	}
	_, err = f.svc.ModuleUsage(ctx, stranger, false, "clock", "")
	wantProblem(t, err, problem.Forbidden, "")
	_, err = f.svc.ModuleUsage(ctx, author, false, "nope", "")
	wantProblem(t, err, problem.NotFound, "")
}
