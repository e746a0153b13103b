package handlers_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/health"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/mailtest"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
	"github.com/waddle/waddle/timers"
	"github.com/waddle/waddle/workflow"
)

// testPassword passes the password rules.
const testPassword = "waddle-test-password-1"

// env is a hub served by httptest on a fresh database and a real Redis.
type env struct {
	t        testing.TB
	srv      *httptest.Server
	pool     *pgxpool.Pool
	auth     *auth.Service
	comm     *community.Service
	router   *router.Router
	settings *router.Settings
	ov       *overlay.Service
	flows    *workflow.Service
	hooks    *workflow.Webhooks
	outbox   *mailtest.Outbox
	cfg      handlers.Config // what srv serves, for a second instance
	rdb      *redis.Client
	prefix   string // the Redis prefix of this deployment
}

type envOption func(*handlers.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	return newEnvWithRouter(t, nil, opts...)
}

// withModules turns remote modules on, as TOKEN_ENCRYPTION_KEY and
// EXECUTOR_ALLOW_PRIVATE do: an executor that may call the tests' loopback
// servers and a secret box with a random key.
func withModules(t testing.TB) func(*router.Config) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *router.Config) {
		c.Executor = executor.New(executor.Config{AllowPrivate: true, Logger: c.Logger})
		c.Secrets = box
	}
}

// testBox is a secret box with a random key, as TOKEN_ENCRYPTION_KEY makes.
func testBox(t testing.TB) *secret.Box {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// newEnvWithRouter is newEnv with a change to the router's config (nil: none).
func newEnvWithRouter(t testing.TB, routerOpt func(*router.Config), opts ...envOption) *env {
	t.Helper()
	rdb, prefix := dbtest.Redis(t)
	return newEnvOn(t, rdb, prefix, routerOpt, opts...)
}

// newEnvOn is newEnvWithRouter on a Redis client of the caller's.
func newEnvOn(t testing.TB, rdb *redis.Client, prefix string, routerOpt func(*router.Config), opts ...envOption) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	limiter := ratelimit.New(rdb, prefix+"rl:", logger)
	a := auth.New(auth.Config{Pool: pool, Jobs: jobs, Limiter: limiter, Logger: logger, BaseURL: base, Secrets: testBox(t)})
	c := community.New(community.Config{Pool: pool, Jobs: jobs, Auth: a, Logger: logger, BaseURL: base})
	sessions := auth.NewSessionStore(pool, rdb, prefix+"session:", logger)
	ov := overlay.New(overlay.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Logger: logger})
	ids := identity.NewService(identity.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: limiter, Logger: logger})
	rcfg := router.Config{Modules: append(modules.All(), modules.Identity(ids)...), Identities: ids, Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: limiter, Logger: logger, Overlays: ov}
	if routerOpt != nil {
		routerOpt(&rcfg)
	}
	rt := router.New(rcfg)
	settings := router.NewSettings(rt)
	rctx, stop := context.WithCancel(context.Background())
	rdone := make(chan error, 1)
	go func() { rdone <- rt.Run(rctx) }()
	odone := make(chan error, 1)
	go func() { odone <- ov.Run(rctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-rdone; err != nil {
			t.Errorf("router: %v", err)
		}
		if err := <-odone; err != nil {
			t.Errorf("overlays: %v", err)
		}
	})
	select {
	case <-ov.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the overlay service did not subscribe to Redis within 10s")
	}
	flows := workflow.NewService(workflow.ServiceConfig{Pool: pool, Jobs: jobs, Env: &workflow.Env{Pool: pool, Router: rt, Logger: logger},
		Instance: rt.Instance(), Logger: logger})
	schedules := workflow.NewScheduler(workflow.SchedulerConfig{Service: flows, Logger: logger})
	cfg := handlers.Config{
		Auth: a, Communities: c, Router: rt, Settings: settings, Overlays: ov, Audit: audit.Log{Pool: pool},
		Workflows: flows, WorkflowAccess: workflow.NewPermissions(pool), Schedules: schedules, Timers: timers.New(timers.Config{Pool: pool}),
		Licensing: workflow.NewLicensing(workflow.LicensingConfig{Pool: pool, PublicKey: testLicencePublic, Logger: logger}),
		Health:    health.Checker{Primary: pool, Redis: rdb, MailMode: "log", Jobs: jobs},
		Limiter:   limiter, Sessions: sessions, Logger: logger, Registry: prometheus.NewRegistry(),
		BaseURL: base, SessionIdle: 2 * time.Hour, SessionLifetime: 7 * 24 * time.Hour,
		APIRateLimits:     map[string]int{"user": 1000, "trigger": 200, "action": 600},
		MinForgotResponse: time.Millisecond,
		EventSub:          twitch.NewEventSub(platform.NewDeliveries(pool, jobs), logger), // off until EventSubSecret is set
	}
	hooks := workflow.NewWebhooks(workflow.WebhooksConfig{Service: flows, Pool: pool, Secrets: testBox(t), Limiter: limiter, Logger: logger})
	cfg.WorkflowWebhooks = hooks
	cfg.Marketplace = marketplace.New(marketplace.Config{Pool: pool, Box: testBox(t), Settings: settings, BaseURL: base, Logger: logger})
	cfg.Identity = ids
	cfg.Imports = importer.New(importer.Config{Pool: pool, Jobs: jobs, Commands: settings, Logger: logger}) // imports_test.go
	cfg.Groups = labels.NewGroups(labels.GroupsConfig{Pool: pool, Jobs: jobs, Logger: logger})
	cfg.Labels = labels.New(labels.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Roles: cfg.Groups, Logger: logger})
	for _, o := range opts {
		o(&cfg)
	}
	srv.Config.Handler = handlers.New(cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	compose := a.MailComposers()
	maps.Copy(compose, c.MailComposers())
	return &env{t: t, srv: srv, pool: pool, auth: a, comm: c, router: rt, settings: settings, ov: ov, flows: flows, hooks: hooks, outbox: mailtest.NewOutbox(jobs, compose), cfg: cfg, rdb: rdb, prefix: prefix}
}

