package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/overlay"
)

func TestOverlayHubCreateRegenerateDelete(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	anon := b.client()

	res := b.admin.post(b.path("/overlays"), url.Values{"kind": {"alerts"}, "name": {"Stream alerts"}}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %q", res.StatusCode, formError(t, res))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the URL is cacheable: %q", cc)
	}
	doc := res.doc(t)
	u := doc.Find(`[data-testid=overlay-url]`).AttrOr("value", "")
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(b.srv.URL) + `/overlay/([A-Za-z0-9_-]{43})$`)
	m := re.FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("shown URL %q", u)
	}
	if doc.Find(`[data-testid=overlay-preview]`).AttrOr("src", "") != u || doc.Find(`[data-testid=overlay-copy]`).AttrOr("data-copy", "") == "" {
		t.Error("no preview or copy button for the new URL")
	}
	if doc.Find(`script[src="/static/hub.js"]`).Length() == 0 {
		t.Error("the page does not load hub.js for the copy button")
	}
	if doc.Find(`[data-testid=community-nav] a[aria-current=page]`).Text() != "Overlays" {
		t.Error("the nav does not mark Overlays")
	}
	var srcID int64
	if err := b.pool.QueryRow(t.Context(), "SELECT id FROM overlay_sources WHERE community_id = $1 AND name = 'Stream alerts' AND kind = 'alerts'", b.c.ID).Scan(&srcID); err != nil {
		t.Fatal(err)
	}
	if n := b.count("SELECT count(*) FROM overlay_sources WHERE token_hash::text LIKE '%' || $1 || '%'", m[1]); n != 0 {
		t.Error("the token is stored in the clear")
	}
	if res := anon.get("/overlay/"+m[1], nil); res.StatusCode != 200 {
		t.Errorf("the new URL: %d", res.StatusCode)
	}
	// Afterwards the list does not show it again.
	page := b.admin.get(b.path("/overlays"), nil)
	if strings.Contains(page.body, m[1]) || page.doc(t).Find(`[data-testid=overlay-url]`).Length() != 0 {
		t.Error("the list shows the URL after its creation")
	}
	row := page.doc(t).Find(fmt.Sprintf(`#overlay-%d`, srcID))
	if row.Find(`[data-testid=overlay-row-name]`).Text() != "Stream alerts" || row.Find(`[data-testid=overlay-row-kind]`).Text() != "alerts" ||
		row.Find(`[data-testid=overlay-alert-follow] input[name="template.follow"]`).AttrOr("value", "") != "{user} just followed!" {
		t.Errorf("row: %q", row.Text())
	}

	// Send test, through HTMX: a test alert reaches the page.
	s := b.openStream(t, "/overlay/"+m[1]+"/events", "")
	s.next("retry")
	res = b.admin.post(b.path("/overlays/%d/test", srcID), nil, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.body, "Test sent to Stream alerts.") {
		t.Errorf("HTMX test: %d %q", res.StatusCode, res.body)
	}
	if _, got := s.update("the test alert"); got.Type != "alert" || !got.Test || got.Message != "TestDuck just followed!" || got.Seconds != 5 {
		t.Errorf("test update %+v", got)
	}
	// And without JavaScript.
	res = b.admin.post(b.path("/overlays/%d/test", srcID), nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/overlays") {
		t.Errorf("plain test: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	s.update("the second test alert")

	// Regenerate: the old URL and its stream stop at once, the new one works.
	res = b.admin.post(b.path("/overlays/%d/regenerate", srcID), nil, nil)
	nu := res.doc(t).Find(`[data-testid=overlay-url]`).AttrOr("value", "")
	m2 := re.FindStringSubmatch(nu)
	if res.StatusCode != 200 || m2 == nil || m2[1] == m[1] {
		t.Fatalf("regenerate: %d, URL %q", res.StatusCode, nu)
	}
	if !s.ended() {
		t.Error("the old URL's stream did not end")
	}
	if res := anon.get("/overlay/"+m[1], nil); res.StatusCode != 404 {
		t.Errorf("the old URL: %d, want 404", res.StatusCode)
	}
	if res := anon.get("/overlay/"+m2[1], nil); res.StatusCode != 200 {
		t.Errorf("the new URL: %d", res.StatusCode)
	}

	// Delete, through HTMX (the card goes) and plainly.
	other, otherToken := b.mustOverlay(t, b.c.ID, overlay.Ticker, "Ticker")
	res = b.admin.post(b.path("/overlays/%d/delete", srcID), nil, htmx)
	if res.StatusCode != 200 || res.body != "" {
		t.Errorf("HTMX delete: %d %q", res.StatusCode, res.body)
	}
	res = b.admin.post(b.path("/overlays/%d/delete", other.ID), nil, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("plain delete: %d", res.StatusCode)
	}
	if f := b.admin.get(b.path("/overlays"), nil).doc(t).Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Source Ticker deleted") {
		t.Errorf("flash %q", f)
	}
	if n := b.count("SELECT count(*) FROM overlay_sources"); n != 0 {
		t.Errorf("%d sources left", n)
	}
	for _, tok := range []string{m2[1], otherToken} {
		if res := anon.get("/overlay/"+tok, nil); res.StatusCode != 404 {
			t.Errorf("a deleted source's URL: %d", res.StatusCode)
		}
	}
	if res := b.admin.post(b.path("/overlays/%d/delete", srcID), nil, nil); res.StatusCode != 404 {
		t.Errorf("deleting again: %d", res.StatusCode)
	}
	if res := b.admin.post(b.path("/overlays"), url.Values{"kind": {"fireworks"}, "name": {"x"}}, nil); res.StatusCode != 400 ||
		!strings.Contains(formError(t, res), "Choose a kind") {
		t.Errorf("unknown kind: %d %q", res.StatusCode, formError(t, res))
	}
}

