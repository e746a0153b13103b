package workflow

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// sentLog is a test Sender standing in for the bots' send queues: it keeps
// what the router hands it.
type sentLog struct {
	mu   sync.Mutex
	sent []router.Message
	cids []int64
}

func (s *sentLog) Send(_ context.Context, communityID int64, m router.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	s.cids = append(s.cids, communityID)
	return nil
}

func (s *sentLog) all() []router.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]router.Message(nil), s.sent...)
}

// actionEnv is a real router and overlay service on the test database, with
// a community ("ducks") that linked Twitch channel duckchan and Discord guild
// g1, and another community ("geese") that linked Twitch channel goosechan.
type actionEnv struct {
	pool  *pgxpool.Pool
	r     *router.Router
	s     *router.Settings
	ov    *overlay.Service
	sent  *sentLog
	cid   int64
	other int64
	http  *http.Client
}

func newActionEnv(t *testing.T) *actionEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	e := &actionEnv{pool: pool, sent: &sentLog{}, ov: overlay.New(overlay.Config{Pool: pool, Logger: logger}),
		http: executor.NewHTTPClient(false)}
	e.r = router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix,
		Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, Sender: e.sent, Overlays: e.ov})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.s = router.NewSettings(e.r)
	e.cid = mustCommunity(t, e, "ducks", router.Twitch, "DuckChan")
	e.other = mustCommunity(t, e, "geese", router.Twitch, "GooseChan")
	if _, err := e.s.LinkEntity(context.Background(), audit.Actor{}, e.cid, router.Discord, "g1", "Duck guild"); err != nil {
		t.Fatal(err)
	}
	return e
}

func mustCommunity(t *testing.T, e *actionEnv, slug, platform, server string) int64 {
	t.Helper()
	c, err := db.New(e.pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LinkEntity(context.Background(), audit.Actor{}, c.ID, platform, server, server); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// run decodes and checks a node's configuration, then runs it as node
// nodeID of run 77 in the env's community.
func (e *actionEnv) run(t *testing.T, typ, nodeID, raw string, scope map[string]any, dry bool) (Result, *Exec, error) {
	t.Helper()
	k, cfg := mustConfig(t, typ, raw)
	env := &Env{Pool: e.pool, Router: e.r, Overlays: Overlays{Service: e.ov}, HTTP: e.http, Logger: slog.New(slog.DiscardHandler)}
	x := &Exec{Run: RunInfo{CommunityID: e.cid, WorkflowID: 1, RunID: 77, Version: 1, DryRun: dry},
		Node: &Node{ID: nodeID, Type: typ}, Scope: scope, Env: env}
	res, err := k.Run(context.Background(), x, cfg)
	return res, x, err
}

// checkIssues decodes a configuration and returns Check's errors.
func checkIssues(t *testing.T, typ, raw string) []Issue {
	t.Helper()
	k, ok := KindOf(typ)
	if !ok {
		t.Fatalf("node type %s is not registered", typ)
	}
	cfg, err := DecodeConfig(k, json.RawMessage(raw))
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	c := &Checker{node: "n1"}
	cfg.Check(c)
	return c.errors
}

type badConfig struct {
	name, raw, field string
}

// testBadConfigs checks that each bad configuration is refused with an
// error on its field (and on no field of a good one).
func testBadConfigs(t *testing.T, typ string, cases []badConfig) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			issues := checkIssues(t, typ, tc.raw)
			var fields []string
			for _, is := range issues {
				fields = append(fields, is.Field)
				if is.Field == tc.field && is.Node == "n1" && is.Message != "" {
					return
				}
			}
			t.Errorf("%s: errors on %v, want one on %q", tc.raw, fields, tc.field)
		})
	}
}

func chatTriggerScope() map[string]any {
	return map[string]any{"trigger": map[string]any{"platform": "twitch", "server": "duckchan", "channel": "c1",
		"user_id": "u1", "user_name": "ann"}}
}

func outputOf(t *testing.T, res Result) map[string]any {
	t.Helper()
	m, ok := res.Output.(map[string]any)
	if !ok {
		t.Fatalf("output %#v is not an object", res.Output)
	}
	return m
}

func hasNote(x *Exec, part string) bool {
	for _, n := range x.Notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}
