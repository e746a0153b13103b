package router_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// newRemoteEnv is newEnv with remote modules on; allowPrivate is the
// operator's setting that lets modules on this machine's loopback be called.
func newRemoteEnv(t *testing.T, allowPrivate bool) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	k := make([]byte, 32)
	rand.Read(k)
	box, err := secret.New(base64.StdEncoding.EncodeToString(k))
	if err != nil {
		t.Fatal(err)
	}
	r := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger,
		Executor: executor.New(executor.Config{AllowPrivate: allowPrivate, Logger: logger}), Secrets: box})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s := router.NewSettings(r)
	e := &env{t: t, pool: pool, rdb: rdb, prefix: prefix, r: r, s: s}
	c, err := db.New(pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e.cid = c.ID
	if _, err := s.LinkEntity(context.Background(), audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRemoteWebhookModule(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, true)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if err := executor.VerifySignature("hook-secret", r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var req router.RemoteRequest
		json.Unmarshal(body, &req)
		json.NewEncoder(w).Encode(router.RemoteAnswer{Reply: "weather in " + strings.Join(req.Args, " ") + " for " + req.Event.User.Name + ": sunny"})
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := e.s.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: "weather", Kind: "webhook", URL: srv.URL, Secret: "hook-secret"}); err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	e.pool.QueryRow(ctx, "SELECT secret_sealed FROM community_modules").Scan(&sealed)
	if len(sealed) == 0 || strings.Contains(string(sealed), "hook-secret") {
		t.Error("the webhook secret is not sealed at rest")
	}
	if got := replies(e.say("alice", nil, `#weather "new york"`)); got != "weather in new york for alice: sunny" {
		t.Errorf("#weather = %q", got)
	}
	// A dry run shows the request and sends nothing.
	before := calls.Load()
	res, err := e.r.Simulate(ctx, audit.Actor{}, e.cid, router.Event{ID: "d", Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: "bob"}, Text: "#weather paris"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != before || len(res.Changes) == 0 || !strings.Contains(res.Changes[0], "would send POST "+srv.URL) {
		t.Errorf("dry run: calls %d→%d, changes %v", before, calls.Load(), res.Changes)
	}
	// A module that fails answers with a short message, never internals.
	bad, _ := e.s.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: "broken", Kind: "webhook", URL: srv.URL, Secret: "wrong-secret"})
	if got := replies(e.say("alice", nil, "#broken")); got != "@alice the module failed." {
		t.Errorf("#broken = %q", got)
	}
	if err := e.s.DeleteModule(ctx, audit.Actor{}, e.cid, bad.ID); err != nil {
		t.Fatal(err)
	}
	if got := replies(e.say("alice", nil, "#broken")); got != "" {
		t.Errorf("deleted module still answers %q", got)
	}
}

func TestRemoteModuleBlockedAddress(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, false)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	if _, err := e.s.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "local", Kind: "webhook", URL: srv.URL, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	if got := replies(e.say("alice", nil, "#local")); got != "@alice the module's address is not allowed (private network)." || calls.Load() != 0 {
		t.Errorf("#local = %q, %d calls", got, calls.Load())
	}
	for _, bad := range []router.ModuleInput{
		{Name: "x", Kind: "ftp", URL: "ftp://example.com"},
		{Name: "bad name!", Kind: "webhook", URL: "https://example.com", Secret: "s"},
		{Name: "y", Kind: "webhook", URL: "not a url", Secret: "s"},
	} {
		if _, err := e.s.CreateModule(context.Background(), audit.Actor{}, e.cid, bad); err == nil {
			t.Errorf("module %+v accepted", bad)
		}
	}
}

func TestModulePipelines(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, true)
	ctx := context.Background()
	// #shout upper-cases the previous module's reply; #slow answers after a delay.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req router.RemoteRequest
		json.NewDecoder(r.Body).Decode(&req)
		switch req.Module {
		case "shout":
			prev := "nothing"
			if len(req.Previous) > 0 {
				prev = req.Previous[0].Reply
			}
			json.NewEncoder(w).Encode(router.RemoteAnswer{Reply: strings.ToUpper(prev)})
		case "slow":
			time.Sleep(150 * time.Millisecond)
			json.NewEncoder(w).Encode(router.RemoteAnswer{Reply: "slow done"})
		case "fast":
			json.NewEncoder(w).Encode(router.RemoteAnswer{Reply: "fast done"})
		}
	}))
	defer srv.Close()
	for _, name := range []string{"shout", "slow", "fast"} {
		if _, err := e.s.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: name, Kind: "webhook", URL: srv.URL, Secret: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	e.command(router.CommandInput{Name: "loudpoints", Modules: []string{"points", "#shout"}})
	e.command(router.CommandInput{Name: "both", Modules: []string{"#slow", "#fast"}, Parallel: true})
	if got := replies(e.say("alice", nil, "!loudpoints")); got != "@ALICE YOU HAVE 0 POINTS." {
		t.Errorf("sequence: %q", got)
	}
	start := time.Now()
	if got := replies(e.say("bob", nil, "!both")); got != "slow done | fast done" {
		t.Errorf("parallel: %q, want the answers in the command's order", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("parallel modules took %s", d)
	}
	if _, err := e.s.CreateCommand(ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "bad", Modules: []string{"nosuch"}, Permission: router.Everyone}); err == nil {
		t.Error("a command with an unknown built-in module was saved")
	}
}
