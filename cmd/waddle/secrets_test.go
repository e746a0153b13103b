package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/mailtest"
)

// pgDumpPath finds pg_dump the way scripts/services.sh finds initdb: the
// newest PostgreSQL in /usr/lib/postgresql.
func pgDumpPath(t *testing.T) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	if len(found) == 0 {
		t.Fatal("pg_dump is not in /usr/lib/postgresql/*/bin: install PostgreSQL's client (make test installs the server, which brings it)")
	}
	version := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return n
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	return found[len(found)-1]
}

// startServeLogging runs serve as `waddle serve` does, with its log, at the
// level and format of vars, written to log. It returns the hub's base URL.
func startServeLogging(t *testing.T, vars map[string]string, log io.Writer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg, err := loadConfig(getenvFrom(setVars(vars, "LISTEN_ADDR", ln.Addr().String(), "BASE_URL", base)))
	if err != nil {
		ln.Close()
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(cfg, log), ln) }()
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
	waitHealthy(t, base, done)
	return base
}

// browser is a hub visitor with its own cookies; it follows redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// do sends a request and returns the final answer's status, URL and body.
func (b *browser) do(method, path string, form url.Values, hdr http.Header) (int, *url.URL, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL, string(raw)
}

func (b *browser) mustPost(path string, form url.Values, wantStatus int) (*url.URL, *goquery.Document) {
	b.t.Helper()
	st, u, body := b.do(http.MethodPost, path, form, nil)
	if st != wantStatus {
		b.t.Fatalf("POST %s: status %d, want %d:\n%.2000s", path, st, wantStatus, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	return u, doc
}

// redisDump is every key under prefix with its value, one per line.
func redisDump(ctx context.Context, t *testing.T, rdb *redis.Client, prefix string) string {
	t.Helper()
	var out strings.Builder
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("TYPE %s: %v", k, err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result()
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		case "none": // expired since SCAN saw it
			continue
		default:
			t.Fatalf("Redis key %s has type %s, which the test cannot read", k, typ)
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("read %s: %v", k, err)
		}
		fmt.Fprintf(&out, "%s (%s) = %q\n", k, typ, fmt.Sprint(v))
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// waitJobsDone waits until River has finished every mail and reset job, so
// the dump shows the job table as it stays.
func waitJobsDone(ctx context.Context, t *testing.T, dbURL string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(mailTimeout); ; {
		var open int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind IN ('mail.send', 'auth.password_reset_request') AND state <> 'completed'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mail jobs still not completed after %v", open, mailTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// heldSecret is a value the test was handed that must be stored nowhere.
type heldSecret struct{ name, value string }

// wantNowhere fails for every secret found in any of the dumps, in any of the
// forms it may take there (as is, URL-escaped, base64 in session data).
func wantNowhere(t *testing.T, dumps map[string]string, secrets []heldSecret) {
	t.Helper()
	for _, s := range secrets {
		if len(s.value) < 8 {
			t.Fatalf("secret %s %q is too short to search for", s.name, s.value)
		}
		forms := []string{s.value}
		for _, f := range []string{url.QueryEscape(s.value), base64.StdEncoding.EncodeToString([]byte(s.value))} {
			if !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
		for where, dump := range dumps {
			for _, f := range forms {
				if i := strings.Index(dump, f); i >= 0 {
					t.Errorf("%s holds the %s: …%s…", where, s.name, dump[max(i-120, 0):min(i+len(f)+40, len(dump))])
				}
			}
		}
	}
}

// TestNoUsableSecretAtRest runs the hub as production does, with mail going
// to a test SMTP server, asks for a password reset, invites someone, creates
// an API key and an overlay, then reads everything the hub keeps — a pg_dump
// of PostgreSQL, every Redis key and value under its prefix, and its own log
// at debug level — and finds none of the secrets it was handed: the mailed
// links and their tokens, the key, the overlay token, the passwords, the
// session cookie, TOKEN_ENCRYPTION_KEY. People are named in Redis keys and
// the log by id or keyed hash, never by address. Then it checks that each
// secret was live, and, after the reset and the invitation are used, dumps
// again for the new passwords.
func TestNoUsableSecretAtRest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pgDump := pgDumpPath(t)
	rdb, prefix := dbtest.Redis(t)
	smtp := mailtest.Start(t)
	key := make([]byte, 32)
	rand.Read(key)
	const (
		adaEmail    = "ada.lovelace@example.com"
		adaPassword = "ada-keeps-the-hub-running"
		wrongGuess  = "not-adas-password-at-all"
		newbieEmail = "newbie.owl@example.com"
		newbiePass  = "newbie-chose-this-passphrase"
		adaNewPass  = "ada-after-the-reset-link"
	)
	tokenKey := base64.StdEncoding.EncodeToString(key)
	vars := setVars(testVars(t),
		"REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"SMTP_URL", smtp.URL(), "MAIL_FROM", "Waddle <waddle@example.com>",
		"TOKEN_ENCRYPTION_KEY", tokenKey, "WADDLE_ADMIN_PASSWORD", adaPassword,
		"LOG_LEVEL", "debug", "LOG_FORMAT", "json")
	mustRunWaddle(t, vars, "admin", "create", "--email", adaEmail, "--admin")
	var serverLog syncBuffer
	base := startServeLogging(t, vars, &serverLog)

	// A failed and a good sign-in; a community; an invitation; a reset.
	ada := newBrowser(t, base)
	if st, _, _ := ada.do(http.MethodPost, "/signin", url.Values{"email": {adaEmail}, "password": {wrongGuess}}, nil); st != http.StatusUnauthorized {
		t.Fatalf("sign in with a wrong password: status %d, want 401", st)
	}
	ada.mustPost("/signin", url.Values{"email": {adaEmail}, "password": {adaPassword}}, http.StatusOK)
	var sessionCookie string
	baseURL, _ := url.Parse(base)
	for _, c := range ada.c.Jar.Cookies(baseURL) {
		if strings.HasSuffix(c.Name, "waddle_session") {
			sessionCookie = c.Value
		}
	}
	at, _ := ada.mustPost("/communities", url.Values{"name": {"Owls"}, "slug": {"owls"}}, http.StatusOK)
	community := at.Path // /c/{id}
	if !regexp.MustCompile(`^/c/\d+$`).MatchString(community) {
		t.Fatalf("creating a community led to %s, want /c/{id}", at)
	}
	ada.mustPost(community+"/invitations", url.Values{"email": {newbieEmail}, "role": {"member"}}, http.StatusOK)
	newBrowser(t, base).mustPost("/forgot-password", url.Values{"email": {adaEmail}}, http.StatusOK)

	// An API key, used once; an overlay, opened once.
	_, doc := ada.mustPost("/account/keys", url.Values{"name": {"ci"}, "role": {"user"}}, http.StatusCreated)
	apiKey := strings.TrimSpace(doc.Find(`[data-testid=created-key-secret]`).Text())
	if st, _, body := ada.do(http.MethodGet, "/api/v1/me", nil, http.Header{"Authorization": {"Bearer " + apiKey}}); st != http.StatusOK {
		t.Fatalf("GET /api/v1/me with the new key: %d %s", st, body)
	}
	_, doc = ada.mustPost(community+"/overlays", url.Values{"kind": {"alerts"}, "name": {"Alerts"}}, http.StatusCreated)
	overlayURL, _ := doc.Find(`[data-testid=overlay-url]`).Attr("value")
	overlayToken := overlayURL[strings.LastIndex(overlayURL, "/")+1:]
	if !strings.HasPrefix(overlayURL, base+"/overlay/") || len(overlayToken) != 43 {
		t.Fatalf("overlay URL %q, want %s/overlay/<token>", overlayURL, base)
	}
	if st, _, _ := newBrowser(t, base).do(http.MethodGet, "/overlay/"+overlayToken, nil, nil); st != http.StatusOK {
		t.Fatalf("the overlay page: status %d", st)
	}

	invite := linkIn(t, smtp.Wait(t, mailTo(newbieEmail, "You're invited to a community on Waddle"), mailTimeout), base, "/invite/")
	reset := linkIn(t, smtp.Wait(t, mailTo(adaEmail, "Reset your Waddle password"), mailTimeout), base, "/reset-password/")
	waitJobsDone(ctx, t, vars["DATABASE_URL"])

	dump := func() map[string]string {
		t.Helper()
		var pg, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, pgDump, "--no-owner", "--no-privileges", "--dbname="+vars["DATABASE_URL"])
		cmd.Stdout, cmd.Stderr = &pg, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(pg.String(), "COPY public.river_job") || !strings.Contains(pg.String(), "mail.send") {
			t.Fatalf("the dump has no mail jobs: is it the hub's database?\n%.1000s", pg.String())
		}
		r := redisDump(ctx, t, rdb, prefix)
		if !strings.Contains(r, prefix+"session:") || !strings.Contains(r, prefix+"rl:") {
			t.Fatalf("Redis holds no sessions or limits under %s: is it the hub's Redis?\n%s", prefix, r)
		}
		l := serverLog.String()
		if !strings.Contains(l, `"msg":"mail sent"`) || !strings.Contains(l, `"level":"DEBUG"`) {
			t.Fatalf("the server log has no debug lines or no \"mail sent\": is it the hub's log?\n%s", l)
		}
		return map[string]string{"PostgreSQL (pg_dump)": pg.String(), "Redis": r, "the server log": l}
	}
	secrets := []heldSecret{
		{"reset link", reset}, {"reset token", reset[strings.LastIndex(reset, "/")+1:]},
		{"invitation link", invite}, {"invitation token", invite[strings.LastIndex(invite, "/")+1:]},
		{"API key", apiKey}, {"overlay URL", overlayURL}, {"overlay token", overlayToken},
		{"admin's password", adaPassword}, {"wrong password tried", wrongGuess},
		{"session cookie", sessionCookie}, {"TOKEN_ENCRYPTION_KEY", tokenKey},
	}
	dumps := dump()
	wantNowhere(t, dumps, secrets)

	// People are named by id or keyed hash in Redis keys and in the log.
	var redisKeys []string
	for _, line := range strings.Split(dumps["Redis"], "\n") {
		k, _, _ := strings.Cut(line, " ")
		redisKeys = append(redisKeys, k)
	}
	for _, email := range []string{adaEmail, newbieEmail} {
		if strings.Contains(dumps["the server log"], email) {
			t.Errorf("the server log names %s", email)
		}
		if keys := strings.Join(redisKeys, "\n"); strings.Contains(keys, email) {
			t.Errorf("a Redis key names %s:\n%s", email, keys)
		}
	}

	// Each secret was live: the test looked for the real thing.
	visitor := newBrowser(t, base)
	if st, _, _ := visitor.do(http.MethodGet, strings.TrimPrefix(reset, base), nil, nil); st != http.StatusOK {
		t.Errorf("the mailed reset link: status %d, want its form", st)
	}
	if st, _, _ := visitor.do(http.MethodGet, strings.TrimPrefix(invite, base), nil, nil); st != http.StatusOK {
		t.Errorf("the mailed invitation link: status %d, want its form", st)
	}

	// The new passwords set through the links are stored nowhere either.
	visitor.mustPost(strings.TrimPrefix(reset, base), url.Values{"password": {adaNewPass}}, http.StatusOK)
	newbie := newBrowser(t, base)
	newbie.mustPost(strings.TrimPrefix(invite, base), url.Values{"password": {newbiePass}, "display_name": {"Newbie"}}, http.StatusOK)
	smtp.Wait(t, mailTo(adaEmail, "Your Waddle password was changed"), mailTimeout)
	waitJobsDone(ctx, t, vars["DATABASE_URL"])
	if st, _, _ := newBrowser(t, base).do(http.MethodPost, "/signin", url.Values{"email": {adaEmail}, "password": {adaNewPass}}, nil); st != http.StatusOK {
		t.Errorf("sign in with the password set by the reset link: status %d", st)
	}
	wantNowhere(t, dump(), append(secrets, heldSecret{"password set by reset", adaNewPass}, heldSecret{"password set by invitation", newbiePass}))
	if t.Failed() {
		t.Logf("server log:\n%s", serverLog.String())
	}
}
