package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/waddle/waddle/platform"
)

// slackEvents receives Slack's Events API (POST /webhooks/slack/events): the
// request is verified and committed with its processing job before the 200,
// which Slack wants within 3 seconds; the job does the rest. Without
// SLACK_SIGNING_SECRET the endpoint does not exist.
func (h *Handler) slackEvents(w http.ResponseWriter, r *http.Request) {
	h.slackReceive(w, r, "events", func(s SlackReceiver) slackReceiveFunc { return s.Receive })
}

// slackCommands receives slash commands (POST /webhooks/slack/commands):
// verified and committed with their job like events, then acknowledged with
// an empty 200 (Slack shows nothing); the job posts the answer to the
// command's response_url.
func (h *Handler) slackCommands(w http.ResponseWriter, r *http.Request) {
	h.slackReceive(w, r, "slash commands", func(s SlackReceiver) slackReceiveFunc { return s.ReceiveCommand })
}

// slackInteractive receives button clicks and modal submissions (POST
// /webhooks/slack/interactive), acknowledged with an empty 200, which also
// closes a submitted modal.
func (h *Handler) slackInteractive(w http.ResponseWriter, r *http.Request) {
	h.slackReceive(w, r, "interactions", func(s SlackReceiver) slackReceiveFunc { return s.ReceiveInteraction })
}

// SlackReceiver checks Slack's signed requests and commits each with its
// processing job (package bots/slack implements it).
type SlackReceiver interface {
	Receive(ctx context.Context, header http.Header, body []byte) (platform.Ack, error)
	ReceiveCommand(ctx context.Context, header http.Header, body []byte) (platform.Ack, error)
	ReceiveInteraction(ctx context.Context, header http.Header, body []byte) (platform.Ack, error)
}

type slackReceiveFunc func(ctx context.Context, header http.Header, body []byte) (platform.Ack, error)

// slackReceive reads a Slack request body of at most 1 MiB and hands it to
// the receiver method pick returns. Without SLACK_SIGNING_SECRET the
// endpoints do not exist.
func (h *Handler) slackReceive(w http.ResponseWriter, r *http.Request, what string, pick func(SlackReceiver) slackReceiveFunc) {
	if h.cfg.Slack == nil {
		slackText(w, http.StatusNotFound, "Slack "+what+" are not enabled on this server.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, platform.WebhookMaxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.logger.WarnContext(r.Context(), "slack request too large", "limit", platform.WebhookMaxBody, "path", r.URL.Path)
			slackText(w, http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.")
			return
		}
		slackText(w, http.StatusBadRequest, "The body could not be read.")
		return
	}
	ack, err := pick(h.cfg.Slack)(r.Context(), r.Header, body)
	if err != nil {
		st := status(err)
		if st == http.StatusInternalServerError {
			h.logger.ErrorContext(r.Context(), "slack request not stored; slack will retry", "path", r.URL.Path, "err", err)
		}
		if st != 499 {
			slackText(w, st, message(err))
		}
		return
	}
	if ack.Challenge != "" {
		b, _ := json.Marshal(struct {
			Challenge string `json:"challenge"`
		}{ack.Challenge})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// slackText answers Slack with a short plain-text message.
func slackText(w http.ResponseWriter, st int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(st)
	io.WriteString(w, msg)
}
