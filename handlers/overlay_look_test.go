package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/overlay"
)

// alertsForm is the settings form of an alerts source as the hub page sends it.
func alertsForm(name string) url.Values {
	form := url.Values{"name": {name}, "preset": {"pop"}, "volume": {"80"}}
	for ev, a := range overlay.DefaultAlerts {
		form.Set("template."+ev, a.Template)
		form.Set("seconds."+ev, fmt.Sprint(a.Seconds))
		form.Set("image."+ev, "")
		form.Set("sound."+ev, "")
	}
	return form
}

// TestOverlayHubAlertLook: a manager chooses an alerts source's look and
// volume; the page shows the choice, the preview plays it, and a test alert
// and the alerts of real events carry it.
func TestOverlayHubAlertLook(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	src, token := b.mustOverlay(t, b.c.ID, overlay.Alerts, "Alerts")

	// Out of the box: the default look, on the page and in the preview.
	doc := b.admin.get(b.path("/overlays"), nil).doc(t)
	row := doc.Find(fmt.Sprintf(`#overlay-%d`, src.ID))
	if !row.Find(`[data-testid=overlay-preset-pop]`).Is(`:checked`) || row.Find(`input[name=preset]`).Length() != len(overlay.Presets) {
		t.Errorf("a new source does not offer the looks with Pop chosen: %q", row.Find(`[data-testid=overlay-presets]`).Text())
	}
	if v := row.Find(`[data-testid=overlay-volume]`).AttrOr("value", ""); v != "80" {
		t.Errorf("volume shown %q, want 80", v)
	}
	preview := row.Find(`[data-testid=overlay-look-preview]`).AttrOr("src", "")
	if preview != b.path("/overlays/%d/preview", src.ID) {
		t.Errorf("preview frame src %q", preview)
	}
	if doc.Find(`[data-testid=overlay-create]`).Length() != 1 ||
		doc.Find(`[data-testid=overlay-create]`).Parent().Index() > doc.Find(`[data-testid=overlay-row]`).Parent().Index() {
		t.Error("the new-source form is not above the sources")
	}
	if help := doc.Find(`[data-testid=overlays-help]`).Text(); !strings.Contains(help, "Browser") || !strings.Contains(help, "1920") || !strings.Contains(help, "1080") {
		t.Errorf("the OBS steps do not name the browser source and its size: %q", help)
	}

	form := alertsForm("Alerts")
	form.Set("preset", "slide")
	form.Set("volume", "40")
	form.Set("image.follow", "https://example.com/duck.gif")
	if res := b.admin.post(b.path("/overlays/%d", src.ID), form, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %q", res.StatusCode, res.doc(t).Find(`[data-testid=overlay-row-error]`).Text())
	}
	got, err := b.ov.Get(t.Context(), b.c.ID, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Settings.Preset != "slide" || got.Settings.Volume != 40 {
		t.Errorf("saved look %q, volume %d", got.Settings.Preset, got.Settings.Volume)
	}
	row = b.admin.get(b.path("/overlays"), nil).doc(t).Find(fmt.Sprintf(`#overlay-%d`, src.ID))
	if !row.Find(`[data-testid=overlay-preset-slide]`).Is(`:checked`) || row.Find(`[data-testid=overlay-preset-pop]`).Is(`:checked`) {
		t.Error("the page does not show Slide chosen")
	}

	// The preview: the overlay page itself, playing a sample with the saved look, framed by the hub only.
	for _, who := range []*client{b.admin, b.member} {
		res := who.get(b.path("/overlays/%d/preview", src.ID), nil)
		cfg := previewConfig(t, res)
		if cfg.Preview == nil || cfg.Preview.Preset != "slide" || cfg.Preview.Message != "TestDuck just followed!" || cfg.Preview.Image != "https://example.com/duck.gif" {
			t.Errorf("preview plays %+v", cfg.Preview)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") || !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("preview CSP %q", csp)
		}
	}
	// The form's unsaved choices, checked as saving checks them.
	res := b.admin.get(b.path("/overlays/%d/preview?preset=minimal&message=%s", src.ID, url.QueryEscape("<b>{user}</b> waddled in")), nil)
	if cfg := previewConfig(t, res); cfg.Preview.Preset != "minimal" || cfg.Preview.Message != "<b>TestDuck</b> waddled in" {
		t.Errorf("preview of unsaved choices plays %+v", cfg.Preview)
	}
	if strings.Contains(res.body, "<b>TestDuck") {
		t.Error("the preview page carries the message as HTML")
	}
	for _, q := range []string{"preset=fireworks", "image=" + url.QueryEscape("javascript:alert(1)"), "image=" + url.QueryEscape("http://example.com/a.gif"),
		"message=" + strings.Repeat("m", 201)} {
		res := b.admin.get(b.path("/overlays/%d/preview?%s", src.ID, q), nil)
		if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.body, "No preview: ") || strings.Contains(res.body, "<") {
			t.Errorf("preview ?%.40s: %d %q", q, res.StatusCode, res.body)
		}
	}
	ticker, _ := b.mustOverlay(t, b.c.ID, overlay.Ticker, "Ticker")
	gus := b.user("gus@example.com", true)
	other := b.community(gus, "geese", nil)
	foreign, _ := b.mustOverlay(t, other.ID, overlay.Alerts, "Their alerts")
	for _, id := range []int64{ticker.ID, foreign.ID} {
		if res := b.admin.get(b.path("/overlays/%d/preview", id), nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("preview of source %d: %d, want 404", id, res.StatusCode)
		}
	}

	// A test alert and a real follow carry the look and the volume to OBS.
	s := b.openStream(t, "/overlay/"+token+"/events", "")
	s.next("retry")
	b.admin.post(b.path("/overlays/%d/test", src.ID), nil, htmx)
	if _, u := s.update("the test alert"); u.Preset != "slide" || u.Volume != 40 || !u.Test {
		t.Errorf("test alert %+v", u)
	}
	if err := b.ov.Deliver(t.Context(), b.c.ID, "alert", map[string]any{"event": "follow", "user": "Ann"}); err != nil {
		t.Fatal(err)
	}
	if _, u := s.update("the follow alert"); u.Preset != "slide" || u.Volume != 40 || u.Message != "Ann just followed!" {
		t.Errorf("follow alert %+v", u)
	}

	// Through the API: an alert takes the source's look and volume unless it names its own.
	key := b.communityKey(gus, auth.RoleAction, b.c.ID)
	api := fmt.Sprintf("/communities/%d/overlays/%d/events", b.c.ID, src.ID)
	for _, tc := range []struct {
		body, preset string
		volume       int
	}{
		{`{"type":"alert","message":"Hi"}`, "slide", 40},
		{`{"type":"alert","message":"Hi","preset":"minimal","volume":10}`, "minimal", 10},
	} {
		if st, out := b.api(key, "POST", api, tc.body); st != http.StatusOK {
			t.Fatalf("API %s: %d %v", tc.body, st, out)
		}
		if _, u := s.update("the API alert"); u.Preset != tc.preset || u.Volume != tc.volume {
			t.Errorf("API %s: sent %+v, want look %q volume %d", tc.body, u, tc.preset, tc.volume)
		}
	}
	for _, body := range []string{`{"type":"alert","preset":"fireworks"}`, `{"type":"alert","volume":101}`} {
		if st, _ := b.api(key, "POST", api, body); st != http.StatusBadRequest {
			t.Errorf("API %s: %d, want 400", body, st)
		}
	}
}

