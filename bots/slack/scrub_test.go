package slackbot_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/slack-go/slack"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// A processed Slack delivery keeps no response_url, trigger_id or token: they
// go in the statement that marks it processed, after the answer used them
// (and not before: a retried job still answers). Its message id stays, so a
// redelivery is still recognised and ignored.
func TestSlackProcessedDeliveryKeepsNothingUsable(t *testing.T) {
	t.Parallel()
	e := newSlackEnv(t)
	ctx := context.Background()
	inbox := slackbot.NewInbox(platform.NewDeliveries(e.pool, e.jobs), slog.New(slog.DiscardHandler))
	var answered []string
	fail := true
	e.slack.respond = func(_ context.Context, from slackbot.Origin, res router.Result) error {
		if fail {
			return errors.New("slack is down")
		}
		answered = append(answered, from.ResponseURL)
		return nil
	}
	const (
		verification = "legacy-verification-token"
		cmdURL       = "https://hooks.slack.com/commands/T1/111/secret-command-path"
		viewURL      = "https://hooks.slack.com/app/T1/222/secret-view-path"
		clickURL     = "https://hooks.slack.com/actions/T1/333/secret-click-path"
	)
	cmd := slack.SlashCommand{Token: verification, TeamID: "T1", ChannelID: "C1", UserID: "U1", UserName: "duck",
		Command: "/waddlebot", Text: "hello", ResponseURL: cmdURL, TriggerID: "TRIG-CMD-1"}
	click := []byte(`{"type":"block_actions","token":"` + verification + `","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TRIG-CLICK-2",` +
		`"response_url":"` + clickURL + `","channel":{"id":"C1"},"actions":[{"type":"button","block_id":"b","action_id":"!hello"}]}`)
	view := []byte(`{"type":"view_submission","token":"` + verification + `","team":{"id":"T1"},"user":{"id":"U1"},"trigger_id":"TRIG-VIEW-3",` +
		`"response_urls":[{"block_id":"b","action_id":"a","channel_id":"C1","response_url":"` + viewURL + `"}],` +
		`"view":{"id":"V1","callback_id":"!hello","private_metadata":"C3","state":{"values":{}}}}`)
	event := slackEnvelope("EvScrub", "T1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)

	type delivery struct {
		name      string
		ack       platform.Ack
		secrets   []string // usable once processed
		redeliver func() (platform.Ack, error)
	}
	var ds []delivery
	for _, d := range []struct {
		name    string
		store   func() (platform.Ack, error)
		secrets []string
	}{
		{"slash command", func() (platform.Ack, error) { return inbox.Command(ctx, cmd) }, []string{cmdURL, "TRIG-CMD-1"}},
		{"button click", func() (platform.Ack, error) { return inbox.Interaction(ctx, click) }, []string{clickURL, "TRIG-CLICK-2"}},
		{"modal submitted", func() (platform.Ack, error) { return inbox.Interaction(ctx, view) }, []string{viewURL, "TRIG-VIEW-3"}},
		{"message event", func() (platform.Ack, error) { return inbox.Event(ctx, event) }, nil},
	} {
		ack, err := d.store()
		if err != nil || ack.DeliveryID == 0 {
			t.Fatalf("%s: store: %+v, %v", d.name, ack, err)
		}
		ds = append(ds, delivery{name: d.name, ack: ack, secrets: d.secrets, redeliver: d.store})
	}
	payload := func(id int64) []byte { t.Helper(); return e.delivery(t, id).Payload }
	work := func(id int64) error {
		return e.worker.Work(ctx, &river.Job[slackbot.DeliveryArgs]{Args: slackbot.DeliveryArgs{DeliveryID: id}})
	}

	// Stored: no verification token ever; the answer's URL and trigger until processed.
	for _, d := range ds {
		p := payload(d.ack.DeliveryID)
		if bytes.Contains(p, []byte(verification)) || bytes.Contains(p, []byte(`"token"`)) {
			t.Errorf("%s: stored with the verification token: %s", d.name, p)
		}
		// Slack is down: the job fails, River retries, and the retry still has what it needs.
		if err := work(d.ack.DeliveryID); err == nil {
			t.Fatalf("%s: a failed answer: Work succeeded", d.name)
		}
		if e.delivery(t, d.ack.DeliveryID).ProcessedAt != nil {
			t.Errorf("%s: processed although its answer failed", d.name)
		}
		for _, s := range d.secrets {
			if !bytes.Contains(payload(d.ack.DeliveryID), []byte(s)) {
				t.Errorf("%s: %q gone before the delivery was processed: a retry could not answer", d.name, s)
			}
		}
	}
	fail = false
	for _, d := range ds {
		if err := work(d.ack.DeliveryID); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		got := e.delivery(t, d.ack.DeliveryID)
		if got.ProcessedAt == nil || got.Error != "" {
			t.Errorf("%s: processed %v, error %q", d.name, got.ProcessedAt, got.Error)
		}
		for _, s := range append(d.secrets, verification, `"response_url"`, `"response_urls"`, `"trigger_id"`, `"token"`, "hooks.slack.com") {
			if bytes.Contains(got.Payload, []byte(s)) {
				t.Errorf("%s: processed payload holds %s: %s", d.name, s, got.Payload)
			}
		}
	}
	if diff := cmp.Diff([]string{cmdURL, clickURL, "", ""}, answered); diff != "" {
		t.Errorf("answered through (-want +got), want the command's and the click's response URLs, then the Web API:\n%s", diff)
	}

	// Redelivered: recognised by its id, nothing stored or queued again.
	jobs := e.countJobs(t)
	for _, d := range ds {
		ack, err := d.redeliver()
		if err != nil || !ack.Duplicate || ack.DeliveryID != 0 {
			t.Errorf("%s redelivered: %+v, %v; want a duplicate", d.name, ack, err)
		}
	}
	if n := e.count(t); n != len(ds) {
		t.Errorf("%d deliveries after redelivery, want %d", n, len(ds))
	}
	if n := e.countJobs(t); n != jobs {
		t.Errorf("%d delivery jobs after redelivery, want %d", n, jobs)
	}
}

func (e *slackEnv) countJobs(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = $1`, slackbot.DeliveryArgs{}.Kind()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
