package router_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// sneaky is a test module that declares no service and then uses quotes.
type sneaky struct{}

func (sneaky) Declaration() router.Declaration {
	return router.Declaration{Name: "sneaky", Usage: "tries quotes", Permission: router.Everyone}
}

func (sneaky) Run(ctx context.Context, c *router.Call) ([]router.Response, error) {
	q, err := c.Quotes().Random(ctx)
	if err != nil {
		return nil, err
	}
	return router.Reply("%s", q.Text), nil
}

// echo is a test module that declares nothing and needs nothing.
type echo struct{}

func (echo) Declaration() router.Declaration {
	return router.Declaration{Name: "echo", Usage: "<text>", Permission: router.Moderator}
}

func (echo) Run(_ context.Context, c *router.Call) ([]router.Response, error) {
	return router.Reply("%s", c.Inv.Raw), nil
}

// newModulesEnv is newEnv with the given built-in modules registered.
func newModulesEnv(t *testing.T, mods []router.Module) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	r := router.New(router.Config{Modules: mods, Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{t: t, pool: pool, rdb: rdb, prefix: prefix, r: r, s: router.NewSettings(r)}
	c, err := db.New(pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e.cid = c.ID
	if _, err := e.s.LinkEntity(context.Background(), audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestModulesAreRegisteredExplicitly: the engine runs the modules it was
// given, lists them, reserves their names, and knows no others.
func TestModulesAreRegisteredExplicitly(t *testing.T) {
	t.Parallel()
	e := newModulesEnv(t, append(modules.All(), echo{}))
	ctx := context.Background()
	if got := replies(e.say("mo", []string{"moderator"}, "!echo quack quack")); got != "quack quack" {
		t.Errorf("!echo → %q, want quack quack", got)
	}
	if got := replies(e.say("viewer", nil, "!echo quack")); got != "" {
		t.Errorf("!echo by a viewer → %q, want nothing (moderators only)", got)
	}
	if got := replies(e.say("mo", []string{"moderator"}, "!help")); !strings.Contains(got, "!echo") || !strings.Contains(got, "!quote") {
		t.Errorf("!help → %q, want !echo and the built-ins listed", got)
	}
	var names []string
	for _, d := range e.s.Builtins() {
		names = append(names, d.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "help points leaderboard quote so give commands alias counter echo") {
		t.Errorf("Builtins = %v", names)
	}
	if _, err := e.s.CreateCommand(ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "echo", Response: "x", Permission: router.Everyone}); err == nil {
		t.Error("a command took the name of a registered module")
	}

	bare := newModulesEnv(t, nil)
	if got := replies(bare.say("mo", []string{"moderator"}, "!help")); got != "" {
		t.Errorf("!help on an engine without modules → %q, want nothing", got)
	}
	if _, err := bare.s.CreateCommand(ctx, audit.Actor{}, bare.cid, router.CommandInput{Name: "help", Response: "ask a duck", Permission: router.Everyone}); err != nil {
		t.Errorf("without the help module, !help is a free name: %v", err)
	}
}

// TestModuleServiceMustBeDeclared: a module that uses a service it did not
// declare fails, and the event with it.
func TestModuleServiceMustBeDeclared(t *testing.T) {
	t.Parallel()
	e := newModulesEnv(t, []router.Module{sneaky{}})
	ev := router.Event{ID: "s1", Platform: router.Twitch, Server: "duckchan", Channel: "c1", Kind: router.ChatMessage,
		User: router.User{ID: "id-x", Name: "x"}, Text: "!sneaky"}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := e.r.Handle(context.Background(), ev, router.Options{})
	if err == nil || !strings.Contains(err.Error(), "module sneaky used the quotes service without declaring it") {
		t.Errorf("Handle: %v, want the undeclared service refused", err)
	}
}
