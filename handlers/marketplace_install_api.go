package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/marketplace"
)

// The install API: /api/v1/marketplace/installs. The community comes from a
// community key, or ?community_id= for a person's key (as for workflows);
// members read, owners and admins install, change and uninstall.

func (h *Handler) installAPIRoutes(r chi.Router) {
	r.Route("/marketplace/installs", func(r chi.Router) {
		r.Use(h.apiRoles(roleUser, roleAdmin), h.apiWorkflowCommunity)
		r.Get("/", h.apiInstalls)
		r.Group(func(r chi.Router) {
			r.Use(h.apiRequireManager)
			r.Post("/", h.apiInstall)
			r.Patch("/{slug}", h.apiChangeInstall)
			r.Delete("/{slug}", h.apiUninstall)
			r.Post("/{slug}/accept", h.apiAcceptInstall)
		})
	})
}

// apiRequireManager lets only the community's owners and admins through.
func (h *Handler) apiRequireManager(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !membershipOf(r).Role.CanManage() {
			h.apiFail(w, r, community.ErrNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// installBody is the JSON of an install or a change.
type installBody struct {
	Slug    string                   `json:"slug"`
	Version string                   `json:"version"`
	Accept  []marketplace.Capability `json:"accept"`
	Config  map[string]any           `json:"config"`
	Prefix  string                   `json:"prefix"`
}

func (h *Handler) apiInstalls(w http.ResponseWriter, r *http.Request) {
	list, err := h.cfg.Marketplace.Installed(r.Context(), membershipOf(r).Community.ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list, "")
}

func (h *Handler) apiInstall(w http.ResponseWriter, r *http.Request) {
	var in installBody
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	got, err := h.cfg.Marketplace.Install(r.Context(), h.workflowActor(r), membershipOf(r).Community.ID, marketplace.InstallInput{
		Slug: in.Slug, Version: in.Version, Accept: in.Accept, Config: in.Config, Prefix: in.Prefix})
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, got, "")
}

func (h *Handler) apiChangeInstall(w http.ResponseWriter, r *http.Request) {
	var in installBody
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	res, err := h.cfg.Marketplace.ChangeVersion(r.Context(), h.workflowActor(r), membershipOf(r).Community.ID, chi.URLParam(r, "slug"),
		in.Version, in.Accept, in.Config)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	msg := ""
	if res.Waiting {
		msg = "The version waits for new capabilities to be accepted; the old version keeps running."
	}
	writeJSON(w, http.StatusOK, res, msg)
}

func (h *Handler) apiUninstall(w http.ResponseWriter, r *http.Request) {
	if err := h.cfg.Marketplace.Uninstall(r.Context(), h.workflowActor(r), membershipOf(r).Community.ID, chi.URLParam(r, "slug")); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "The module is uninstalled and its commands are gone.")
}

func (h *Handler) apiAcceptInstall(w http.ResponseWriter, r *http.Request) {
	var in installBody
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	got, err := h.cfg.Marketplace.AcceptPending(r.Context(), h.workflowActor(r), membershipOf(r).Community.ID, chi.URLParam(r, "slug"), in.Accept)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, got, "")
}
