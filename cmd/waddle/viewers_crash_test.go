package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// TestViewerTrackingCrashAwardsEachPeriodOnce runs `waddle serve` as a
// process with viewer tracking on in a live channel, kills it with SIGKILL
// once it has awarded a period, and starts it again: the new process, which
// remembers nothing, takes the channel over when the dead one's lease
// expires and looks at the chat at once. However the kill fell, each viewer
// holds exactly the points and watch time of the periods recorded as
// awarded, and the period the first process awarded is not awarded again.
func TestViewerTrackingCrashAwardsEachPeriodOnce(t *testing.T) {
	t.Parallel()
	const viewers = 3000
	bin := buildWaddle(t)
	irc, api := twitchtest.StartIRC(t), twitchtest.StartAPI(t)
	api.GrantScopes("200", twitchtest.ChattersScope)
	api.SetChatters("200", twitchtest.Viewers(viewers))
	api.SetLive("200", "duckchan", true)
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info",
		"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_EVENTSUB_SECRET", "a-secret-of-20-chars", "TWITCH_IRC_ADDR", irc.Addr(),
		"TWITCH_API_URL", api.HelixURL(), "TWITCH_AUTH_URL", api.AuthURL())

	// A community tracking viewers of #duckchan at 2 points an hour, with the
	// bot's and the broadcaster's tokens stored as the hub stores them.
	a := openTestApp(t, vars)
	ctx := t.Context()
	c, err := db.New(a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	settings := router.NewSettings(router.New(router.Config{Pool: a.pool}))
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", "duckchan"); err != nil {
		t.Fatal(err)
	}
	if err := settings.SetViewerTracking(ctx, audit.Actor{}, c.ID, router.ViewerTracking{Enabled: true, Every: time.Hour, Points: 2}); err != nil {
		t.Fatal(err)
	}
	tokens := platform.NewTokens(a.pool, a.secrets)
	for subject, tok := range map[string]platform.Token{
		platform.BotSubject: {Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)},
		"duckchan":          {Access: "caster-1", AccountID: "200", AccountLogin: "duckchan"},
	} {
		if err := tokens.Save(ctx, router.Twitch, subject, tok); err != nil {
			t.Fatal(err)
		}
	}
	ticks := func() int { return countRows(t, a, "SELECT count(*) FROM watch_ticks") }

	first := startWaddleProcess(t, bin, vars)
	poll(t, "the first period awarded", func() bool { return ticks() == 1 })
	first.kill(t)

	second := startWaddleProcess(t, bin, vars)
	deadline := time.Now().Add(90 * time.Second) // the dead process's lease expires first
	for !logged(second.out.String(), "viewer tracking: the period was awarded already") && ticks() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted process did not look at the chat:\n%s", second.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	second.kill(t)

	// Every viewer earned 2 points and an hour per recorded period, once.
	n := ticks()
	if got := countWhere(t, a, "SELECT count(*) FROM points_balances WHERE community_id = $1 AND balance = $2", c.ID, 2*n); got != viewers {
		t.Errorf("%d of %d viewers hold %d points, for %d periods", got, viewers, 2*n, n)
	}
	if got := countWhere(t, a, "SELECT count(*) FROM watch_time WHERE community_id = $1 AND seconds = $2", c.ID, 3600*n); got != viewers {
		t.Errorf("%d of %d viewers watched %d hours", got, viewers, n)
	}
	if got := countWhere(t, a, "SELECT count(*) FROM points_ledger WHERE community_id = $1", c.ID); got != viewers*n {
		t.Errorf("%d ledger rows, want %d", got, viewers*n)
	}
}

// logged reports whether a JSON log holds a record with message msg.
func logged(log, msg string) bool {
	for _, l := range strings.Split(log, "\n") {
		var rec struct{ Msg string }
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == msg {
			return true
		}
	}
	return false
}

// countWhere is countRows with arguments.
func countWhere(t *testing.T, a *app, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
