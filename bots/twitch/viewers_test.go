package twitch

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// noon is the start of a watch period in the tests, which give the tracker
// the time instead of waiting for it.
var noon = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// viewersConfig is a bot configuration whose own viewer tracking is off:
// the tests tick its tracker with the time they choose.
func (e *env) viewersConfig(holder string) Config {
	cfg := e.config(holder)
	cfg.ViewersEvery = -1
	return cfg
}

func (e *env) trackViewers(every time.Duration, points int64) {
	e.t.Helper()
	if err := e.settings.SetViewerTracking(context.Background(), audit.Actor{}, e.cid, router.ViewerTracking{Enabled: true, Every: every, Points: points}); err != nil {
		e.t.Fatal(err)
	}
}

// holding waits until b serves channel.
func holding(t *testing.T, b *Bot, channel string) {
	t.Helper()
	eventually(t, "the bot to hold "+channel, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.holdSet[channel]
	})
}

// moderating waits until b knows it moderates channel (its badges in chat).
func moderating(t *testing.T, b *Bot, channel string) {
	t.Helper()
	eventually(t, "the bot's moderator badge in "+channel, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.modIn[channel]
	})
}

// points is the community's balances by user name.
func (e *env) points(cid int64) map[string]int64 {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), "SELECT user_name, balance FROM points_balances WHERE community_id = $1", cid)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			e.t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

func (e *env) sql(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestViewerTrackingAwardsWhileLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"})
	e.api.GrantScopes("200", twitchtest.ChattersScope)
	bot := twitchtest.Chatter{UserID: "100", UserLogin: "duckbot", UserName: "duckbot"}
	e.api.SetChatters("200", append(twitchtest.Viewers(3), bot))
	e.trackViewers(5*time.Minute, 2)
	b := e.start(e.viewersConfig("a"))
	holding(t, b.Bot, "duckchan")
	vt := newViewerTracker(b.Bot)

	// Offline: nobody earns, and the chat is not read.
	vt.tick(ctx, noon)
	if n := len(e.api.Find("GET", "/helix/streams")); n != 1 {
		t.Errorf("%d stream checks, want 1", n)
	}
	if n := len(e.api.Find("GET", "/helix/chat/chatters")); n != 0 || len(e.points(e.cid)) != 0 {
		t.Fatalf("offline: %d chatters calls, points %v", n, e.points(e.cid))
	}

	// Live: each viewer but the bot earns the period's points.
	e.api.SetLive("200", "duckchan", true)
	vt.tick(ctx, noon.Add(time.Minute))
	want := map[string]int64{"Viewer1": 2, "Viewer2": 2, "Viewer3": 2}
	if d := cmp.Diff(want, e.points(e.cid)); d != "" {
		t.Fatalf("after the first period (-want +got):\n%s", d)
	}
	calls := e.api.Find("GET", "/helix/chat/chatters")
	if len(calls) != 1 || calls[0].Auth != "Bearer caster-1" ||
		!cmp.Equal(calls[0].Query, map[string]string{"broadcaster_id": "200", "moderator_id": "200", "first": "1000"}) {
		t.Errorf("chatters calls: %+v", calls)
	}

	// The same period again does nothing, even from a tracker that forgot it
	// (a restart): the database refuses a second award.
	vt.tick(ctx, noon.Add(2*time.Minute))
	if n := len(e.api.Find("GET", "/helix/chat/chatters")); n != 1 {
		t.Errorf("the period's chat was read %d times", n)
	}
	newViewerTracker(b.Bot).tick(ctx, noon.Add(3*time.Minute))
	if d := cmp.Diff(want, e.points(e.cid)); d != "" {
		t.Fatalf("after a repeated tick (-want +got):\n%s", d)
	}

	// The next period awards again; watch time grows by the period.
	vt.tick(ctx, noon.Add(5*time.Minute))
	want = map[string]int64{"Viewer1": 4, "Viewer2": 4, "Viewer3": 4}
	if d := cmp.Diff(want, e.points(e.cid)); d != "" {
		t.Fatalf("after the second period (-want +got):\n%s", d)
	}
	if n := e.sql("SELECT count(*) FROM watch_time WHERE community_id = $1 AND seconds = 600", e.cid); n != 3 {
		t.Errorf("%d viewers with 10 minutes watched, want 3", n)
	}
	if n := e.sql("SELECT count(*) FROM points_ledger WHERE community_id = $1 AND reason = 'watch time (5 min)'", e.cid); n != 6 {
		t.Errorf("%d ledger rows, want 6", n)
	}

	// Offline again: nothing more.
	e.api.SetLive("200", "duckchan", false)
	vt.tick(ctx, noon.Add(10*time.Minute))
	if d := cmp.Diff(want, e.points(e.cid)); d != "" {
		t.Errorf("after the stream ended (-want +got):\n%s", d)
	}
}

