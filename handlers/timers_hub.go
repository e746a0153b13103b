package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/timers"
	"github.com/waddle/waddle/views"
)

// The timers page of a community: members look, managers create, edit,
// turn on and off, and delete.

// timersHubRoutes adds the timers page under /c/{cid}.
func (h *Handler) timersHubRoutes(r chi.Router) {
	r.Get("/timers", h.timersPage)
	r.Group(func(r chi.Router) {
		r.Use(h.requireManager)
		r.Post("/timers", h.createTimer)
		r.Get("/timers/{tid}/edit", h.editTimerPage)
		r.Post("/timers/{tid}", h.updateTimer)
		r.Post("/timers/{tid}/toggle", h.toggleTimer)
		r.Post("/timers/{tid}/delete", h.deleteTimer)
	})
}

// newTimerForm is the new-timer form before anything is typed.
func newTimerForm() views.TimerForm {
	return views.TimerForm{Interval: "15", MinLines: "5", Enabled: true}
}

func timerTargets(ts []timers.Target) []views.TimerTarget {
	out := make([]views.TimerTarget, len(ts))
	for i, t := range ts {
		label := t.Platform + " " + t.Server
		if t.Name != "" && t.Name != t.Server {
			label += " (" + t.Name + ")"
		}
		out[i] = views.TimerTarget{Value: t.Platform + "|" + t.Server, Label: label}
	}
	return out
}

func timerRow(cid int64, t timers.Timer, canManage bool) views.TimerRow {
	where := t.Platform + " " + t.Server
	if t.Platform != "twitch" {
		where += " #" + t.Channel
	}
	row := views.TimerRow{CommunityID: cid, ID: t.ID, Name: t.Name, Message: t.Message, Where: where, Every: t.IntervalMinutes,
		MinLines: t.MinLines, LinesSince: t.LinesSince, OnlyLive: t.OnlyLive, Enabled: t.Enabled, Imported: t.Imported,
		LastOutcome: t.LastOutcome, Why: t.Why(), CanManage: canManage}
	if t.NextFireAt != nil {
		row.Next = *t.NextFireAt
	}
	if t.LastOutcomeAt != nil {
		row.LastAt = *t.LastOutcomeAt
	}
	return row
}

// timerForm reads the create or edit form; Target is "platform|server".
func timerForm(v url.Values) (timers.Input, views.TimerForm, error) {
	f := views.TimerForm{Name: v.Get("name"), Message: v.Get("message"), Target: v.Get("target"), Channel: v.Get("channel"),
		Interval: v.Get("interval_minutes"), MinLines: v.Get("min_lines"), OnlyLive: v.Get("only_live") != "", Enabled: v.Get("enabled") != ""}
	platform, server, _ := strings.Cut(f.Target, "|")
	in := timers.Input{Name: f.Name, Message: f.Message, Platform: platform, Server: server, Channel: f.Channel,
		OnlyLive: f.OnlyLive, Enabled: f.Enabled}
	var err error
	if in.IntervalMinutes, f.Interval, err = formInt(v, "interval_minutes", "The interval", 0); err != nil {
		return in, f, err
	}
	if in.MinLines, f.MinLines, err = formInt(v, "min_lines", "The chat lines", 0); err != nil {
		return in, f, err
	}
	return in, f, nil
}

// timerFields maps the service's fields to the form's.
var timerFields = map[string]string{"platform": "target", "server": "target"}

// renderTimers shows the list and the new-timer form, or (editID not 0)
// one timer's edit form.
func (h *Handler) renderTimers(w http.ResponseWriter, r *http.Request, st int, form views.TimerForm, editID int64) {
	m := membershipOf(r)
	ts, err := h.cfg.Timers.List(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	targets, err := h.cfg.Timers.Targets(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	p := views.TimersPage{Chrome: h.chrome(r, "Timers · "+m.Name, "communities"), Nav: h.botNav(r, "timers"), CanManage: can,
		Targets: timerTargets(targets), Form: form, EditID: editID}
	for _, t := range ts {
		p.Timers = append(p.Timers, timerRow(m.ID, t, can))
	}
	h.render(w, r, st, views.Timers(p))
}

func (h *Handler) timersPage(w http.ResponseWriter, r *http.Request) {
	h.renderTimers(w, r, http.StatusOK, newTimerForm(), 0)
}

func (h *Handler) createTimer(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.TimerForm
	answer := formAnswer{
		Page:  func(st int, msg string) { f.Error = msg; h.renderTimers(w, r, st, f, 0) },
		Flash: "Timer added.",
		To:    botPath(m.ID, "timers"),
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	in, form, err := timerForm(r.PostForm)
	if f = form; err == nil {
		_, err = h.cfg.Timers.Create(r.Context(), auditActor(r), m.ID, in)
	}
	f.Field = fieldOf(err, timerFields)
	h.answerForm(w, r, err, answer)
}

// timerOf loads the timer {tid} of the community.
func (h *Handler) timerOf(r *http.Request) (timers.Timer, error) {
	id, err := timerID(r)
	if err != nil {
		return timers.Timer{}, err
	}
	return h.cfg.Timers.Get(r.Context(), membershipOf(r).ID, id)
}

func (h *Handler) editTimerPage(w http.ResponseWriter, r *http.Request) {
	t, err := h.timerOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := views.TimerForm{Name: t.Name, Message: t.Message, Target: t.Platform + "|" + t.Server, Interval: strconv.Itoa(t.IntervalMinutes),
		MinLines: strconv.Itoa(t.MinLines), OnlyLive: t.OnlyLive, Enabled: t.Enabled}
	if t.Platform != "twitch" {
		f.Channel = t.Channel
	}
	h.renderTimers(w, r, http.StatusOK, f, t.ID)
}

func (h *Handler) updateTimer(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	t, err := h.timerOf(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, f, err := timerForm(r.PostForm)
	answer := formAnswer{
		Page:  func(st int, msg string) { f.Error = msg; h.renderTimers(w, r, st, f, t.ID) },
		Flash: fmt.Sprintf("Timer %q saved.", in.Name),
		To:    botPath(m.ID, "timers"),
	}
	if err == nil {
		_, err = h.cfg.Timers.Update(r.Context(), auditActor(r), m.ID, t.ID, in)
	}
	f.Field = fieldOf(err, timerFields)
	h.answerForm(w, r, err, answer)
}

// toggleTimer turns a timer on or off; HTMX gets its row.
func (h *Handler) toggleTimer(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	t, err := h.timerOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	row := timerRow(m.ID, t, true)
	flash := "Timer turned off."
	if !t.Enabled {
		flash = "Timer turned on."
	}
	answer := rowAnswer(&row, func(shown views.TimerRow, msg string) views.TimerRow { shown.Error = msg; return shown },
		func(shown views.TimerRow) templ.Component { return views.TimerItem(shown) },
		func(st int, _ *views.TimerRow) { h.renderTimers(w, r, st, newTimerForm(), 0) }, flash, botPath(m.ID, "timers"))
	updated, err := h.cfg.Timers.SetEnabled(r.Context(), auditActor(r), m.ID, t.ID, !t.Enabled)
	if err == nil {
		row = timerRow(m.ID, updated, true)
	}
	h.answerForm(w, r, err, answer)
}

func (h *Handler) deleteTimer(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := timerID(r)
	if err == nil {
		err = h.cfg.Timers.Delete(r.Context(), auditActor(r), m.ID, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, "Timer deleted.", botPath(m.ID, "timers"))
}
