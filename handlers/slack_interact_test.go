package handlers_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/platform"
)

func slackCommandBody(trigger string) []byte {
	return []byte(url.Values{
		"token": {"legacy"}, "team_id": {"T1"}, "team_domain": {"ducks"}, "channel_id": {"C1"}, "channel_name": {"general"},
		"user_id": {"U1"}, "user_name": {"duckling"}, "command": {"/waddlebot"}, "text": {"hello world"},
		"response_url": {"https://hooks.slack.com/commands/T1/1/abc"}, "trigger_id": {trigger}, "api_app_id": {"A1"},
	}.Encode())
}

func slackInteractionBody(payload string) []byte {
	return []byte(url.Values{"payload": {payload}}.Encode())
}

const slackButtonPayload = `{"type":"block_actions","team":{"id":"T1","domain":"ducks"},"user":{"id":"U1","name":"duckling"},` +
	`"api_app_id":"A1","trigger_id":"TRIG-BTN","channel":{"id":"C1"},"response_url":"https://hooks.slack.com/actions/T1/1/x",` +
	`"container":{"type":"message","message_ts":"1.0","channel_id":"C1"},` +
	`"actions":[{"type":"button","action_id":"!hello","block_id":"b1","value":"!hello","action_ts":"2.0"}]}`

const slackViewPayload = `{"type":"view_submission","team":{"id":"T1"},"user":{"id":"U1","name":"duckling"},"trigger_id":"TRIG-VIEW",` +
	`"view":{"id":"V1","type":"modal","callback_id":"!suggest","private_metadata":"C1",` +
	`"state":{"values":{"idea":{"idea":{"type":"plain_text_input","value":"more ducks"}}}}}}`

// slackPostTo sends body to a Slack endpoint with hdr.
func (e *env) slackPostTo(path string, body []byte, hdr http.Header) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, body: string(b)}
}

