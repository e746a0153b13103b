package marketplace_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// installEnv is a community with two router instances on one database and
// Redis, and the marketplace service registering commands through the first.
type installEnv struct {
	t      testing.TB
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	box    *secret.Box
	r1, r2 *router.Router
	st     *router.Settings
	svc    *marketplace.Service
	cid    int64
	admin  audit.Actor
}

func newInstallEnv(t testing.TB) *installEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	k := make([]byte, 32)
	rand.Read(k)
	box, err := secret.New(base64.StdEncoding.EncodeToString(k))
	if err != nil {
		t.Fatal(err)
	}
	e := &installEnv{t: t, pool: pool, rdb: rdb, prefix: prefix, box: box}
	e.r1, e.r2 = e.newRouter(), e.newRouter()
	e.st = router.NewSettings(e.r1)
	e.svc = marketplace.New(marketplace.Config{Pool: pool, Box: box, Settings: e.st})
	ctx := context.Background()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e.cid = c.ID
	if _, err := e.st.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	e.admin = audit.Actor{Name: "test admin"}
	return e
}

func (e *installEnv) newRouter() *router.Router {
	e.t.Helper()
	logger := slog.New(slog.DiscardHandler)
	r := router.New(router.Config{Modules: modules.All(), Pool: e.pool, Redis: e.rdb, RedisPrefix: e.prefix,
		Limiter: ratelimit.New(e.rdb, e.prefix, logger), Logger: logger,
		Executor: executor.New(executor.Config{AllowPrivate: true, Logger: logger, Retries: -1}), Secrets: e.box})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return r
}

var seq atomic.Int64

// say sends a chat message to r from a Twitch viewer of the linked channel.
func (e *installEnv) say(r *router.Router, text string) router.Result {
	e.t.Helper()
	return e.sayAs(r, router.User{ID: "viewer-1", Name: "viewer"}, text)
}

// sayAs is say from another chat user (each user has their own command limits).
func (e *installEnv) sayAs(r *router.Router, u router.User, text string) router.Result {
	e.t.Helper()
	n := seq.Add(1)
	ev := router.Event{ID: fmt.Sprintf("m-%d", n), Platform: router.Twitch, Server: "duckchan", Kind: router.ChatMessage,
		User: u, Text: text}
	if err := ev.Validate(); err != nil {
		e.t.Fatal(err)
	}
	res, err := r.Handle(context.Background(), ev, router.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func replies(res router.Result) string {
	var out []string
	for _, r := range res.Responses {
		if r.Reply != "" {
			out = append(out, r.Reply)
		}
	}
	return strings.Join(out, " | ")
}

// waitFor polls cond until it holds; invalidation reaches the other
// instance through Redis pub/sub.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mustModule stores a module as publishing would (until the catalogue's
// publishing lands): its row, with a sealed signing secret, and its versions.
func (e *installEnv) mustModule(slug, price string, signing string, versions ...marketplace.Manifest) int64 {
	e.t.Helper()
	ctx := context.Background()
	var sealed []byte
	if signing != "" {
		var err error
		if sealed, err = e.box.Seal([]byte(signing)); err != nil {
			e.t.Fatal(err)
		}
	}
	cents := 0
	if price != marketplace.PriceFree {
		cents = 500
	}
	var id int64
	err := e.pool.QueryRow(ctx, `INSERT INTO marketplace_modules (slug, name, summary, author_name, price_kind, price_cents, signing_secret_sealed)
		VALUES ($1, $1, 'a test module', 'tester', $2, $3, $4) RETURNING id`, slug, price, cents, sealed).Scan(&id)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range versions {
		e.mustVersion(id, m)
	}
	return id
}

func (e *installEnv) mustVersion(moduleID int64, m marketplace.Manifest) {
	e.t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	core, pre, _ := strings.Cut(m.Version, "-")
	parts := strings.Split(core, ".")
	nums := make([]int, 3)
	for i := range nums {
		nums[i], _ = strconv.Atoi(parts[i])
	}
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO marketplace_versions (module_id, version, major, minor, patch, prerelease, manifest, capabilities)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, moduleID, m.Version, nums[0], nums[1], nums[2], pre, raw, caps); err != nil {
		e.t.Fatal(err)
	}
}

// manifest is a webhook module's version with the given commands ("name" or "name:alias").
func installManifest(slug, version, url string, caps []marketplace.Capability, cmds ...string) marketplace.Manifest {
	m := marketplace.Manifest{Slug: slug, Name: slug, Summary: "test", Price: marketplace.Price{Kind: marketplace.PriceFree},
		Version: version, Executor: marketplace.Executor{Kind: marketplace.ExecWebhook, URL: url, TimeoutMS: 3000}, Capabilities: caps}
	for _, c := range cmds {
		name, alias, _ := strings.Cut(c, ":")
		spec := marketplace.CommandSpec{Name: name}
		if alias != "" {
			spec.Aliases = []string{alias}
		}
		m.Commands = append(m.Commands, spec)
	}
	return m
}

// moduleServer is a remote module speaking the module protocol: it checks
// Waddle's signature and answers what answer returns for each request.
type moduleServer struct {
	*httptest.Server
	last atomic.Pointer[router.RemoteRequest]
}

func newModuleServer(t testing.TB, signing string, answer func(router.RemoteRequest) router.RemoteAnswer) *moduleServer {
	t.Helper()
	ms := &moduleServer{}
	ms.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := executor.VerifySignature(signing, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var req router.RemoteRequest
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ms.last.Store(&req)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer(req))
	}))
	t.Cleanup(ms.Close)
	return ms
}

// echo answers "<command> v<version>" in chat.
func echo(req router.RemoteRequest) router.RemoteAnswer {
	return router.RemoteAnswer{Reply: req.Command + " v" + req.ModuleVersion}
}

func caps(cs ...marketplace.Capability) []marketplace.Capability { return cs }
