package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Limits of POST /api/v1/events.
const (
	maxEventBatch      = 100
	maxEventBatchBytes = 1 << 20
	eventSlots         = 16 // events of one batch handled at once
)

// eventAnswer is the answer for one event of a batch.
type eventAnswer struct {
	ID        string                `json:"id"`
	Status    int                   `json:"status"`
	Responses []router.Response     `json:"responses,omitempty"`
	HandledBy string                `json:"handled_by,omitempty"`
	Points    []router.PointsChange `json:"points,omitempty"`
	Duplicate bool                  `json:"duplicate,omitempty"`
	Error     string                `json:"error,omitempty"`
}

// apiEvents takes one event or a batch (a JSON array of up to 100) and
// answers each with its responses or its error. Events of a batch run
// concurrently on a bounded pool; a bad event does not stop the others.
func (h *Handler) apiEvents(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBatchBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.apiFail(w, r, problem.New(problem.Invalid, "The body is too large (at most 1 MiB)."))
			return
		}
		h.apiFail(w, r, problem.New(problem.Invalid, "The body could not be read."))
		return
	}
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	single := len(body) > 0 && body[0] == '{'
	switch {
	case single:
		raws = []json.RawMessage{body}
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			h.apiFail(w, r, problem.JSON(err, "body"))
			return
		}
		if len(raws) == 0 || len(raws) > maxEventBatch {
			h.apiFail(w, r, problem.New(problem.Invalid, "Send 1 to %d events in a batch.", maxEventBatch))
			return
		}
	default:
		h.apiFail(w, r, problem.New(problem.Invalid, "Send one event as a JSON object or a batch as a JSON array."))
		return
	}
	answers := make([]eventAnswer, len(raws))
	var evs []router.Event
	var at []int // answers index of each valid event
	for i, raw := range raws {
		ev, err := router.DecodeEvent(raw)
		if err == nil {
			err = ev.Validate()
		}
		if err != nil {
			answers[i] = eventAnswer{ID: ev.ID, Status: status(err), Error: message(err)}
			continue
		}
		evs = append(evs, ev)
		at = append(at, i)
	}
	if cid := keyOf(r).CommunityID; cid != 0 {
		evs, at = h.eventsOf(r, cid, evs, at, answers)
	}
	for j, item := range h.router.HandleBatch(r.Context(), evs, eventSlots) {
		i, ev := at[j], evs[j]
		if item.Err != nil {
			st := status(item.Err)
			if st == http.StatusInternalServerError {
				h.logger.ErrorContext(r.Context(), "handle event", "err", item.Err, "event", ev.ID)
			}
			answers[i] = eventAnswer{ID: ev.ID, Status: st, Error: message(item.Err)}
			continue
		}
		res := item.Result
		answers[i] = eventAnswer{ID: ev.ID, Status: http.StatusOK, Responses: res.Responses, HandledBy: res.HandledBy, Points: res.Points, Duplicate: res.Duplicate}
	}
	if single {
		a := answers[0]
		if a.Status != http.StatusOK {
			apiError(w, r, a.Status, a.Error)
			return
		}
		writeJSON(w, http.StatusOK, a, "")
		return
	}
	failed := 0
	for _, a := range answers {
		if a.Status != http.StatusOK {
			failed++
		}
	}
	msg := ""
	if failed > 0 {
		msg = itoa(int64(failed)) + " of " + itoa(int64(len(answers))) + " events failed; see each one's error."
	}
	writeJSON(w, http.StatusOK, answers, msg)
}

// eventsOf keeps the events of community cid, the only one the request's key
// reaches. Every other event is answered as one from a server no community
// has linked, before the router sees it: nothing is handled, nothing is
// stored, no stored answer of another community is given back, and nothing
// tells that the server is linked.
func (h *Handler) eventsOf(r *http.Request, cid int64, evs []router.Event, at []int, answers []eventAnswer) ([]router.Event, []int) {
	keep := evs[:0]
	keepAt := at[:0]
	for j, ev := range evs {
		i := at[j]
		got, err := h.router.CommunityOf(r.Context(), ev.Platform, ev.Server)
		switch {
		case err == nil && got == cid:
			keep = append(keep, ev)
			keepAt = append(keepAt, i)
		case err == nil || errors.Is(err, router.ErrNotLinked):
			answers[i] = eventAnswer{ID: ev.ID, Status: status(router.ErrNotLinked), Error: message(router.ErrNotLinked)}
		default:
			if status(err) == http.StatusInternalServerError {
				h.logger.ErrorContext(r.Context(), "resolve event server", "err", err, "event", ev.ID)
			}
			answers[i] = eventAnswer{ID: ev.ID, Status: status(err), Error: message(err)}
		}
	}
	return keep, keepAt
}
