package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/workflow"
)

// benchFlow is the workflow the webhook targets run: the trigger, then the
// transform Node-RED's function node does, answering with its output.
const benchFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": %q, "respond_node": "shape", "timeout_seconds": 10}},
 {"id": "shape", "type": "data_transform", "config": {"language": "jq",
  "code": "{user: .body.user, points: (.body.amount * 10), note: (\"thanks \" + .body.user)}"}}
], "connections": [{"from": "hook", "from_port": "out", "to": "shape", "to_port": "in"}]}`

// benchWebhook sets up, on the database `waddle serve` uses, a community
// with a published webhook → transform workflow and its webhook, and
// returns the target that sends signed deliveries to the running server at
// BASE_URL. mode is sync or async; async drains: it waits until every
// accepted run has completed and its trace is stored.
func benchWebhook(ctx context.Context, name, mode string, o benchOptions) (benchSide, error) {
	cfg, err := loadConfig(o.getenv)
	if err != nil {
		return benchSide{}, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return benchSide{}, err
	}
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool, Jobs: a.jobs, Logger: logger})
	hooks := newWorkflowWebhooks(a, flows, logger)
	by := audit.Actor{Name: "waddle bench"}
	slug := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	c, err := db.New(a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: slug, Name: "Benchmark " + slug})
	if err != nil {
		a.close()
		return benchSide{}, fmt.Errorf("bench: create a community: %w", err)
	}
	def, err := workflow.ParseDefinition(fmt.Appendf(nil, benchFlow, mode))
	if err != nil {
		a.close()
		return benchSide{}, err
	}
	w, _, err := flows.Create(ctx, c.ID, by, workflow.Input{Name: "Webhook → transform", Definition: def})
	if err == nil {
		_, _, err = flows.Publish(ctx, c.ID, w.ID, by)
	}
	var token, secret string
	if err == nil {
		_, token, secret, err = hooks.Create(ctx, c.ID, w.ID, by, workflow.WebhookInput{RatePerMinute: workflow.WebhookRateMax})
	}
	if err != nil {
		a.close()
		return benchSide{}, fmt.Errorf("bench: set up the workflow: %w", err)
	}
	var n atomic.Int64
	side := benchPost(name, cfg.BaseURL+"/api/v1/workflows/webhooks/"+token, o.body, func(req *http.Request, body []byte) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(workflow.HeaderTimestamp, ts)
		req.Header.Set(workflow.HeaderSignature, workflow.Sign(secret, ts, body))
		if mode == workflow.WebhookAsync { // each accepted delivery de-duplicated, as a shop's retries would be
			req.Header.Set(workflow.HeaderDelivery, slug+"-"+strconv.FormatInt(n.Add(1), 10))
		}
	})
	side.close = a.close
	if mode == workflow.WebhookAsync {
		side.drain = func(ctx context.Context, accepted int64) error {
			for {
				counts, traces, err := flows.RunCounts(ctx, c.ID, w.ID)
				if err != nil {
					return err
				}
				if counts[workflow.RunFailed] > 0 {
					return fmt.Errorf("bench: %d runs failed", counts[workflow.RunFailed])
				}
				if counts[workflow.RunSucceeded] >= accepted && traces >= 2*accepted {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("bench: %d of %d runs done, %d traces: %w", counts[workflow.RunSucceeded], accepted, traces, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	return side, nil
}
