package slackbot_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// TestFormOpensWhileRepliesQueue: a slash command answered with a form
// opens it within the trigger's 3 seconds (the fake refuses it after)
// while the channel's replies queue a second apart and no job worker is
// free to run the command's job; the job, run later, answers the rest
// without opening the form again.
func TestFormOpensWhileRepliesQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	prompts := slackbot.NewPrompts()
	lane := make(chan error, 1)
	go func() { lane <- e.worker.RunPrompts(ctx, prompts) }()
	var busy sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		busy.Wait()
		if err := <-lane; err != nil {
			t.Errorf("prompt lane: %v", err)
		}
	})
	inbox := slackbot.NewInbox(platform.NewDeliveries(e.pool, e.jobs), slog.New(slog.DiscardHandler)).WithPrompts(prompts)

	// C1 is busy: four messages wait their turn, one a second.
	for i := range 4 {
		busy.Add(1)
		go func() {
			defer busy.Done()
			e.bot.Send(ctx, e.cid, router.Message{Server: "T1", Channel: "C1", Text: fmt.Sprint("busy ", i)})
		}()
	}
	e.slack.WaitCall(t, "chat.postMessage", func(slacktest.Call) bool { return true }, 10*time.Second)

	e.rec.add = []router.Response{{Form: &router.Form{ID: "!suggest", Title: "Suggest", Fields: []router.FormField{{ID: "idea"}}}}}
	cmd := slack.SlashCommand{TeamID: "T1", ChannelID: "C1", UserID: "U1", UserName: "duckling", Command: "/waddlebot",
		Text: "hello", ResponseURL: e.slack.ResponseURL("T1"), TriggerID: e.slack.Trigger()}
	ack, err := inbox.Command(ctx, cmd)
	if err != nil || ack.DeliveryID == 0 {
		t.Fatalf("store: %+v, %v", ack, err)
	}
	// The command's job is not run yet: every job worker is busy.
	view := e.slack.WaitCall(t, "views.open", func(slacktest.Call) bool { return true }, 10*time.Second)
	if view.Refused != "" || view.JSON["trigger_id"] != cmd.TriggerID {
		t.Fatalf("views.open %+v, want the form opened with the command's trigger within 3 seconds", view)
	}
	if n := len(e.slack.Calls("response_url")); n != 0 {
		t.Errorf("%d replies before the job ran, want none: the prompt lane opens forms only", n)
	}

	// The job, when a worker is free, answers the rest once.
	e.work(ack, nil)
	if got := e.slack.Accepted("response_url"); len(got) != 1 || got[0].JSON["text"] != "Quack!" {
		t.Errorf("response_url posts %+v, want Quack! once", got)
	}
	if n := len(e.slack.Calls("views.open")); n != 1 {
		t.Errorf("views.open called %d times, want once", n)
	}
}

// TestPromptLaneLeavesExpiredTriggersToTheJob: a delivery whose trigger
// is older than 3 seconds is not routed by the lane; its job answers it
// and tells the user the form could not open, instead of a refused
// views.open.
func TestPromptLaneLeavesExpiredTriggersToTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rec.add = []router.Response{{Form: &router.Form{ID: "!suggest", Title: "Suggest", Fields: []router.FormField{{ID: "idea"}}}}}
	cmd := slack.SlashCommand{TeamID: "T1", ChannelID: "C1", UserID: "U1", UserName: "duckling", Command: "/waddlebot",
		Text: "hello", ResponseURL: e.slack.ResponseURL("T1"), TriggerID: e.slack.Trigger()}
	ack, err := e.inbox.Command(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	// Received four seconds ago, as if the job waited that long.
	if _, err := e.pool.Exec(context.Background(), `UPDATE platform_deliveries SET received_at = now() - interval '4 seconds' WHERE id = $1`, ack.DeliveryID); err != nil {
		t.Fatal(err)
	}
	e.work(ack, nil)
	if n := len(e.slack.Calls("views.open")); n != 0 {
		t.Errorf("views.open called %d times with an expired trigger, want none", n)
	}
	if eph := e.slack.Accepted("chat.postEphemeral"); len(eph) != 1 || eph[0].Form.Get("user") != "U1" {
		t.Errorf("chat.postEphemeral %+v, want U1 told the form could not open", eph)
	}
}
