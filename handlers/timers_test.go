package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/router"
)

// timersEnv is a bot env whose community linked Twitch channel duckchan and
// Discord guild g1.
func timersEnv(t *testing.T) *botEnv {
	t.Helper()
	b := newBotEnv(t)
	ctx := context.Background()
	if _, err := b.settings.LinkEntity(ctx, audit.Actor{}, b.c.ID, router.Twitch, "duckchan", "Duck channel"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.settings.LinkEntity(ctx, audit.Actor{}, b.c.ID, router.Discord, "g1", "Duck guild"); err != nil {
		t.Fatal(err)
	}
	return b
}

func timerValues(name string) url.Values {
	return url.Values{"name": {name}, "message": {"Follow the channel!"}, "target": {"twitch|duckchan"},
		"interval_minutes": {"15"}, "min_lines": {"5"}, "enabled": {"on"}}
}

func TestTimersPageCreateEditToggle(t *testing.T) {
	t.Parallel()
	b := timersEnv(t)
	doc := b.admin.get(b.path("/timers"), nil).doc(t)
	if doc.Find(`[data-testid=no-timers]`).Length() != 1 || doc.Find(`[data-testid=timer-target] option`).Length() != 2 {
		t.Fatalf("empty page: %d pickers", doc.Find(`[data-testid=timer-target] option`).Length())
	}
	res := b.admin.post(b.path("/timers"), timerValues("follow"), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %.300s", res.StatusCode, res.body)
	}
	doc = b.admin.get(b.path("/timers"), nil).doc(t)
	row := doc.Find(`[data-testid=timer-row]`)
	if row.Length() != 1 || row.Find(`[data-testid=timer-row-name]`).Text() != "follow" ||
		strings.TrimSpace(row.Find(`[data-testid=timer-row-where]`).Text()) != "twitch duckchan" ||
		!strings.HasPrefix(row.Find(`[data-testid=timer-row-next] [data-testid=when]`).Text(), "in 1") || // 14 or 15 min
		!row.Find(`[data-testid=timer-row-next] time`).Is("[datetime]") ||
		row.Find(`[data-testid=timer-row-why]`).Text() != "Not fired yet." {
		t.Fatalf("row: %s", row.Text())
	}
	id := b.count("SELECT id FROM timers WHERE community_id = $1 AND name = 'follow'", b.c.ID)

	// A skipped fire time says why on the page.
	if _, err := b.pool.Exec(context.Background(), `UPDATE timers SET last_outcome = 'skipped_lines', last_outcome_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	why := b.admin.get(b.path("/timers"), nil).doc(t).Find(`[data-testid=timer-row-why]`).Text()
	if !strings.Contains(why, "fewer chat lines") {
		t.Errorf("why: %q", why)
	}

	// Turned off through HTMX: the row comes back.
	res = b.admin.post(b.path("/timers/%d/toggle", id), nil, http.Header{"Hx-Request": {"true"}})
	// A bare <tr> is read inside a table, as HTMX swaps it.
	frag, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tbody>" + res.body + "</tbody></table>"))
	if err != nil {
		t.Fatal(err)
	}
	row = frag.Find(`[data-testid=timer-row]`)
	if res.StatusCode != 200 || row.Length() != 1 || row.Find(`[data-testid=timer-row-off]`).Length() != 1 || strings.TrimSpace(row.Find(`[data-testid=timer-toggle]`).Text()) != "Enable" {
		t.Fatalf("toggle: %d %.300s", res.StatusCode, res.body)
	}
	if n := b.count("SELECT count(*) FROM timers WHERE id = $1 AND NOT enabled AND next_fire_at IS NULL", id); n != 1 {
		t.Error("the timer is still on")
	}

	// Edited to a Discord channel.
	edit := b.admin.get(b.path("/timers/%d/edit", id), nil).doc(t)
	if v, _ := edit.Find(`[data-testid=timer-name]`).Attr("value"); v != "follow" {
		t.Fatalf("edit form name %q", v)
	}
	v := timerValues("follow")
	v.Set("target", "discord|g1")
	v.Set("channel", "123456")
	if res := b.admin.post(b.path("/timers/%d", id), v, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d %.300s", res.StatusCode, res.body)
	}
	if n := b.count("SELECT count(*) FROM timers WHERE id = $1 AND platform = 'discord' AND server = 'g1' AND channel = '123456' AND enabled", id); n != 1 {
		t.Error("the update was not saved")
	}

	// Members look, but do not change.
	mdoc := b.member.get(b.path("/timers"), nil).doc(t)
	if mdoc.Find(`[data-testid=timer-row]`).Length() != 1 || mdoc.Find(`[data-testid=timer-form]`).Length() != 0 || mdoc.Find(`[data-testid=timer-toggle]`).Length() != 0 {
		t.Error("a member sees the managers' controls")
	}
	if res := b.member.post(b.path("/timers/%d/toggle", id), nil, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member toggled: %d", res.StatusCode)
	}

	if res := b.admin.post(b.path("/timers/%d/delete", id), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if n := b.count("SELECT count(*) FROM timers WHERE community_id = $1", b.c.ID); n != 0 {
		t.Errorf("%d timers after delete", n)
	}
}

func TestTimersFormErrors(t *testing.T) {
	t.Parallel()
	b := timersEnv(t)
	if res := b.admin.post(b.path("/timers"), timerValues("taken"), nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", res.StatusCode)
	}
	cases := []struct {
		name, field, value, want string
	}{
		{"no name", "name", "", "name"},
		{"name taken", "name", "taken", "name"},
		{"long message", "message", strings.Repeat("m", 501), "message"},
		{"interval not a number", "interval_minutes", "often", "interval_minutes"},
		{"interval too long", "interval_minutes", "1441", "interval_minutes"},
		{"lines negative", "min_lines", "-3", "min_lines"},
		{"unlinked channel", "target", "twitch|somebody", "target"},
		{"no target", "target", "", "target"},
		{"discord without a channel id", "target", "discord|g1", "channel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := timerValues("new")
			v.Set(c.field, c.value)
			res := b.admin.post(b.path("/timers"), v, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got, _ := res.doc(t).Find(`[data-testid=form-error]`).Attr("data-field"); got != c.want {
				t.Errorf("error next to %q, want %q: %.500s", got, c.want, res.body)
			}
		})
	}
	if n := b.count("SELECT count(*) FROM timers WHERE community_id = $1", b.c.ID); n != 1 {
		t.Errorf("%d timers after refusals", n)
	}
}

func TestTimersAPI(t *testing.T) {
	t.Parallel()
	b := timersEnv(t)
	ann := b.count("SELECT id FROM users WHERE email = 'ann@example.com'")
	mo := b.count("SELECT id FROM users WHERE email = 'mo@example.com'")
	adminKey := b.apiKey(auth.User{ID: int64(ann), Email: "ann@example.com"}, auth.RoleUser)
	memberKey := b.apiKey(auth.User{ID: int64(mo), Email: "mo@example.com"}, auth.RoleUser)
	base := fmt.Sprintf("/communities/%d/timers", b.c.ID)

	st, out := b.api(adminKey, "POST", base, `{"name":"follow","message":"Follow!","platform":"discord","server":"g1","channel":"777","interval_minutes":10,"min_lines":2,"only_live":true}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	tm := out["data"].(map[string]any)
	if tm["enabled"] != true || tm["channel"] != "777" || tm["only_live"] != true || tm["next_fire_at"] == nil || tm["why"] != "Not fired yet." {
		t.Errorf("created %v", tm)
	}
	one := fmt.Sprintf("%s/%d", base, int64(tm["id"].(float64)))
	if st, out := b.api(memberKey, "GET", base, ""); st != 200 || len(out["data"].([]any)) != 1 {
		t.Errorf("list: %d %v", st, out)
	}
	if st, out := b.api(adminKey, "PATCH", one, `{"enabled":false,"min_lines":0}`); st != 200 ||
		out["data"].(map[string]any)["enabled"] != false || out["data"].(map[string]any)["next_fire_at"] != nil || out["data"].(map[string]any)["name"] != "follow" {
		t.Errorf("update: %d %v", st, out)
	}
	if st, _ := b.api(memberKey, "PATCH", one, `{"enabled":true}`); st != http.StatusForbidden {
		t.Errorf("a member changed a timer: %d", st)
	}

	bad := []struct {
		name, method, path, body string
		want                     int
		says                     string
	}{
		{"empty name", "POST", base, `{"name":"","message":"x","platform":"twitch","server":"duckchan","interval_minutes":5}`, 400, "name"},
		{"interval zero", "POST", base, `{"name":"a","message":"x","platform":"twitch","server":"duckchan","interval_minutes":0}`, 400, "interval"},
		{"interval missing", "POST", base, `{"name":"a","message":"x","platform":"twitch","server":"duckchan"}`, 400, "interval"},
		{"lines too many", "POST", base, `{"name":"a","message":"x","platform":"twitch","server":"duckchan","interval_minutes":5,"min_lines":10001}`, 400, "chat lines"},
		{"unlinked", "POST", base, `{"name":"a","message":"x","platform":"twitch","server":"nobody","interval_minutes":5}`, 400, "linked"},
		{"interval a string", "POST", base, `{"name":"a","message":"x","platform":"twitch","server":"duckchan","interval_minutes":"5"}`, 400, "interval_minutes"},
		{"unknown field", "POST", base, `{"name":"a","cron":"* * * * *"}`, 400, "cron"},
		{"not JSON", "POST", base, `name=a`, 400, "JSON"},
		{"bad id", "GET", base + "/abc", "", 404, "timer"},
		{"no such timer", "PATCH", base + "/999999", `{"name":"x"}`, 404, "timer"},
		{"delete no such timer", "DELETE", base + "/999999", "", 404, "timer"},
	}
	for _, c := range bad {
		st, out := b.api(adminKey, c.method, c.path, c.body)
		msg, _ := out["message"].(string)
		if st != c.want || !strings.Contains(msg, c.says) || out["success"] != false {
			t.Errorf("%s: %d %q, want %d naming %q", c.name, st, msg, c.want, c.says)
		}
	}
	if st, _ := b.api(adminKey, "DELETE", one, ""); st != 200 {
		t.Errorf("delete: %d", st)
	}
	if n := b.count("SELECT count(*) FROM timers"); n != 0 {
		t.Errorf("%d timers left", n)
	}
}
