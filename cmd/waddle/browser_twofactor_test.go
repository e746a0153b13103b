package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/waddle/waddle/dbtest"
)

// startLocalhostServe runs serve as startServe does, but with BASE_URL on
// the host name localhost: WebAuthn refuses an IP address as relying party
// id, and Chromium treats http://localhost as a secure context.
func startLocalhostServe(t *testing.T, vars map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + port
	cfg, err := loadConfig(getenvFrom(setVars(vars, "LISTEN_ADDR", ln.Addr().String(), "BASE_URL", base)))
	if err != nil {
		ln.Close()
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logger, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not return within 30s of the end of its context")
		}
	})
	waitHealthy(t, "http://"+ln.Addr().String(), done)
	return base
}

// TestBrowserTwoFactor drives two-factor sign-in in headless Chromium: an
// authenticator app set up from the account page with a code computed from
// the secret the page shows, sign-in with a code and with a recovery code
// (which then fails a second time), and a passkey registered and used
// through Chromium's virtual authenticator, alone and as the second step.
func TestBrowserTwoFactor(t *testing.T) {
	t.Parallel()
	const (
		email    = "tove@example.com"
		password = "toves-very-own-passphrase"
	)
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key))
	base := startLocalhostServe(t, vars)
	mustRunWaddle(t, setVars(vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Tove")

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: base}
	defer func() {
		for _, e := range console.all() {
			t.Logf("browser console: %s", e)
		}
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors; the hub must work without any:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()

	var secret string
	var codes []string
	signOut := func() {
		b.t.Helper()
		b.submit("sign out", tid("signout"))
		b.wantPath("/signin")
	}
	// waitPath waits for a page that script navigated to.
	waitPath := func(step, path string) {
		b.t.Helper()
		b.waitFor(step, fmt.Sprintf(`location.pathname === %q && document.readyState === "complete" && !!document.querySelector('[data-testid="current-user"]')`, path))
	}

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"set up an authenticator app", func(t *testing.T) {
			b.t = t
			b.open("/signin")
			b.signIn(email, password)
			b.wantPath("/")
			b.open("/account")
			b.submit("start the set-up", tid("totp-start"))
			b.wantPath("/account/two-factor/totp")
			if !b.js(`(() => { const i = document.querySelector('[data-testid="totp-qr"]'); return i.complete && i.naturalWidth > 0 && i.src.startsWith("data:image/png;base64,"); })()`) {
				b.fail("check the QR code", errors.New("the QR code image did not load"))
			}
			secret = b.text(tid("totp-secret"))
			code, err := totp.GenerateCode(secret, time.Now())
			if err != nil {
				t.Fatalf("code from the secret %q the page shows: %v", secret, err)
			}
			b.do("type the code", fill(tid("totp-code"), code))
			b.submit("turn the app on", tid("totp-confirm"))
			b.wantText(tid("recovery-intro"), "Your authenticator app is set up.")
			codes = run1(b, "read the recovery codes", chromedp.Evaluate[[]string](
				`[...document.querySelectorAll('[data-testid="recovery-codes"] code')].map(c => c.textContent.trim())`))
			if len(codes) != 10 {
				t.Fatalf("%d recovery codes shown, want 10: %q", len(codes), codes)
			}
			b.open("/account")
			b.wantText(tid("totp-on"), "On")
			b.wantText(tid("recovery-left"), "10 of 10")
		}},
		{"sign in with a code", func(t *testing.T) {
			b.t = t
			signOut()
			b.signIn(email, password)
			b.wantPath("/signin/two-factor")
			b.wantText(tid("second-step-email"), email)
			// The set-up used this step's code: the next step's is still unused.
			code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
			b.do("type the code", fill(tid("totp-code"), code))
			b.submit("send the code", tid("totp-submit"))
			b.wantPath("/")
			b.wantText(tid("current-user"), "Tove")
		}},
		{"sign in with a recovery code, which then fails", func(t *testing.T) {
			b.t = t
			signOut()
			b.signIn(email, password)
			b.wantPath("/signin/two-factor")
			b.do("type a recovery code", fill(tid("recovery-code"), codes[0]))
			b.submit("send the recovery code", tid("recovery-submit"))
			b.wantPath("/")
			b.wantText(tid("current-user"), "Tove")
			signOut()
			b.signIn(email, password)
			b.do("type the same recovery code", fill(tid("recovery-code"), codes[0]))
			b.submit("send it again", tid("recovery-submit"))
			b.wantPath("/signin/two-factor")
			b.wantText(tid("form-error"), "The code is wrong or was already used.")
			b.open("/account")
			b.wantPath("/signin") // still half signed in: nothing opens
		}},
		{"register a passkey", func(t *testing.T) {
			b.t = t
			b.signIn(email, password)
			b.do("type another recovery code", fill(tid("recovery-code"), codes[1]))
			b.submit("send it", tid("recovery-submit"))
			b.wantPath("/account") // where the sign-in started: next survives the second step
			ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
			defer cancel()
			if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
				t.Fatalf("enable the WebAuthn domain: %v", err)
			}
			auth, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
			if err != nil {
				t.Fatalf("add a virtual authenticator: %v", err)
			}
			b.open("/account")
			b.do("name the passkey", fill(tid("passkey-new-name"), "Test laptop"), chromedp.Click(tid("passkey-add")))
			b.waitFor("wait for the passkey in the list", `!!document.querySelector('[data-testid="passkey-name"]') && document.readyState === "complete"`)
			b.wantText(tid("passkey-name"), "Test laptop")
			b.wantText(tid("flash"), "Passkey Test laptop added.")
			// The ceremony's challenge was used: finishing again is refused.
			again := run1(b, "finish the registration again", chromedp.Evaluate[string](`fetch("/account/passkeys/finish?name=again", {method: "POST",
				headers: {"Content-Type": "application/json"}, body: "{}"}).then(r => r.json()).then(j => j.message)`, chromedp.EvalAwaitPromise))
			if !strings.Contains(again, "expired or was already used") {
				t.Errorf("a second finish of the registration answered %q", again)
			}
			creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams(auth))
			if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential || creds.Credentials[0].RpID != "localhost" {
				t.Fatalf("the authenticator holds %+v (%v); want one discoverable credential for localhost", creds, err)
			}
		}},
		{"sign in with the passkey alone", func(t *testing.T) {
			b.t = t
			signOut()
			b.do("use the passkey", chromedp.Click(tid("passkey-signin")))
			waitPath("wait for the hub", "/")
			b.wantText(tid("current-user"), "Tove")
		}},
		{"the passkey as the second step", func(t *testing.T) {
			b.t = t
			signOut()
			b.signIn(email, password)
			b.wantPath("/signin/two-factor")
			b.do("use the passkey", chromedp.Click(tid("passkey-second-step")))
			waitPath("wait for the hub", "/")
			b.wantText(tid("current-user"), "Tove")
		}},
		{"the audit log has it all", func(t *testing.T) {
			a := openTestApp(t, vars)
			var got []string
			rows, err := a.pool.Query(t.Context(), "SELECT action || ' ' || target FROM audit_log WHERE actor_email = $1 ORDER BY id", email)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				rows.Scan(&s)
				got = append(got, s)
			}
			log := strings.Join(got, "\n")
			for _, want := range []string{"two_factor_enabled authenticator app", "sign_in authenticator app", "recovery_code_used " + email,
				"two_factor_failed recovery code", "two_factor_enabled passkey Test laptop", "sign_in passkey"} {
				if !strings.Contains(log, want) {
					t.Errorf("audit log lacks %q:\n%s", want, log)
				}
			}
			if n := strings.Count(log, "sign_in passkey"); n != 2 {
				t.Errorf("%d passkey sign-ins in the audit log, want 2", n)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			return // later steps build on this one
		}
	}
}
