package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
)

// runSocket keeps a Socket Mode connection until ctx ends. slack-go
// reconnects by itself when Slack asks it to or the connection drops; when
// it gives up (a refused app token), this waits platform.Backoff and starts
// over.
func (b *Bot) runSocket(ctx context.Context) {
	api := slack.New("", slack.OptionAppLevelToken(b.cfg.AppToken), slack.OptionAPIURL(b.apiURL),
		slack.OptionLog(b.libLog), slack.OptionHTTPClient(b.http))
	for attempt := 0; ; attempt++ {
		sm := socketmode.New(api, socketmode.OptionLog(b.libLog))
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var hello bool
		wg.Add(1)
		go func() {
			defer wg.Done()
			hello = b.consume(runCtx, sm)
		}()
		err := sm.RunContext(runCtx)
		cancel()
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		if hello {
			attempt = 0
		}
		wait := platform.Backoff(attempt)
		b.logger.WarnContext(ctx, "slack socket mode stopped; starting over", "err", err, "wait", wait)
		var se slack.SlackErrorResponse
		if errors.As(err, &se) {
			b.setSocket(platform.StateDegraded, fmt.Sprintf("Slack refused SLACK_APP_TOKEN (%s): create an app-level token with connections:write and turn Socket Mode on.", se.Err))
		} else {
			b.setSocket(platform.StateReconnecting, fmt.Sprintf("Socket Mode could not connect (%v); retrying.", err))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// consume handles sm's events until ctx ends, and reports whether Slack
// said hello.
func (b *Bot) consume(ctx context.Context, sm *socketmode.Client) (hello bool) {
	for {
		select {
		case <-ctx.Done():
			return hello
		case evt := <-sm.Events:
			if evt.Type == socketmode.EventTypeHello {
				hello = true
			}
			platform.Guard(ctx, b.logger, platform.EventTimeout, func(ctx context.Context) { b.handle(ctx, sm, evt) })
		}
	}
}

// handle stores an envelope with its job, then acknowledges it: an
// envelope not stored (the database is down) is not acknowledged, so Slack
// sends it again.
func (b *Bot) handle(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeHello:
		b.setSocket(platform.StateConnected, "Connected through Socket Mode.")
	case socketmode.EventTypeConnecting:
		if c, ok := evt.Data.(*slack.ConnectingEvent); ok && (c.Attempt > 1 || c.ConnectionCount > 0) {
			b.setSocket(platform.StateReconnecting, "Reconnecting to Slack's Socket Mode.")
		}
	case socketmode.EventTypeConnectionError:
		b.logger.WarnContext(ctx, "slack socket mode connection failed", "err", evt.Data)
		b.setSocket(platform.StateReconnecting, "Socket Mode lost its connection; reconnecting.")
	case socketmode.EventTypeInvalidAuth:
		b.setSocket(platform.StateDegraded, "Slack refused SLACK_APP_TOKEN: create an app-level token with connections:write.")
	case socketmode.EventTypeEventsAPI:
		b.store(ctx, sm, evt.Request, func(ctx context.Context) (platform.Ack, error) {
			return b.inbox.Event(ctx, evt.Request.Payload)
		})
	case socketmode.EventTypeSlashCommand:
		cmd, _ := evt.Data.(slack.SlashCommand)
		b.store(ctx, sm, evt.Request, func(ctx context.Context) (platform.Ack, error) {
			return b.inbox.Command(ctx, cmd)
		})
	case socketmode.EventTypeInteractive:
		b.store(ctx, sm, evt.Request, func(ctx context.Context) (platform.Ack, error) {
			return b.inbox.Interaction(ctx, evt.Request.Payload)
		})
	case socketmode.EventTypeErrorBadMessage:
		// An envelope slack-go could not parse: acknowledge it so Slack
		// does not send it forever.
		bad, _ := evt.Data.(*socketmode.ErrorBadMessage)
		if bad == nil {
			return
		}
		var env struct {
			EnvelopeID string `json:"envelope_id"`
			Type       string `json:"type"`
		}
		_ = json.Unmarshal(bad.Message, &env)
		b.logger.WarnContext(ctx, "slack socket mode message not understood", "type", env.Type, "envelope", env.EnvelopeID, "err", bad.Cause)
		if env.EnvelopeID != "" {
			if err := sm.AckCtx(ctx, env.EnvelopeID, nil); err != nil {
				b.logger.WarnContext(ctx, "acknowledge slack envelope", "envelope", env.EnvelopeID, "err", err)
			}
		}
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		b.logger.WarnContext(ctx, "slack socket mode", "event", evt.Type, "err", evt.Data)
	}
}

func (b *Bot) store(ctx context.Context, sm *socketmode.Client, req *socketmode.Request, save func(context.Context) (platform.Ack, error)) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	ack, err := save(ctx)
	if err != nil && problem.As(err) == nil {
		b.logger.ErrorContext(ctx, "slack envelope not stored; not acknowledged so Slack sends it again", "envelope", req.EnvelopeID, "err", err)
		return
	}
	if err != nil {
		b.logger.WarnContext(ctx, "slack envelope refused", "envelope", req.EnvelopeID, "type", req.Type, "err", err)
	} else if ack.Duplicate {
		b.logger.InfoContext(ctx, "slack envelope already stored", "envelope", req.EnvelopeID, "retry", req.RetryAttempt)
	}
	if err := sm.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		b.logger.WarnContext(ctx, "acknowledge slack envelope", "envelope", req.EnvelopeID, "err", err)
	}
}
