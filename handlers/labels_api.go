package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
)

// The labels API: a community's labels and the people carrying them
// (members read, moderators label people, managers define labels), the
// hub-wide labels (global admins) and the ones a community carries (its
// managers choose). Tenancy: apiCommunityAccess, and every query filters by
// the community in SQL.

// labelsAPIRoutes adds the community's label routes under /communities/{cid}.
func (h *Handler) labelsAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess)
	r.Get("/labels", h.apiLabels)
	r.Get("/labels/search", h.apiLabelSearch)
	r.Get("/labels/{label}", h.apiLabel)
	r.Get("/people/{identity}/labels", h.apiPersonLabels)
	r.Get("/community-labels", h.apiCommunityLabels)
	r.Group(func(r chi.Router) {
		r.Use(apiAtLeast(community.Moderator))
		r.Post("/labels/bulk", h.apiLabelsBulk)
		r.Post("/people/{identity}/labels", h.apiAddPersonLabel)
		r.Delete("/people/{identity}/labels/{label}", h.apiRemovePersonLabel)
	})
	r.Group(func(r chi.Router) {
		r.Use(apiAtLeast(community.Admin))
		r.Post("/labels", h.apiCreateLabel)
		r.Patch("/labels/{label}", h.apiUpdateLabel)
		r.Delete("/labels/{label}", h.apiDeleteLabel)
		r.Put("/community-labels", h.apiSetCommunityLabels)
	})
}

// hubLabelsAPIRoutes adds the hub-wide labels under /api/v1: everyone reads,
// global admins change.
func (h *Handler) hubLabelsAPIRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(h.apiRoles(roleUser, roleAdmin))
		r.Get("/labels", h.apiHubLabels)
		r.Post("/labels", h.apiCreateHubLabel)
		r.Patch("/labels/{label}", h.apiUpdateHubLabel)
		r.Delete("/labels/{label}", h.apiDeleteHubLabel)
	})
}

// apiAtLeast refuses members below min in the route's community.
func apiAtLeast(min community.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !membershipOf(r).Role.AtLeast(min) {
				writeJSON(w, http.StatusForbidden, nil, message(community.ErrNotAllowed))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type labelJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Colour      string `json:"colour"`
	Description string `json:"description"`
	Uses        *int64 `json:"uses,omitempty"` // people (or communities) carrying it, in lists
}

func toLabelJSON(l labels.Label) labelJSON {
	return labelJSON{ID: l.ID, Name: l.Name, Colour: l.Colour, Description: l.Description}
}

func toLabelsJSON(ls []labels.Label) []labelJSON {
	out := make([]labelJSON, len(ls))
	for i, l := range ls {
		out[i] = toLabelJSON(l)
	}
	return out
}

func listedJSON(ls []labels.Listed) []labelJSON {
	out := make([]labelJSON, len(ls))
	for i, l := range ls {
		out[i] = toLabelJSON(l.Label)
		out[i].Uses = &ls[i].Uses
	}
	return out
}

type labelInputJSON struct {
	Name        *string `json:"name"`
	Colour      *string `json:"colour"`
	Description *string `json:"description"`
}

// input reads a label's fields; for an update, fields left out keep old's.
func (in labelInputJSON) input(old labels.Label) labels.Input {
	out := labels.Input{Name: old.Name, Colour: old.Colour, Description: old.Description}
	if in.Name != nil {
		out.Name = *in.Name
	}
	if in.Colour != nil {
		out.Colour = *in.Colour
	}
	if in.Description != nil {
		out.Description = *in.Description
	}
	return out
}

// apiScope is the labels' scope: the route's community, 0 for the hub.
func apiScope(r *http.Request) int64 {
	if chi.URLParam(r, "cid") == "" {
		return 0
	}
	return membershipOf(r).ID
}

func (h *Handler) apiLabels(w http.ResponseWriter, r *http.Request) {
	ls, err := h.cfg.Labels.List(r.Context(), apiScope(r))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listedJSON(ls), "")
}

func (h *Handler) apiLabel(w http.ResponseWriter, r *http.Request) {
	l, err := h.cfg.Labels.Get(r.Context(), apiScope(r), chi.URLParam(r, "label"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelJSON(l), "")
}

func (h *Handler) apiCreateLabel(w http.ResponseWriter, r *http.Request) {
	var in labelInputJSON
	if err := decodeStrict(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	u, _ := userOf(r)
	l, err := h.cfg.Labels.Create(r.Context(), keyActor(r, u), apiScope(r), in.input(labels.Label{}))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toLabelJSON(l), "Label created.")
}

func (h *Handler) apiUpdateLabel(w http.ResponseWriter, r *http.Request) {
	var in labelInputJSON
	if err := decodeStrict(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	scope, ref := apiScope(r), chi.URLParam(r, "label")
	old, err := h.cfg.Labels.Get(r.Context(), scope, ref)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	u, _ := userOf(r)
	l, err := h.cfg.Labels.Update(r.Context(), keyActor(r, u), scope, strconv.FormatInt(old.ID, 10), in.input(old))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelJSON(l), "Label saved.")
}

func (h *Handler) apiDeleteLabel(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	if err := h.cfg.Labels.Delete(r.Context(), keyActor(r, u), apiScope(r), chi.URLParam(r, "label")); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "Label deleted.")
}