func TestOverlayHubSettingsAndContent(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	alerts, _ := b.mustOverlay(t, b.c.ID, overlay.Alerts, "Alerts")
	text, textToken := b.mustOverlay(t, b.c.ID, overlay.Text, "Text")
	ticker, tickerToken := b.mustOverlay(t, b.c.ID, overlay.Ticker, "Ticker")

	form := url.Values{"name": {"Main alerts"}}
	for _, ev := range []string{"follow", "subscribe", "gift_subscription", "cheer", "raid", "shoutout"} {
		form.Set("template."+ev, "{user} did "+ev)
		form.Set("seconds."+ev, "3")
	}
	form.Set("image.follow", "https://example.com/duck.gif")
	form.Set("sound.follow", "https://example.com/quack.mp3")
	res := b.admin.post(b.path("/overlays/%d", alerts.ID), form, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %q", res.StatusCode, res.doc(t).Find(`[data-testid=overlay-row-error]`).Text())
	}
	got, err := b.ov.Get(t.Context(), b.c.ID, alerts.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Main alerts" || cmp.Diff(overlay.AlertStyle{Template: "{user} did follow", Seconds: 3, Image: "https://example.com/duck.gif", Sound: "https://example.com/quack.mp3"}, got.Settings.Alerts["follow"]) != "" ||
		got.Settings.Alerts["raid"].Template != "{user} did raid" {
		t.Errorf("saved %+v", got)
	}
	form.Set("image.cheer", "javascript:alert(1)")
	res = b.admin.post(b.path("/overlays/%d", alerts.ID), form, nil)
	if msg := res.doc(t).Find(fmt.Sprintf(`#overlay-%d [data-testid=overlay-row-error]`, alerts.ID)).Text(); res.StatusCode != 400 ||
		!strings.Contains(msg, "cheer") || !strings.Contains(msg, "https://") {
		t.Errorf("javascript: image: %d %q", res.StatusCode, msg)
	}
	if got, _ := b.ov.Get(t.Context(), b.c.ID, alerts.ID); got.Settings.Alerts["cheer"].Image != "" {
		t.Error("the javascript: image was stored")
	}

	// A text source's HTML is sanitised, stored for pages that open later, and sent to those open now.
	s := b.openStream(t, "/overlay/"+textToken+"/events", "")
	s.next("retry")
	res = b.admin.post(b.path("/overlays/%d/content", text.ID), url.Values{"text": {`<h2>Now</h2><script>alert(1)</script><img src="x" onerror="alert(2)">`}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("content: %d", res.StatusCode)
	}
	_, u := s.update("the text update")
	if u.HTML != `<h2>Now</h2><img src="x">` {
		t.Errorf("sent %q", u.HTML)
	}
	page := b.client().get("/overlay/"+textToken, nil)
	var cfg struct{ HTML string }
	if err := json.Unmarshal([]byte(page.doc(t).Find(`#overlay-config`).Text()), &cfg); err != nil || cfg.HTML != u.HTML {
		t.Errorf("a page opened later starts with %q (%v), want %q", cfg.HTML, err, u.HTML)
	}
	if strings.Contains(page.body, "<script>alert") {
		t.Error("the page carries the script")
	}

	// A ticker's text is text: "&" and "<" show as typed.
	res = b.admin.post(b.path("/overlays/%d/content", ticker.ID), url.Values{"text": {"Ducks & geese <3"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ticker: %d", res.StatusCode)
	}
	page = b.client().get("/overlay/"+tickerToken, nil)
	var tcfg struct{ Text string }
	if err := json.Unmarshal([]byte(page.doc(t).Find(`#overlay-config`).Text()), &tcfg); err != nil {
		t.Fatal(err)
	}
	if tcfg.Text != "Ducks & geese <3" && tcfg.Text != "Ducks & geese " {
		t.Errorf("ticker text %q", tcfg.Text)
	}
	if res := b.admin.post(b.path("/overlays/%d/content", alerts.ID), url.Values{"text": {"x"}}, nil); res.StatusCode != 404 {
		t.Errorf("content of an alerts source: %d", res.StatusCode)
	}
}

func TestOverlayHubMemberMayNotChange(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	src, token := b.mustOverlay(t, b.c.ID, overlay.Alerts, "Alerts")
	page := b.member.get(b.path("/overlays"), nil)
	doc := page.doc(t)
	if page.StatusCode != 200 || doc.Find(`[data-testid=overlay-row-name]`).Text() != "Alerts" {
		t.Fatalf("member page: %d", page.StatusCode)
	}
	for _, sel := range []string{"overlay-create", "overlay-test", "overlay-regenerate", "overlay-delete", "overlay-settings", "overlay-url"} {
		if doc.Find(`[data-testid=`+sel+`]`).Length() != 0 {
			t.Errorf("a member sees %s", sel)
		}
	}
	writes := []struct {
		path string
		form url.Values
	}{
		{b.path("/overlays"), url.Values{"kind": {"chat"}, "name": {"Mine"}}},
		{b.path("/overlays/%d", src.ID), url.Values{"name": {"Hijacked"}}},
		{b.path("/overlays/%d/content", src.ID), url.Values{"text": {"x"}}},
		{b.path("/overlays/%d/test", src.ID), nil},
		{b.path("/overlays/%d/regenerate", src.ID), nil},
		{b.path("/overlays/%d/delete", src.ID), nil},
	}
	for _, w := range writes {
		for _, hdr := range []http.Header{nil, htmx} {
			if res := b.member.post(w.path, w.form, hdr); res.StatusCode != http.StatusForbidden {
				t.Errorf("member POST %s (HTMX %v): %d, want 403", w.path, hdr != nil, res.StatusCode)
			}
		}
	}
	if n := b.count("SELECT count(*) FROM overlay_sources WHERE name = 'Alerts'"); n != 1 || b.count("SELECT count(*) FROM overlay_sources") != 1 ||
		b.count("SELECT count(*) FROM overlay_updates") != 0 {
		t.Error("a member changed the sources")
	}
	if res := b.client().get("/overlay/"+token, nil); res.StatusCode != 200 {
		t.Error("the URL stopped working")
	}
}
