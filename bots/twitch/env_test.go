package twitch

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// env is a router on a fresh database with community "ducks" linked to
// #duckchan, the bot account's token stored, and local Twitch servers.
type env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	rt       *router.Router
	settings *router.Settings
	cid      int64
	tokens   *platform.Tokens
	links    *platform.Links
	irc      *twitchtest.IRC
	api      *twitchtest.API
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := testLogger(t)
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	settings := router.NewSettings(rt)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- rt.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router run: %v", err)
		}
	})
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, rt: rt, settings: settings, cid: c.ID, tokens: platform.NewTokens(pool, box), links: platform.NewLinks(pool),
		irc: twitchtest.StartIRC(t), api: twitchtest.StartAPI(t)}
	e.link("duckchan")
	e.saveToken(platform.BotSubject, platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)})
	return e
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("TWITCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func (e *env) link(channel string) router.Entity {
	e.t.Helper()
	ent, err := e.settings.LinkEntity(context.Background(), audit.Actor{}, e.cid, router.Twitch, channel, channel)
	if err != nil {
		e.t.Fatal(err)
	}
	return ent
}

func (e *env) saveToken(subject string, tok platform.Token) {
	e.t.Helper()
	if err := e.tokens.Save(context.Background(), Platform, subject, tok); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) command(name, response string) {
	e.t.Helper()
	if _, err := e.settings.CreateCommand(context.Background(), audit.Actor{}, e.cid, router.CommandInput{Name: name, Response: response, Permission: router.Everyone, Enabled: true}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) rule(in router.RuleInput) {
	e.t.Helper()
	if _, err := e.settings.CreateRule(context.Background(), audit.Actor{}, e.cid, in); err != nil {
		e.t.Fatal(err)
	}
}

// config is a bot configuration on the env's servers, with fast polling.
func (e *env) config(holder string) Config {
	return Config{
		Router: e.rt, Tokens: e.tokens, Links: e.links, Leases: platform.NewLeases(e.pool, holder, 3*time.Second),
		Status: platform.NewStatus(Platform), OAuth: &OAuth{ClientID: twitchtest.ClientID, ClientSecret: twitchtest.ClientSecret, AuthURL: e.api.AuthURL(), APIURL: e.api.HelixURL()},
		BotLogin: "duckbot", IRCAddr: e.irc.Addr(),
		Logger: testLogger(e.t), SyncEvery: 100 * time.Millisecond, DrainTimeout: time.Second, LeaseTTL: 3 * time.Second,
	}
}

// running is a bot started by start.
type running struct {
	*Bot
	cfg  Config
	stop func() // cancels Run and waits for it
}

// start runs a bot until stop or the end of the test.
func (e *env) start(cfg Config) *running {
	e.t.Helper()
	b, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.run(b)
}

// run runs a bot made by New until stop or the end of the test.
func (e *env) run(b *Bot) *running {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("bot run: %v", err)
				}
			case <-time.After(20 * time.Second):
				pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
				e.t.Errorf("bot did not stop within 20 s")
			}
		})
	}
	e.t.Cleanup(stop)
	return &running{Bot: b, cfg: b.cfg, stop: stop}
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
