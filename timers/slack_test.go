package timers_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
	"github.com/waddle/waddle/timers"
)

// TestPostsThroughTheSlackBot: a due timer's message goes through the
// router to the real Slack bot, which posts it with the workspace's token to
// a local server that speaks Slack's Web API.
func TestPostsThroughTheSlackBot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	tokens := platform.NewTokens(pool, box)
	fs := slacktest.Start(t)
	fs.Join("C1")
	bot, err := slackbot.New(slackbot.Config{Tokens: tokens, Links: platform.NewLinks(pool), Status: platform.NewStatus(router.Slack),
		APIURL: fs.APIURL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	bctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- bot.Run(bctx) }() // its send queue
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("slack bot: %v", err)
		}
	})
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Logger: slog.New(slog.DiscardHandler), Sender: bot})
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := router.NewSettings(rt).LinkEntity(ctx, audit.Actor{}, c.ID, router.Slack, "T1", "Duck workspace"); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Save(ctx, router.Slack, "T1", platform.Token{Access: "xoxb-T1", AccountID: "UBOT"}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	svc := timers.New(timers.Config{Pool: pool, Now: clk.Now})
	tm, err := svc.Create(ctx, audit.Actor{}, c.ID, timers.Input{Name: "schedule", Message: "Stream at 8 tonight!", Platform: router.Slack,
		Server: "T1", Channel: "C1", IntervalMinutes: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	sc := timers.NewScheduler(timers.SchedulerConfig{Pool: pool, Poster: rt, Now: clk.Now})
	clk.add(time.Hour)
	if n := fire(t, sc); n != 1 {
		t.Fatalf("posted %d", n)
	}
	posts := fs.Calls("chat.postMessage")
	if len(posts) != 1 || posts[0].Form.Get("channel") != "C1" || posts[0].Form.Get("text") != "Stream at 8 tonight!" || posts[0].Token != "xoxb-T1" {
		t.Fatalf("chat.postMessage calls: %+v", posts)
	}

	// Slack refuses the token: the failure is on the timer, with Slack's reason.
	fs.RefuseToken("xoxb-T1")
	clk.add(time.Hour)
	if n := fire(t, sc); n != 0 {
		t.Fatalf("posted %d with a refused token", n)
	}
	got, err := svc.Get(ctx, c.ID, tm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastOutcome != timers.Failed || got.LastError == "" {
		t.Errorf("after Slack refused: %q, %q", got.LastOutcome, got.LastError)
	}
}