func TestViewerTrackingPagesAndSkipsDisabledCommunities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// The bot moderates #duckchan and reads its chat with its own token.
	e.irc.SetMod("duckchan", true)
	e.api.GrantScopes("100", twitchtest.ChattersScope)
	e.api.SetModerator("200", "100", true)
	e.api.SetChatters("200", twitchtest.Viewers(2345))
	e.api.SetLive("200", "duckchan", true)
	e.trackViewers(5*time.Minute, 1)
	// #gooschan belongs to another community, which does not track viewers.
	geese, err := db.New(e.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "geese", Name: "Geese"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, geese.ID, router.Twitch, "gooschan", "gooschan"); err != nil {
		t.Fatal(err)
	}
	e.api.SetChatters("300", twitchtest.Viewers(10))
	e.api.SetLive("300", "gooschan", true)

	b := e.start(e.viewersConfig("a"))
	holding(t, b.Bot, "duckchan")
	holding(t, b.Bot, "gooschan")
	moderating(t, b.Bot, "duckchan")
	newViewerTracker(b.Bot).tick(ctx, noon)

	calls := e.api.Find("GET", "/helix/chat/chatters")
	var pages []string
	for _, c := range calls {
		if c.Auth != "Bearer bot-1" || c.Query["moderator_id"] != "100" || c.Query["broadcaster_id"] != "200" || c.Query["first"] != "1000" {
			t.Errorf("chatters call %+v", c)
		}
		pages = append(pages, c.Query["after"])
	}
	if len(pages) != 3 || pages[0] != "" || pages[1] == "" || pages[2] == "" {
		t.Errorf("pages read after %q, want 3 pages", pages)
	}
	if n := e.sql("SELECT count(*) FROM points_balances WHERE community_id = $1 AND balance = 1", e.cid); n != 2345 {
		t.Errorf("%d viewers earned, want 2345", n)
	}
	if n := e.sql("SELECT count(*) FROM watch_time WHERE community_id = $1 AND seconds = 300", e.cid); n != 2345 {
		t.Errorf("%d viewers with watch time, want 2345", n)
	}
	if got := e.points(geese.ID); len(got) != 0 {
		t.Errorf("the community without viewer tracking got points: %v", got)
	}
	if n := e.sql("SELECT count(*) FROM watch_time WHERE community_id = $1", geese.ID) + e.sql("SELECT count(*) FROM watch_ticks WHERE community_id = $1", geese.ID); n != 0 {
		t.Errorf("the community without viewer tracking has %d watch rows", n)
	}
	for _, c := range e.api.Find("GET", "/helix/streams") {
		if c.Query["user_id"] != "200" {
			t.Errorf("asked whether %s is live, want only the tracking channel", c.Query["user_id"])
		}
	}
}

func TestViewerTrackingWithoutTheScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"})
	e.api.SetChatters("200", twitchtest.Viewers(2))
	e.api.SetLive("200", "duckchan", true)
	e.trackViewers(5*time.Minute, 1)
	b := e.start(e.viewersConfig("a"))
	holding(t, b.Bot, "duckchan")
	vt := newViewerTracker(b.Bot)

	// Twitch refuses the broadcaster's token without the scope: no award,
	// and the period stays open.
	vt.tick(ctx, noon)
	calls := e.api.Find("GET", "/helix/chat/chatters")
	if len(calls) == 0 || len(e.points(e.cid)) != 0 {
		t.Fatalf("%d chatters calls, points %v; want a refused call and no points", len(calls), e.points(e.cid))
	}

	// A stored grant known to lack the scope is not even tried, and the
	// reason names the scope.
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Scopes: []string{"bits:read"}})
	before := len(e.api.Find("GET", "/helix/chat/chatters"))
	vt.tick(ctx, noon.Add(time.Minute))
	if n := len(e.api.Find("GET", "/helix/chat/chatters")); n != before {
		t.Errorf("a token without the scope was used %d times", n-before)
	}
	if _, err := b.chatters(ctx, "duckchan"); err == nil || !strings.Contains(err.Error(), ChattersScope) {
		t.Errorf("refusal %v, want one naming %s", err, ChattersScope)
	}

	// Granted, the same period is awarded.
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Scopes: []string{ChattersScope}})
	e.api.GrantScopes("200", twitchtest.ChattersScope)
	vt.tick(ctx, noon.Add(2*time.Minute))
	if d := cmp.Diff(map[string]int64{"Viewer1": 1, "Viewer2": 1}, e.points(e.cid)); d != "" {
		t.Errorf("after the grant (-want +got):\n%s", d)
	}
}

func TestViewerTrackingBotWithoutGrantFallsBackToBroadcaster(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.irc.SetMod("duckchan", true)
	e.api.SetModerator("200", "100", true) // a moderator, but its grant predates the scope
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"})
	e.api.GrantScopes("200", twitchtest.ChattersScope)
	e.api.SetChatters("200", twitchtest.Viewers(1))
	e.api.SetLive("200", "duckchan", true)
	e.trackViewers(5*time.Minute, 1)
	b := e.start(e.viewersConfig("a"))
	holding(t, b.Bot, "duckchan")
	moderating(t, b.Bot, "duckchan")
	newViewerTracker(b.Bot).tick(ctx, noon)
	if d := cmp.Diff(map[string]int64{"Viewer1": 1}, e.points(e.cid)); d != "" {
		t.Errorf("points (-want +got):\n%s", d)
	}
	var who []string
	for _, c := range e.api.Find("GET", "/helix/chat/chatters") {
		who = append(who, c.Auth+" as "+c.Query["moderator_id"])
	}
	if last := who[len(who)-1]; last != "Bearer caster-1 as 200" || !strings.HasPrefix(who[0], "Bearer bot-") {
		t.Errorf("chatters read as %q, want the bot first, then the broadcaster", who)
	}
}

func TestViewerTrackingLeaseHandOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.saveToken("duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"})
	e.api.GrantScopes("200", twitchtest.ChattersScope)
	e.api.SetChatters("200", twitchtest.Viewers(5))
	e.api.SetLive("200", "duckchan", true)
	e.trackViewers(5*time.Minute, 1)

	a := e.start(e.viewersConfig("a"))
	holding(t, a.Bot, "duckchan")
	vtA := newViewerTracker(a.Bot)
	vtA.tick(ctx, noon)
	a.stop() // releases the lease

	b := e.start(e.viewersConfig("b"))
	holding(t, b.Bot, "duckchan")
	// Instance a, no longer serving the channel, awards nothing.
	vtA.tick(ctx, noon.Add(5*time.Minute))
	// Instance b, within the period a awarded, awards nothing either.
	vtB := newViewerTracker(b.Bot)
	vtB.tick(ctx, noon.Add(4*time.Minute))
	if n := e.sql("SELECT count(*) FROM points_balances WHERE community_id = $1 AND balance = 1", e.cid); n != 5 {
		t.Fatalf("%d viewers with 1 point after the hand-over, want 5", n)
	}
	vtB.tick(ctx, noon.Add(5*time.Minute))
	if n := e.sql("SELECT count(*) FROM points_balances WHERE community_id = $1 AND balance = 2", e.cid); n != 5 {
		t.Errorf("%d viewers with 2 points after b's period, want 5", n)
	}
	var holders []string
	rows, _ := e.pool.Query(ctx, "SELECT starts_at FROM watch_ticks ORDER BY starts_at")
	for rows.Next() {
		var at time.Time
		rows.Scan(&at)
		holders = append(holders, at.UTC().Format("15:04"))
	}
	rows.Close()
	if d := cmp.Diff([]string{"12:00", "12:05"}, holders); d != "" {
		t.Errorf("awarded periods (-want +got):\n%s", d)
	}
}

