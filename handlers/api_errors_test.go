package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
)

// goTypeWords are what encoding/json's own messages say about our code.
var goTypeWords = []string{"Go struct", "Go value", "json:", "inviteJSON", "roleJSON", "handlers.", "int64", "uint"}

// TestAPIJSONErrorsNameTheField replays the bodies whose errors named Go types
// ("Go struct field inviteJSON.email of type string"): the answer names the
// JSON field and the type it takes, in the API's envelope.
func TestAPIJSONErrorsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	c := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Admin})
	key := e.apiKey(ann, "user")
	members := fmt.Sprintf("/communities/%d/members", c.ID)
	cases := []struct {
		name, method, path, body, want string
	}{
		{"number for a string", "POST", members, `{"email": 5}`, `The field "email" must be a string, not a number.`},
		{"boolean for a string", "POST", members, `{"email": "bo@example.com", "role": true}`, `The field "role" must be a string, not true or false.`},
		{"object for a string", "POST", members, `{"email": {"a": 1}}`, `The field "email" must be a string, not an object.`},
		{"array for the body", "POST", members, `[{"email": "bo@example.com"}]`, `The body must be an object, not an array.`},
		{"string for the body", "POST", members, `"bo@example.com"`, `The body must be an object, not a string.`},
		{"cut short", "POST", members, `{"email":`, `The body is not valid JSON: it ends before the JSON value does.`},
		{"syntax error", "POST", members, `{"email" 1}`, `The body is not valid JSON: invalid character '1' after object key (at byte 10).`},
		{"role as a number", "PATCH", fmt.Sprintf("%s/%d", members, root.ID), `{"role": 3}`, `The field "role" must be a string, not a number.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := e.api(key, tc.method, tc.path, tc.body)
			msg, _ := out["message"].(string)
			if st != http.StatusBadRequest || out["success"] != false || msg != tc.want {
				t.Errorf("%s %s: %d %q, want 400 %q", tc.method, tc.body, st, msg, tc.want)
			}
			for _, w := range goTypeWords {
				if strings.Contains(msg, w) {
					t.Errorf("message %q names Go types (%q)", msg, w)
				}
			}
		})
	}
	if n := e.count("SELECT count(*) FROM community_invitations"); n != 0 {
		t.Errorf("%d invitations after bad bodies, want none", n)
	}
}

// apiRaw calls the API and returns the status, headers and decoded envelope.
func (e *env) apiRaw(key, method, path string, hdr http.Header) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/api/v1"+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Errorf("%s %s: answer %d is not JSON: %q", method, path, res.StatusCode, body)
	}
	return res, out
}

// TestAPIMethodNotAllowed: a route called with a method it does not take
// answers 405 in the JSON envelope, with Allow.
func TestAPIMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	c := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Admin})
	key := e.apiKey(ann, "user")
	cases := []struct {
		method, path, allow, want string
	}{
		{"DELETE", "/me", "GET", "This API route takes GET, not DELETE."},
		{"POST", "/me", "GET", "This API route takes GET, not POST."},
		{"PUT", fmt.Sprintf("/communities/%d/members", c.ID), "GET, POST", "This API route takes GET or POST, not PUT."},
		{"GET", fmt.Sprintf("/communities/%d/members/%d", c.ID, root.ID), "PATCH, DELETE", "This API route takes PATCH or DELETE, not GET."},
	}
	for _, tc := range cases {
		res, out := e.apiRaw(key, tc.method, tc.path, nil)
		if res.StatusCode != http.StatusMethodNotAllowed || out["success"] != false || out["message"] != tc.want || res.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q %v; want 405 Allow %q %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Allow"), out, tc.allow, tc.want)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
}

// TestAPINoCORSWithoutOrigins: with CORS_ORIGINS unset the API answers no
// cross-origin request with CORS headers, preflight or not.
func TestAPINoCORSWithoutOrigins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.apiKey(e.user("ann@example.com", false), "user")
	origin := http.Header{"Origin": {"https://evil.example"}}
	preflight := http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"Authorization"}}
	for _, tc := range []struct {
		name, key, method, path string
		hdr                     http.Header
		wantStatus              int
	}{
		{"preflight", "", "OPTIONS", "/me", preflight, http.StatusUnauthorized},
		{"preflight with a key", key, "OPTIONS", "/me", preflight, http.StatusMethodNotAllowed},
		{"call", key, "GET", "/me", origin, http.StatusOK},
		{"error", "", "GET", "/me", origin, http.StatusUnauthorized},
	} {
		res, _ := e.apiRaw(tc.key, tc.method, tc.path, tc.hdr)
		if res.StatusCode != tc.wantStatus {
			t.Errorf("%s: status %d, want %d", tc.name, res.StatusCode, tc.wantStatus)
		}
		for k := range res.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: CORS header %s: %q with CORS_ORIGINS unset", tc.name, k, res.Header.Get(k))
			}
		}
	}
}

// TestStaticListsNoDirectory: /static/ serves the embedded files and nothing
// else: no directory listing, no index redirect.
func TestStaticListsNoDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/static/", "/static/.", "/static/index.html", "/static/nope.js", "/static/static.go"} {
		res := c.get(p, nil)
		if res.StatusCode != http.StatusNotFound || strings.Contains(res.body, `href="app.css"`) {
			t.Errorf("GET %s: %d, want 404 without a listing:\n%.300s", p, res.StatusCode, res.body)
		}
	}
	res := c.get("/static/app.css", nil)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || res.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("GET /static/app.css: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
}

// TestEventsJSONErrorsNameTheField: an event of the wrong shape is refused
// naming its JSON field, alone or in a batch, never with Go types.
func TestEventsJSONErrorsNameTheField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := e.apiKey(e.user("root@example.com", true), "trigger")
	const want = `The field "user.roles" must be an array, not a string.`
	st, out := e.api(key, "POST", "/events", `{"id": "e1", "platform": "twitch", "kind": "message", "server": "duckchan", "user": {"name": "x", "roles": "broadcaster"}, "text": "hi"}`)
	if st != http.StatusBadRequest || out["message"] != want {
		t.Errorf("one event: %d %v, want 400 %q", st, out, want)
	}
	st, out = e.api(key, "POST", "/events", `[{"id": "e2", "platform": "twitch", "kind": "message", "server": "duckchan", "user": {"name": "x", "roles": "broadcaster"}, "text": "hi"}]`)
	items, _ := out["data"].([]any)
	if st != http.StatusOK || len(items) != 1 {
		t.Fatalf("batch: %d %v, want 200 with one answer", st, out)
	}
	if item, _ := items[0].(map[string]any); item["error"] != want {
		t.Errorf("batch item: %v, want the error %q", item, want)
	}
	st, out = e.api(key, "POST", "/events", `[{"id": "e3"}`)
	if msg, _ := out["message"].(string); st != http.StatusBadRequest || strings.Contains(msg, "Go ") || strings.Contains(msg, "json:") {
		t.Errorf("cut-short batch: %d %q, want 400 without Go's words", st, msg)
	}
}
