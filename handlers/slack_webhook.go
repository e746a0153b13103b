package handlers

import (
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
	if h.cfg.Slack == nil {
		slackText(w, http.StatusNotFound, "Slack events are not enabled on this server.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, platform.SlackMaxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.logger.WarnContext(r.Context(), "slack request too large", "limit", platform.SlackMaxBody)
			slackText(w, http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.")
			return
		}
		slackText(w, http.StatusBadRequest, "The body could not be read.")
		return
	}
	ack, err := h.cfg.Slack.Receive(r.Context(), r.Header, body)
	if err != nil {
		st := status(err)
		if st == http.StatusInternalServerError {
			h.logger.ErrorContext(r.Context(), "slack event not stored; slack will retry", "err", err)
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
