package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/overlay"
)

// mustOverlay creates a source and returns it with its token.
func (e *env) mustOverlay(t *testing.T, cid int64, kind, name string) (overlay.Source, string) {
	t.Helper()
	src, token, err := e.ov.Create(t.Context(), audit.Actor{}, cid, kind, name)
	if err != nil {
		t.Fatalf("create overlay %s: %v", name, err)
	}
	return src, token
}

// sseEvent is one event read from a stream.
func (e *env) publish(t *testing.T, id int64, u overlay.Update) overlay.Update {
	t.Helper()
	u, err := e.ov.Publish(t.Context(), id, u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOverlayPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	_, token := e.mustOverlay(t, c.ID, overlay.Chat, "Chat box")
	anon := e.client()

	res := anon.get("/overlay/"+token, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.body)
	}
	wantHeaders := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src http: https: data:; media-src http: https:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "SAMEORIGIN",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range wantHeaders {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Error("the overlay page sets a cookie")
	}
	doc := res.doc(t)
	if doc.Find(`script[src="/static/overlay.js"]`).Length() != 1 || doc.Find(`link[rel=stylesheet][href="/static/overlay.css"]`).Length() != 1 {
		t.Error("the page does not load overlay.js and overlay.css")
	}
	// No inline script: the only other script is the JSON settings block.
	if n := doc.Find(`script:not([src])`).Length(); n != 1 || doc.Find(`script:not([src])`).AttrOr("type", "") != "application/json" {
		t.Errorf("%d inline scripts; want only the JSON settings block", n)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(doc.Find(`#overlay-config`).Text()), &cfg); err != nil {
		t.Fatalf("settings block: %v", err)
	}
	if cfg["kind"] != "chat" || cfg["lines"] != float64(10) {
		t.Errorf("settings %v, want kind chat and 10 lines", cfg)
	}
	if doc.Find(`[data-testid=overlay]`).AttrOr("data-kind", "") != "chat" {
		t.Error("the page does not carry its kind")
	}
	for _, f := range []string{"overlay.js", "overlay.css", "hub.js"} {
		if res := anon.get("/static/"+f, nil); res.StatusCode != 200 || len(res.body) < 100 {
			t.Errorf("/static/%s: %d", f, res.StatusCode)
		}
	}
}

func TestOverlayTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	src, token := e.mustOverlay(t, c.ID, overlay.Alerts, "Alerts")
	del, delToken := e.mustOverlay(t, c.ID, overlay.Ticker, "Ticker")
	anon := e.client()
	if res := anon.get("/overlay/"+token, nil); res.StatusCode != 200 {
		t.Fatalf("the fresh URL: %d", res.StatusCode)
	}
	notFound := anon.get("/overlay/"+strings.Repeat("A", 43), nil)
	if notFound.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown token: %d", notFound.StatusCode)
	}

	newToken, err := e.ov.Regenerate(t.Context(), audit.Actor{}, c.ID, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ov.Delete(t.Context(), audit.Actor{}, c.ID, del.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path string }{
		{"unknown", "/overlay/" + strings.Repeat("A", 43)},
		{"malformed short", "/overlay/abc"},
		{"malformed long", "/overlay/" + token + "x"},
		{"with a slash", "/overlay/" + token[:20] + "/" + token[20:]},
		{"empty", "/overlay/"},
		{"escaped", "/overlay/%3Cscript%3E"},
		{"revoked by regenerate", "/overlay/" + token},
		{"deleted", "/overlay/" + delToken},
		{"events of unknown", "/overlay/" + strings.Repeat("A", 43) + "/events"},
		{"events of revoked", "/overlay/" + token + "/events"},
		{"events of deleted", "/overlay/" + delToken + "/events"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := anon.get(tc.path, nil)
			if res.StatusCode != http.StatusNotFound || res.body != notFound.body || res.Header.Get("Content-Type") != notFound.Header.Get("Content-Type") {
				t.Errorf("status %d, body %q; want 404 with %q", res.StatusCode, res.body, notFound.body)
			}
		})
	}
	if strings.Contains(strings.ToLower(notFound.body), "revoked") || strings.Contains(notFound.body, "<") {
		t.Errorf("the 404 says more than not found: %q", notFound.body)
	}
	if res := anon.get("/overlay/"+newToken, nil); res.StatusCode != 200 {
		t.Errorf("the regenerated URL: %d", res.StatusCode)
	}
}
