package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/db"
)

// enrolTOTP turns on an authenticator app for u, confirmed with the code of
// the previous time step, so that the codes of this step and the next one
// are still unused. It returns the secret and the recovery codes.
func (e *env) enrolTOTP(u auth.User) (string, []string) {
	e.t.Helper()
	ctx := context.Background()
	en, err := e.auth.StartTOTP(ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	codes, err := e.auth.ConfirmTOTP(ctx, u, totpCode(e.t, en.Secret, -1), "192.0.2.1")
	if err != nil {
		e.t.Fatal(err)
	}
	return en.Secret, codes
}

// totpCode is the code of the time step step steps from now.
func totpCode(t testing.TB, secret string, step int) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(time.Duration(step)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *client) cookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == "waddle_session" {
			return ck.Value
		}
	}
	return ""
}

// halfSignedIn returns a client past the password of a two-factor account.
func (e *env) halfSignedIn(email, next string) *client {
	e.t.Helper()
	c := e.client()
	res := c.post("/signin", url.Values{"email": {email}, "password": {testPassword}, "next": {next}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin/two-factor" {
		e.t.Fatalf("password step: %d to %q, want 303 to /signin/two-factor", res.StatusCode, res.Header.Get("Location"))
	}
	return c
}

func TestSignInAsksForTheSecondFactor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("tess@example.com", false)
	secret, _ := e.enrolTOTP(u)
	c := e.halfSignedIn(u.Email, "/account")
	half := c.cookie()

	page := c.get("/signin/two-factor", nil)
	doc := page.doc(t)
	if page.StatusCode != http.StatusOK || doc.Find(`[data-testid="totp-form"]`).Length() != 1 ||
		doc.Find(`[data-testid="recovery-form"]`).Length() != 1 || doc.Find(`[data-testid="passkey-second-step"]`).Length() != 0 {
		t.Fatalf("second step page %d: want the code and recovery forms and no passkey button:\n%.800s", page.StatusCode, page.body)
	}
	if got := doc.Find(`[data-testid="second-step-email"]`).Text(); got != u.Email {
		t.Errorf("second step names %q, want %q", got, u.Email)
	}

	res := c.post("/signin/two-factor", url.Values{"method": {"totp"}, "code": {totpCode(t, secret, -5)}}, nil)
	if res.StatusCode != http.StatusBadRequest || res.doc(t).Find(`[data-testid="form-error"]`).Text() != "The code is wrong or was already used." {
		t.Fatalf("wrong code: %d:\n%.800s", res.StatusCode, res.body)
	}
	res = c.post("/signin/two-factor", url.Values{"method": {"totp"}, "code": {"12ab56"}}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, "6-digit code") {
		t.Errorf("malformed code: %d", res.StatusCode)
	}
	res = c.post("/signin/two-factor", url.Values{"method": {"totp"}, "code": {totpCode(t, secret, 0)}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("right code: %d to %q, want 303 to the next page /account", res.StatusCode, res.Header.Get("Location"))
	}
	if c.cookie() == half || c.cookie() == "" {
		t.Error("the session token was not renewed when the sign-in completed")
	}
	if res := c.get("/account", nil); res.StatusCode != http.StatusOK {
		t.Errorf("account after the second step: %d", res.StatusCode)
	}
	// The half session's old token is worth nothing now.
	old := e.client()
	srv, _ := url.Parse(e.srv.URL)
	old.c.Jar.SetCookies(srv, []*http.Cookie{{Name: "waddle_session", Value: half}})
	if res := old.get("/account", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the half session's token reaches /account: %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'sign_in' AND target = 'authenticator app'", u.ID); n != 1 {
		t.Errorf("%d sign-ins by app in the audit log, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'two_factor_failed'", u.ID); n != 1 {
		t.Errorf("%d second-step failures in the audit log, want 1 (a malformed code is not an attempt)", n)
	}
}

func TestHalfSignedInSessionReachesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("hal@example.com", true) // a global admin: the most a half session could reach
	c0 := e.community(u, "half", nil)
	e.enrolTOTP(u)
	c := e.halfSignedIn(u.Email, "/")
	for _, p := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/account"}, {"GET", "/health"}, {"GET", "/admin/audit"},
		{"GET", fmt.Sprintf("/c/%d", c0.ID)}, {"GET", fmt.Sprintf("/c/%d/audit", c0.ID)}, {"GET", "/account/two-factor/totp"},
		{"POST", "/account/keys"}, {"POST", "/account/two-factor/totp/remove"}, {"POST", "/account/passkeys/begin"},
		{"POST", fmt.Sprintf("/c/%d/settings", c0.ID)}, {"POST", "/communities"},
	} {
		var res response
		if p.method == "GET" {
			res = c.get(p.path, nil)
		} else {
			res = c.post(p.path, url.Values{"name": {"x"}, "role": {"user"}, "password": {testPassword}}, nil)
		}
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
			t.Errorf("%s %s with a half-signed-in session: %d to %q, want a redirect to sign in", p.method, p.path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if n := e.count("SELECT count(*) FROM api_keys WHERE user_id = $1", u.ID); n != 0 {
		t.Error("a half-signed-in session created an API key")
	}
	if f, _ := e.auth.Factors(context.Background(), u.ID); !f.TOTP {
		t.Error("a half-signed-in session removed the app")
	}
	// The second step needs the first.
	fresh := e.client()
	if res := fresh.get("/signin/two-factor", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("second step without a password: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := fresh.post("/signin/two-factor", url.Values{"method": {"totp"}, "code": {"123456"}}, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Errorf("second step POST without a password: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestRecoveryCodeSignsInOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("rhea@example.com", false)
	_, codes := e.enrolTOTP(u)
	c := e.halfSignedIn(u.Email, "/")
	if res := c.post("/signin/two-factor", url.Values{"method": {"recovery"}, "code": {codes[0]}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: %d:\n%.500s", res.StatusCode, res.body)
	}
	c2 := e.halfSignedIn(u.Email, "/")
	res := c2.post("/signin/two-factor", url.Values{"method": {"recovery"}, "code": {codes[0]}}, nil)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, "The code is wrong or was already used.") {
		t.Errorf("the used recovery code again: %d", res.StatusCode)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'recovery_code_used'", u.ID); n != 1 {
		t.Errorf("%d recovery code uses in the audit log, want 1", n)
	}
}

func TestTOTPEnrolmentPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("enid@example.com", false)
	c := e.signedIn(u.Email)
	acct := c.get("/account", nil)
	if acct.doc(t).Find(`[data-testid="totp-start"]`).Length() != 1 {
		t.Fatal("the account page offers no authenticator app set-up")
	}
	if csp := acct.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("CSP %q: the QR code needs img-src data:, and scripts stay 'self'", csp)
	}
	res := c.post("/account/two-factor/totp", nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/two-factor/totp" {
		t.Fatalf("start: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := c.get("/account/two-factor/totp", nil)
	doc := page.doc(t)
	secret := strings.TrimSpace(doc.Find(`[data-testid="totp-secret"]`).Text())
	src, _ := doc.Find(`[data-testid="totp-qr"]`).Attr("src")
	if len(secret) != 32 || !strings.HasPrefix(src, "data:image/png;base64,") || page.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("set-up page: secret %q, QR src %.40q, Cache-Control %q", secret, src, page.Header.Get("Cache-Control"))
	}
	if n := e.count("SELECT count(*) FROM user_totp WHERE user_id = $1 AND position($2::bytea in secret_sealed) = 0", u.ID, []byte(secret)); n != 1 {
		t.Error("the secret is not stored, or stored in the clear")
	}
	// Until confirmed, sign-in needs the password alone.
	e.signedIn(u.Email)

	res = c.post("/account/two-factor/totp/confirm", url.Values{"code": {totpCode(t, secret, -6)}}, nil)
	if res.StatusCode != http.StatusBadRequest || res.doc(t).Find(`[data-testid="totp-secret"]`).Text() != secret {
		t.Fatalf("wrong confirmation code: %d, want 400 with the same secret shown again", res.StatusCode)
	}
	res = c.post("/account/two-factor/totp/confirm", url.Values{"code": {totpCode(t, secret, 0)}}, nil)
	codes := res.doc(t).Find(`[data-testid="recovery-codes"] li`)
	if res.StatusCode != http.StatusOK || codes.Length() != auth.RecoveryCodeCount || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirmation: %d with %d recovery codes (Cache-Control %q)", res.StatusCode, codes.Length(), res.Header.Get("Cache-Control"))
	}
	acct = c.get("/account", nil)
	if acct.doc(t).Find(`[data-testid="totp-on"]`).Length() != 1 || strings.Contains(acct.body, strings.TrimSpace(codes.First().Text())) {
		t.Error("the account page does not show the app as on, or shows a recovery code again")
	}
	e.halfSignedIn(u.Email, "/")
}

func TestRemovingAFactorAsksForThePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("remy@example.com", false)
	_, codes := e.enrolTOTP(u)
	pk, err := db.New(e.pool).PasskeyInsert(context.Background(), db.PasskeyInsertParams{UserID: u.ID, RpID: "127.0.0.1",
		Name: "Old laptop", CredentialID: []byte("cred-1"), Credential: []byte(`{"id":"Y3JlZC0x","publicKey":""}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := e.halfSignedIn(u.Email, "/")
	if res := c.post("/signin/two-factor", url.Values{"method": {"recovery"}, "code": {codes[0]}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	if acct := c.get("/account", nil); acct.doc(t).Find(`[data-testid="passkey-row"]`).Length() != 1 {
		t.Fatalf("the account page lists no passkey:\n%.1000s", acct.body)
	}

	for _, tc := range []struct {
		name, path string
	}{
		{"app", "/account/two-factor/totp/remove"},
		{"passkey", fmt.Sprintf("/account/passkeys/%d/remove", pk.ID)},
	} {
		for _, pw := range []string{"", "not the password"} {
			res := c.post(tc.path, url.Values{"password": {pw}}, nil)
			if res.StatusCode != http.StatusBadRequest || res.doc(t).Find(`#two-factor [data-testid="form-error"]`).Length() != 1 {
				t.Errorf("remove the %s with password %q: %d, want 400 with the error in the two-factor section", tc.name, pw, res.StatusCode)
			}
		}
	}
	if n := e.count("SELECT count(*) FROM user_totp WHERE user_id = $1", u.ID) + e.count("SELECT count(*) FROM user_passkeys WHERE user_id = $1", u.ID); n != 2 {
		t.Fatal("a factor went without the password")
	}
	for _, path := range []string{"/account/two-factor/totp/remove", fmt.Sprintf("/account/passkeys/%d/remove", pk.ID)} {
		if res := c.post(path, url.Values{"password": {testPassword}}, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s with the password: %d", path, res.StatusCode)
		}
	}
	if n := e.count("SELECT count(*) FROM user_totp WHERE user_id = $1", u.ID) + e.count("SELECT count(*) FROM user_passkeys WHERE user_id = $1", u.ID); n != 0 {
		t.Errorf("%d factors left after removal with the password", n)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'two_factor_removed'", u.ID); n != 2 {
		t.Errorf("%d removals in the audit log, want 2", n)
	}
	// Another user's passkey cannot be removed by id.
	v := e.user("vera@example.com", false)
	pv, err := db.New(e.pool).PasskeyInsert(context.Background(), db.PasskeyInsertParams{UserID: v.ID, RpID: "127.0.0.1",
		Name: "Vera's key", CredentialID: []byte("cred-2"), Credential: []byte(`{"id":"Y3JlZC0y","publicKey":""}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res := c.post(fmt.Sprintf("/account/passkeys/%d/remove", pv.ID), url.Values{"password": {testPassword}}, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("remove another user's passkey: %d, want 404", res.StatusCode)
	}
}

func TestCommunityRequiresTwoFactorOfManagers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.user("olga@example.com", true)
	adm := e.user("adam@example.com", false)
	mod := e.user("moe@example.com", false)
	mem := e.user("mia@example.com", false)
	c := e.community(owner, "strict", map[auth.User]community.Role{adm: community.Admin, mod: community.Moderator, mem: community.Member})
	base := fmt.Sprintf("/c/%d", c.ID)

	// The owner must have a second factor to turn the rule on.
	oc := e.signedIn(owner.Email)
	res := oc.post(base+"/settings/two-factor", url.Values{"require_two_factor": {"on"}}, nil)
	if res.StatusCode != http.StatusSeeOther || e.count("SELECT count(*) FROM communities WHERE id = $1 AND require_two_factor", c.ID) != 0 {
		t.Fatalf("turning the rule on without a second factor: %d, and the rule is on", res.StatusCode)
	}
	if flash := oc.get(base, nil).doc(t).Find(`[data-testid="flash"]`).Text(); !strings.Contains(flash, "Set up two-factor sign-in for your own account first") {
		t.Errorf("flash %q, want the reason", flash)
	}
	ac := e.signedIn(adm.Email)
	if res := ac.post(base+"/settings/two-factor", url.Values{"require_two_factor": {"on"}}, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("an admin changes the rule: %d, want 403", res.StatusCode)
	}
	if res := oc.post(base+"/settings/two-factor", url.Values{"require_two_factor": {"maybe"}}, nil); res.StatusCode != http.StatusSeeOther ||
		!strings.Contains(oc.get(base, nil).body, "Choose on or off.") {
		t.Errorf("a bad value: %d, want the error shown", res.StatusCode)
	}
	_, codes := e.enrolTOTP(owner)
	oc = e.halfSignedIn(owner.Email, "/")
	if res := oc.post("/signin/two-factor", url.Values{"method": {"recovery"}, "code": {codes[0]}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner sign-in: %d", res.StatusCode)
	}
	if res := oc.post(base+"/settings/two-factor", url.Values{"require_two_factor": {"on"}}, nil); res.StatusCode != http.StatusSeeOther ||
		e.count("SELECT count(*) FROM communities WHERE id = $1 AND require_two_factor", c.ID) != 1 {
		t.Fatalf("the owner turns the rule on: %d", res.StatusCode)
	}
	if rule := oc.get(base+"/settings", nil).doc(t).Find(`[data-testid="two-factor-rule"]`).Text(); !strings.HasPrefix(rule, "Required") {
		t.Errorf("community page says %q, want Required", rule)
	}

	// The admin without a second factor is sent to set one up.
	want := "/account/two-factor/required?c=" + fmt.Sprint(c.ID)
	for _, p := range []struct{ method, path string }{
		{"GET", base + "/audit"}, {"POST", base + "/settings"}, {"POST", base + "/commands"}, {"POST", base + "/overlays"},
		{"POST", base + "/invitations"},
	} {
		var res response
		if p.method == "GET" {
			res = ac.get(p.path, nil)
		} else {
			res = ac.post(p.path, url.Values{"name": {"Renamed"}, "email": {"x@example.com"}, "role": {"member"}}, nil)
		}
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("admin %s %s: %d to %q, want 303 to %s", p.method, p.path, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	if res := ac.post(base+"/settings", url.Values{"name": {"Renamed"}}, http.Header{"Hx-Request": {"true"}}); res.Header.Get("HX-Redirect") != want {
		t.Errorf("HTMX: HX-Redirect %q, want %s", res.Header.Get("HX-Redirect"), want)
	}
	if e.count("SELECT count(*) FROM communities WHERE id = $1 AND name = 'Renamed'", c.ID) != 0 {
		t.Error("the admin without a second factor renamed the community")
	}
	req := ac.get(want, nil)
	if msg := req.doc(t).Find(`[data-testid="two-factor-required"]`).Text(); req.StatusCode != http.StatusOK || !strings.Contains(msg, "Community strict") ||
		!strings.Contains(msg, "requires its owners and admins to sign in with two factors") {
		t.Errorf("required page %d says %q", req.StatusCode, msg)
	}
	if res := ac.post("/account/keys", url.Values{"name": {"bot"}, "role": {"user"}}, nil); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/account/two-factor/required?keys=1" {
		t.Errorf("admin creates an API key: %d to %q, want the enrol page", res.StatusCode, res.Header.Get("Location"))
	}
	if n := e.count("SELECT count(*) FROM api_keys WHERE user_id = $1", adm.ID); n != 0 {
		t.Error("the admin without a second factor created an API key")
	}

	// Members and moderators are not affected.
	for _, u := range []auth.User{mod, mem} {
		uc := e.signedIn(u.Email)
		for _, path := range []string{base, base + "/commands"} {
			if res := uc.get(path, nil); res.StatusCode != http.StatusOK {
				t.Errorf("%s GET %s: %d", u.Email, path, res.StatusCode)
			}
		}
		if res := uc.post("/account/keys", url.Values{"name": {"mine"}, "role": {"user"}}, nil); res.StatusCode != http.StatusCreated {
			t.Errorf("%s creates a key: %d", u.Email, res.StatusCode)
		}
	}

	// Once the admin has a second factor, the pages open.
	_, acodes := e.enrolTOTP(adm)
	ac = e.halfSignedIn(adm.Email, "/")
	ac.post("/signin/two-factor", url.Values{"method": {"recovery"}, "code": {acodes[0]}}, nil)
	if res := ac.get(base+"/audit", nil); res.StatusCode != http.StatusOK {
		t.Errorf("admin with a second factor GET audit: %d", res.StatusCode)
	}
}

func TestPasskeyEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%s: not JSON: %v", path, err)
		}
		return res.StatusCode, out
	}
	// No ceremony begun (or its state already used): nothing to finish.
	st, out := post("/signin/passkey/finish", "{}")
	if st != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), "expired or was already used") {
		t.Errorf("finish without begin: %d %v", st, out)
	}
	// Begun (the test server's BASE_URL is an IP address, so passkeys are off
	// and say why); the JSON envelope carries the reason.
	st, out = post("/signin/passkey/begin", "")
	if st != http.StatusConflict || !strings.Contains(fmt.Sprint(out["message"]), "IP address") || out["success"] != false {
		t.Errorf("begin with an IP BASE_URL: %d %v", st, out)
	}
	// The second step's ceremony needs the password step first.
	st, out = post("/signin/two-factor/passkey/begin", "")
	if st != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(out["message"]), "Enter your email and password again") {
		t.Errorf("second-step passkey without a password: %d %v", st, out)
	}
	// A finish body larger than a credential could be is refused.
	e.user("big@example.com", false)
	sc := e.signedIn("big@example.com")
	c = sc
	st, out = post("/account/passkeys/finish?name=x", strings.Repeat("x", 70<<10))
	if st != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), "too large") {
		t.Errorf("a 70 KiB finish body: %d %v", st, out)
	}
}
