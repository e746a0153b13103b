package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/dbtest"
)

const testAdminPassword = "penguins-waddle-at-dawn"

// testVars is the environment of a waddle command in a test: a fresh database
// and quiet logs. Tests add the variables they need.
func testVars(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"DATABASE_URL": dbtest.URL(t),
		"LOG_LEVEL":    "warn",
		"LOG_FORMAT":   "text",
	}
}

func getenvFrom(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// setVars returns a copy of vars with kv (key, value, key, value…) set.
func setVars(vars map[string]string, kv ...string) map[string]string {
	out := maps.Clone(vars)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// runWaddle runs `waddle args…` and returns its output. A command that
// should end by itself gets a minute: a serve that starts by mistake then
// fails the test instead of blocking it.
func runWaddle(t *testing.T, vars map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, args, getenvFrom(vars), strings.NewReader(""), &out)
	return out.String(), err
}

// mustRunWaddle is runWaddle for commands that must succeed.
func mustRunWaddle(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	out, err := runWaddle(t, vars, args...)
	if err != nil {
		t.Fatalf("waddle %s: %v\noutput:\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// openTestApp opens the services on vars's database, closed when the test ends.
func openTestApp(t *testing.T, vars map[string]string) *app {
	t.Helper()
	cfg, err := loadConfig(getenvFrom(vars))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := openApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(a.close)
	return a
}

func mustSignIn(t *testing.T, a *app, email, password string) auth.User {
	t.Helper()
	u, err := a.auth.SignIn(t.Context(), email, password, "127.0.0.1")
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
	return u
}

var migrationRow = regexp.MustCompile(`^(waddle|river)\s+(\d+)\s+(.+?)\s+(applied|pending)$`)

// migrationRows returns the status table's rows as "schema version name state".
func migrationRows(out string) []string {
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if m := migrationRow.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			rows = append(rows, strings.Join(m[1:], " "))
		}
	}
	return rows
}

func TestMigrateDownUpAndStatus(t *testing.T) {
	t.Parallel()
	vars := testVars(t)

	out := mustRunWaddle(t, vars, "migrate", "status")
	if !regexp.MustCompile(`(?m)^SCHEMA\s+VERSION\s+NAME\s+STATE\s*$`).MatchString(out) {
		t.Errorf("status has no header line:\n%s", out)
	}
	rows := migrationRows(out)
	var waddle, river int
	for _, r := range rows {
		if !strings.HasSuffix(r, " applied") {
			t.Errorf("on a migrated database, row %q is not applied", r)
		}
		if strings.HasPrefix(r, "waddle ") {
			waddle++
		} else {
			river++
		}
	}
	if waddle == 0 || river == 0 {
		t.Fatalf("status lists %d waddle and %d river migrations, want both:\n%s", waddle, river, out)
	}

	mustRunWaddle(t, vars, "migrate", "down")
	out = mustRunWaddle(t, vars, "migrate", "status")
	pending := 0
	for _, r := range migrationRows(out) {
		if strings.HasSuffix(r, " pending") {
			pending++
			if !strings.HasPrefix(r, "waddle ") {
				t.Errorf("after migrate down, %q is pending; only a waddle migration should be", r)
			}
		}
	}
	if pending != 1 {
		t.Errorf("after migrate down, %d migrations are pending, want 1:\n%s", pending, out)
	}

	mustRunWaddle(t, vars, "migrate", "up")
	out = mustRunWaddle(t, vars, "migrate", "status")
	if got := migrationRows(out); !cmp.Equal(got, rows) {
		t.Errorf("after migrate up, status is:\n%s\nwant every migration applied, as at first", out)
	}
}

func TestAdminCreate(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword)

	out := mustRunWaddle(t, vars, "admin", "create", "--email", "Root@Example.com", "--name", "Rita Root", "--admin")
	if want := "created root@example.com (admin: true)\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	a := openTestApp(t, vars)
	if u := mustSignIn(t, a, "root@example.com", testAdminPassword); !u.IsAdmin || u.DisplayName != "Rita Root" {
		t.Errorf("created user %+v, want an admin named Rita Root", u)
	}

	out, err := runWaddle(t, vars, "admin", "create", "--email", "root@example.com")
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("creating the same email again: error %v, output %q; want an error about the existing account", err, out)
	}
	if n, err := a.auth.CountUsers(t.Context()); err != nil || n != 1 {
		t.Errorf("%d users (%v), want 1", n, err)
	}
}

