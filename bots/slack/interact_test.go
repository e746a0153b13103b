package slackbot_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/riverqueue/river"
	"github.com/slack-go/slack"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

func TestSlackWorkerCommandsAndInteractions(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx := context.Background()
	inbox := slackbot.NewInbox(platform.NewDeliveries(e.pool, e.jobs), slog.New(slog.DiscardHandler))
	var mu sync.Mutex
	var got []slackbot.Origin
	var replies []string
	e.slack.respond = func(_ context.Context, from slackbot.Origin, res router.Result) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, from)
		for _, r := range res.Responses {
			replies = append(replies, r.Reply)
		}
		return nil
	}
	e.slack.users = func(_ context.Context, team, user string) (router.User, error) {
		return router.User{ID: user, Name: "duckling", DisplayName: "Ducky", Roles: []string{router.BadgeModerator}}, nil
	}
	work := func(ack platform.Ack, err error) {
		t.Helper()
		if err != nil || ack.DeliveryID == 0 {
			t.Fatalf("store: %+v, %v", ack, err)
		}
		if err := e.worker.Work(ctx, &river.Job[slackbot.DeliveryArgs]{Args: slackbot.DeliveryArgs{DeliveryID: ack.DeliveryID}}); err != nil {
			t.Fatalf("work: %v", err)
		}
		if d := e.delivery(t, ack.DeliveryID); d.ProcessedAt == nil || d.Error != "" {
			t.Errorf("delivery %d: processed %v, error %q", ack.DeliveryID, d.ProcessedAt, d.Error)
		}
	}
	user := router.User{ID: "U1", Name: "duckling", DisplayName: "Ducky", Roles: []string{router.BadgeModerator}}

	work(inbox.Command(ctx, slack.SlashCommand{Token: "legacy", TeamID: "T1", ChannelID: "C1", UserID: "U1", UserName: "duck",
		Command: "/waddlebot", Text: "  hello world ", ResponseURL: "https://hooks.slack.com/commands/1", TriggerID: "TR1"}))
	work(inbox.Interaction(ctx, []byte(`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TR2",`+
		`"response_url":"https://hooks.slack.com/actions/2","container":{"type":"message","channel_id":"C2","message_ts":"5.0","thread_ts":"4.0"},`+
		`"actions":[{"type":"button","block_id":"b","action_id":"x1","value":"!hello"}]}`)))
	work(inbox.Interaction(ctx, []byte(`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TR3","channel":{"id":"C1"},`+
		`"actions":[{"type":"button","block_id":"b","action_id":"!hello"}]}`)))
	work(inbox.Interaction(ctx, []byte(`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TR4","channel":{"id":"C1"},`+
		`"actions":[{"type":"static_select","block_id":"b","action_id":"!vote","selected_option":{"value":"yes"}}]}`)))
	work(inbox.Interaction(ctx, []byte(`{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TR5",`+
		`"view":{"callback_id":"!hello","private_metadata":"C3","state":{"values":{"idea":{"idea":{"type":"plain_text_input","value":"ducks"}}}}}}`)))
	// A modal with no command to run is processed and answers nothing.
	work(inbox.Interaction(ctx, []byte(`{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TR6","view":{"callback_id":""}}`)))

	ev := func(id string, kind router.Kind, channel, text string, data map[string]any) router.Event {
		return router.Event{ID: id, Platform: router.Slack, Kind: kind, Server: "T1", Channel: channel, User: user, Text: text, Data: data}
	}
	want := []slackbot.Origin{
		{Event: ev("slack:cmd:TR1", router.SlashCommand, "C1", "hello world", map[string]any{"command": "/waddlebot"}),
			ResponseURL: "https://hooks.slack.com/commands/1", TriggerID: "TR1"},
		{Event: ev("slack:int:TR2", router.ButtonClick, "C2", "!hello", map[string]any{"ts": "5.0", "thread_ts": "4.0"}),
			ResponseURL: "https://hooks.slack.com/actions/2", TriggerID: "TR2"},
		{Event: ev("slack:int:TR3", router.ButtonClick, "C1", "!hello", nil), TriggerID: "TR3"},
		{Event: ev("slack:int:TR5", router.ModalSubmit, "C3", "!hello", map[string]any{"idea": "ducks"}), TriggerID: "TR5"},
	}
	// TR4 (!vote yes) runs no known command, so nothing is answered.
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(router.Event{}, "Time"), cmpopts.IgnoreFields(slackbot.Origin{}, "At")); diff != "" {
		t.Errorf("routed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Quack!", "Quack!", "Quack!", "Quack!"}, replies); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
}

func TestSlackInboxBadInput(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx := context.Background()
	inbox := slackbot.NewInbox(platform.NewDeliveries(e.pool, e.jobs), slog.New(slog.DiscardHandler))
	for name, payload := range map[string]string{
		"malformed":       `{"type":"block_actions",`,
		"not an object":   `[1,2]`,
		"unknown type":    `{"type":"shortcut","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"T"}`,
		"no actions":      `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"T","actions":[]}`,
		"no team":         `{"type":"view_submission","user":{"id":"U1"},"trigger_id":"T","view":{"callback_id":"!x"}}`,
		"no trigger":      `{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"view":{"callback_id":"!x"}}`,
		"NUL escape":      `{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TN","view":{"callback_id":"!x\u0000"}}`,
		"action not JSON": `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"T","actions":"x"}`,
	} {
		if _, err := inbox.Interaction(ctx, []byte(payload)); !problem.Is(err, problem.Invalid) {
			t.Errorf("%s: %v, want an invalid problem", name, err)
		}
	}
	for name, cmd := range map[string]slack.SlashCommand{
		"no team":    {UserID: "U1", Command: "/w", TriggerID: "T"},
		"no user":    {TeamID: "T1", Command: "/w", TriggerID: "T"},
		"no command": {TeamID: "T1", UserID: "U1", TriggerID: "T"},
		"no trigger": {TeamID: "T1", UserID: "U1", Command: "/w"},
	} {
		if _, err := inbox.Command(ctx, cmd); !problem.Is(err, problem.Invalid) {
			t.Errorf("%s: %v, want an invalid problem", name, err)
		}
	}
	if n := e.count(t); n != 0 {
		t.Errorf("%d deliveries stored from bad input, want none", n)
	}
	// A redelivered interaction is stored once.
	body := []byte(`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TD","actions":[{"block_id":"b","action_id":"!hello"}]}`)
	first, err := inbox.Interaction(ctx, body)
	if err != nil || first.DeliveryID == 0 {
		t.Fatalf("first: %+v, %v", first, err)
	}
	again, err := inbox.Interaction(ctx, body)
	if err != nil || !again.Duplicate {
		t.Errorf("again: %+v, %v; want a duplicate", again, err)
	}
}

func (e *slackEnv) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform_deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
