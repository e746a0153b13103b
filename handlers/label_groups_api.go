package handlers

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
)

// The entity groups API: a label's platform roles, under
// /api/v1/communities/{cid}/labels/{label}/groups. Members' keys read;
// writes need an owner's or admin's key. Tenancy: apiCommunityAccess, and
// every query filters by the community in SQL.

// labelGroupsAPIRoutes adds the routes under /communities/{cid}.
func (h *Handler) labelGroupsAPIRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess)
		r.Get("/labels/{label}/groups", h.apiLabelGroups)
		r.Post("/labels/{label}/groups", h.apiMapLabelGroup)
		r.Delete("/labels/{label}/groups/{gid}", h.apiUnmapLabelGroup)
		r.Post("/labels/{label}/groups/resync", h.apiResyncLabelGroups)
		r.Post("/labels/{label}/groups/resolve", h.apiResolveLabelGroups)
	})
}

type labelGroupJSON struct {
	ID       int64  `json:"id"`
	Platform string `json:"platform"`
	Server   string `json:"server"`
	Group    string `json:"group"`
	Name     string `json:"name"`
}

type labelAssignmentJSON struct {
	ID         int64     `json:"id"`
	GroupID    int64     `json:"group_id"`
	IdentityID int64     `json:"identity_id"`
	AccountID  string    `json:"account_id"`
	Give       bool      `json:"give"`
	State      string    `json:"state"`
	Detail     string    `json:"detail"`
	Attempts   int       `json:"attempts"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type labelGroupsJSON struct {
	LabelID     int64                 `json:"label_id"`
	Groups      []labelGroupJSON      `json:"groups"`
	Assignments []labelAssignmentJSON `json:"assignments"`
}

func groupJSON(g labels.Group) labelGroupJSON {
	return labelGroupJSON{ID: g.ID, Platform: g.Platform, Server: g.Server, Group: g.GroupID, Name: g.Name}
}

// apiManager refuses a key whose owner cannot manage the community.
func apiManager(r *http.Request) error {
	if !membershipOf(r).Role.CanManage() {
		return problem.New(problem.Forbidden, "Only the community's owners and admins may change its labels' roles.")
	}
	return nil
}

func (h *Handler) apiLabelGroups(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	s, err := h.cfg.Groups.Section(r.Context(), membershipOf(r).ID, labelID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := labelGroupsJSON{LabelID: s.LabelID, Groups: []labelGroupJSON{}, Assignments: []labelAssignmentJSON{}}
	for _, g := range s.Groups {
		out.Groups = append(out.Groups, groupJSON(g))
	}
	for _, a := range s.Assignments {
		out.Assignments = append(out.Assignments, labelAssignmentJSON{ID: a.ID, GroupID: a.GroupID, IdentityID: a.IdentityID, AccountID: a.AccountID,
			Give: a.Want, State: a.State, Detail: a.Detail, Attempts: a.Attempts, UpdatedAt: a.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, out, "")
}

type mapGroupJSON struct {
	Platform string `json:"platform"`
	Server   string `json:"server"`
	Group    string `json:"group"`
}

func (h *Handler) apiMapLabelGroup(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err == nil {
		err = apiManager(r)
	}
	var in mapGroupJSON
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	g, err := h.cfg.Groups.Map(r.Context(), keyAuditActor(r), membershipOf(r).ID, labelID, in.Platform, in.Server, in.Group)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, groupJSON(g), "The label now gives the role; people who have it get it in the background.")
}

func (h *Handler) apiUnmapLabelGroup(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	var gid int64
	if err == nil {
		gid, err = pathID(r, "gid")
	}
	if err == nil {
		err = apiManager(r)
	}
	if err == nil {
		err = h.cfg.Groups.Unmap(r.Context(), keyAuditActor(r), membershipOf(r).ID, labelID, gid)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "Mapping removed. Roles already given stay on the platform.")
}

type resyncJSON struct {
	Groups   int      `json:"groups"`
	Differ   int      `json:"differences"`
	Problems []string `json:"problems"`
}

func (h *Handler) apiResyncLabelGroups(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err == nil {
		err = apiManager(r)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	res, err := h.cfg.Groups.Resync(r.Context(), membershipOf(r).ID, labelID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if res.Problems == nil {
		res.Problems = []string{}
	}
	writeJSON(w, http.StatusOK, resyncJSON{Groups: res.Groups, Differ: res.Differ, Problems: res.Problems}, resyncMessage(res))
}

type resolveJSON struct {
	AssignmentID int64  `json:"assignment_id"` // 0: every difference of the label
	Keep         string `json:"keep"`          // "label" or "platform"
}

func (h *Handler) apiResolveLabelGroups(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err == nil {
		err = apiManager(r)
	}
	var in resolveJSON
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	n := 1
	if in.AssignmentID != 0 {
		err = h.cfg.Groups.Resolve(r.Context(), keyAuditActor(r), membershipOf(r).ID, labelID, in.AssignmentID, in.Keep)
	} else {
		n, err = h.cfg.Groups.ResolveAll(r.Context(), keyAuditActor(r), membershipOf(r).ID, labelID, in.Keep)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"settled": n}, "Done as chosen.")
}

// keyAuditActor is the key's owner and the key, for the audit log.
func keyAuditActor(r *http.Request) audit.Actor {
	u, _ := userOf(r)
	return keyActor(r, u)
}