func TestAdminCreateGeneratesPassword(t *testing.T) {
	t.Parallel()
	vars := testVars(t) // no WADDLE_ADMIN_PASSWORD
	out := mustRunWaddle(t, vars, "admin", "create", "--email", "gen@example.com")
	m := regexp.MustCompile(`(?m)^password: (\S+)$`).FindStringSubmatch(out)
	if !strings.HasPrefix(out, "created gen@example.com (admin: false)\n") || m == nil {
		t.Fatalf("output %q, want the account and a generated password", out)
	}
	if len(m[1]) != 20 {
		t.Errorf("generated password %q has %d characters, want 20", m[1], len(m[1]))
	}
	if u := mustSignIn(t, openTestApp(t, vars), "gen@example.com", m[1]); u.IsAdmin {
		t.Error("the account is an admin without --admin")
	}
}

func TestAdminResetPassword(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_PASSWORD", testAdminPassword)
	mustRunWaddle(t, vars, "admin", "create", "--email", "ann@example.com")

	const newPassword = "a-brand-new-passphrase"
	out := mustRunWaddle(t, setVars(vars, "WADDLE_ADMIN_PASSWORD", newPassword), "admin", "reset-password", "--email", "ann@example.com")
	if !strings.Contains(out, "password of ann@example.com set") {
		t.Errorf("output %q, want a confirmation", out)
	}
	a := openTestApp(t, vars)
	mustSignIn(t, a, "ann@example.com", newPassword)
	if _, err := a.auth.SignIn(t.Context(), "ann@example.com", testAdminPassword, "127.0.0.1"); err == nil {
		t.Error("the old password still signs in")
	}

	out, err := runWaddle(t, vars, "admin", "reset-password", "--email", "nobody@example.com")
	if !errors.Is(err, auth.ErrUserNotFound) {
		t.Errorf("reset-password for an unknown email: error %v, output %q; want %v", err, out, auth.ErrUserNotFound)
	}
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"admin without command", []string{"admin"}, "admin needs a command"},
		{"admin create without email", []string{"admin", "create", "--admin"}, "--email is required"},
		{"admin reset-password without email", []string{"admin", "reset-password"}, "--email is required"},
		{"admin unknown flag", []string{"admin", "create", "--email", "x@example.com", "--owner"}, "owner"},
		{"admin unknown command", []string{"admin", "promote", "--email", "x@example.com"}, `unknown admin command "promote"`},
		{"migrate without command", []string{"migrate"}, "migrate needs one of"},
		{"migrate unknown command", []string{"migrate", "sideways"}, `unknown migrate command "sideways"`},
		{"serve with arguments", []string{"serve", "now"}, "serve takes no arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runWaddle(t, vars, tc.args...)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("waddle %s: error %v (output %q), want a usage error about %s", strings.Join(tc.args, " "), err, out, tc.wantErr)
			}
		})
	}
	if n, err := openTestApp(t, vars).auth.CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("usage errors created %d users (%v)", n, err)
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"help"}, getenvFrom(nil), strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "usage: waddle") || !strings.Contains(out.String(), "admin reset-password") {
		t.Errorf("help prints %q", out.String())
	}
}

