package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/trustelem/zxcvbn/frequency"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/mailtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
)

// testEnv is a Service with the database and job queue behind it, so tests
// can read back what it wrote.
type testEnv struct {
	s      *auth.Service
	pool   *pgxpool.Pool
	jobs   *river.Client[pgx.Tx]
	outbox *mailtest.Outbox
}

func newEnv(t *testing.T) testEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := auth.New(auth.Config{Pool: pool, Jobs: jobs, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, BaseURL: "http://hub.test/"})
	return testEnv{s: s, pool: pool, jobs: jobs, outbox: mailtest.NewOutbox(jobs, s.MailComposers())}
}

func newService(t *testing.T) *auth.Service {
	t.Helper()
	return newEnv(t).s
}

func mustCreateUser(ctx context.Context, t *testing.T, s *auth.Service, email, password string, admin bool) auth.User {
	t.Helper()
	u, err := s.CreateUser(ctx, email, "", password, admin)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// mails sends the queued mail jobs, as the worker would, and returns every
// message sent so far, oldest first.
func (e testEnv) mails(ctx context.Context, t *testing.T) []mail.Message {
	t.Helper()
	return e.outbox.Deliver(ctx, t)
}

// jobArgs returns the arguments of the queued jobs of kind, oldest first.
func jobArgs[T any](ctx context.Context, t *testing.T, jobs *river.Client[pgx.Tx], kind string) []T {
	t.Helper()
	res, err := jobs.JobList(ctx, river.NewJobListParams().Kinds(kind))
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, j := range res.Jobs {
		var a T
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// wantField checks that err is invalid input in field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Code != problem.Invalid || p.Field != field {
		t.Errorf("err = %v, want invalid input in field %q", err, field)
	}
}

// rowsText is every row of table as JSON text, to look for secrets in.
func rowsText(ctx context.Context, t *testing.T, pool *pgxpool.Pool, table string) string {
	t.Helper()
	rows, err := pool.Query(ctx, "SELECT row_to_json(t)::text FROM "+pgx.Identifier{table}.Sanitize()+" t")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) == 0 {
		t.Fatalf("%s is empty", table)
	}
	return strings.Join(texts, "\n")
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	if _, err := s.CreateUser(ctx, "Ann@Example.com", "Ann", "correct horse battery", false); err != nil {
		t.Fatal(err)
	}
	u, err := s.SignIn(ctx, "ann@example.com", "correct horse battery", "192.0.2.1")
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if u.Email != "ann@example.com" {
		t.Errorf("email = %q", u.Email)
	}
	if _, err := s.SignIn(ctx, "ann@example.com", "wrong password!", "192.0.2.1"); !problem.Is(err, problem.Unauthorized) {
		t.Errorf("wrong password: err = %v, want unauthorized", err)
	}
}

func TestSignInAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t)
	mustCreateUser(ctx, t, s, "ann@example.com", "correct horse battery", false)
	mustCreateUser(ctx, t, s, "nopass@example.com", "", false)
	cases := []struct {
		name, email, password string
		want                  error // nil: signed in
		wantCode              problem.Code
	}{
		{name: "email in other case and spaces", email: "  ANN@example.COM ", password: "correct horse battery"},
		{name: "wrong password", email: "ann@example.com", password: "correct horse batterY", want: auth.ErrBadCredentials},
		{name: "unknown account gets the same answer", email: "bob@example.com", password: "correct horse battery", want: auth.ErrBadCredentials},
		{name: "account without a password", email: "nopass@example.com", password: "anything at all", want: auth.ErrBadCredentials},
		{name: "over-long password", email: "ann@example.com", password: strings.Repeat("x", 10_000), want: auth.ErrBadCredentials},
		{name: "empty password", email: "ann@example.com", wantCode: problem.Invalid},
		{name: "empty email", password: "correct horse battery", wantCode: problem.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.SignIn(ctx, tc.email, tc.password, "192.0.2.1")
			switch {
			case tc.want != nil:
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			case tc.wantCode != "":
				if !problem.Is(err, tc.wantCode) {
					t.Errorf("err = %v, want code %s", err, tc.wantCode)
				}
			case err != nil:
				t.Errorf("sign in: %v", err)
			case u.Email != "ann@example.com":
				t.Errorf("signed in as %q", u.Email)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"password123", "iloveyou1", "sunshine1"} {
		if !contains(frequency.FrequencyLists["passwords"], p) {
			t.Fatalf("%q is no longer in the common password list: pick another for this test", p)
		}
	}
	cases := []struct {
		name, password string
		ok             bool
	}{
		{name: "empty", password: ""},
		{name: "7 characters", password: "k7#mQ2v"},
		{name: "exactly 8", password: "k7#mQ2vz", ok: true},
		{name: "7 two-byte characters (14 bytes)", password: "äöüßéèà"},
		{name: "8 two-byte characters", password: "äöüßéèàç", ok: true},
		{name: "8 emoji", password: "🐧🐧🐧🐧🐧🐧🐧🐧", ok: true},
		{name: "exactly 128", password: strings.Repeat("x7", 64), ok: true},
		{name: "129", password: strings.Repeat("x7", 64) + "y"},
		{name: "128 two-byte characters (256 bytes)", password: strings.Repeat("é", 128), ok: true},
		{name: "129 two-byte characters", password: strings.Repeat("é", 129)},
		{name: "common", password: "password123"},
		{name: "common in other case", password: "PassWord123"},
		{name: "common too", password: "iloveyou1"},
		{name: "common three", password: "sunshine1"},
		{name: "not valid UTF-8", password: "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"},
		{name: "a passphrase", password: "correct horse battery staple", ok: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := auth.ValidatePassword("new_password", tc.password)
			if tc.ok {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			wantField(t, err, "new_password")
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	local64 := strings.Repeat("a", 64)
	domain := func(n int) string { return strings.Repeat("b", n-4) + ".com" }
	cases := []struct {
		name, in string
		want     string // "": refused
	}{
		{name: "plain", in: "ann@example.com", want: "ann@example.com"},
		{name: "case and spaces", in: "  Ann.Lee+Hub@Example.COM\n", want: "ann.lee+hub@example.com"},
		{name: "254 bytes", in: local64 + "@" + domain(189), want: local64 + "@" + domain(189)},
		{name: "255 bytes", in: local64 + "@" + domain(190)},
		{name: "empty", in: ""},
		{name: "blank", in: "   "},
		{name: "no at", in: "ann.example.com"},
		{name: "no domain", in: "ann@"},
		{name: "no local part", in: "@example.com"},
		{name: "two ats", in: "ann@@example.com"},
		{name: "space inside", in: "ann lee@example.com"},
		{name: "display name", in: "Ann <ann@example.com>"},
		{name: "quoted display name", in: `"Ann Lee" <ann@example.com>`},
		{name: "angle brackets only", in: "<ann@example.com>"},
		{name: "comment", in: "ann@example.com (Ann)"},
		{name: "two addresses", in: "ann@example.com, bob@example.com"},
		{name: "header injection", in: "ann@example.com\r\nBcc: eve@example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.ValidateEmail("invite_email", tc.in)
			if tc.want == "" {
				wantField(t, err, "invite_email")
				if got != "" {
					t.Errorf("refused but returned %q", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ValidateEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzValidateEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", " Ann@Example.COM ", "Ann <a@b.c>", "@", "a@", "@b", `"a@b"@c.d`, "a@b@c", "İ@example.com", "\xff@example.com", strings.Repeat("a", 250) + "@b.cd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := auth.ValidateEmail("email", in)
		if err != nil {
			if p := problem.As(err); p == nil || p.Field != "email" {
				t.Fatalf("error %v does not name the field", err)
			}
			return
		}
		if got != strings.ToLower(got) {
			t.Errorf("%q: result %q is not lower-case", in, got)
		}
		if len(got) > 254 {
			t.Errorf("%q: result is %d bytes", in, len(got))
		}
		if strings.Count(got, "@") != 1 || got[0] == '@' || got[len(got)-1] == '@' {
			t.Errorf("%q: result %q does not have one @ between a local part and a domain", in, got)
		}
		if again, err := auth.ValidateEmail("email", got); err != nil || again != got {
			t.Errorf("%q: result %q does not validate to itself: %q, %v", in, got, again, err)
		}
	})
}

func TestCreateUserRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	cases := []struct {
		name, email, displayName, password string
		wantField                          string
	}{
		{name: "duplicate email in other case", email: " ANN@Example.com", wantField: "email"},
		{name: "malformed email", email: "ann at example.com", wantField: "email"},
		{name: "display-name form", email: "Bob <bob@example.com>", wantField: "email"},
		{name: "common password", email: "bob@example.com", password: "iloveyou1", wantField: "password"},
		{name: "short password", email: "bob@example.com", password: "short", wantField: "password"},
		{name: "display name too long", email: "bob@example.com", displayName: strings.Repeat("n", 101), wantField: "display_name"},
		{name: "display name with a newline", email: "bob@example.com", displayName: "Bob\nAdmin", wantField: "display_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.CreateUser(ctx, tc.email, tc.displayName, tc.password, false)
			wantField(t, err, tc.wantField)
		})
	}
	if n, err := e.s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("accounts after refused creations = %d, %v; want 1", n, err)
	}
	if _, err := e.s.UserByEmail(ctx, "bob@example.com"); !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("bob: err = %v, want ErrUserNotFound", err)
	}
}

var resetLinkRe = regexp.MustCompile(`http://hub\.test/reset-password/([A-Za-z0-9_-]+)`)

// requestReset asks for a reset of email, runs the queued job as the worker
// would, and returns the token from the mailed link ("" when no mail was sent).
func (e testEnv) requestReset(ctx context.Context, t *testing.T, email string) string {
	t.Helper()
	before := len(e.mails(ctx, t))
	if err := e.s.RequestPasswordReset(ctx, email, "192.0.2.1"); err != nil {
		t.Fatalf("request reset: %v", err)
	}
	queued := jobArgs[auth.ResetRequestArgs](ctx, t, e.jobs, auth.ResetRequestArgs{}.Kind())
	if len(queued) == 0 {
		t.Fatal("no reset job queued")
	}
	w := &auth.ResetRequestWorker{Service: e.s}
	if err := w.Work(ctx, &river.Job[auth.ResetRequestArgs]{Args: queued[len(queued)-1]}); err != nil {
		t.Fatalf("reset job: %v", err)
	}
	ms := e.mails(ctx, t)
	if len(ms) == before {
		return ""
	}
	if len(ms) != before+1 {
		t.Fatalf("reset job queued %d mails, want 1", len(ms)-before)
	}
	m := ms[len(ms)-1]
	if m.Subject != "Reset your Waddle password" {
		t.Errorf("mail subject = %q", m.Subject)
	}
	match := resetLinkRe.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no reset link in mail text:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, match[0]) {
		t.Errorf("HTML part lacks the link %s", match[0])
	}
	return match[1]
}

func (e testEnv) resetRows(ctx context.Context, t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM password_resets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRequestPasswordResetUnknownEmail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	if tok := e.requestReset(ctx, t, " Nobody@Example.com"); tok != "" {
		t.Errorf("a reset link was mailed for an address with no account")
	}
	queued := jobArgs[auth.ResetRequestArgs](ctx, t, e.jobs, auth.ResetRequestArgs{}.Kind())
	if diff := cmp.Diff([]auth.ResetRequestArgs{{Email: "nobody@example.com", IP: "192.0.2.1"}}, queued); diff != "" {
		t.Errorf("queued jobs (-want +got):\n%s", diff)
	}
	if n := e.resetRows(ctx, t); n != 0 {
		t.Errorf("%d reset tokens stored, want 0", n)
	}
	if ms := e.mails(ctx, t); len(ms) != 0 {
		t.Errorf("mails queued: %+v", ms)
	}
	// A malformed address is refused before anything is queued.
	wantField(t, e.s.RequestPasswordReset(ctx, "Ann <ann@example.com>", "192.0.2.1"), "email")
	if n := len(jobArgs[auth.ResetRequestArgs](ctx, t, e.jobs, auth.ResetRequestArgs{}.Kind())); n != 1 {
		t.Errorf("%d reset jobs after a malformed request, want 1", n)
	}
}

func TestRequestPasswordResetLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	queued := func() int { return len(jobArgs[auth.ResetRequestArgs](ctx, t, e.jobs, auth.ResetRequestArgs{}.Kind())) }

	// Per address, silently: the answer must not differ from any other.
	for i := 1; i <= 4; i++ {
		if err := e.s.RequestPasswordReset(ctx, "ann@example.com", fmt.Sprintf("192.0.2.%d", i)); err != nil {
			t.Fatalf("request %d for ann: %v", i, err)
		}
	}
	if n := queued(); n != 3 {
		t.Errorf("%d reset jobs for 4 requests for one address, want 3", n)
	}

	// Per client, openly.
	for i := 1; i <= 20; i++ {
		if err := e.s.RequestPasswordReset(ctx, fmt.Sprintf("user%d@example.com", i), "203.0.113.5"); err != nil {
			t.Fatalf("request %d from one client: %v", i, err)
		}
	}
	err := e.s.RequestPasswordReset(ctx, "user21@example.com", "203.0.113.5")
	if p := problem.As(err); p == nil || p.Code != problem.TooMany || p.RetryAfter <= 0 {
		t.Errorf("21st request from one client: err = %v, want too many with a RetryAfter", err)
	}
	if n := queued(); n != 23 {
		t.Errorf("%d reset jobs, want 23", n)
	}
	if err := e.s.RequestPasswordReset(ctx, "user21@example.com", "203.0.113.6"); err != nil {
		t.Errorf("another client: %v", err)
	}
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "old password 1", false)

	first := e.requestReset(ctx, t, "ANN@example.com ")
	token := e.requestReset(ctx, t, "ann@example.com")
	if first == "" || token == "" || first == token {
		t.Fatalf("tokens %q and %q: want two different ones", first, token)
	}
	if ms := e.mails(ctx, t); ms[0].To != "ann@example.com" {
		t.Errorf("reset mail to %q", ms[0].To)
	}
	// Only hashes are stored.
	if text := rowsText(ctx, t, e.pool, "password_resets"); strings.Contains(text, token) || strings.Contains(text, first) {
		t.Errorf("password_resets holds a token in the clear:\n%s", text)
	}
	var expires time.Time
	if err := e.pool.QueryRow(ctx, "SELECT expires_at FROM password_resets WHERE token_hash = $1", auth.HashToken(token)).Scan(&expires); err != nil {
		t.Fatalf("no row with the token's hash: %v", err)
	}
	if d := time.Until(expires); d < 55*time.Minute || d > auth.ResetTokenTTL {
		t.Errorf("token expires in %v, want about %v", d, auth.ResetTokenTTL)
	}
	if err := e.s.CheckResetToken(ctx, token); err != nil {
		t.Errorf("check fresh token: %v", err)
	}

	u, err := e.s.ResetPassword(ctx, token, "new password 2", "192.0.2.9")
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if u.ID != ann.ID || u.SessionVersion != ann.SessionVersion+1 {
		t.Errorf("reset returned %+v, want account %d with session version %d", u, ann.ID, ann.SessionVersion+1)
	}
	if got, err := e.s.User(ctx, ann.ID); err != nil || got.SessionVersion != ann.SessionVersion+1 {
		t.Errorf("stored session version = %d, %v; want %d (other sessions end)", got.SessionVersion, err, ann.SessionVersion+1)
	}
	if _, err := e.s.SignIn(ctx, "ann@example.com", "old password 1", "192.0.2.9"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("old password after reset: err = %v, want ErrBadCredentials", err)
	}
	if _, err := e.s.SignIn(ctx, "ann@example.com", "new password 2", "192.0.2.9"); err != nil {
		t.Errorf("new password after reset: %v", err)
	}
	ms := e.mails(ctx, t)
	if last := ms[len(ms)-1]; last.To != "ann@example.com" || last.Subject != "Your Waddle password was changed" {
		t.Errorf("last mail = %q to %q, want the password-changed notice to ann", last.Subject, last.To)
	}
	if len(ms) != 3 {
		t.Errorf("%d mails, want 2 reset links and 1 notice", len(ms))
	}

	// The link works once, and using it voids the account's other links.
	for name, tok := range map[string]string{"used token": token, "older token": first} {
		if err := e.s.CheckResetToken(ctx, tok); !errors.Is(err, auth.ErrBadResetToken) {
			t.Errorf("check %s: err = %v, want ErrBadResetToken", name, err)
		}
		if _, err := e.s.ResetPassword(ctx, tok, "third password 3", "192.0.2.9"); !errors.Is(err, auth.ErrBadResetToken) {
			t.Errorf("reuse %s: err = %v, want ErrBadResetToken", name, err)
		}
	}
	if _, err := e.s.SignIn(ctx, "ann@example.com", "new password 2", "192.0.2.9"); err != nil {
		t.Errorf("password changed by a reused token: %v", err)
	}
}

func TestPasswordResetFailuresChangeNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		token       func(ctx context.Context, t *testing.T, e testEnv, real string) string
		password    string
		wantErr     error  // or
		wantField   string // invalid input in this field
		tokenUsable bool   // the real token still works afterwards
	}{
		{
			name:        "wrong token",
			token:       func(context.Context, *testing.T, testEnv, string) string { tok, _ := auth.NewToken(); return tok },
			password:    "new password 2",
			wantErr:     auth.ErrBadResetToken,
			tokenUsable: true,
		},
		{
			name:        "truncated token",
			token:       func(_ context.Context, _ *testing.T, _ testEnv, real string) string { return real[:len(real)-1] },
			password:    "new password 2",
			wantErr:     auth.ErrBadResetToken,
			tokenUsable: true,
		},
		{
			name: "expired token",
			token: func(ctx context.Context, t *testing.T, e testEnv, real string) string {
				tag, err := e.pool.Exec(ctx, "UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE token_hash = $1", auth.HashToken(real))
				if err != nil || tag.RowsAffected() != 1 {
					t.Fatalf("expire token: %v, %d rows", err, tag.RowsAffected())
				}
				return real
			},
			password: "new password 2",
			wantErr:  auth.ErrBadResetToken,
		},
		{
			name:        "too short password",
			token:       func(_ context.Context, _ *testing.T, _ testEnv, real string) string { return real },
			password:    "short",
			wantField:   "password",
			tokenUsable: true,
		},
		{
			name:        "common password",
			token:       func(_ context.Context, _ *testing.T, _ testEnv, real string) string { return real },
			password:    "password123",
			wantField:   "password",
			tokenUsable: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "old password 1", false)
			real := e.requestReset(ctx, t, "ann@example.com")
			mailsBefore := len(e.mails(ctx, t))

			_, err := e.s.ResetPassword(ctx, tc.token(ctx, t, e, real), tc.password, "192.0.2.9")
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantField != "" {
				wantField(t, err, tc.wantField)
			}

			if got, err := e.s.User(ctx, ann.ID); err != nil || got.SessionVersion != ann.SessionVersion {
				t.Errorf("session version = %d, %v; want %d unchanged", got.SessionVersion, err, ann.SessionVersion)
			}
			if n := len(e.mails(ctx, t)); n != mailsBefore {
				t.Errorf("%d mails queued by a failed reset", n-mailsBefore)
			}
			if _, err := e.s.SignIn(ctx, "ann@example.com", "old password 1", "192.0.2.9"); err != nil {
				t.Errorf("old password after a failed reset: %v", err)
			}
			err = e.s.CheckResetToken(ctx, real)
			if tc.tokenUsable != (err == nil) {
				t.Errorf("check real token afterwards: err = %v, want usable %v", err, tc.tokenUsable)
			}
			if tc.tokenUsable {
				if _, err := e.s.ResetPassword(ctx, real, "new password 2", "192.0.2.9"); err != nil {
					t.Errorf("reset with the real token afterwards: %v", err)
				}
			}
		})
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "old password 1", false)
	cases := []struct {
		name, current, next string
		wantField           string
	}{
		{name: "wrong current password", current: "old password 2", next: "new password 2", wantField: "current_password"},
		{name: "same as current", current: "old password 1", next: "old password 1", wantField: "new_password"},
		{name: "new too short", current: "old password 1", next: "2short", wantField: "new_password"},
		{name: "new too common", current: "old password 1", next: "iloveyou1", wantField: "new_password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.ChangePassword(ctx, ann.ID, tc.current, tc.next, "192.0.2.1")
			wantField(t, err, tc.wantField)
		})
	}
	if ms := e.mails(ctx, t); len(ms) != 0 {
		t.Errorf("refused changes queued mail: %+v", ms)
	}
	if got, _ := e.s.User(ctx, ann.ID); got.SessionVersion != ann.SessionVersion {
		t.Errorf("refused changes ended sessions: version %d, want %d", got.SessionVersion, ann.SessionVersion)
	}

	u, err := e.s.ChangePassword(ctx, ann.ID, "old password 1", "new password 2", "192.0.2.1")
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	if got, err := e.s.User(ctx, ann.ID); err != nil || got.SessionVersion != ann.SessionVersion+1 || u.SessionVersion != got.SessionVersion {
		t.Errorf("session version stored %d, returned %d; want %d", got.SessionVersion, u.SessionVersion, ann.SessionVersion+1)
	}
	if _, err := e.s.SignIn(ctx, "ann@example.com", "old password 1", "192.0.2.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("old password: err = %v, want ErrBadCredentials", err)
	}
	if _, err := e.s.SignIn(ctx, "ann@example.com", "new password 2", "192.0.2.1"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if ms := e.mails(ctx, t); len(ms) != 1 || ms[0].To != "ann@example.com" || ms[0].Subject != "Your Waddle password was changed" {
		t.Errorf("mails = %+v, want one password-changed notice to ann", ms)
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)

	k, secret, err := e.s.CreateAPIKey(ctx, ann, "192.0.2.1", "  CI bot ", auth.RoleUser)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(secret, "wdl_") || len(secret) < 40 {
		t.Errorf("secret %q: want wdl_ and at least 36 more characters", secret)
	}
	if k.Name != "CI bot" || k.Role != auth.RoleUser || !strings.HasPrefix(secret, k.Prefix) || len(k.Prefix) >= len(secret)/2 {
		t.Errorf("key = %+v: want name %q, role user and a short prefix of the secret", k, "CI bot")
	}
	if text := rowsText(ctx, t, e.pool, "api_keys"); strings.Contains(text, secret) || strings.Contains(text, secret[len(k.Prefix):]) {
		t.Errorf("api_keys holds the secret:\n%s", text)
	}
	entries, err := audit.Log{Pool: e.pool}.ListAll(ctx, audit.Filter{Action: audit.APIKeyCreated})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Target, "CI bot") || strings.Contains(entries[0].Target, secret) {
		t.Errorf("audit = %+v, %v; want one entry naming the key without its secret", entries, err)
	}
	list, err := e.s.ListAPIKeys(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]auth.APIKey{k}, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	id, err := e.s.AuthenticateAPIKey(ctx, secret)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	want := auth.KeyIdentity{KeyID: k.ID, UserID: ann.ID, Email: "ann@example.com", Role: auth.RoleUser}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	if list, _ := e.s.ListAPIKeys(ctx, ann.ID); len(list) != 1 || list[0].LastUsedAt == nil {
		t.Errorf("last use not recorded: %+v", list)
	}
	last := "x" // one character changed: never the one it was
	if strings.HasSuffix(secret, last) {
		last = "y"
	}
	for _, bad := range []string{"", "wdl_", secret[:len(secret)-1] + last, strings.ToUpper(secret), "Bearer " + secret, secret + "a"} {
		if _, err := e.s.AuthenticateAPIKey(ctx, bad); !errors.Is(err, auth.ErrBadAPIKey) {
			t.Errorf("authenticate %q: err = %v, want ErrBadAPIKey", bad, err)
		}
	}

	k2, secret2, err := e.s.RegenerateAPIKey(ctx, ann, "192.0.2.1", k.ID)
	if err != nil {
		t.Fatalf("regenerate: %v", err)
	}
	if k2.ID != k.ID || k2.Name != k.Name || k2.Role != k.Role || secret2 == secret || !strings.HasPrefix(secret2, k2.Prefix) {
		t.Errorf("regenerated key %+v: want the same key with a new secret", k2)
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, secret); !errors.Is(err, auth.ErrBadAPIKey) {
		t.Errorf("old secret after regenerate: err = %v, want ErrBadAPIKey", err)
	}
	if id, err := e.s.AuthenticateAPIKey(ctx, secret2); err != nil || id.KeyID != k.ID {
		t.Errorf("new secret: %+v, %v", id, err)
	}

	revoked, err := e.s.RevokeAPIKey(ctx, ann, "192.0.2.1", k.ID)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if revoked.RevokedAt == nil {
		t.Errorf("revoked key has no RevokedAt")
	}
	if _, err := e.s.AuthenticateAPIKey(ctx, secret2); !errors.Is(err, auth.ErrBadAPIKey) {
		t.Errorf("secret after revoke: err = %v, want ErrBadAPIKey", err)
	}
	if _, _, err := e.s.RegenerateAPIKey(ctx, ann, "192.0.2.1", k.ID); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("regenerate revoked key: err = %v, want ErrKeyNotFound", err)
	}
	if _, err := e.s.RevokeAPIKey(ctx, ann, "192.0.2.1", k.ID); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("revoke twice: err = %v, want ErrKeyNotFound", err)
	}
	if list, _ := e.s.ListAPIKeys(ctx, ann.ID); len(list) != 1 || list[0].RevokedAt == nil {
		t.Errorf("list after revoke = %+v, want the key shown as revoked", list)
	}
}

func TestAPIKeyOfAnotherUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	ann := mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	bob := mustCreateUser(ctx, t, e.s, "bob@example.com", "", false)
	k, secret, err := e.s.CreateAPIKey(ctx, ann, "192.0.2.1", "ann's key", auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.RevokeAPIKey(ctx, bob, "192.0.2.2", k.ID); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("bob revokes ann's key: err = %v, want ErrKeyNotFound", err)
	}
	if _, _, err := e.s.RegenerateAPIKey(ctx, bob, "192.0.2.2", k.ID); !errors.Is(err, auth.ErrKeyNotFound) {
		t.Errorf("bob regenerates ann's key: err = %v, want ErrKeyNotFound", err)
	}
	if id, err := e.s.AuthenticateAPIKey(ctx, secret); err != nil || id.UserID != ann.ID {
		t.Errorf("ann's key after bob's attempts: %+v, %v", id, err)
	}
	if list, err := e.s.ListAPIKeys(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Errorf("bob's keys = %+v, %v; want none", list, err)
	}
}

func TestCreateAPIKeyRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	user := mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	admin := mustCreateUser(ctx, t, e.s, "root@example.com", "", true)
	cases := []struct {
		name      string
		user      auth.User
		keyName   string
		role      string
		wantField string // "": created
	}{
		{name: "user key", user: user, keyName: "mine", role: auth.RoleUser},
		{name: "installation-wide action key by non-admin", user: user, keyName: "bot", role: auth.RoleAction, wantField: "community"},
		{name: "installation-wide trigger key by non-admin", user: user, keyName: "bot", role: auth.RoleTrigger, wantField: "community"},
		{name: "installation-wide trigger key by admin", user: admin, keyName: "events", role: auth.RoleTrigger},
		{name: "installation-wide action key by admin", user: admin, keyName: "actions", role: auth.RoleAction},
		{name: "100 characters", user: user, keyName: strings.Repeat("é", 100), role: auth.RoleUser},
		{name: "admin key by non-admin", user: user, keyName: "x", role: auth.RoleAdmin, wantField: "role"},
		{name: "core key by non-admin", user: user, keyName: "x", role: auth.RoleCore, wantField: "role"},
		{name: "unknown role", user: user, keyName: "x", role: "superuser", wantField: "role"},
		{name: "empty name", user: user, keyName: "", role: auth.RoleUser, wantField: "name"},
		{name: "blank name", user: user, keyName: " \t ", role: auth.RoleUser, wantField: "name"},
		{name: "101 characters", user: user, keyName: strings.Repeat("n", 101), role: auth.RoleUser, wantField: "name"},
		{name: "admin key by admin", user: admin, keyName: "ops", role: auth.RoleAdmin},
		{name: "core key by admin", user: admin, keyName: "svc", role: auth.RoleCore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.s.ListAPIKeys(ctx, tc.user.ID)
			k, secret, err := e.s.CreateAPIKey(ctx, tc.user, "192.0.2.1", tc.keyName, tc.role)
			after, _ := e.s.ListAPIKeys(ctx, tc.user.ID)
			if tc.wantField != "" {
				wantField(t, err, tc.wantField)
				if secret != "" || len(after) != len(before) {
					t.Errorf("refused key was created: %+v", k)
				}
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if len(after) != len(before)+1 {
				t.Errorf("%d keys after create, want %d", len(after), len(before)+1)
			}
			if id, err := e.s.AuthenticateAPIKey(ctx, secret); err != nil || id.Role != tc.role || id.IsAdmin != tc.user.IsAdmin {
				t.Errorf("authenticate new key: %+v, %v", id, err)
			}
		})
	}
}
