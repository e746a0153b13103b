package handlers

import (
	"net/http"

	"github.com/waddle/waddle/views"
)

// overviewPage is the community's landing page. A placeholder until the
// overview (checklist, bot state, activity) lands.
func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	h.render(w, r, http.StatusOK, views.OverviewPage(views.Overview{
		Chrome: h.chrome(r, m.Name, "communities"), Community: m.Community, Role: m.Role,
	}))
}