func TestSetupTwice(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "WADDLE_ADMIN_EMAIL", "owner@example.com", "WADDLE_ADMIN_PASSWORD", testAdminPassword,
		"BASE_URL", "http://127.0.0.1:9999")

	out := mustRunWaddle(t, vars, "setup")
	for _, want := range []string{"First admin created: owner@example.com", "Demo community created.", "Waddle hub: http://127.0.0.1:9999"} {
		if !strings.Contains(out, want) {
			t.Errorf("first setup output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testAdminPassword) {
		t.Error("setup prints the password it was given")
	}
	a := openTestApp(t, vars)
	owner := mustSignIn(t, a, "owner@example.com", testAdminPassword)
	cs, err := a.comm.ListForUser(t.Context(), owner)
	if err != nil || len(cs) != 1 || cs[0].Name != "Demo community" || cs[0].Slug != "demo" {
		t.Fatalf("communities after setup: %+v (%v), want the demo community", cs, err)
	}

	out = mustRunWaddle(t, vars, "setup")
	if strings.Contains(strings.ToLower(out), "created") {
		t.Errorf("second setup says it created something:\n%s", out)
	}
	if !strings.Contains(out, "Waddle hub: http://127.0.0.1:9999") {
		t.Errorf("second setup output lacks the hub address:\n%s", out)
	}
	users, err := a.auth.CountUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	comms, err := a.comm.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if users != 1 || comms != 1 {
		t.Errorf("after the second setup: %d users and %d communities, want 1 and 1", users, comms)
	}
}

func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // not defer: the subtests run after this func returns
	cases := []struct {
		name    string
		vars    map[string]string
		wantVar string
		wantErr string
	}{
		{"listen address without port", setVars(vars, "LISTEN_ADDR", "localhost"), "LISTEN_ADDR", "want host:port"},
		{"listen address in use", setVars(vars, "LISTEN_ADDR", busy.Addr().String()), "LISTEN_ADDR", "cannot be listened on"},
		{"database URL missing", setVars(vars, "DATABASE_URL", ""), "DATABASE_URL", "is not set"},
		{"database URL of another kind", setVars(vars, "DATABASE_URL", "mysql://root@127.0.0.1/waddle"), "DATABASE_URL", "must start with postgres://"},
		{"database URL unparsable", setVars(vars, "DATABASE_URL", "postgres://127.0.0.1:notaport/waddle"), "DATABASE_URL", "cannot be parsed"},
		{"discord token without app id", setVars(vars, "DISCORD_BOT_TOKEN", "secret-token", "DISCORD_PUBLIC_KEY", strings.Repeat("ab", 32)),
			"DISCORD_APP_ID", "is not set, but DISCORD_BOT_TOKEN"},
		{"twitch client id without secret", setVars(vars, "TWITCH_CLIENT_ID", "cid", "TWITCH_BOT_LOGIN", "duckbot", "TWITCH_EVENTSUB_SECRET", "a-secret-of-20-chars"),
			"TWITCH_CLIENT_SECRET", "is not set"},
		{"slack app token without signing secret", setVars(vars, "SLACK_BOT_TOKEN", "xoxb-1", "SLACK_APP_TOKEN", "xapp-1"), "SLACK_SIGNING_SECRET", "is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := runWaddle(t, tc.vars, "serve")
			var ce *configError
			if !errors.As(err, &ce) || ce.Var != tc.wantVar || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("serve: error %v (output %q), want a config error naming %s that says %q", err, out, tc.wantVar, tc.wantErr)
			}
		})
	}
	t.Run("database unreachable", func(t *testing.T) {
		t.Parallel()
		// Nothing listens on port 1 of the loopback address.
		out, err := runWaddle(t, setVars(vars, "DATABASE_URL", "postgres://postgres@127.0.0.1:1/waddle?connect_timeout=5"), "serve")
		if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("serve: error %v (output %q), want one naming DATABASE_URL and its host", err, out)
		}
	})
}

// startServe runs serve on a listener of its own until the test ends; serve
// must then return nil. It returns the hub's base URL and a func that stops
// serve and reports its result.
func startServe(t *testing.T, vars map[string]string) (baseURL string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	baseURL = "http://" + ln.Addr().String()
	cfg, err := loadConfig(getenvFrom(setVars(vars, "LISTEN_ADDR", ln.Addr().String(), "BASE_URL", baseURL)))
	if err != nil {
		ln.Close()
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, logger, ln) }()

	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(30 * time.Second):
				serveErr = errors.New("serve did not return within 30s of the end of its context")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitHealthy(t, baseURL, done)
	return baseURL, stop
}

// waitHealthy waits until /healthz answers 200, failing early if serve returns.
func waitHealthy(t *testing.T, baseURL string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(baseURL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve returned before it was healthy: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200 within 15s (last error %v)", baseURL, err)
		}
	}
}

func TestServeStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	_, prefix := dbtest.Redis(t)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix)
	baseURL, stop := startServe(t, vars)

	// A kept-alive idle connection must not hold up the shutdown.
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(baseURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d %q, want 200", res.StatusCode, body)
	}

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("serve took %v to stop, want under 5s", d)
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(baseURL, "http://"), time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after serve returned", baseURL)
	}
}

// syncBuffer is a bytes.Buffer for a writer and a reader on different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `waddle serve` on port 0 logs the address it listens on, serves, and returns
// nil when its context ends, as on SIGTERM.
func TestRunServeOnPortZero(t *testing.T) {
	t.Parallel()
	vars := setVars(testVars(t), "LISTEN_ADDR", "127.0.0.1:0", "LOG_LEVEL", "info", "LOG_FORMAT", "json")
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenvFrom(vars), strings.NewReader(""), &out) }()
	returned := false
	t.Cleanup(func() {
		cancel()
		if !returned {
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("run serve did not return within 30s of the end of its context")
			}
		}
	})

	var addr string
	for deadline := time.Now().Add(15 * time.Second); addr == ""; {
		for _, l := range strings.Split(out.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "waddle hub listening" {
				addr = rec.Addr
			}
		}
		if addr != "" {
			break
		}
		select {
		case err := <-done:
			returned = true
			t.Fatalf("serve returned early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no \"waddle hub listening\" log line within 15s:\n%s", out.String())
		}
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("listening on %q, want a port picked on 127.0.0.1", addr)
	}
	waitHealthy(t, "http://"+addr, nil)

	cancel()
	select {
	case err := <-done:
		returned = true
		if err != nil {
			t.Errorf("run serve returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run serve did not return within 10s of the end of its context")
	}
	if !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Errorf("no \"stopped\" log line:\n%s", out.String())
	}
}
