package handlers

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

// The reviews and usage API. A key acts as its owner (apiUser): a user key
// of a global admin has no admin power here, as everywhere.

// socialAPIRoutes adds the review and usage routes under /api/v1.
func (h *Handler) socialAPIRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(h.apiRoles(roleUser, roleAdmin))
		r.Get("/marketplace/modules/{slug}/reviews", h.apiReviews)
		r.Put("/marketplace/modules/{slug}/review", h.apiPutReview)
		r.Delete("/marketplace/modules/{slug}/review", h.apiDeleteReview)
		r.Post("/marketplace/modules/{slug}/reviews/{user_id}/answer", h.apiAnswerReview)
		r.Post("/marketplace/modules/{slug}/reviews/{user_id}/hide", h.apiHideReview)
		r.Get("/marketplace/modules/{slug}/usage", h.apiModuleUsage)
		// A community's view: tenancy by ?community_id= (or the key's community) and in SQL.
		r.With(h.apiWorkflowCommunity).Get("/marketplace/installs/{slug}/usage", h.apiInstallUsage)
	})
}

// keyActor is the key's owner and the key, for the audit log.
func keyActor(r *http.Request, u auth.User) audit.Actor {
	return audit.Actor{UserID: u.ID, Email: u.Email, Name: "API key " + strconv.FormatInt(keyOf(r).KeyID, 10), IP: ipOf(r)}
}

type reviewPageJSON struct {
	marketplace.ReviewPage
	Average float64 `json:"average"`
}

func (h *Handler) apiReviews(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	limit, offset := 20, 0
	for name, dst := range map[string]*int{"limit": &limit, "offset": &offset} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (name == "limit" && (n < 1 || n > 100)) {
				h.apiFail(w, r, problem.Invalidf(name, "%s must be a whole number (limit 1 to 100, offset 0 or more).", name))
				return
			}
			*dst = n
		}
	}
	p, err := h.cfg.Marketplace.Reviews(r.Context(), chi.URLParam(r, "slug"), limit, offset, u.IsAdmin)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reviewPageJSON{ReviewPage: p, Average: p.Rating.Average()}, "")
}

type reviewJSON struct {
	Stars int    `json:"stars"`
	Body  string `json:"body"`
}

func (h *Handler) apiPutReview(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	var in reviewJSON
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	rev, err := h.cfg.Marketplace.PutReview(r.Context(), keyActor(r, u), u.ID, chi.URLParam(r, "slug"), in.Stars, in.Body)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rev, "")
}

func (h *Handler) apiDeleteReview(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if err := h.cfg.Marketplace.DeleteReview(r.Context(), keyActor(r, u), u.ID, chi.URLParam(r, "slug")); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "Review deleted.")
}

type answerJSON struct {
	Answer string `json:"answer"`
}

func (h *Handler) apiAnswerReview(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	reviewer, err := pathID(r, "user_id")
	if err != nil {
		h.apiFail(w, r, marketplace.ErrReviewNotFound)
		return
	}
	var in answerJSON
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	rev, err := h.cfg.Marketplace.AnswerReview(r.Context(), keyActor(r, u), u.ID, chi.URLParam(r, "slug"), reviewer, in.Answer)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rev, "")
}

type hideJSON struct {
	Hidden *bool `json:"hidden"` // absent: true
}

func (h *Handler) apiHideReview(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	reviewer, err := pathID(r, "user_id")
	if err != nil {
		h.apiFail(w, r, marketplace.ErrReviewNotFound)
		return
	}
	var in hideJSON
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			h.apiFail(w, r, err)
			return
		}
	}
	slug := chi.URLParam(r, "slug")
	var rev marketplace.Review
	if in.Hidden != nil && !*in.Hidden {
		rev, err = h.cfg.Marketplace.UnhideReview(r.Context(), keyActor(r, u), u.IsAdmin, slug, reviewer)
	} else {
		rev, err = h.cfg.Marketplace.HideReview(r.Context(), keyActor(r, u), u.IsAdmin, slug, reviewer)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rev, "")
}

func (h *Handler) apiModuleUsage(w http.ResponseWriter, r *http.Request) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	usage, err := h.cfg.Marketplace.ModuleUsage(r.Context(), u.ID, u.IsAdmin, chi.URLParam(r, "slug"), r.URL.Query().Get("version"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, usage, "")
}

func (h *Handler) apiInstallUsage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.CanManage() {
		h.apiFail(w, r, community.ErrNotAllowed)
		return
	}
	usage, err := h.cfg.Marketplace.CommunityUsageBySlug(r.Context(), m.ID, chi.URLParam(r, "slug"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, usage, "")
}
