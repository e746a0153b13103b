package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/waddle/waddle/platform"
)

// EventSubReceiver checks a Twitch EventSub request against the secret and
// answers a verification challenge, records a revocation or commits a
// notification with its job (package bots/twitch implements it).
type EventSubReceiver interface {
	Receive(ctx context.Context, secret string, header http.Header, body []byte) (platform.Ack, error)
}

// twitchEventSub receives Twitch EventSub webhooks. Every message is checked
// against TWITCH_EVENTSUB_SECRET first; a notification is answered 204 only
// once it and the job that processes it are committed.
func (h *Handler) twitchEventSub(w http.ResponseWriter, r *http.Request) {
	if h.cfg.EventSubSecret == "" || h.cfg.EventSub == nil {
		webhookError(w, http.StatusNotFound, "Twitch EventSub is not configured here.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, platform.WebhookMaxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.logger.WarnContext(r.Context(), "eventsub body too large", "limit", platform.WebhookMaxBody)
			webhookError(w, http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.")
			return
		}
		webhookError(w, http.StatusBadRequest, "The body could not be read.")
		return
	}
	ack, err := h.cfg.EventSub.Receive(r.Context(), h.cfg.EventSubSecret, r.Header, body)
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	if ack.Challenge != "" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(ack.Challenge))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// webhookFail answers a platform's webhook with a plain-text error: internal
// errors are logged as errors, refused requests as warnings.
func (h *Handler) webhookFail(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	if st == 499 {
		return
	}
	if st == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "webhook failed", "err", err, "path", r.URL.Path)
	} else {
		h.logger.WarnContext(r.Context(), "webhook refused", "err", err, "status", st, "path", r.URL.Path)
	}
	webhookError(w, st, message(err))
}

func webhookError(w http.ResponseWriter, st int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(st)
	w.Write([]byte(msg))
}
