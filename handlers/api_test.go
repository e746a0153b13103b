package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
)

func TestAPIKeysAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	ann := e.user("ann@example.com", false)
	c := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Admin})
	userKey := e.apiKey(ann, "user")
	triggerKey := e.communityKey(ann, "trigger", c.ID)
	adminKey := e.apiKey(root, "admin")
	rootUserKey := e.apiKey(root, "user")
	root2 := e.user("root2@example.com", true)
	other := e.community(root2, "beta", nil) // root is not a member of beta

	cases := []struct {
		name, key, method, path, body string
		wantStatus                    int
	}{
		{"no key", "", "GET", "/me", "", 401},
		{"malformed key", "wdl_nope", "GET", "/me", "", 401},
		{"unknown key", "wdl_" + strings.Repeat("a", 48), "GET", "/me", "", 401},
		{"user key: me", userKey, "GET", "/me", "", 200},
		{"trigger key: me", triggerKey, "GET", "/me", "", 200},
		{"trigger key: communities", triggerKey, "GET", "/communities", "", 403},
		{"user key: own community", userKey, "GET", fmt.Sprintf("/communities/%d", c.ID), "", 200},
		{"user key: members", userKey, "GET", fmt.Sprintf("/communities/%d/members", c.ID), "", 200},
		{"user key: audit as community admin", userKey, "GET", fmt.Sprintf("/communities/%d/audit", c.ID), "", 200},
		{"admin key: any community", adminKey, "GET", fmt.Sprintf("/communities/%d/members", other.ID), "", 200},
		{"global admin's user key acts as a plain user", rootUserKey, "GET", fmt.Sprintf("/communities/%d", other.ID), "", 404},
		{"unknown route", userKey, "GET", "/nope", "", 404},
		{"invite: bad JSON", userKey, "POST", fmt.Sprintf("/communities/%d/members", c.ID), `{"email":`, 400},
		{"invite: missing email", userKey, "POST", fmt.Sprintf("/communities/%d/members", c.ID), `{"role":"member"}`, 400},
		{"invite: bad email", userKey, "POST", fmt.Sprintf("/communities/%d/members", c.ID), `{"email":"nope"}`, 400},
		{"invite: bad role", userKey, "POST", fmt.Sprintf("/communities/%d/members", c.ID), `{"email":"bo@example.com","role":"king"}`, 400},
		{"invite: two objects", userKey, "POST", fmt.Sprintf("/communities/%d/members", c.ID), `{"email":"bo@example.com"} {}`, 400},
		{"invite: ok", userKey, "POST", fmt.Sprintf("/communities/%d/members", c.ID), `{"email":"bo@example.com","role":"moderator"}`, 201},
		{"role change on the owner by an admin", userKey, "PATCH", fmt.Sprintf("/communities/%d/members/%d", c.ID, root.ID), `{"role":"member"}`, 403},
	}
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			st, out := e.api(cc.key, cc.method, cc.path, cc.body)
			if st != cc.wantStatus {
				t.Errorf("status %d, want %d: %v", st, cc.wantStatus, out)
			}
			if (st < 400) != (out["success"] == true) {
				t.Errorf("success = %v with status %d", out["success"], st)
			}
			if st >= 400 && out["message"] == "" {
				t.Error("an error answer without a message")
			}
		})
	}
	if n := e.count("SELECT count(*) FROM community_invitations WHERE email = 'bo@example.com' AND role = 'moderator'"); n != 1 {
		t.Errorf("%d invitations for bo, want 1 (bad requests must change nothing)", n)
	}
	if st, _ := e.api(e.apiKey(ann, "user"), "GET", fmt.Sprintf("/communities/%d", other.ID), ""); st != 404 {
		t.Errorf("ann's key on beta: status %d, want 404", st)
	}
}

func TestAPIKeyRevokedAndRegenerated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.user("ann@example.com", false)
	ctx := context.Background()
	k, secret, err := e.auth.CreateAPIKey(ctx, ann, "", "bot", "user")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := e.api(secret, "GET", "/me", ""); st != 200 {
		t.Fatalf("new key: status %d", st)
	}
	if n := e.count("SELECT count(*) FROM api_keys WHERE id = $1 AND last_used_at IS NOT NULL", k.ID); n != 1 {
		t.Error("last use was not recorded")
	}
	_, fresh, err := e.auth.RegenerateAPIKey(ctx, ann, "", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := e.api(secret, "GET", "/me", ""); st != 401 {
		t.Errorf("old secret after regenerate: status %d, want 401", st)
	}
	if st, _ := e.api(fresh, "GET", "/me", ""); st != 200 {
		t.Errorf("new secret: status %d", st)
	}
	if _, err := e.auth.RevokeAPIKey(ctx, ann, "", k.ID); err != nil {
		t.Fatal(err)
	}
	st, out := e.api(fresh, "GET", "/me", "")
	if st != 401 || !strings.Contains(fmt.Sprint(out["message"]), "revoked") {
		t.Errorf("revoked key: status %d %v, want 401 naming revocation", st, out)
	}
}

func TestAPIRateLimitPerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *handlers.Config) { c.APIRateLimits = map[string]int{"trigger": 3, "user": 5} })
	ann := e.user("ann@example.com", false)
	root := e.user("root@example.com", true)
	c := e.community(root, "alpha", map[auth.User]community.Role{ann: community.Owner})
	trigger := e.communityKey(ann, "trigger", c.ID)
	user := e.apiKey(ann, "user")
	for i := range 3 {
		if st, _ := e.api(trigger, "GET", "/me", ""); st != 200 {
			t.Fatalf("request %d: status %d", i+1, st)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+trigger)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("4th trigger request: status %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Limits are per key: the user key still has room.
	if st, _ := e.api(user, "GET", "/me", ""); st != 200 {
		t.Errorf("user key: status %d", st)
	}
}

func TestAPICORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *handlers.Config) { c.CORSOrigins = []string{"https://dash.example.com"} })
	for _, c := range []struct {
		origin string
		want   string
	}{{"https://dash.example.com", "https://dash.example.com"}, {"https://evil.example", ""}} {
		req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/api/v1/me", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "Authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != c.want {
			t.Errorf("preflight from %s: Allow-Origin %q, want %q", c.origin, got, c.want)
		}
	}
}
