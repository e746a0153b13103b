package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
)

// The named counters page of a community, beside its commands: the counters
// {counter:NAME} counts, with their values. Members look; managers set,
// reset and delete (routes.go puts the writes behind requireManager).

func (h *Handler) counterHubRoutes(r chi.Router) {
	r.Get("/counters", h.countersPage)
	r.Group(func(r chi.Router) {
		r.Use(h.requireManager)
		r.Post("/counters", h.setCounter)
		r.Post("/counters/{name}/delete", h.deleteCounter)
	})
}

func (h *Handler) renderCounters(w http.ResponseWriter, r *http.Request, st int, form views.CounterForm) {
	m := membershipOf(r)
	cs, err := h.settings.Counters(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.CountersPage{Chrome: h.chrome(r, "Counters · "+m.Name, "communities"), Nav: h.botNav(r, "commands"),
		CanManage: m.Role.CanManage(), Form: form, Max: router.MaxCounters}
	for _, c := range cs {
		p.Counters = append(p.Counters, views.CounterRow{CommunityID: m.ID, Name: c.Name, Value: c.Value, Imported: c.Imported, CanManage: p.CanManage})
	}
	h.render(w, r, st, views.Counters(p))
}

func (h *Handler) countersPage(w http.ResponseWriter, r *http.Request) {
	h.renderCounters(w, r, http.StatusOK, views.CounterForm{Value: "0"})
}

// counterForm reads a counter's name and value; an empty value is 0 (reset).
func counterForm(w http.ResponseWriter, r *http.Request) (string, int64, views.CounterForm, error) {
	if err := parseForm(w, r); err != nil {
		return "", 0, views.CounterForm{}, err
	}
	f := views.CounterForm{Name: strings.TrimSpace(r.PostForm.Get("name")), Value: strings.TrimSpace(r.PostForm.Get("value"))}
	name, err := router.CounterName(f.Name)
	if err != nil {
		return "", 0, f, err
	}
	if f.Value == "" {
		return name, 0, f, nil
	}
	n, err := strconv.ParseInt(f.Value, 10, 64)
	if err != nil {
		return name, 0, f, problem.Invalidf("value", "A counter is a whole number; %q is not.", runes.Truncate(f.Value, 20, "…"))
	}
	return name, n, f, nil
}

func (h *Handler) setCounter(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	name, n, f, err := counterForm(w, r)
	if err == nil {
		_, err = h.settings.SetCounter(r.Context(), auditActor(r), m.ID, name, n)
	}
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, formAnswer{
		Page:  func(st int, msg string) { f.Error = msg; h.renderCounters(w, r, st, f) },
		Flash: fmt.Sprintf("Counter %s set to %d.", name, n),
		To:    botPath(m.ID, "counters"),
	})
}

func (h *Handler) deleteCounter(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	name := chiURLParam(r, "name")
	if err := h.settings.DeleteCounter(r.Context(), auditActor(r), m.ID, name); err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, fmt.Sprintf("Counter %s deleted.", strings.ToLower(name)), botPath(m.ID, "counters"))
}
