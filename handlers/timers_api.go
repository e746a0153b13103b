package handlers

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/timers"
)

// The timers API: members read a community's timers, managers change them.
// Tenancy: apiCommunityAccess, and every query filters by the community in
// SQL.

// timersAPIRoutes adds the timer routes under /communities/{cid}.
func (h *Handler) timersAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess)
	r.Get("/timers", h.apiTimers)
	r.Get("/timers/{tid}", h.apiTimer)
	r.Group(func(r chi.Router) {
		r.Use(apiAtLeast(community.Admin))
		r.Post("/timers", h.apiCreateTimer)
		r.Patch("/timers/{tid}", h.apiUpdateTimer)
		r.Delete("/timers/{tid}", h.apiDeleteTimer)
	})
}

type timerJSON struct {
	ID              int64      `json:"id"`
	Name            string     `json:"name"`
	Message         string     `json:"message"`
	Platform        string     `json:"platform"`
	Server          string     `json:"server"`
	Channel         string     `json:"channel"`
	IntervalMinutes int        `json:"interval_minutes"`
	MinLines        int        `json:"min_lines"`
	OnlyLive        bool       `json:"only_live"`
	Enabled         bool       `json:"enabled"`
	LinesSince      int64      `json:"lines_since"`
	NextFireAt      *time.Time `json:"next_fire_at"`
	LastFiredAt     *time.Time `json:"last_fired_at"`
	LastOutcome     string     `json:"last_outcome"`
	LastOutcomeAt   *time.Time `json:"last_outcome_at"`
	LastError       string     `json:"last_error"`
	Why             string     `json:"why"` // the last outcome in words
	Imported        bool       `json:"imported"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func toTimerJSON(t timers.Timer) timerJSON {
	return timerJSON{ID: t.ID, Name: t.Name, Message: t.Message, Platform: t.Platform, Server: t.Server, Channel: t.Channel,
		IntervalMinutes: t.IntervalMinutes, MinLines: t.MinLines, OnlyLive: t.OnlyLive, Enabled: t.Enabled,
		LinesSince: t.LinesSince, NextFireAt: t.NextFireAt, LastFiredAt: t.LastFiredAt, LastOutcome: t.LastOutcome,
		LastOutcomeAt: t.LastOutcomeAt, LastError: t.LastError, Why: t.Why(), Imported: t.Imported,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// timerInputJSON is a timer to create, or the fields to change (those left
// out keep their value).
type timerInputJSON struct {
	Name            *string `json:"name"`
	Message         *string `json:"message"`
	Platform        *string `json:"platform"`
	Server          *string `json:"server"`
	Channel         *string `json:"channel"`
	IntervalMinutes *int    `json:"interval_minutes"`
	MinLines        *int    `json:"min_lines"`
	OnlyLive        *bool   `json:"only_live"`
	Enabled         *bool   `json:"enabled"`
}

func (in timerInputJSON) input(old timers.Input) timers.Input {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&old.Name, in.Name)
	set(&old.Message, in.Message)
	set(&old.Platform, in.Platform)
	set(&old.Server, in.Server)
	set(&old.Channel, in.Channel)
	if in.IntervalMinutes != nil {
		old.IntervalMinutes = *in.IntervalMinutes
	}
	if in.MinLines != nil {
		old.MinLines = *in.MinLines
	}
	if in.OnlyLive != nil {
		old.OnlyLive = *in.OnlyLive
	}
	if in.Enabled != nil {
		old.Enabled = *in.Enabled
	}
	return old
}

// inputOf is a timer's settings as an Input.
func inputOf(t timers.Timer) timers.Input {
	return timers.Input{Name: t.Name, Message: t.Message, Platform: t.Platform, Server: t.Server, Channel: t.Channel,
		IntervalMinutes: t.IntervalMinutes, MinLines: t.MinLines, OnlyLive: t.OnlyLive, Enabled: t.Enabled}
}

// timerID is the {tid} of the path; a bad one is a timer not found.
func timerID(r *http.Request) (int64, error) {
	id, err := pathID(r, "tid")
	if err != nil {
		return 0, timers.ErrNotFound
	}
	return id, nil
}

func (h *Handler) apiTimers(w http.ResponseWriter, r *http.Request) {
	ts, err := h.cfg.Timers.List(r.Context(), membershipOf(r).ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := make([]timerJSON, len(ts))
	for i, t := range ts {
		out[i] = toTimerJSON(t)
	}
	writeJSON(w, http.StatusOK, out, "")
}

func (h *Handler) apiTimer(w http.ResponseWriter, r *http.Request) {
	id, err := timerID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	t, err := h.cfg.Timers.Get(r.Context(), membershipOf(r).ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTimerJSON(t), "")
}

func (h *Handler) apiCreateTimer(w http.ResponseWriter, r *http.Request) {
	var in timerInputJSON
	if err := decodeStrict(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	u, _ := userOf(r)
	t, err := h.cfg.Timers.Create(r.Context(), keyActor(r, u), membershipOf(r).ID, in.input(timers.Input{Enabled: true}))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toTimerJSON(t), "Timer created.")
}

func (h *Handler) apiUpdateTimer(w http.ResponseWriter, r *http.Request) {
	var in timerInputJSON
	if err := decodeStrict(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	cid := membershipOf(r).ID
	id, err := timerID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	old, err := h.cfg.Timers.Get(r.Context(), cid, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	u, _ := userOf(r)
	t, err := h.cfg.Timers.Update(r.Context(), keyActor(r, u), cid, id, in.input(inputOf(old)))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTimerJSON(t), "Timer saved.")
}

func (h *Handler) apiDeleteTimer(w http.ResponseWriter, r *http.Request) {
	id, err := timerID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	u, _ := userOf(r)
	if err := h.cfg.Timers.Delete(r.Context(), keyActor(r, u), membershipOf(r).ID, id); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "Timer deleted.")
}
