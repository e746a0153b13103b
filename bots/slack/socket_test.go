package slackbot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// socketAck is an acknowledgement the fake Socket Mode server read, and
// how many deliveries of its envelope were stored when it arrived.
type socketAck struct {
	EnvelopeID string
	Stored     int
}

func TestSocketModeStoresBeforeAcking(t *testing.T) {
	t.Parallel()
	acks := make(chan socketAck, 16)
	// The delivery each envelope stores; env-5 cannot be stored.
	delivered := map[string]string{"env-1": "EvSock", "env-2": "EvSock", "env-3": "cmd:TRIG-S", "env-4": "int:TRIG-I", "env-5": "EvBad"}
	e := newEnv(t, func(c *slackbot.Config, _ *slacktest.Server) { c.AppToken = "xapp-1" })
	e.slack.OnAck(func(id string) {
		acks <- socketAck{EnvelopeID: id, Stored: e.count(`SELECT count(*) FROM platform_deliveries WHERE message_id = $1`, delivered[id])}
	})
	e.slack.WaitSocket(t, 1, 10*time.Second)
	event := envelope("EvSock", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)
	send := []string{
		slacktest.EventsAPIEnvelope("env-1", 0, event),
		`{"envelope_id":"env-2","type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout","payload":` + string(event) + `}`,
		`{"envelope_id":"env-3","type":"slash_commands","accepts_response_payload":true,"payload":{"team_id":"T1","channel_id":"C1","user_id":"U1",` +
			`"user_name":"duckling","command":"/waddlebot","text":"hello","trigger_id":"TRIG-S","response_url":"https://hooks.slack.com/commands/T1/9"}}`,
		`{"envelope_id":"env-4","type":"interactive","accepts_response_payload":false,"payload":{"type":"block_actions","team":{"id":"T1"},` +
			`"user":{"id":"U1"},"trigger_id":"TRIG-I","channel":{"id":"C1"},"actions":[{"type":"button","block_id":"b","action_id":"!hello","value":"!hello"}]}}`,
		`{"envelope_id":"env-5","type":"events_api","payload":{"type":"event_callback","event_id":"EvBad","team_id":"T1","event":{"type":"no_such_event"}}}`,
	}
	for _, m := range send {
		if n := e.slack.Send(m); n != 1 {
			t.Fatalf("envelope sent on %d connections, want 1", n)
		}
	}
	want := map[string]int{"env-1": 1, "env-2": 1, "env-3": 1, "env-4": 1, "env-5": 0}
	got := map[string]int{}
	deadline := time.After(10 * time.Second)
	for len(got) < len(want) {
		select {
		case a := <-acks:
			got[a.EnvelopeID] = a.Stored
		case <-deadline:
			t.Fatalf("acknowledged within 10s: %v, want %v", got, want)
		}
	}
	for id, stored := range want {
		if got[id] != stored {
			t.Errorf("envelope %s acknowledged with %d of its deliveries stored, want %d (stored before the ack)", id, got[id], stored)
		}
	}
	if n := e.count(`SELECT count(*) FROM platform_deliveries d JOIN river_job j ON (j.args->>'delivery_id')::bigint = d.id
		WHERE d.message_id IN ('EvSock', 'cmd:TRIG-S', 'int:TRIG-I')`); n != 3 {
		t.Errorf("%d deliveries with their jobs, want 3 (the redelivered event once)", n)
	}
	if s := e.status.Snapshot(); s.State != platform.StateConnected || !strings.Contains(s.Detail, "Socket Mode") {
		t.Errorf("status %s %q, want connected through Socket Mode", s.State, s.Detail)
	}
	// The stored event is processed like an Events API delivery.
	var id int64
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM platform_deliveries WHERE message_id = 'EvSock'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	e.work(platform.Ack{DeliveryID: id}, nil)
	if posts := e.slack.Calls("chat.postMessage"); len(posts) != 1 || posts[0].Form.Get("text") != "Quack!" {
		t.Errorf("chat.postMessage: %+v, want Quack!", posts)
	}
}

