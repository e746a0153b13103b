package handlers

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/waddle/waddle/platform"
)

// twitchEventSub receives Twitch EventSub webhooks. Every message is checked
// against TWITCH_EVENTSUB_SECRET first; a notification is answered 204 only
// once it and the job that processes it are committed.
func (h *Handler) twitchEventSub(w http.ResponseWriter, r *http.Request) {
	if h.cfg.EventSubSecret == "" || h.cfg.EventSub == nil {
		webhookError(w, http.StatusNotFound, "Twitch EventSub is not configured here.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, platform.EventSubMaxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.logger.WarnContext(r.Context(), "eventsub body too large", "limit", platform.EventSubMaxBody)
			webhookError(w, http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.")
			return
		}
		webhookError(w, http.StatusBadRequest, "The body could not be read.")
		return
	}
	m, err := platform.VerifyEventSub(h.cfg.EventSubSecret, r.Header, body, time.Now())
	if err != nil {
		h.webhookFail(w, r, err)
		return
	}
	switch m.Type {
	case platform.EventSubChallenge:
		challenge, err := platform.EventSubChallengeAnswer(m)
		if err != nil {
			h.webhookFail(w, r, err)
			return
		}
		h.logger.InfoContext(r.Context(), "eventsub subscription verified", "type", m.SubType)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(challenge))
	case platform.EventSubRevocation:
		if err := h.cfg.EventSub.Revoked(r.Context(), m); err != nil {
			h.webhookFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default: // notification; VerifyEventSub refuses other types
		if _, err := h.cfg.EventSub.Store(r.Context(), m); err != nil {
			h.webhookFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
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
