package router_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
)

type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	r      *router.Router
	s      *router.Settings
	cid    int64
}

func newRouter(t *testing.T, pool *pgxpool.Pool, rdb *redis.Client, prefix string) *router.Router {
	return newRouterTB(t, pool, rdb, prefix)
}

func newRouterTB(t testing.TB, pool *pgxpool.Pool, rdb *redis.Client, prefix string, limits ...router.Limits) *router.Router {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	cfg := router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger}
	if len(limits) > 0 {
		cfg.Limits = limits[0]
	}
	r := router.New(cfg)
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

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	e := &env{t: t, pool: pool, rdb: rdb, prefix: prefix, r: newRouter(t, pool, rdb, prefix)}
	c, err := db.New(pool).CommunityCreate(context.Background(), db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	e.s = router.NewSettings(e.r)
	e.cid = c.ID
	if _, err := e.s.LinkEntity(context.Background(), audit.Actor{}, c.ID, router.Twitch, "DuckChan", "Duck channel"); err != nil {
		t.Fatal(err)
	}
	return e
}

var seq atomic.Int64

// say sends a chat message from a Twitch user of the linked channel.
func (e *env) say(user string, roles []string, text string) router.Result {
	e.t.Helper()
	return e.event(router.Event{Kind: router.ChatMessage, User: router.User{ID: "id-" + user, Name: user, Roles: roles}, Text: text})
}

func (e *env) event(ev router.Event) router.Result {
	e.t.Helper()
	n := seq.Add(1)
	if ev.ID == "" {
		ev.ID = fmt.Sprintf("ev-%d", n)
	}
	if ev.Platform == "" {
		ev.Platform, ev.Server, ev.Channel = router.Twitch, "duckchan", "c1"
	}
	if err := ev.Validate(); err != nil {
		e.t.Fatalf("event: %v", err)
	}
	res, err := e.r.Handle(context.Background(), ev, router.Options{Dedup: true})
	if err != nil {
		e.t.Fatalf("handle %q: %v", ev.Text, err)
	}
	return res
}

func replies(res router.Result) string {
	var out []string
	for _, r := range res.Responses {
		out = append(out, r.Reply)
	}
	return strings.Join(out, " | ")
}

func (e *env) command(in router.CommandInput) *router.Command {
	e.t.Helper()
	if in.Permission == "" {
		in.Permission = router.Everyone
	}
	in.Enabled = true
	c, err := e.s.CreateCommand(context.Background(), audit.Actor{}, e.cid, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestTextCommandsAndVariables(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "hug", Response: "{user} hugs {touser} (hug #{count})"})
	if got := replies(e.say("alice", nil, "!hug @bob")); got != "alice hugs bob (hug #1)" {
		t.Errorf("first hug: %q", got)
	}
	if got := replies(e.say("carol", nil, "!HUG")); got != "carol hugs carol (hug #2)" {
		t.Errorf("second hug: %q", got)
	}
	if got := replies(e.say("dave", nil, "hug bob")); got != "" {
		t.Errorf("a message without the prefix answered %q", got)
	}
	if got := replies(e.say("dave", nil, "!nosuch")); got != "" {
		t.Errorf("an unknown command answered %q", got)
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range router.Permissions {
		e.command(router.CommandInput{Name: "only_" + p, Response: "ok " + p, Permission: p})
	}
	cases := []struct {
		roles []string
		may   []string
	}{
		{nil, []string{"everyone"}},
		{[]string{"subscriber"}, []string{"everyone", "subscriber"}},
		{[]string{"vip"}, []string{"everyone", "subscriber", "vip"}},
		{[]string{"moderator"}, []string{"everyone", "subscriber", "vip", "moderator"}},
		{[]string{"broadcaster"}, []string{"everyone", "subscriber", "vip", "moderator", "broadcaster"}},
	}
	for i, c := range cases {
		for _, p := range router.Permissions {
			got := replies(e.say(fmt.Sprintf("user%d", i), c.roles, "!only_"+p))
			want := strings.Contains(" "+strings.Join(c.may, " ")+" ", " "+p+" ")
			if (got == "ok "+p) != want {
				t.Errorf("roles %v, command for %s: reply %q, allowed want %v", c.roles, p, got, want)
			}
		}
	}
}

func TestCooldownsAndSlowDownNotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "lurk", Response: "{user} lurks", UserCooldown: 60})
	if got := replies(e.say("alice", nil, "!lurk")); got != "alice lurks" {
		t.Fatalf("first: %q", got)
	}
	if got := replies(e.say("alice", nil, "!lurk")); !strings.Contains(got, "slow down") {
		t.Errorf("second within the cooldown: %q, want a slow-down notice", got)
	}
	if got := replies(e.say("alice", nil, "!lurk")); got != "" {
		t.Errorf("third within the cooldown: %q, want silence (one notice per window)", got)
	}
	if got := replies(e.say("bob", nil, "!lurk")); got != "bob lurks" {
		t.Errorf("another user: %q", got)
	}
	if got := replies(e.say("mo", []string{"moderator"}, "!lurk")); got != "mo lurks" {
		t.Errorf("moderator: %q", got)
	}
	if got := replies(e.say("mo", []string{"moderator"}, "!lurk")); got != "mo lurks" {
		t.Errorf("moderators skip cooldowns: %q", got)
	}
}