func TestSocketModeRefusedTokenThenReconnects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackbot.Config, f *slacktest.Server) {
		c.AppToken = "xapp-bad"
		f.SetOpenError("invalid_auth")
	})
	eventually(t, "degraded with a refused app token", func() bool {
		s := e.status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "SLACK_APP_TOKEN")
	})
	if n := e.slack.Hellos(); n != 0 {
		t.Fatalf("%d socket connections with a refused token", n)
	}
	e.slack.SetOpenError("")
	e.slack.WaitSocket(t, 1, 10*time.Second) // a reconnect within 10s after the token was fixed
	eventually(t, "connected after the retry", func() bool { return e.status.Snapshot().State == platform.StateConnected })
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Error(err)
	}
	return n
}

// TestSocketModeReconnectsOnDisconnect: Slack's disconnect message (sent
// before it moves or refreshes a connection) makes the bot open a new
// connection, on which envelopes are stored and acknowledged as before.
func TestSocketModeReconnectsOnDisconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackbot.Config, _ *slacktest.Server) { c.AppToken = "xapp-1" })
	e.slack.WaitSocket(t, 1, 10*time.Second)
	if n := e.slack.Disconnect("refresh_requested"); n != 1 {
		t.Fatalf("disconnect sent on %d connections, want 1", n)
	}
	e.slack.WaitSocket(t, 2, 10*time.Second) // a second connection said hello
	eventually(t, "the old connection closed", func() bool { return e.slack.Sockets() == 1 })
	event := envelope("EvAfter", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"2.0"}`)
	if n := e.slack.Send(slacktest.EventsAPIEnvelope("env-after", 0, event)); n != 1 {
		t.Fatalf("envelope sent on %d connections, want 1", n)
	}
	e.slack.WaitAck(t, "env-after", 10*time.Second)
	if n := e.count(`SELECT count(*) FROM platform_deliveries WHERE message_id = 'EvAfter'`); n != 1 {
		t.Errorf("%d deliveries stored after the reconnect, want 1", n)
	}
	eventually(t, "connected again", func() bool { return e.status.Snapshot().State == platform.StateConnected })
}

// TestSocketModeCommandOpensItsForm: a slash command over Socket Mode goes
// to the prompt lane too, so its form opens within the trigger's 3 seconds
// with no job run.
func TestSocketModeCommandOpensItsForm(t *testing.T) {
	t.Parallel()
	prompts := slackbot.NewPrompts()
	e := newEnv(t, func(c *slackbot.Config, _ *slacktest.Server) { c.AppToken, c.Prompts = "xapp-1", prompts })
	ctx, cancel := context.WithCancel(context.Background())
	lane := make(chan error, 1)
	go func() { lane <- e.worker.RunPrompts(ctx, prompts) }()
	t.Cleanup(func() {
		cancel()
		<-lane
	})
	e.rec.add = []router.Response{{Form: &router.Form{ID: "!suggest", Title: "Suggest", Fields: []router.FormField{{ID: "idea"}}}}}
	e.slack.WaitSocket(t, 1, 10*time.Second)
	trigger := e.slack.Trigger()
	e.slack.Send(`{"envelope_id":"env-cmd","type":"slash_commands","accepts_response_payload":true,"payload":{"team_id":"T1","channel_id":"C1",` +
		`"user_id":"U1","user_name":"duckling","command":"/waddlebot","text":"hello","trigger_id":"` + trigger + `","response_url":"` + e.slack.ResponseURL("T1") + `"}}`)
	view := e.slack.WaitCall(t, "views.open", func(slacktest.Call) bool { return true }, 10*time.Second)
	if view.Refused != "" || view.JSON["trigger_id"] != trigger {
		t.Errorf("views.open %+v, want the form opened with the command's trigger", view)
	}
}