func TestSlackCommandsAndInteractions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSlack(slackTestSecret))
	now := time.Now()
	big := slackInteractionBody(`{"type":"block_actions","x":"` + strings.Repeat("a", platform.WebhookMaxBody) + `"}`)
	cases := []struct {
		name       string
		path       string
		body       []byte
		hdr        http.Header // nil: signed now
		wantStatus int
		wantKind   string // stored delivery kind for 200s that store
		wantID     string
	}{
		{name: "slash command", path: "/webhooks/slack/commands", body: slackCommandBody("TRIG-1"), wantStatus: 200, wantKind: "slash_command", wantID: "cmd:TRIG-1"},
		{name: "slash command again", path: "/webhooks/slack/commands", body: slackCommandBody("TRIG-1"), wantStatus: 200},
		{name: "slash command, bad signature", path: "/webhooks/slack/commands", body: slackCommandBody("TRIG-2"),
			hdr: slackSign("another-secret", now, slackCommandBody("TRIG-2")), wantStatus: 401},
		{name: "slash command, stale", path: "/webhooks/slack/commands", body: slackCommandBody("TRIG-3"),
			hdr: slackSign(slackTestSecret, now.Add(-6*time.Minute), slackCommandBody("TRIG-3")), wantStatus: 401},
		{name: "slash command, unsigned", path: "/webhooks/slack/commands", body: slackCommandBody("TRIG-4"), hdr: http.Header{}, wantStatus: 401},
		{name: "slash command without trigger", path: "/webhooks/slack/commands", body: []byte("team_id=T1&user_id=U1&command=%2Fwaddlebot"), wantStatus: 400},
		{name: "slash command, bad form", path: "/webhooks/slack/commands", body: []byte("team_id=%zz"), wantStatus: 400},
		{name: "slash command, oversized", path: "/webhooks/slack/commands", body: append(slackCommandBody("TRIG-5"), bytes.Repeat([]byte("a"), platform.WebhookMaxBody)...), wantStatus: 413},

		{name: "button click", path: "/webhooks/slack/interactive", body: slackInteractionBody(slackButtonPayload), wantStatus: 200, wantKind: "block_actions", wantID: "int:TRIG-BTN"},
		{name: "button click again", path: "/webhooks/slack/interactive", body: slackInteractionBody(slackButtonPayload), wantStatus: 200},
		{name: "modal submitted", path: "/webhooks/slack/interactive", body: slackInteractionBody(slackViewPayload), wantStatus: 200, wantKind: "view_submission", wantID: "int:TRIG-VIEW"},
		{name: "interaction, bad signature", path: "/webhooks/slack/interactive", body: slackInteractionBody(slackButtonPayload),
			hdr: slackSign("another-secret", now, slackInteractionBody(slackButtonPayload)), wantStatus: 401},
		{name: "interaction, stale", path: "/webhooks/slack/interactive", body: slackInteractionBody(slackButtonPayload),
			hdr: slackSign(slackTestSecret, now.Add(-6*time.Minute), slackInteractionBody(slackButtonPayload)), wantStatus: 401},
		{name: "interaction, malformed JSON", path: "/webhooks/slack/interactive", body: slackInteractionBody(`{"type":"block_actions",`), wantStatus: 400},
		{name: "interaction, no payload", path: "/webhooks/slack/interactive", body: []byte("nothing=here"), wantStatus: 400},
		{name: "interaction, unknown type", path: "/webhooks/slack/interactive", body: slackInteractionBody(`{"type":"shortcut","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"T9"}`), wantStatus: 400},
		{name: "interaction, no actions", path: "/webhooks/slack/interactive", body: slackInteractionBody(`{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"T8","actions":[]}`), wantStatus: 400},
		{name: "interaction, oversized", path: "/webhooks/slack/interactive", body: big, wantStatus: 413},
	}
	stored := 0
	for _, c := range cases {
		hdr := c.hdr
		if hdr == nil {
			hdr = slackSign(slackTestSecret, time.Now(), c.body)
		}
		res := e.slackPostTo(c.path, c.body, hdr)
		if res.StatusCode != c.wantStatus {
			t.Errorf("%s: status %d (%.200s), want %d", c.name, res.StatusCode, res.body, c.wantStatus)
		}
		if res.StatusCode == 200 && res.body != "" {
			t.Errorf("%s: body %q, want an empty acknowledgement", c.name, res.body)
		}
		if res.StatusCode >= 400 && strings.TrimSpace(res.body) == "" {
			t.Errorf("%s: status %d without a message", c.name, res.StatusCode)
		}
		if c.wantKind != "" {
			stored++
			if n := e.count(`SELECT count(*) FROM platform_deliveries d JOIN river_job j ON (j.args->>'delivery_id')::bigint = d.id
				WHERE d.platform = 'slack' AND d.message_id = $1 AND d.kind = $2 AND j.kind = $3`, c.wantID, c.wantKind, slackbot.DeliveryArgs{}.Kind()); n != 1 {
				t.Errorf("%s: %d deliveries %s of kind %s with a job, want 1", c.name, n, c.wantID, c.wantKind)
			}
		}
		if deliveries, jobs := e.slackStored(); deliveries != stored || jobs != stored {
			t.Errorf("after %s: %d deliveries and %d jobs, want %d", c.name, deliveries, jobs, stored)
		}
	}
	// The legacy verification token is not kept.
	if n := e.count(`SELECT count(*) FROM platform_deliveries WHERE payload::text LIKE '%legacy%'`); n != 0 {
		t.Errorf("%d deliveries keep the verification token", n)
	}
}

func TestSlackCommandsOffWithoutSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/webhooks/slack/commands", "/webhooks/slack/interactive"} {
		body := slackCommandBody("TRIG-OFF")
		if res := e.slackPostTo(path, body, slackSign(slackTestSecret, time.Now(), body)); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, res.StatusCode)
		}
	}
}
