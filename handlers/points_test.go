package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/router"
)

func pointsOf(t *testing.T, b *botEnv, key string) router.PointsValue {
	t.Helper()
	values, err := b.settings.PointsValues(context.Background(), b.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if v.Key == key {
			return v
		}
	}
	t.Fatalf("no points value %s", key)
	return router.PointsValue{}
}

func TestPointsPage(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	hub := b.admin
	ctx := context.Background()
	for i, name := range []string{"alice", "bob", "carol"} {
		if _, err := b.settings.AddPoints(ctx, b.c.ID, router.Twitch, "id-"+name, name, int64(10*(i+1)), "test"); err != nil {
			t.Fatal(err)
		}
	}
	doc := hub.get(b.path("/points"), nil).doc(t)
	if n := doc.Find(`[data-testid=points-row]`).Length(); n != len(router.DefaultPoints) {
		t.Errorf("%d points rows, want %d", n, len(router.DefaultPoints))
	}
	var board []string
	doc.Find(`[data-testid=leaderboard-row]`).Each(func(_ int, s *goquery.Selection) {
		board = append(board, strings.Join(strings.Fields(strings.Join(s.Find("td").Map(func(_ int, td *goquery.Selection) string { return td.Text() }), " ")), " "))
	})
	if d := cmp.Diff([]string{"1 carol twitch 30", "2 bob twitch 20", "3 alice twitch 10"}, board); d != "" {
		t.Errorf("leaderboard (-want +got):\n%s", d)
	}

	// HTMX saves one row on change.
	res := hub.post(b.path("/points/twitch.follow"), url.Values{"points": {"25"}}, htmx)
	row := res.row(t)
	if res.StatusCode != 200 || row.Find(`input[data-testid=points-input]`).AttrOr("value", "") != "25" || row.Find(`[data-testid=points-custom]`).Length() != 1 {
		t.Fatalf("HTMX save: %d %s", res.StatusCode, res.body)
	}
	if v := pointsOf(t, b, "twitch.follow"); v.Points != 25 || !v.Custom {
		t.Errorf("after save: %+v", v)
	}
	// A plain form works too; the default value removes the override.
	if res := hub.post(b.path("/points/twitch.follow"), url.Values{"points": {"10"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("plain save: %d", res.StatusCode)
	}
	if v := pointsOf(t, b, "twitch.follow"); v.Points != 10 || v.Custom {
		t.Errorf("after setting the default: %+v", v)
	}
	if n := b.count("SELECT count(*) FROM points_values"); n != 0 {
		t.Errorf("%d overrides, want none", n)
	}

	for _, cc := range []struct {
		name, key, points, want string
	}{
		{"unknown key", "twitch.dance", "5", `Unknown event "twitch.dance".`},
		{"too many", "twitch.raid", "100001", "Points are between -100000 and 100000."},
		{"too few", "twitch.raid", "-100001", "Points are between -100000 and 100000."},
		{"not a number", "twitch.raid", "lots", "is a whole number"},
		{"empty", "twitch.raid", "", "Give the points"},
	} {
		res := hub.post(b.path("/points/%s", cc.key), url.Values{"points": {cc.points}}, nil)
		if res.StatusCode != 400 || !strings.Contains(formError(t, res), cc.want) {
			t.Errorf("%s: %d %q", cc.name, res.StatusCode, formError(t, res))
		}
	}
	// Through HTMX, the row shows the stored value and the reason.
	res = hub.post(b.path("/points/twitch.raid"), url.Values{"points": {"100001"}}, htmx)
	row = res.row(t)
	if res.StatusCode != 200 || row.Find(`input[data-testid=points-input]`).AttrOr("value", "") != "30" || !strings.Contains(row.Find(`[data-testid=form-error]`).Text(), "between") {
		t.Errorf("HTMX out of range: %d %s", res.StatusCode, res.body)
	}
	if res := hub.post(b.path("/points/twitch.dance"), url.Values{"points": {"5"}}, htmx); res.StatusCode != 400 || res.Header.Get("HX-Reswap") != "none" {
		t.Errorf("HTMX unknown key: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM points_values"); n != 0 {
		t.Errorf("bad values stored %d overrides", n)
	}
}