// The hub-wide labels: global admins (through keys that keep that power) change them.
var errHubLabelsAdmin = problem.New(problem.Forbidden, "Only global admins change the hub-wide labels.")

func (h *Handler) hubLabelAdmin(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	u, err := h.apiUser(r)
	if err != nil {
		h.apiFail(w, r, err)
		return r, false
	}
	if !u.IsAdmin {
		h.apiFail(w, r, errHubLabelsAdmin)
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), ctxUser, u)), true
}

func (h *Handler) apiHubLabels(w http.ResponseWriter, r *http.Request) { h.apiLabels(w, r) }

func (h *Handler) apiCreateHubLabel(w http.ResponseWriter, r *http.Request) {
	if r, ok := h.hubLabelAdmin(w, r); ok {
		h.apiCreateLabel(w, r)
	}
}

func (h *Handler) apiUpdateHubLabel(w http.ResponseWriter, r *http.Request) {
	if r, ok := h.hubLabelAdmin(w, r); ok {
		h.apiUpdateLabel(w, r)
	}
}

func (h *Handler) apiDeleteHubLabel(w http.ResponseWriter, r *http.Request) {
	if r, ok := h.hubLabelAdmin(w, r); ok {
		h.apiDeleteLabel(w, r)
	}
}

// personID is the {identity} of the path; a bad one is a person not found.
func personID(r *http.Request) (int64, error) {
	id, err := pathID(r, "identity")
	if err != nil {
		return 0, labels.ErrPersonNotFound
	}
	return id, nil
}

func (h *Handler) apiPersonLabels(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	ls, err := h.cfg.Labels.Of(r.Context(), apiScope(r), id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelsJSON(ls), "")
}

type personLabelJSON struct {
	Label labelRef `json:"label"`
}

func (h *Handler) apiAddPersonLabel(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	var in personLabelJSON
	if err := decodeStrict(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.Label == "" {
		h.apiFail(w, r, problem.Invalidf("label", "Name the label to add (its id or name)."))
		return
	}
	u, _ := userOf(r)
	ls, err := h.cfg.Labels.Add(r.Context(), keyActor(r, u), apiScope(r), id, string(in.Label))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelsJSON(ls), "")
}

func (h *Handler) apiRemovePersonLabel(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	u, _ := userOf(r)
	ls, err := h.cfg.Labels.Remove(r.Context(), keyActor(r, u), apiScope(r), id, chi.URLParam(r, "label"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelsJSON(ls), "")
}

func (h *Handler) apiLabelSearch(w http.ResponseWriter, r *http.Request) {
	q, err := parseLabelSearch(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	p, err := h.cfg.Labels.Search(r.Context(), apiScope(r), q)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p, "")
}

// parseLabelSearch reads ?labels=a,b&match=all|any&limit=&offset=.
func parseLabelSearch(r *http.Request) (labels.Query, error) {
	v := r.URL.Query()
	var q labels.Query
	raw := v.Get("labels")
	if len(raw) > 1000 {
		return q, problem.Invalidf("labels", "labels is at most 1000 characters.")
	}
	for part := range strings.SplitSeq(raw, ",") {
		if part = strings.TrimSpace(part); part != "" {
			q.Labels = append(q.Labels, part)
		}
	}
	switch v.Get("match") {
	case "", "all":
		q.MatchAll = true
	case "any":
	default:
		return q, problem.Invalidf("match", "match is all or any.")
	}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return q, problem.Invalidf(name, "%s must be a whole number.", name)
			}
			*dst = n
		}
	}
	return q, nil
}

func (h *Handler) apiCommunityLabels(w http.ResponseWriter, r *http.Request) {
	ls, err := h.cfg.Labels.OnCommunity(r.Context(), apiScope(r))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelsJSON(ls), "")
}

type communityLabelsJSON struct {
	Labels []labelRef `json:"labels"`
}

func (h *Handler) apiSetCommunityLabels(w http.ResponseWriter, r *http.Request) {
	var in communityLabelsJSON
	if err := decodeStrict(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	refs := make([]string, len(in.Labels))
	for i, l := range in.Labels {
		refs[i] = string(l)
	}
	u, _ := userOf(r)
	ls, err := h.cfg.Labels.SetOnCommunity(r.Context(), keyActor(r, u), apiScope(r), refs)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toLabelsJSON(ls), "")
}

// decodeStrict is decodeJSON that refuses fields the route does not take,
// so that a misspelt "color" is an error rather than silently the default.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	var raw json.RawMessage
	if err := decodeJSON(w, r, &raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.JSON(err, "body")
	}
	return nil
}
