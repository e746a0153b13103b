package router_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

// newInstance is one more running router on the test's database, delivering
// overlay updates through ov.
func newInstance(t *testing.T, pool *pgxpool.Pool, rdb *redis.Client, prefix string, ov *overlay.Service) *router.Router {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	r := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, Overlays: ov})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router run: %v", err)
		}
	})
	return r
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// The same event id delivered 50 times at once, to two instances on one
// database, through Handle and HandleBatch: one delivery handles it (one
// ledger row, one overlay alert), the 49 others get its answer, marked duplicate.
func TestConcurrentDeliveriesAreHandledOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ov := overlay.New(overlay.Config{Pool: e.pool, Logger: slog.New(slog.DiscardHandler)})
	src, _, err := ov.Create(ctx, audit.Actor{}, e.cid, overlay.Alerts, "Alerts")
	if err != nil {
		t.Fatal(err)
	}
	instances := []*router.Router{newInstance(t, e.pool, e.rdb, e.prefix, ov), newInstance(t, e.pool, e.rdb, e.prefix, ov)}

	const ids, deliveries = 8, 50
	answers := make([][]router.Result, ids)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range ids {
		ev := router.Event{ID: fmt.Sprintf("follow-%d", i), Platform: router.Twitch, Server: "duckchan", Kind: router.Follow,
			User: router.User{ID: fmt.Sprintf("fan-%d", i), Name: fmt.Sprintf("fan%d", i)}}
		if err := ev.Validate(); err != nil {
			t.Fatal(err)
		}
		for d := range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := instances[d%2]
				var res router.Result
				var err error
				if d%3 == 0 { // some deliveries come in batches, next to other events
					other := router.Event{ID: fmt.Sprintf("chat-%d-%d", i, d), Platform: router.Twitch, Server: "duckchan", Kind: router.ChatMessage,
						User: router.User{ID: fmt.Sprintf("chatter-%d-%d", i, d), Name: "chatter"}, Text: "hello"}
					other.Validate()
					items := r.HandleBatch(ctx, []router.Event{other, ev}, 4)
					res, err = items[1].Result, items[1].Err
				} else {
					res, err = r.Handle(ctx, ev, router.Options{Dedup: true})
				}
				if err != nil {
					t.Errorf("delivery %d of %s: %v", d, ev.ID, err)
					return
				}
				mu.Lock()
				answers[i] = append(answers[i], res)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()

	for i, as := range answers {
		firsts := 0
		var first router.Result
		for _, a := range as {
			if !a.Duplicate {
				firsts++
				first = a
			}
		}
		if len(as) != deliveries || firsts != 1 {
			t.Fatalf("follow-%d: %d answers, %d of them not duplicates; want %d and 1", i, len(as), firsts, deliveries)
		}
		for _, a := range as {
			if diff := cmp.Diff(asSent(t, first), asSent(t, a)); diff != "" {
				t.Errorf("follow-%d: a duplicate's answer differs from the first (-first +duplicate):\n%s", i, diff)
				break
			}
		}
		if len(first.Points) != 1 || first.Points[0].Delta != 10 || first.Points[0].Balance != 10 {
			t.Errorf("follow-%d: points %+v, want +10 to a balance of 10", i, first.Points)
		}
		if n := e.count("SELECT count(*) FROM points_ledger WHERE user_id = $1", fmt.Sprintf("fan-%d", i)); n != 1 {
			t.Errorf("follow-%d: %d ledger rows, want 1", i, n)
		}
		if n := e.count("SELECT coalesce(sum(balance), 0) FROM points_balances WHERE user_id = $1", fmt.Sprintf("fan-%d", i)); n != 10 {
			t.Errorf("follow-%d: balance %d, want 10", i, n)
		}
	}
	updates, err := ov.Since(ctx, src.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	alerts := map[string]int{}
	for _, u := range updates {
		if u.Type == "alert" {
			alerts[u.User]++
		}
	}
	for i := range ids {
		if n := alerts[fmt.Sprintf("fan%d", i)]; n != 1 {
			t.Errorf("fan%d: %d overlay alerts, want 1", i, n)
		}
	}
	if n := e.count("SELECT count(*) FROM processed_events WHERE result IS NULL"); n != 0 {
		t.Errorf("%d claims left without an answer", n)
	}
}

// A claim left by an instance that died (its lock gone) is taken over by a
// retry, which handles the event once.
func TestDeadInstanceClaimIsTakenOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// No instance holds the lock of 4242: it died mid-event.
	if _, err := e.pool.Exec(ctx, "INSERT INTO processed_events (community_id, event_id, result, claimed_by) VALUES ($1, 'raid-1', NULL, 4242)", e.cid); err != nil {
		t.Fatal(err)
	}
	ev := router.Event{ID: "raid-1", Kind: router.Raid, User: router.User{ID: "id-raider", Name: "raider"}, Data: map[string]any{"viewers": 12.0}}
	res := e.event(ev)
	if res.Duplicate || len(res.Points) != 1 {
		t.Fatalf("retry of a dead instance's event: %+v, want it handled", res)
	}
	again := e.event(ev)
	if !again.Duplicate || !cmp.Equal(again.Points, res.Points) {
		t.Errorf("second retry: %+v, want the first answer again", again)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE user_id = 'id-raider'"); n != 1 {
		t.Errorf("%d ledger rows, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM processed_events WHERE event_id = 'raid-1' AND result IS NOT NULL AND claimed_by <> 4242"); n != 1 {
		t.Errorf("the answer of raid-1 is not stored by the instance that took it over")
	}
}

// An event id is answered only within the community that sent it: the same
// id from another community's server is its own event.
func TestDeduplicationIsPerCommunity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	other := e.otherCommunity("geese", "goosechan")
	ev := router.Event{ID: "same-id", Platform: router.Twitch, Server: "duckchan", Kind: router.Follow, User: router.User{ID: "id-x", Name: "x"}}
	ev.Validate()
	first, err := e.r.Handle(ctx, ev, router.Options{Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	ev.Server = "goosechan"
	second, err := e.r.Handle(ctx, ev, router.Options{Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || second.Duplicate {
		t.Errorf("the same id in two communities: duplicate %v and %v, want both handled", first.Duplicate, second.Duplicate)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE community_id = $1", other); n != 1 {
		t.Errorf("%d ledger rows in the second community, want 1", n)
	}
}

// asSent is an answer as a client reads it (JSON), less what differs between
// deliveries by design: the duplicate mark, the time taken, the changes made.
func asSent(t *testing.T, res router.Result) any {
	t.Helper()
	res.Duplicate, res.Duration, res.Changes = false, 0, nil
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) otherCommunity(slug, server string) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	if err := e.pool.QueryRow(ctx, "INSERT INTO communities (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.s.LinkEntity(ctx, audit.Actor{}, id, router.Twitch, server, ""); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// A command's execution-log row is stored when its event is answered, with
// no flush of the batched writer: an acknowledged command survives a crash.
func TestExecutionLogRowsAreStoredWithTheAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "hi", Response: "hi {user}"})
	e.command(router.CommandInput{Name: "tick", Response: "{count}"})
	e.say("alice", nil, "!hi") // alice's chat points: an effect, so the event has its own transaction
	e.say("alice", nil, "!hi there")
	e.say("bob", nil, "!tick")
	items := e.r.HandleBatch(ctx, []router.Event{
		chat("b1", "carol", "!hi"), chat("b2", "dave", "!tick"), chat("b3", "erin", "not a command"),
	}, 4)
	for _, it := range items {
		if it.Err != nil {
			t.Fatal(it.Err)
		}
	}
	if n := e.count("SELECT count(*) FROM command_executions WHERE outcome = 'ok'"); n != 5 {
		t.Errorf("%d execution-log rows right after the answers, want 5", n)
	}
	if n := e.count("SELECT counter FROM commands WHERE name = 'tick'"); n != 2 {
		t.Errorf("counter %d, want 2", n)
	}
}

func chat(id, user, text string) router.Event {
	ev := router.Event{ID: id, Platform: router.Twitch, Server: "duckchan", Channel: "c1", Kind: router.ChatMessage,
		User: router.User{ID: "id-" + user, Name: user}, Text: text}
	ev.Validate()
	return ev
}

// Points never wrap: a !give or an award that would take a balance past
// 2^53 − 1 is refused with a message, and nothing changes.
func TestPointsRefuseToOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	near := int64(router.MaxBalance - 5)
	if _, err := e.s.AddPoints(ctx, e.cid, router.Twitch, "id-rich", "rich", near, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AddPoints(ctx, e.cid, router.Twitch, "id-rich", "rich", 10, "test"); err != router.ErrBalanceLimit {
		t.Errorf("AddPoints past the limit: %v, want ErrBalanceLimit", err)
	}
	if _, err := e.s.AddPoints(ctx, e.cid, router.Twitch, "id-new", "new", router.MaxBalance+1, "test"); err != router.ErrBalanceLimit {
		t.Errorf("AddPoints of more than the limit to a new user: %v, want ErrBalanceLimit", err)
	}
	got := replies(e.say("mo", []string{"moderator"}, "!give rich 1000000"))
	if !strings.Contains(got, "past 9007199254740991 points; nothing was changed") {
		t.Errorf("!give past the limit = %q, want a refusal", got)
	}
	// A follow earns 10 points: more than the balance may still take.
	res := e.event(router.Event{Kind: router.Follow, User: router.User{ID: "id-rich", Name: "rich"}})
	if len(res.Points) != 0 || !strings.Contains(res.HandledBy, "not awarded") {
		t.Errorf("follow at the limit: points %+v, handled by %q; want no award and a note", res.Points, res.HandledBy)
	}
	// The same through a batch, whose awards are written together.
	items := e.r.HandleBatch(ctx, []router.Event{
		{ID: "f2", Platform: router.Twitch, Server: "duckchan", Kind: router.Follow, User: router.User{ID: "id-rich", Name: "rich"}, Time: time.Now()},
		{ID: "f3", Platform: router.Twitch, Server: "duckchan", Kind: router.Follow, User: router.User{ID: "id-poor", Name: "poor"}, Time: time.Now()},
	}, 2)
	if items[0].Err != nil || len(items[0].Result.Points) != 0 || items[1].Err != nil || len(items[1].Result.Points) != 1 {
		t.Errorf("batch: %+v, want no award for rich and 10 points for poor", items)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE user_id = 'id-rich'"); n != 1 {
		t.Errorf("%d ledger rows for rich, want only the first", n)
	}
	var bal int64
	e.pool.QueryRow(ctx, "SELECT balance FROM points_balances WHERE user_id = 'id-rich'").Scan(&bal)
	if bal != near {
		t.Errorf("balance %d, want %d unchanged", bal, near)
	}
}

// An event that fails leaves nothing behind, its claim included: a retry
// handles it.
func TestFailedEventGivesItsClaimUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "tick", Response: "{count}"})
	e.say("warm", nil, "!help") // the community's commands are cached
	// The command goes behind the cache's back: incrementing its counter fails.
	if _, err := e.pool.Exec(ctx, "DELETE FROM commands WHERE name = 'tick'"); err != nil {
		t.Fatal(err)
	}
	ev := chat("fails-once", "ann", "!tick")
	if _, err := e.r.Handle(ctx, ev, router.Options{Dedup: true}); err == nil {
		t.Fatal("the event did not fail")
	}
	if n := e.count("SELECT count(*) FROM processed_events WHERE event_id = 'fails-once'"); n != 0 {
		t.Errorf("the failed event left %d rows in processed_events", n)
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE user_id = 'id-ann'"); n != 0 {
		t.Errorf("the failed event left %d ledger rows", n)
	}
	e.command(router.CommandInput{Name: "tick", Response: "{count}"})
	res, err := e.r.Handle(ctx, ev, router.Options{Dedup: true})
	if err != nil || res.Duplicate || replies(res) != "1" || len(res.Points) != 1 {
		t.Errorf("retry: %+v, %v; want it handled: count 1 and chat points", res, err)
	}
}