// TestFakeChattersRefusesWhatTwitchRefuses checks the fake's Get Chatters
// and Get Streams against Twitch's rules, so the tests above can fail.
func TestFakeChattersRefusesWhatTwitchRefuses(t *testing.T) {
	t.Parallel()
	api := twitchtest.StartAPI(t)
	api.GrantScopes("200", twitchtest.ChattersScope)
	api.SetChatters("200", twitchtest.Viewers(2500))
	api.SetLive("200", "duckchan", true)
	get := func(token, path string, q url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", api.HelixURL()+path+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Client-Id", twitchtest.ClientID)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		decodeJSON(t, res, &body)
		return res.StatusCode, body
	}
	chatters := func(kv ...string) url.Values {
		q := url.Values{"broadcaster_id": {"200"}, "moderator_id": {"200"}}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	for _, c := range []struct {
		name, token string
		q           url.Values
		want        int
		message     string
	}{
		{"app token", "app-1", chatters(), 401, "User OAuth token required"},
		{"token without the scope", "bot-1", chatters("moderator_id", "100"), 401, "Missing scope: moderator:read:chatters"},
		{"moderator_id not the token's user", "caster-1", chatters("moderator_id", "100"), 401, "must match the user ID"},
		{"no broadcaster_id", "caster-1", url.Values{"moderator_id": {"200"}}, 400, "broadcaster_id"},
		{"no moderator_id", "caster-1", url.Values{"broadcaster_id": {"200"}}, 400, "moderator_id"},
		{"first over 1000", "caster-1", chatters("first", "1001"), 400, "first"},
		{"first of 0", "caster-1", chatters("first", "0"), 400, "first"},
		{"bad cursor", "caster-1", chatters("after", "!!"), 400, "after"},
		{"invalid token", "nope", chatters(), 401, "Invalid OAuth token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, body := get(c.token, "/chat/chatters", c.q)
			if msg, _ := body["message"].(string); st != c.want || !strings.Contains(msg, c.message) {
				t.Errorf("%d %v, want %d with %q", st, body, c.want, c.message)
			}
		})
	}
	// Someone who is not a moderator of the channel: 403.
	api.GrantScopes("100", twitchtest.ChattersScope)
	if st, body := get("bot-1", "/chat/chatters", chatters("moderator_id", "100")); st != 403 {
		t.Errorf("not a moderator: %d %v, want 403", st, body)
	}
	api.SetModerator("200", "100", true)
	if st, _ := get("bot-1", "/chat/chatters", chatters("moderator_id", "100")); st != 200 {
		t.Errorf("a moderator: %d, want 200", st)
	}

	// Pages of at most 1000 with a cursor, 100 by default, in Twitch's shape.
	st, body := get("caster-1", "/chat/chatters", chatters())
	if data, _ := body["data"].([]any); st != 200 || len(data) != 100 || body["total"] != float64(2500) {
		t.Fatalf("default page: %d, %d chatters, total %v", st, len(data), body["total"])
	}
	first := body["data"].([]any)[0].(map[string]any)
	if d := cmp.Diff(map[string]any{"user_id": "5000001", "user_login": "viewer1", "user_name": "Viewer1"}, first); d != "" {
		t.Errorf("chatter (-want +got):\n%s", d)
	}
	var sizes []int
	after := ""
	for range 5 {
		q := chatters("first", "1000")
		if after != "" {
			q.Set("after", after)
		}
		_, body := get("caster-1", "/chat/chatters", q)
		sizes = append(sizes, len(body["data"].([]any)))
		after, _ = body["pagination"].(map[string]any)["cursor"].(string)
		if after == "" {
			break
		}
	}
	if d := cmp.Diff([]int{1000, 1000, 500}, sizes); d != "" {
		t.Errorf("page sizes (-want +got):\n%s", d)
	}

	// Get Streams takes any token, at most 100 users, and lists the live ones.
	if st, body := get("app-1", "/streams", url.Values{"user_id": {"200", "300"}, "type": {"live"}}); st != 200 || len(body["data"].([]any)) != 1 {
		t.Errorf("streams: %d %v", st, body)
	}
	many := url.Values{}
	for i := range 101 {
		many.Add("user_id", fmt.Sprint(i))
	}
	if st, _ := get("app-1", "/streams", many); st != 400 {
		t.Errorf("101 users: %d, want 400", st)
	}
}

