package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Workflow templates in the API: the built-in ones and the community's own.

func (h *Handler) apiTemplates(w http.ResponseWriter, r *http.Request) {
	if err := h.workflowMay(r, 0, canRead); err != nil {
		h.apiFail(w, r, err)
		return
	}
	list, err := h.cfg.Workflows.Templates(r.Context(), membershipOf(r).Community.ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list, "")
}

func (h *Handler) apiTemplate(w http.ResponseWriter, r *http.Request) {
	if err := h.workflowMay(r, 0, canRead); err != nil {
		h.apiFail(w, r, err)
		return
	}
	t, err := h.cfg.Workflows.Template(r.Context(), membershipOf(r).Community.ID, chi.URLParam(r, "id"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t, "")
}

type instantiateJSON struct {
	TemplateID string `json:"template_id"`
	Name       string `json:"name"`
}

func (h *Handler) apiTemplateInstantiate(w http.ResponseWriter, r *http.Request) {
	var in instantiateJSON
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if err := h.workflowMay(r, 0, canWrite); err != nil {
		h.apiFail(w, r, err)
		return
	}
	wf, rep, err := h.cfg.Workflows.Instantiate(r.Context(), membershipOf(r).Community.ID, h.workflowActor(r), in.TemplateID, in.Name)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, workflowJSON{wf, &rep}, "A draft workflow was made from the template.")
}

// templateAPIRoutes lists the template API's routes.
func (h *Handler) templateAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiWorkflowCommunity)
	r.Get("/", h.apiTemplates)
	r.Post("/instantiate", h.apiTemplateInstantiate)
	r.Get("/{id}", h.apiTemplate)
}
