package router_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// lockedBuffer is a log destination for a logger used from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A remote module that the SSRF guard refuses is logged as a warning naming
// the community and the module, besides its row in the execution log.
func TestRemoteModuleRefusedByGuardIsLogged(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	k := make([]byte, 32)
	rand.Read(k)
	box, err := secret.New(base64.StdEncoding.EncodeToString(k))
	if err != nil {
		t.Fatal(err)
	}
	r := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger,
		Executor: executor.New(executor.Config{AllowPrivate: false, Logger: logger}), Secrets: box})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	s := router.NewSettings(r)
	t.Cleanup(func() { cancel(); <-done })
	c, err := db.New(pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkEntity(context.Background(), audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, rdb: rdb, prefix: prefix, r: r, s: s, cid: c.ID}

	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the guard let a call to loopback through") }))
	defer srv.Close()
	mod, err := s.CreateModule(context.Background(), audit.Actor{}, c.ID, router.ModuleInput{Name: "local", Kind: "webhook", URL: srv.URL + "/hook?token=hook-token", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := replies(e.say("alice", nil, "#local")); got != "@alice the module's address is not allowed (private network)." {
		t.Fatalf("#local = %q", got)
	}

	var warning map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "remote module refused by the address guard" {
			warning = rec
		}
	}
	if warning == nil {
		t.Fatalf("no warning about the refused module in the log:\n%s", logs.String())
	}
	if warning["level"] != "WARN" || warning["community"] != float64(c.ID) || warning["module"] != "local" || warning["module_id"] != float64(mod.ID) ||
		!strings.Contains(warning["err"].(string), "127.0.0.1") {
		t.Errorf("warning %v, want level WARN, community %d, module local (id %d) and the refused address", warning, c.ID, mod.ID)
	}
	if strings.Contains(logs.String(), "hook-token") {
		t.Error("the log holds the module URL's query, which may be a credential")
	}

	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex, err := s.Executions(context.Background(), c.ID, router.ExecutionFilter{Command: "#local"})
	if err != nil || len(ex) != 1 || ex[0].Outcome != "error" || !strings.Contains(ex[0].Error, "not allowed") {
		t.Errorf("execution log = %+v, %v; want one error naming the refused address", ex, err)
	}
}
