package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

func (b *botEnv) viewerTracking(t *testing.T) router.ViewerTracking {
	t.Helper()
	v, err := b.settings.ViewerTracking(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestViewerTrackingSetting(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin

	// Off by default, at 1 point per 5 minutes.
	doc := hub.get(b.path("/points"), nil).doc(t)
	form := doc.Find(`[data-testid=viewer-tracking-form]`)
	if form.Find(`[data-testid=viewer-tracking-enabled]`).Is(":checked") ||
		form.Find(`[data-testid=viewer-tracking-points]`).AttrOr("value", "") != "1" || form.Find(`[data-testid=viewer-tracking-every]`).AttrOr("value", "") != "5" {
		h, _ := form.Html()
		t.Fatalf("default form: %s", h)
	}

	// A plain form turns it on.
	res := hub.post(b.path("/viewer-tracking"), url.Values{"enabled": {"on"}, "points": {"3"}, "every": {"10"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", res.StatusCode, res.body)
	}
	want := router.ViewerTracking{Enabled: true, Every: 10 * time.Minute, Points: 3}
	if got := b.viewerTracking(t); got != want {
		t.Errorf("saved %+v, want %+v", got, want)
	}
	if n := b.count("SELECT count(*) FROM audit_log WHERE action = $1 AND community_id = $2 AND actor_email = 'ann@example.com'", audit.ViewerTrackingChanged, b.c.ID); n != 1 {
		t.Errorf("%d audit records of the change, want 1", n)
	}
	// HTMX answers the section; unticked, the box turns it off.
	res = hub.post(b.path("/viewer-tracking"), url.Values{"points": {"3"}, "every": {"10"}}, htmx)
	sec := res.row(t)
	if res.StatusCode != 200 || sec.Find(`[data-testid=viewer-tracking-enabled]`).Is(":checked") || b.viewerTracking(t).Enabled {
		t.Errorf("HTMX off: %d %s", res.StatusCode, res.body)
	}

	// Bad input is refused with the reason; nothing changes.
	b.settings.SetViewerTracking(context.Background(), audit.Actor{}, b.c.ID, want)
	for _, c := range []struct {
		name, points, every, want string
	}{
		{"no points", "", "5", "Give the points a viewer earns each time (1 to 1000)."},
		{"no interval", "1", "", "Give how many minutes each award of points stands for (1 to 60)."},
		{"zero points", "0", "5", "Viewers earn 1 to 1000 points at a time."},
		{"too many points", "1001", "5", "Viewers earn 1 to 1000 points at a time."},
		{"negative points", "-1", "5", "Viewers earn 1 to 1000 points at a time."},
		{"zero minutes", "1", "0", "Viewers earn points every 1 to 60 whole minutes."},
		{"over an hour", "1", "61", "Viewers earn points every 1 to 60 whole minutes."},
		{"huge interval", "1", "999999999", "Viewers earn points every 1 to 60 whole minutes."},
		{"not a number", "lots", "5", "Points is a whole number"},
		{"fractional minutes", "1", "2.5", "The interval in minutes is a whole number"},
		{"long number", strings.Repeat("9", 5000), "5", "Points is a whole number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := hub.post(b.path("/viewer-tracking"), url.Values{"enabled": {"on"}, "points": {c.points}, "every": {c.every}}, nil)
			if res.StatusCode != 400 || !strings.Contains(formError(t, res), c.want) {
				t.Errorf("%d %q, want 400 with %q", res.StatusCode, formError(t, res), c.want)
			}
			// The page shows what was typed, to fix it.
			if got := res.doc(t).Find(`[data-testid=viewer-tracking-points]`).AttrOr("value", ""); got != c.points[:min(len(c.points), 20)] {
				t.Errorf("points shown %q, want %q", got, c.points)
			}
			res = hub.post(b.path("/viewer-tracking"), url.Values{"enabled": {"on"}, "points": {c.points}, "every": {c.every}}, htmx)
			if res.StatusCode != 200 || !strings.Contains(res.row(t).Find(`[data-testid=form-error]`).Text(), c.want) {
				t.Errorf("HTMX: %d %s", res.StatusCode, res.body)
			}
		})
	}
	if got := b.viewerTracking(t); got != want {
		t.Errorf("after refused input: %+v, want %+v", got, want)
	}

	// Members see the setting but cannot change it.
	if s := b.member.get(b.path("/points"), nil).doc(t).Find(`[data-testid=viewer-tracking-state]`).Text(); !strings.Contains(s, "On: 3 points every 10 minutes.") {
		t.Errorf("member sees %q", s)
	}
	if res := b.member.post(b.path("/viewer-tracking"), url.Values{"points": {"5"}, "every": {"5"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("member change: %d", res.StatusCode)
	}
}

func TestLeaderboardByWatchTime(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	if _, err := b.settings.LinkEntity(ctx, audit.Actor{}, b.c.ID, router.Twitch, "duckchan", "duckchan"); err != nil {
		t.Fatal(err)
	}
	if err := b.settings.SetViewerTracking(ctx, audit.Actor{}, b.c.ID, router.ViewerTracking{Enabled: true, Every: 30 * time.Minute, Points: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := platform.NewLeases(b.pool, "a", time.Minute).Sync(ctx, platform.TwitchChannelLeases, []string{"duckchan"}); err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i, viewers := range [][]string{{"alice", "bob"}, {"alice"}, {"alice"}} {
		tick := router.WatchTick{CommunityID: b.c.ID, Platform: router.Twitch, Server: "duckchan", Lease: platform.TwitchChannelLeases + "duckchan",
			Holder: "a", Start: noon.Add(time.Duration(i) * 30 * time.Minute), Every: 30 * time.Minute}
		for _, v := range viewers {
			tick.Viewers = append(tick.Viewers, router.User{ID: "id-" + v, Name: v})
		}
		if a, err := b.router.AwardWatch(ctx, tick); err != nil || !a.Awarded {
			t.Fatalf("tick %d: %+v %v", i, a, err)
		}
	}
	// Carol chats a lot but never watched.
	if _, err := b.settings.AddPoints(ctx, b.c.ID, router.Twitch, "id-carol", "carol", 50, "test"); err != nil {
		t.Fatal(err)
	}
	board := func(doc *goquery.Document) []string {
		var out []string
		doc.Find(`[data-testid=leaderboard-row]`).Each(func(_ int, s *goquery.Selection) {
			cells := s.Find("td").Map(func(_ int, td *goquery.Selection) string { return td.Text() })
			out = append(out, strings.Join(strings.Fields(strings.Join(cells, " ")), " "))
		})
		return out
	}
	doc := b.member.get(b.path("/points"), nil).doc(t)
	if d := cmp.Diff([]string{"1 carol twitch 50", "2 alice twitch 3", "3 bob twitch 1"}, board(doc)); d != "" {
		t.Errorf("by points (-want +got):\n%s", d)
	}
	link, _ := doc.Find(`[data-testid=rank-by-watch-time]`).Attr("href")
	doc = b.member.get(link, nil).doc(t)
	if d := cmp.Diff([]string{"1 alice twitch 1h 30m 3", "2 bob twitch 30m 1"}, board(doc)); d != "" {
		t.Errorf("by watch time (-want +got):\n%s", d)
	}
	if res := b.member.get(b.path("/points?by=height"), nil); res.StatusCode != 400 {
		t.Errorf("unknown ranking: %d", res.StatusCode)
	}
}
