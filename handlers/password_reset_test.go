package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/riverqueue/river"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/mail"
)

// runResetJobs runs the queued reset-request jobs the way the worker does.
func (e *env) runResetJobs() {
	e.t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, "SELECT args FROM river_job WHERE kind = $1 AND state = 'available'", auth.ResetRequestArgs{}.Kind())
	if err != nil {
		e.t.Fatal(err)
	}
	var jobs []auth.ResetRequestArgs
	for rows.Next() {
		var raw []byte
		var a auth.ResetRequestArgs
		if err := rows.Scan(&raw); err != nil {
			e.t.Fatal(err)
		}
		json.Unmarshal(raw, &a)
		jobs = append(jobs, a)
	}
	rows.Close()
	e.pool.Exec(ctx, "DELETE FROM river_job WHERE kind = $1", auth.ResetRequestArgs{}.Kind())
	w := &auth.ResetRequestWorker{Service: e.auth}
	for _, a := range jobs {
		if err := w.Work(ctx, &river.Job[auth.ResetRequestArgs]{Args: a}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// mails sends the queued mail jobs, as the worker would, and returns the
// messages sent to addr so far.
func (e *env) mails(addr string) []mail.Message {
	e.t.Helper()
	var out []mail.Message
	for _, m := range e.outbox.Deliver(context.Background(), e.t) {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

var resetLink = regexp.MustCompile(`https?://[^\s"]+/reset-password/([A-Za-z0-9_-]+)`)

func TestForgotPasswordSameAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	known := e.client().post("/forgot-password", url.Values{"email": {"ann@example.com"}}, nil)
	unknown := e.client().post("/forgot-password", url.Values{"email": {"nobody@example.com"}}, nil)
	if known.StatusCode != 200 || unknown.StatusCode != 200 {
		t.Fatalf("statuses %d and %d, want 200 both", known.StatusCode, unknown.StatusCode)
	}
	norm := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "ann@example.com", "X"), "nobody@example.com", "X")
	}
	if norm(known.body) != norm(unknown.body) {
		t.Error("the answers for a known and an unknown address differ")
	}
	e.runResetJobs()
	if m := e.mails("ann@example.com"); len(m) != 1 || !resetLink.MatchString(m[0].Text) || !resetLink.MatchString(m[0].HTML) {
		t.Fatalf("want one reset mail with a link in text and HTML for the known address, got %+v", m)
	}
	if m := e.mails("nobody@example.com"); len(m) != 0 {
		t.Errorf("mail queued for an address without an account: %+v", m)
	}
}

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.user("ann@example.com", false)
	other := e.signedIn("ann@example.com") // a session elsewhere, to be ended

	e.client().post("/forgot-password", url.Values{"email": {"ann@example.com"}}, nil)
	e.runResetJobs()
	msgs := e.mails("ann@example.com")
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want 1", len(msgs))
	}
	m := resetLink.FindStringSubmatch(msgs[0].Text)
	if !strings.HasPrefix(m[0], e.srv.URL+"/reset-password/") {
		t.Errorf("link %q is not built from BASE_URL %q", m[0], e.srv.URL)
	}
	token := m[1]
	if n := e.count("SELECT count(*) FROM password_resets WHERE token_hash = $1", auth.HashToken(token)); n != 1 {
		t.Fatal("the token is not stored as its hash")
	}
	path := "/reset-password/" + token

	c := e.client()
	page := c.get(path, nil)
	if page.StatusCode != 200 || page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("reset page: %d, Referrer-Policy %q", page.StatusCode, page.Header.Get("Referrer-Policy"))
	}
	// A bad new password keeps the link usable.
	bad := c.post(path, url.Values{"password": {"short"}}, nil)
	if bad.StatusCode != 400 || !strings.Contains(bad.doc(t).Find(`[data-testid=form-error]`).Text(), "at least 8") {
		t.Fatalf("short password: %d %q", bad.StatusCode, bad.doc(t).Find(`[data-testid=form-error]`).Text())
	}
	if bad.doc(t).Find(`[data-testid=new-password]`).Length() != 1 {
		t.Error("after a too-short password the form should be offered again")
	}
	res := c.post(path, url.Values{"password": {"a brand new passphrase"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("reset: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := other.get("/account", nil); got.StatusCode != http.StatusSeeOther {
		t.Errorf("the other session survived the reset: status %d", got.StatusCode)
	}
	if _, err := e.auth.SignIn(context.Background(), ann.Email, testPassword, "192.0.2.9"); err == nil {
		t.Error("the old password still works")
	}
	if _, err := e.auth.SignIn(context.Background(), ann.Email, "a brand new passphrase", "192.0.2.9"); err != nil {
		t.Errorf("the new password fails: %v", err)
	}
	if msgs := e.mails("ann@example.com"); len(msgs) != 2 || msgs[1].Subject != "Your Waddle password was changed" {
		t.Errorf("want a 'password changed' mail after the reset, got %+v", msgs)
	}
	// The link is used up.
	again := e.client().post(path, url.Values{"password": {"yet another passphrase"}}, nil)
	if again.StatusCode != 400 || !strings.Contains(again.body, "already used") || again.doc(t).Find(`[data-testid=new-password]`).Length() != 0 {
		t.Errorf("reused link: status %d", again.StatusCode)
	}
}

func TestPasswordResetBadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	e.client().post("/forgot-password", url.Values{"email": {"ann@example.com"}}, nil)
	e.runResetJobs()
	token := resetLink.FindStringSubmatch(e.mails("ann@example.com")[0].Text)[1]
	e.pool.Exec(context.Background(), "UPDATE password_resets SET expires_at = now() - interval '1 minute'")
	cases := []struct{ name, token string }{
		{"expired", token},
		{"wrong", strings.Repeat("A", 43)},
		{"malformed", "not-a-token"},
		{"over-long", strings.Repeat("x", 500)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.client().get("/reset-password/"+url.PathEscape(c.token), nil)
			if res.StatusCode != 400 || !strings.Contains(res.doc(t).Find(`[data-testid=form-error]`).Text(), "wrong, has expired or was already used") {
				t.Errorf("GET: status %d", res.StatusCode)
			}
			res = e.client().post("/reset-password/"+url.PathEscape(c.token), url.Values{"password": {"a brand new passphrase"}}, nil)
			if res.StatusCode != 400 {
				t.Errorf("POST: status %d, want 400", res.StatusCode)
			}
		})
	}
	if _, err := e.auth.SignIn(context.Background(), "ann@example.com", testPassword, "192.0.2.9"); err != nil {
		t.Errorf("a failed reset changed the password: %v", err)
	}
}

func TestForgotPasswordBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, email := range []string{"", "not an email", "Ann <ann@example.com>", strings.Repeat("a", 250) + "@example.com"} {
		res := e.client().post("/forgot-password", url.Values{"email": {email}}, nil)
		if res.StatusCode != 400 || res.doc(t).Find(`[data-testid=form-error]`).Length() != 1 {
			t.Errorf("email %.40q: status %d, want 400 with an error", email, res.StatusCode)
		}
	}
	if n := e.count("SELECT count(*) FROM river_job"); n != 0 {
		t.Errorf("%d jobs queued for bad input", n)
	}
}

func TestForgotPasswordLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("ann@example.com", false)
	c := e.client()
	for i := range 5 {
		res := c.post("/forgot-password", url.Values{"email": {"ann@example.com"}}, nil)
		if res.StatusCode != 200 || res.doc(t).Find(`[data-testid=forgot-sent]`).Length() != 1 {
			t.Fatalf("request %d: status %d, want the usual answer", i+1, res.StatusCode)
		}
	}
	e.runResetJobs()
	if m := e.mails("ann@example.com"); len(m) != 3 {
		t.Errorf("%d reset mails for 5 requests, want 3 (the per-address limit)", len(m))
	}
	// One address asking for many accounts is refused openly.
	for i := range 15 {
		c.post("/forgot-password", url.Values{"email": {"someone" + string(rune('a'+i)) + "@example.com"}}, nil)
	}
	res := c.post("/forgot-password", url.Values{"email": {"last@example.com"}}, nil)
	if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(res.doc(t).Find(`[data-testid=form-error]`).Text(), "Too many password reset requests") {
		t.Errorf("21st request from one address: status %d", res.StatusCode)
	}
}
