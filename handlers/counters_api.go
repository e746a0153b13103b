package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// The named counters API: members' user keys list a community's counters;
// a manager's key (owner or admin) sets, resets (value 0) and deletes them.

func (h *Handler) counterAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess)
	r.Get("/counters", h.apiCounters)
	r.Put("/counters/{name}", h.apiSetCounter)
	r.Delete("/counters/{name}", h.apiDeleteCounter)
}

type counterJSON struct {
	Name     string `json:"name"`
	Value    int64  `json:"value"`
	Imported bool   `json:"imported"`
}

func toCounterJSON(c router.NamedCounter) counterJSON {
	return counterJSON{Name: c.Name, Value: c.Value, Imported: c.Imported}
}

func (h *Handler) apiCounters(w http.ResponseWriter, r *http.Request) {
	cs, err := h.settings.Counters(r.Context(), membershipOf(r).ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := struct {
		Counters []counterJSON `json:"counters"`
	}{Counters: []counterJSON{}}
	for _, c := range cs {
		out.Counters = append(out.Counters, toCounterJSON(c))
	}
	writeJSON(w, http.StatusOK, out, "")
}

func (h *Handler) apiSetCounter(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.CanManage() {
		h.apiFail(w, r, community.ErrNotAllowed)
		return
	}
	var in struct {
		Value *int64 `json:"value"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.Value == nil {
		h.apiFail(w, r, problem.Invalidf("value", "The field \"value\" is required."))
		return
	}
	u, _ := userOf(r)
	c, err := h.settings.SetCounter(r.Context(), keyActor(r, u), m.ID, chiURLParam(r, "name"), *in.Value)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCounterJSON(c), "")
}

func (h *Handler) apiDeleteCounter(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.CanManage() {
		h.apiFail(w, r, community.ErrNotAllowed)
		return
	}
	u, _ := userOf(r)
	if err := h.settings.DeleteCounter(r.Context(), keyActor(r, u), m.ID, chiURLParam(r, "name")); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{}, "Counter deleted.")
}