func TestBuiltinCommandsFromChat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mod := []string{"moderator"}
	steps := []struct {
		user  string
		roles []string
		text  string
		want  string
	}{
		{"viewer", nil, "!commands add x hi", ""}, // not allowed: silence
		{"mo", mod, `!commands add greet "Hello {touser}!"`, "Command !greet added."},
		{"viewer", nil, "!greet Bob", "Hello Bob!"},
		{"mo", mod, "!commands edit greet Howdy {touser}", "Command !greet edited."},
		{"viewer", nil, "!greet Bob", "Howdy Bob"},
		{"mo", mod, "!alias add hi greet", "!hi now also runs !greet."},
		{"viewer", nil, "!hi Ann", "Howdy Ann"},
		{"mo", mod, "!commands add ban nope", "keep for themselves"},
		{"mo", mod, "!commands add help nope", "built-in"},
		{"mo", mod, "!commands show greet", "!greet (everyone): Howdy {touser}"},
		{"mo", mod, "!quote add the pond is deep", "Quote #1 added."},
		{"viewer", nil, "!quote 1", "Quote #1: the pond is deep"},
		{"viewer", nil, "!quote 7", "no such quote"},
		{"mo", mod, "!so DuckStreamer", "Go check out @DuckStreamer at https://twitch.tv/duckstreamer"},
		{"viewer", nil, "!help", "!greet"},
		{"mo", mod, "!alias del hi", "Alias !hi removed."},
		{"viewer", nil, "!hi Ann", ""},
		{"mo", mod, "!commands del greet", "Command !greet deleted."},
		{"viewer", nil, "!greet Bob", ""},
	}
	for _, s := range steps {
		got := replies(e.say(s.user, s.roles, s.text))
		if (s.want == "" && got != "") || !strings.Contains(got, s.want) {
			t.Errorf("%s: %q → %q, want %q", s.user, s.text, got, s.want)
		}
	}
}

func TestModerationRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rules := []router.Rule{
		{Priority: 1, Match: router.MatchRegex, Pattern: `b[i1]tc[o0]in`, Action: router.ActionBan, ExemptModerators: true},
		{Priority: 2, Match: router.MatchGlob, Pattern: "*discord.gg/*", Action: router.ActionDelete, ExemptModerators: true, ExemptSubscribers: true},
		{Priority: 3, Match: router.MatchWord, Pattern: "heck", Action: router.ActionTimeout, TimeoutSeconds: 60},
		{Priority: 4, Match: router.MatchContains, Pattern: "caps lock", Action: router.ActionWarn, Response: "{user}, easy on the caps"},
		{Priority: 5, Match: router.MatchExact, Pattern: "hi bot", Action: router.ActionReply, Response: "hi {user}!"},
	}
	for _, rl := range rules {
		if _, err := e.s.CreateRule(ctx, audit.Actor{}, e.cid, rl); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		user       string
		roles      []string
		text       string
		wantAction string
		wantReply  string
	}{
		{"spammer", nil, "cheap B1TCOIN", router.ActionBan, ""},
		{"mo", []string{"moderator"}, "cheap bitcoin", "", ""},
		{"linker", nil, "join discord.gg/abc", router.ActionDelete, ""},
		{"sub", []string{"subscriber"}, "join discord.gg/abc", "", ""},
		{"rude", nil, "what the heck", router.ActionTimeout, ""},
		{"polite", nil, "what the hecking", "", ""},
		{"loud", nil, "my CAPS LOCK is stuck", router.ActionWarn, "loud, easy on the caps"},
		{"friend", nil, "Hi Bot", "", "hi friend!"},
	}
	for _, c := range cases {
		res := e.say(c.user, c.roles, c.text)
		var action, reply string
		for _, r := range res.Responses {
			if r.Moderation != nil {
				action = r.Moderation.Action
				if action == router.ActionTimeout && r.Moderation.Seconds != 60 {
					t.Errorf("%q: timeout of %ds", c.text, r.Moderation.Seconds)
				}
			}
			if r.Reply != "" {
				reply = r.Reply
			}
		}
		if action != c.wantAction || reply != c.wantReply {
			t.Errorf("%s %q: action %q reply %q, want %q %q", c.user, c.text, action, reply, c.wantAction, c.wantReply)
		}
	}
	if _, err := e.s.CreateRule(ctx, audit.Actor{}, e.cid, router.Rule{Match: router.MatchRegex, Pattern: "(", Action: router.ActionDelete}); err == nil {
		t.Error("a rule that does not compile was saved")
	}
}

func TestPointsLedgerAndLeaderboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	alice := router.User{ID: "id-alice", Name: "alice"}
	e.event(router.Event{Kind: router.Follow, User: alice})
	e.event(router.Event{Kind: router.Cheer, User: alice, Data: map[string]any{"bits": 550.0}})
	e.event(router.Event{Kind: router.Raid, User: router.User{ID: "id-bob", Name: "bob"}, Data: map[string]any{"viewers": 50.0}})
	first := e.say("alice", nil, "hello")
	second := e.say("alice", nil, "hello again")
	if len(first.Points) != 1 || first.Points[0].Delta != 5 || len(second.Points) != 0 {
		t.Errorf("chat points: first %+v second %+v, want +5 once a minute", first.Points, second.Points)
	}
	// follow 10 + cheer 5×1 + chat 5 = 20; raid 30.
	top, err := e.s.Leaderboard(ctx, e.cid, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].Name != "bob" || top[0].Points != 30 || top[1].Name != "alice" || top[1].Points != 20 {
		t.Errorf("leaderboard = %+v", top)
	}
	var ledger, sum int64
	if err := e.pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(delta), 0) FROM points_ledger WHERE user_id = 'id-alice'").Scan(&ledger, &sum); err != nil {
		t.Fatal(err)
	}
	if ledger != 3 || sum != 20 {
		t.Errorf("ledger: %d rows summing to %d, want 3 and 20", ledger, sum)
	}
	if got := replies(e.say("alice", nil, "!points")); got != "@alice you have 20 points." {
		t.Errorf("!points = %q", got)
	}
	if got := replies(e.say("mo", []string{"moderator"}, "!give alice 15")); got != "alice gets 15 points and now has 35." {
		t.Errorf("!give = %q", got)
	}
	if got := replies(e.say("mo", []string{"moderator"}, "!give nobody 15")); !strings.Contains(got, "not seen nobody") {
		t.Errorf("!give to a stranger = %q", got)
	}
	if got := replies(e.say("viewer", nil, "!leaderboard")); !strings.HasPrefix(got, "Top 10: 1. alice (35), 2. bob (30)") {
		t.Errorf("!leaderboard = %q", got)
	}
}

func TestEventDeduplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ev := router.Event{ID: "twitch-msg-1", Kind: router.Follow, User: router.User{ID: "id-alice", Name: "alice"}}
	first := e.event(ev)
	again := e.event(ev)
	if !again.Duplicate || len(again.Points) != 1 || again.Points[0].Delta != first.Points[0].Delta {
		t.Errorf("second delivery = %+v, want the first answer again", again)
	}
	var n int
	e.pool.QueryRow(context.Background(), "SELECT count(*) FROM points_ledger").Scan(&n)
	if n != 1 {
		t.Errorf("%d ledger rows, want 1: the event was processed twice", n)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "hug", Response: "hug #{count}", UserCooldown: 60})
	ev := router.Event{ID: "dry-1", Platform: router.Twitch, Server: "duckchan", Kind: router.ChatMessage, User: router.User{ID: "id-a", Name: "a"}, Text: "!hug"}
	for range 3 {
		res, err := e.r.Handle(ctx, ev, router.Options{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if replies(res) != "hug #1" || len(res.Changes) != 2 {
			t.Fatalf("dry run: %q changes %v", replies(res), res.Changes)
		}
	}
	var counter, ledger, seen int
	e.pool.QueryRow(ctx, "SELECT counter FROM commands WHERE name = 'hug'").Scan(&counter)
	e.pool.QueryRow(ctx, "SELECT count(*) FROM points_ledger").Scan(&ledger)
	e.pool.QueryRow(ctx, "SELECT count(*) FROM processed_events").Scan(&seen)
	if counter != 0 || ledger != 0 || seen != 0 {
		t.Errorf("a dry run stored something: counter %d, ledger %d, events %d", counter, ledger, seen)
	}
	// No cooldown was spent: the real run works.
	if got := replies(e.say("a", nil, "!hug")); got != "hug #1" {
		t.Errorf("real run after dry runs: %q", got)
	}
}

func TestCacheInvalidationAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := newRouter(t, e.pool, e.rdb, e.prefix)
	ev := func() router.Event {
		n := seq.Add(1)
		ev := router.Event{ID: fmt.Sprintf("x-%d", n), Platform: router.Twitch, Server: "duckchan", Kind: router.ChatMessage,
			User: router.User{ID: fmt.Sprintf("u%d", n), Name: "u"}, Text: "!wave"}
		ev.Validate()
		return ev
	}
	ask := func() string {
		res, err := other.Handle(context.Background(), ev(), router.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return replies(res)
	}
	if got := ask(); got != "" {
		t.Fatalf("before: %q", got)
	}
	cmd := e.command(router.CommandInput{Name: "wave", Response: "o/"}) // through the first instance
	waitFor(t, func() bool { return ask() == "o/" })
	if _, err := e.s.UpdateCommand(context.Background(), audit.Actor{}, e.cid, cmd.ID, router.CommandInput{Name: "wave", Response: "\\o/", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ask() == "\\o/" })
	if err := e.s.DeleteCommand(context.Background(), audit.Actor{}, e.cid, cmd.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ask() == "" })
}

// waitFor polls cond for up to 5 s: invalidation reaches the other instance
// through Redis pub/sub, well before the 60 s cache lifetime.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the other instance did not see the change")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExecutionLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "vip_only", Response: "hi", Permission: router.VIP})
	e.say("alice", nil, "!vip_only now")
	e.say("vicky", []string{"vip"}, "!vip_only")
	if err := e.r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := e.pool.Query(context.Background(), "SELECT command, user_name, args, executor, outcome FROM command_executions ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var c, u, a, ex, o string
		rows.Scan(&c, &u, &a, &ex, &o)
		got = append(got, strings.Join([]string{c, u, a, ex, o}, "/"))
	}
	want := "vip_only/alice/now/text/denied vip_only/vicky//text/ok"
	if strings.Join(got, " ") != want {
		t.Errorf("execution log = %v, want %s", got, want)
	}
}

func TestUnlinkedServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ev := router.Event{ID: "1", Platform: router.Discord, Server: "999", Kind: router.ChatMessage, User: router.User{ID: "u"}, Text: "!help"}
	ev.Validate()
	if _, err := e.r.Handle(context.Background(), ev, router.Options{}); err != router.ErrNotLinked {
		t.Errorf("err = %v, want ErrNotLinked", err)
	}
}

func TestPointsValuesPerCommunity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.s.SetPointsValue(ctx, audit.Actor{}, e.cid, "twitch.follow", 25); err != nil {
		t.Fatal(err)
	}
	res := e.event(router.Event{Kind: router.Follow, User: router.User{ID: "id-a", Name: "a"}})
	if len(res.Points) != 1 || res.Points[0].Delta != 25 {
		t.Errorf("follow with a custom value: %+v", res.Points)
	}
	res = e.event(router.Event{Kind: router.Raid, User: router.User{ID: "id-b", Name: "b"}, Data: map[string]any{"viewers": 3.0}})
	if len(res.Points) != 1 || res.Points[0].Delta != 30 {
		t.Errorf("raid with the default: %+v", res.Points)
	}
	for _, bad := range []struct {
		key string
		n   int64
	}{{"twitch.nope", 1}, {"twitch.follow", 1_000_000}} {
		if err := e.s.SetPointsValue(ctx, audit.Actor{}, e.cid, bad.key, bad.n); err == nil {
			t.Errorf("SetPointsValue(%q, %d) accepted", bad.key, bad.n)
		}
	}
	vals, err := e.s.PointsValues(ctx, e.cid)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if v.Key == "twitch.follow" && (!v.Custom || v.Points != 25 || v.Default != 10) {
			t.Errorf("twitch.follow listed as %+v", v)
		}
	}
}

func TestCommandInputRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, in := range []router.CommandInput{
		{Name: "", Response: "x"},
		{Name: "has space", Response: "x"},
		{Name: "ban", Response: "x"},
		{Name: "help", Response: "x"},
		{Name: "ok1", Response: ""},
		{Name: "ok2", Response: strings.Repeat("x", 501)},
		{Name: "ok3", Response: "x", Permission: "king"},
		{Name: "ok4", Response: "x", UserCooldown: -1},
		{Name: "ok5", Response: "x", Platforms: []string{"myspace"}},
	} {
		if in.Permission == "" {
			in.Permission = router.Everyone
		}
		if _, err := e.s.CreateCommand(ctx, audit.Actor{}, e.cid, in); err == nil {
			t.Errorf("command %+v accepted", in)
		}
	}
	e.command(router.CommandInput{Name: "dup", Response: "x"})
	if _, err := e.s.CreateCommand(ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "DUP", Response: "y", Permission: router.Everyone}); err == nil {
		t.Error("a duplicate name was accepted")
	}
	if err := e.s.AddAlias(ctx, audit.Actor{}, e.cid, "dup", "dup"); err == nil {
		t.Error("an alias equal to a command name was accepted")
	}
	var n int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM commands").Scan(&n)
	if n != 1 {
		t.Errorf("%d commands stored, want 1", n)
	}
}

// TestConcurrentCounter: many users hitting a {count} command at once, live
// and in dry runs, get distinct counts and leave the counter exact (run with -race).
func TestConcurrentCounter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.command(router.CommandInput{Name: "tick", Response: "{count}"})
	const n = 24
	var wg sync.WaitGroup
	seen := make(chan string, n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ev := router.Event{ID: fmt.Sprintf("c%d", i), Platform: router.Twitch, Server: "duckchan", Channel: "c1", Kind: router.ChatMessage,
				User: router.User{ID: fmt.Sprintf("u%d", i), Name: "u"}, Text: "!tick"}
			ev.Validate()
			res, err := e.r.Handle(ctx, ev, router.Options{})
			if err != nil {
				t.Error(err)
				return
			}
			seen <- replies(res)
		}()
		go func() {
			defer wg.Done()
			if _, err := e.r.Simulate(ctx, audit.Actor{}, e.cid, router.Event{ID: "s", Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: "sim"}, Text: "!tick"}, true); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(seen)
	counts := map[string]bool{}
	for s := range seen {
		counts[s] = true
	}
	var counter int
	e.pool.QueryRow(ctx, "SELECT counter FROM commands WHERE name = 'tick'").Scan(&counter)
	if len(counts) != n || counter != n {
		t.Errorf("%d distinct counts and counter %d, want %d and %d", len(counts), counter, n, n)
	}
}

func TestButtonRunsItsCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command(router.CommandInput{Name: "vote", Response: "{user} voted {1}"})
	res := e.event(router.Event{Kind: router.ButtonClick, User: router.User{ID: "id-a", Name: "ann"}, Text: "!vote yes"})
	if got := replies(res); got != "ann voted yes" {
		t.Errorf("button click = %q", got)
	}
	if got := replies(e.event(router.Event{Kind: router.ButtonClick, User: router.User{ID: "id-a", Name: "ann"}, Text: "not a command"})); got != "" {
		t.Errorf("a button without a command answered %q", got)
	}
}

func TestSimulatorSaysWhyNothingRan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := e.r.Simulate(context.Background(), audit.Actor{}, e.cid, router.Event{ID: "s", Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: "viewer"}, Text: "!so bob"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 0 || !strings.Contains(res.HandledBy, "not run: it needs moderator or above, the user is everyone") {
		t.Errorf("handled by %q, responses %v", res.HandledBy, res.Responses)
	}
}
