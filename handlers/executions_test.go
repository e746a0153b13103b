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
	"github.com/waddle/waddle/router"
)

func TestExecutionLog(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	ctx := context.Background()
	b.mustCommand(t, "hug", "hugs")
	b.mustCommand(t, "secret", "psst")
	if _, err := b.settings.UpdateCommand(ctx, audit.Actor{}, b.c.ID, b.command(t, "secret").ID, router.CommandInput{Name: "secret", Response: "psst", Permission: router.Moderator, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// Through the simulator page, as a manager would.
	if _, doc := b.sim(t, url.Values{"user": {"Alice"}, "text": {"!hug bob"}}); !strings.Contains(doc.Find(`[data-testid=sim-reply]`).Text(), "hugs") {
		t.Fatal("the simulator did not run !hug")
	}
	b.sim(t, url.Values{"user": {"eve"}, "text": {"!secret"}})
	b.sim(t, url.Values{"user": {"eve"}, "text": {"!hug"}, "dry_run": {"on"}}) // dry runs are not logged
	if err := b.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	doc := b.admin.get(b.path("/executions"), nil).doc(t)
	var rows []string
	doc.Find(`[data-testid=exec-row]`).Each(func(_ int, s *goquery.Selection) {
		rows = append(rows, s.Find(`[data-testid=exec-row-command]`).Text()+" "+strings.Fields(s.Find(`[data-testid=exec-row-user]`).Text())[0]+" "+s.Find(`[data-testid=exec-row-outcome]`).Text())
	})
	if d := cmp.Diff([]string{"secret eve not allowed", "hug Alice answered"}, rows); d != "" {
		t.Errorf("log, newest first (-want +got):\n%s", d)
	}
	// Members may read the log.
	if n := b.member.get(b.path("/executions"), nil).doc(t).Find(`[data-testid=exec-row]`).Length(); n != 2 {
		t.Errorf("a member sees %d rows", n)
	}

	// Filters, through HTMX as the filter form sends them.
	filtered := func(q string) []string {
		t.Helper()
		res := b.admin.get(b.path("/executions?%s", q), http.Header{"Hx-Request": {"true"}, "Hx-Target": {"exec-rows"}})
		if res.StatusCode != 200 || strings.Contains(res.body, "<html") {
			t.Fatalf("filter %s: %d", q, res.StatusCode)
		}
		var out []string
		res.doc(t).Find(`[data-testid=exec-row-command]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
		return out
	}
	for q, want := range map[string][]string{
		"command=%21HUG":          {"hug"},
		"user=ali":                {"hug"},
		"outcome=denied":          {"secret"},
		"outcome=ok&command=hug":  {"hug"},
		"outcome=rate_limited":    nil,
		"command=secret&user=ali": nil,
	} {
		if d := cmp.Diff(want, filtered(q)); d != "" {
			t.Errorf("filter %s (-want +got):\n%s", q, d)
		}
	}
	res := b.admin.get(b.path("/executions?outcome=sideways"), nil)
	if res.StatusCode != 400 || !strings.Contains(formError(t, res), `Unknown outcome "sideways"`) {
		t.Errorf("bad outcome: %d %q", res.StatusCode, formError(t, res))
	}

	// Pages of 50 with an "Older" link.
	for i := range 53 {
		ev := router.Event{ID: fmt.Sprintf("page-%d", i), Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: fmt.Sprintf("u%d", i), Roles: []string{router.BadgeModerator}}, Text: "!hug"}
		if _, err := b.router.Simulate(ctx, audit.Actor{}, b.c.ID, ev, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.router.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	doc = b.admin.get(b.path("/executions?command=hug"), nil).doc(t)
	older := doc.Find(`[data-testid=exec-older]`).AttrOr("href", "")
	if n := doc.Find(`[data-testid=exec-row]`).Length(); n != 50 || !strings.Contains(older, "command=hug") || !strings.Contains(older, "before=") {
		t.Fatalf("first page: %d rows, older link %q", n, older)
	}
	doc = b.admin.get(older, nil).doc(t)
	if n := doc.Find(`[data-testid=exec-row]`).Length(); n != 4 || doc.Find(`[data-testid=exec-older]`).Length() != 0 {
		t.Errorf("second page: %d rows (want 4: 54 hugs in all), older link %v", n, doc.Find(`[data-testid=exec-older]`).Length())
	}
}