// BenchmarkViewerTick is one tick of a live channel with 10,000 viewers in
// chat: Get Streams, ten pages of Get Chatters from the local Twitch API,
// and the award written to PostgreSQL in one transaction.
func BenchmarkViewerTick(b *testing.B) {
	const viewers = 10_000
	ctx := context.Background()
	pool := dbtest.Pool(b)
	rdb, prefix := dbtest.Redis(b)
	logger := testLoggerTB(b)
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	settings := router.NewSettings(rt)
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", "duckchan"); err != nil {
		b.Fatal(err)
	}
	if err := settings.SetViewerTracking(ctx, audit.Actor{}, c.ID, router.ViewerTracking{Enabled: true, Every: 5 * time.Minute, Points: 1}); err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		b.Fatal(err)
	}
	tokens := platform.NewTokens(pool, box)
	if err := tokens.Save(ctx, Platform, "duckchan", platform.Token{Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"}); err != nil {
		b.Fatal(err)
	}
	api := twitchtest.StartAPI(b)
	api.GrantScopes("200", twitchtest.ChattersScope)
	api.SetChatters("200", twitchtest.Viewers(viewers))
	api.SetLive("200", "duckchan", true)
	leases := platform.NewLeases(pool, "bench", time.Hour)
	if _, err := leases.Sync(ctx, leasePrefix, []string{"duckchan"}); err != nil {
		b.Fatal(err)
	}
	bot, err := New(Config{Router: rt, Tokens: tokens, Links: platform.NewLinks(pool), Leases: leases, Status: platform.NewStatus(Platform),
		OAuth:  &OAuth{ClientID: twitchtest.ClientID, ClientSecret: twitchtest.ClientSecret, AuthURL: api.AuthURL(), APIURL: api.HelixURL()},
		Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	bot.mu.Lock()
	bot.holdLocked([]string{"duckchan"})
	bot.mu.Unlock()
	vt := newViewerTracker(bot)
	for i := 0; b.Loop(); i++ {
		vt.tick(ctx, noon.Add(time.Duration(i)*5*time.Minute))
	}
	b.StopTimer()
	var n, earned int64
	if err := pool.QueryRow(ctx, "SELECT count(*), coalesce(min(balance), 0) FROM points_balances WHERE community_id = $1", c.ID).Scan(&n, &earned); err != nil {
		b.Fatal(err)
	}
	if n != viewers || earned < 1 {
		b.Fatalf("%d viewers earned (at least %d each), want %d", n, earned, viewers)
	}
}

func decodeJSON(t *testing.T, res *http.Response, v any) {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
}

func testLoggerTB(tb testing.TB) *slog.Logger {
	if os.Getenv("TWITCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", tb.Name())
	}
	return slog.New(slog.DiscardHandler)
}
