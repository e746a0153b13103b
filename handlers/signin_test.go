package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/handlers"
)

func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)

	c := e.client()
	res := c.get("/", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("signed-out GET / = %d %q, want 303 to /signin", res.StatusCode, res.Header.Get("Location"))
	}
	res = c.post("/signin", url.Values{"email": {"ANN@example.com "}, "password": {testPassword}, "next": {"/account"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("sign in = %d %q, want 303 to /account", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "waddle_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", cookie)
	}
	if got := c.get("/account", nil); got.StatusCode != http.StatusOK || got.doc(t).Find(`[data-testid=current-user]`).Text() != "ann@example.com" {
		t.Fatalf("account page after sign-in: %d", got.StatusCode)
	}

	// Sign-out ends the session on the server: replaying the old cookie fails.
	res = c.post("/signout", nil, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out = %d", res.StatusCode)
	}
	replay := e.client()
	u, _ := url.Parse(e.srv.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value}})
	if got := replay.get("/account", nil); got.StatusCode != http.StatusSeeOther {
		t.Errorf("old session cookie after sign-out: status %d, want a redirect to sign in", got.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action IN ('sign_in', 'sign_out')"); n != 2 {
		t.Errorf("audit has %d sign-in/out entries, want 2", n)
	}
}

func TestSignInRenewsSessionToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	c := e.client()
	c.get("/signin?next=/account", nil) // the visit may or may not create a session
	u, _ := url.Parse(e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "waddle_session", Value: "attacker-chosen-token-value-123456789"}})
	c.post("/signin", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}, nil)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "waddle_session" && ck.Value == "attacker-chosen-token-value-123456789" {
			t.Fatal("the session token was not renewed at sign-in (session fixation)")
		}
	}
}

func TestSecureCookieOnHTTPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *handlers.Config) { c.BaseURL = "https://hub.example.com" })
	e.user("ann@example.com", false)
	res := e.client().post("/signin", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}, nil)
	var found bool
	for _, ck := range res.Cookies() {
		if ck.Name == "__Host-waddle_session" {
			found = ck.Secure && ck.HttpOnly && ck.Path == "/" && ck.Domain == ""
		}
	}
	if !found {
		t.Errorf("with an https BASE_URL, want a Secure __Host-waddle_session cookie; got %v", res.Header.Values("Set-Cookie"))
	}
}

func TestSignInBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	cases := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"empty", url.Values{}, 400, "Enter your email address and password."},
		{"no password", url.Values{"email": {"ann@example.com"}}, 400, "Enter your email address and password."},
		{"wrong password", url.Values{"email": {"ann@example.com"}, "password": {"not the password"}}, 401, "The email or password is wrong."},
		{"unknown account", url.Values{"email": {"nobody@example.com"}, "password": {testPassword}}, 401, "The email or password is wrong."},
		{"over-long email", url.Values{"email": {strings.Repeat("a", 300) + "@example.com"}, "password": {testPassword}}, 401, "The email or password is wrong."},
		{"over-long password", url.Values{"email": {"ann@example.com"}, "password": {strings.Repeat("p", 129)}}, 401, "The email or password is wrong."},
		{"form too large", url.Values{"email": {"ann@example.com"}, "password": {strings.Repeat("p", 70<<10)}}, 400, "The form is too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.client().post("/signin", c.form, nil)
			if res.StatusCode != c.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, c.wantStatus)
			}
			if got := res.doc(t).Find(`[data-testid=form-error]`).Text(); !strings.Contains(got, c.wantError) {
				t.Errorf("error %q, want it to contain %q", got, c.wantError)
			}
		})
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = 'sign_in'"); n != 0 {
		t.Errorf("%d successful sign-ins recorded, want 0", n)
	}
}

func TestSignInLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	// Failures from different addresses count against the account. Run them
	// concurrently: past the slow mark each failure is answered after a delay.
	done := make(chan int, 10)
	for i := range 10 {
		go func() {
			c := e.client()
			req := url.Values{"email": {"ann@example.com"}, "password": {"wrong password " + string(rune('a'+i))}}
			done <- c.post("/signin", req, nil).StatusCode
		}()
	}
	for range 10 {
		if st := <-done; st != http.StatusUnauthorized {
			t.Errorf("failed sign-in status %d, want 401", st)
		}
	}
	res := e.client().post("/signin", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}, nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures, the right password: status %d, want 429", res.StatusCode)
	}
	if msg := res.doc(t).Find(`[data-testid=form-error]`).Text(); !strings.Contains(msg, "Too many failed sign-in attempts") {
		t.Errorf("lockout message %q", msg)
	}
	if res.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After header on the lockout answer")
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = 'sign_in_failed'"); n != 10 {
		t.Errorf("%d failed sign-ins recorded, want 10", n)
	}
}

func TestCrossSiteFormPostRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	c := e.signedIn("ann@example.com")
	cases := []struct {
		name string
		hdr  http.Header
	}{
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"foreign Origin", http.Header{"Origin": {"https://evil.example"}}},
	}
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			res := c.post("/account/profile", url.Values{"display_name": {"Pwned"}}, cc.hdr)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", res.StatusCode)
			}
		})
	}
	if n := e.count("SELECT count(*) FROM users WHERE display_name = 'Pwned'"); n != 0 {
		t.Error("a cross-site POST changed the profile")
	}
	// The same request from the hub's own pages works.
	res := c.post("/account/profile", url.Values{"display_name": {"Ann"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: status %d, want 303", res.StatusCode)
	}
}

func TestGetNeverChangesState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ann@example.com", false)
	key := e.apiKey(u, "user")
	c := e.signedIn("ann@example.com")
	for _, p := range []string{"/signout", "/account/keys/1/revoke", "/account/password"} {
		if res := c.get(p, nil); res.StatusCode != http.StatusMethodNotAllowed && res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404 or 405", p, res.StatusCode)
		}
	}
	if res := c.get("/account", nil); res.StatusCode != http.StatusOK {
		t.Errorf("still signed in after GETs: status %d", res.StatusCode)
	}
	if st, _ := e.api(key, "GET", "/me", ""); st != http.StatusOK {
		t.Errorf("key still works: status %d", st)
	}
}

// TestSignOutRecordedWithAReadReplica: the audit page reads from the replica
// (DATABASE_READ_URL), which refuses writes; sign-out is still recorded.
func TestSignOutRecordedWithAReadReplica(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *handlers.Config) {
		cfg := c.Health.Primary.Config().Copy()
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
		replica, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(replica.Close)
		c.Audit = audit.Log{Pool: replica}
	})
	e.user("ann@example.com", false)
	c := e.signedIn("ann@example.com")
	if res := c.post("/signout", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out = %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = 'sign_out' AND actor_email = 'ann@example.com'"); n != 1 {
		t.Errorf("%d sign-out entries, want 1", n)
	}
}