type previewCfg struct {
	Kind    string
	Preview *struct {
		Message, Image, Preset string
		Seconds                int
	}
}

func previewConfig(t *testing.T, res response) previewCfg {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d %q", res.StatusCode, res.body)
	}
	var cfg previewCfg
	if err := json.Unmarshal([]byte(res.doc(t).Find(`#overlay-config`).Text()), &cfg); err != nil {
		t.Fatalf("preview config: %v", err)
	}
	if cfg.Kind != "alerts" || cfg.Preview == nil {
		t.Fatalf("preview config %+v", cfg)
	}
	return cfg
}

// TestOverlayHubAlertLookRefused: a bad look, volume, image, sound, message
// or duration is refused with a reason next to its field, and nothing is saved.
func TestOverlayHubAlertLookRefused(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	src, _ := b.mustOverlay(t, b.c.ID, overlay.Alerts, "Alerts")
	before, err := b.ov.Get(t.Context(), b.c.ID, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, field, value string
		where              string // data-testid of the part of the form the error sits in
		want               string // words of the error
	}{
		{"unknown look", "preset", "fireworks", "overlay-presets", "Pop, Slide or Minimal"},
		{"empty look", "preset", "", "overlay-presets", "Choose a look"},
		{"look as markup", "preset", `pop"><script>`, "overlay-presets", "Choose a look"},
		{"silent volume", "volume", "0", "overlay-presets", "1 to 100"},
		{"too loud", "volume", "101", "overlay-presets", "1 to 100"},
		{"volume in words", "volume", "loud", "overlay-presets", "whole number"},
		{"huge volume", "volume", "99999999999999999999", "overlay-presets", "whole number"},
		{"javascript image", "image.follow", "javascript:alert(1)", "overlay-alert-follow", "https://"},
		{"JavaScript sound", "sound.raid", "JavaScript:alert(1)", "overlay-alert-raid", "https://"},
		{"http image", "image.cheer", "http://example.com/a.gif", "overlay-alert-cheer", "https://"},
		{"data sound", "sound.follow", "data:audio/mp3;base64,AAAA", "overlay-alert-follow", "https://"},
		{"image URL too long", "image.subscribe", "https://example.com/" + strings.Repeat("a", 2000), "overlay-alert-subscribe", "too long"},
		{"message too long", "template.shoutout", strings.Repeat("é", 201), "overlay-alert-shoutout", "200 characters"},
		{"alert too long", "seconds.follow", "61", "overlay-alert-follow", "1 to 60 seconds"},
		{"seconds in words", "seconds.gift_subscription", "ten", "overlay-alert-gift_subscription", "whole number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := alertsForm("Renamed")
			form.Set(tc.field, tc.value)
			res := b.admin.post(b.path("/overlays/%d", src.ID), form, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			card := res.doc(t).Find(fmt.Sprintf(`#overlay-%d`, src.ID))
			msg := card.Find(`[data-testid=` + tc.where + `] [data-testid=overlay-row-error]`).Text()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error next to %s: %q, want it to say %q (card errors: %q)", tc.where, msg, tc.want,
					card.Find(`[data-testid=overlay-row-error]`).Text())
			}
			if n := card.Find(`[data-testid=overlay-row-error]`).Length(); n != 1 {
				t.Errorf("%d errors shown, want 1", n)
			}
			if strings.Contains(res.body, "<script>") {
				t.Error("the page carries the typed markup")
			}
			got, err := b.ov.Get(t.Context(), b.c.ID, src.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, got); diff != "" {
				t.Errorf("a refused change was saved (-before +after):\n%s", diff)
			}
		})
	}
}