func (e *env) user(email string, admin bool) auth.User {
	e.t.Helper()
	u, err := e.auth.CreateUser(context.Background(), email, "", testPassword, admin)
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// community creates a community owned by owner (a global admin) with extra members.
func (e *env) community(owner auth.User, slug string, members map[auth.User]community.Role) community.Community {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.comm.Create(ctx, owner, "", slug, community.Settings{Name: "Community " + slug})
	if err != nil {
		e.t.Fatal(err)
	}
	boss := community.Actor{User: owner, Role: community.Owner}
	for u, role := range members {
		res, err := e.comm.Invite(ctx, boss, c, u.Email, community.Member)
		if err != nil || !res.Added {
			e.t.Fatalf("add %s: %v", u.Email, err)
		}
		if role != community.Member {
			if _, err := e.comm.ChangeRole(ctx, boss, c.ID, u.ID, role); err != nil {
				e.t.Fatalf("make %s %s: %v", u.Email, role, err)
			}
		}
	}
	return c
}

// client is a browser-like client with its own cookie jar that does not follow redirects.
type client struct {
	t testing.TB
	e *env
	c *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a client signed in as email.
func (e *env) signedIn(email string) *client {
	e.t.Helper()
	c := e.client()
	res := c.post("/signin", url.Values{"email": {email}, "password": {testPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: status %d: %s", email, res.StatusCode, res.body)
	}
	return c
}

type response struct {
	*http.Response
	body string
}

func (r response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, body: string(b)}
}

func (c *client) get(path string, hdr http.Header) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values, hdr http.Header) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.do(req)
}

// api calls /api/v1 with a bearer key.
func (e *env) api(key, method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/api/v1"+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	for _, k := range []string{"success", "data", "message", "timestamp"} {
		if _, ok := out[k]; !ok {
			e.t.Errorf("%s %s: answer lacks %q: %v", method, path, k, out)
		}
	}
	return res.StatusCode, out
}

func (e *env) apiKey(u auth.User, role string) string {
	e.t.Helper()
	_, secret, err := e.auth.CreateAPIKey(context.Background(), u, "", "test "+role, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// communityKey makes a trigger or action key of community cid, created by u,
// one of its owners or admins (or a global admin).
func (e *env) communityKey(u auth.User, role string, cid int64) string {
	e.t.Helper()
	_, secret, err := e.auth.CreateCommunityAPIKey(context.Background(), u, "", cid, "test "+role, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// count runs a counting query in the test's own database.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// srvRoutes returns the chi routes behind the test server.
func (e *env) srvRoutes() chi.Routes {
	e.t.Helper()
	r, ok := e.srv.Config.Handler.(chi.Routes)
	if !ok {
		e.t.Fatal("the handler is not a chi router")
	}
	return r
}

// row parses an HTMX answer that is a bare table row.
func (r response) row(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tbody>" + r.body + "</tbody></table>"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
