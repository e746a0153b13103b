package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestAdminResetPasswordClearsSecondFactors(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key), "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "admin", "create", "--email", "lou@example.com")
	a := openTestApp(t, vars)
	u := mustSignIn(t, a, "lou@example.com", testAdminPassword)
	e, err := a.auth.StartTOTP(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(e.Secret, time.Now())
	if _, err := a.auth.ConfirmTOTP(t.Context(), u, code, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}

	// Without the flag the factors stay.
	mustRunWaddle(t, vars, "admin", "reset-password", "--email", "lou@example.com")
	if f, _ := a.auth.Factors(t.Context(), u.ID); !f.TOTP {
		t.Fatal("reset-password without --clear-2fa removed the app")
	}
	out := mustRunWaddle(t, vars, "admin", "reset-password", "--email", "lou@example.com", "--clear-2fa")
	if !strings.Contains(out, "second factors of lou@example.com removed") {
		t.Errorf("output %q does not say the factors were removed", out)
	}
	if f, err := a.auth.Factors(t.Context(), u.ID); err != nil || f.Enabled() || f.RecoveryLeft != 0 {
		t.Errorf("factors after --clear-2fa: %+v, %v", f, err)
	}
	mustSignIn(t, a, "lou@example.com", testAdminPassword) // the password alone works again
	var n int
	if err := a.pool.QueryRow(t.Context(), "SELECT count(*) FROM audit_log WHERE action = 'two_factor_cleared' AND target = 'lou@example.com' AND actor_email = 'command line'").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d audit entries for the clearing (%v), want 1", n, err)
	}
	// Its holder is mailed about it: one job, naming the account and the entry.
	if err := a.pool.QueryRow(t.Context(), `SELECT count(*) FROM river_job j JOIN audit_log l ON l.id = (j.args->>'audit_id')::bigint
		WHERE j.kind = 'mail.send' AND j.args->>'mail' = 'sign_in_changed' AND (j.args->>'id')::bigint = $1
		  AND l.action = 'two_factor_cleared'`, u.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d mail jobs about the clearing (%v), want 1", n, err)
	}

	_, err = runWaddle(t, vars, "admin", "create", "--email", "max@example.com", "--clear-2fa")
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(ue.Error(), "--clear-2fa goes with reset-password") {
		t.Errorf("admin create --clear-2fa: %v, want a usage error", err)
	}
	if _, err := runWaddle(t, vars, "admin", "reset-password", "--email", "nobody@example.com", "--clear-2fa"); err == nil {
		t.Error("reset-password --clear-2fa of an unknown account succeeded")
	}
}
