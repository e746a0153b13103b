package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// The "Platform role" section of a label's page (entity groups): an HTMX
// fragment the labels page includes from /c/{cid}/labels/{label}/groups.
// Members look; managers map and unmap groups, re-sync and settle the
// differences. Every form answers the section again; without HTMX it
// redirects to the label's page with a flash.

// labelGroupsHubRoutes adds the section's routes under /c/{cid}.
func (h *Handler) labelGroupsHubRoutes(r chi.Router) {
	r.Get("/labels/{label}/groups", h.labelGroupsSection)
	r.Get("/people/{identity}/roles", h.personRoles)
	r.Group(func(r chi.Router) {
		r.Use(h.requireManager)
		r.Post("/labels/{label}/groups", h.mapLabelGroup)
		r.Post("/labels/{label}/groups/{gid}/remove", h.unmapLabelGroup)
		r.Post("/labels/{label}/groups/resync", h.resyncLabelGroups)
		r.Post("/labels/{label}/groups/assignments/{aid}/resolve", h.resolveLabelAssignment)
		r.Post("/labels/{label}/groups/resolve-all", h.resolveAllLabelAssignments)
	})
}

// labelGroupsView builds the section.
func (h *Handler) labelGroupsView(r *http.Request, labelID int64) (views.LabelGroups, error) {
	m := membershipOf(r)
	s, err := h.cfg.Groups.Section(r.Context(), m.ID, labelID)
	if err != nil {
		return views.LabelGroups{}, err
	}
	p := views.LabelGroups{CommunityID: m.ID, LabelID: s.LabelID, LabelName: s.LabelName, CanManage: m.Role.CanManage()}
	for _, g := range s.Groups {
		name := g.Name
		if name == "" {
			name = g.GroupID
		}
		p.Groups = append(p.Groups, views.LabelGroupRow{ID: g.ID, Platform: labels.PlatformTitle(g.Platform), Server: g.Server, Name: name})
	}
	for _, a := range s.Assignments {
		p.Assignments = append(p.Assignments, assignmentRow(a))
		p.Differ += boolInt(a.State == labels.StateDiffers)
		p.Pending = p.Pending || a.State == labels.StatePending
	}
	if p.CanManage {
		opts, err := h.cfg.Groups.Options(r.Context(), m.ID)
		if err != nil {
			return views.LabelGroups{}, err
		}
		for _, o := range opts {
			srv := views.LabelGroupServer{Platform: labels.PlatformTitle(o.Platform), Server: o.Server, Name: o.Name, Problem: o.Problem}
			if srv.Name == "" {
				srv.Name = o.Server
			}
			for _, g := range o.Groups {
				srv.Groups = append(srv.Groups, views.LabelGroupOption{Value: o.Platform + "|" + o.Server + "|" + g.ID, Name: g.Name, Refused: g.Refused})
			}
			p.Options = append(p.Options, srv)
		}
	}
	return p, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func assignmentRow(a labels.Assignment) views.LabelAssignmentRow {
	person := a.Person
	if person == "" {
		person = a.UserName
	}
	if person == "" {
		person = a.AccountID
	}
	row := views.LabelAssignmentRow{ID: a.ID, Person: person, Account: a.AccountID, Platform: labels.PlatformTitle(a.Platform), Group: a.GroupName,
		Action: map[bool]string{true: "give", false: "take"}[a.Want], State: a.State, Detail: a.Detail, Attempts: a.Attempts,
		Updated: a.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	if a.Want { // has the label, not the role
		row.KeepLabel, row.KeepPlatform = "Give the role", "Take the label"
	} else { // has the role, not the label
		row.KeepLabel, row.KeepPlatform = "Take the role", "Give the label"
	}
	return row
}

// answerLabelGroups answers a section request: the section (with msg, or
// with the error a user can fix), or, without HTMX, a redirect to the
// label's page with a flash.
func (h *Handler) answerLabelGroups(w http.ResponseWriter, r *http.Request, labelID int64, msg string, err error) {
	shown := msg
	if err != nil {
		var ok bool
		if shown, ok = h.formError(w, r, err); !ok {
			return
		}
	}
	if !isHTMX(r) && (err != nil || r.Method == http.MethodPost) {
		h.sessions.Put(r.Context(), sessFlash, shown)
		seeOther(w, r, fmt.Sprintf("/c/%d/labels/%d", membershipOf(r).ID, labelID))
		return
	}
	p, verr := h.labelGroupsView(r, labelID)
	if verr != nil {
		h.fail(w, r, verr)
		return
	}
	if err != nil {
		p.Error = shown
	} else {
		p.Message = msg
	}
	h.render(w, r, http.StatusOK, views.LabelGroupsSection(p))
}

func (h *Handler) labelGroupsSection(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.labelGroupsView(r, labelID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.LabelGroupsSection(p))
}

func (h *Handler) mapLabelGroup(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.answerLabelGroups(w, r, labelID, "", err)
		return
	}
	parts := strings.SplitN(r.PostForm.Get("target"), "|", 3)
	if len(parts) != 3 {
		h.answerLabelGroups(w, r, labelID, "", problem.Invalidf("target", "Choose a role."))
		return
	}
	g, err := h.cfg.Groups.Map(r.Context(), auditActor(r), membershipOf(r).ID, labelID, parts[0], parts[1], parts[2])
	h.answerLabelGroups(w, r, labelID, fmt.Sprintf("The label now gives %s on %s.", g.Name, labels.PlatformTitle(g.Platform)), err)
}

func (h *Handler) unmapLabelGroup(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	gid, err := pathID(r, "gid")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.cfg.Groups.Unmap(r.Context(), auditActor(r), membershipOf(r).ID, labelID, gid)
	h.answerLabelGroups(w, r, labelID, "Mapping removed. Roles already given stay on the platform.", err)
}

func (h *Handler) resyncLabelGroups(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.cfg.Groups.Resync(r.Context(), membershipOf(r).ID, labelID)
	h.answerLabelGroups(w, r, labelID, resyncMessage(res), err)
}

func resyncMessage(res labels.Resynced) string {
	msg := "Re-sync: everything matches."
	switch {
	case res.Differ == 1:
		msg = "Re-sync: 1 difference. Choose below; nothing was changed."
	case res.Differ > 1:
		msg = fmt.Sprintf("Re-sync: %d differences. Choose below; nothing was changed.", res.Differ)
	}
	if len(res.Problems) > 0 {
		msg += " Not read: " + strings.Join(res.Problems, "; ") + "."
	}
	return msg
}

func (h *Handler) resolveLabelAssignment(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	aid, err := pathID(r, "aid")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.answerLabelGroups(w, r, labelID, "", err)
		return
	}
	err = h.cfg.Groups.Resolve(r.Context(), auditActor(r), membershipOf(r).ID, labelID, aid, r.PostForm.Get("keep"))
	h.answerLabelGroups(w, r, labelID, "Done as you chose.", err)
}

func (h *Handler) resolveAllLabelAssignments(w http.ResponseWriter, r *http.Request) {
	labelID, err := pathID(r, "label")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.answerLabelGroups(w, r, labelID, "", err)
		return
	}
	n, err := h.cfg.Groups.ResolveAll(r.Context(), auditActor(r), membershipOf(r).ID, labelID, r.PostForm.Get("keep"))
	h.answerLabelGroups(w, r, labelID, fmt.Sprintf("%d differences settled as you chose.", n), err)
}

// personRoles is the state of a person's platform roles, a fragment for
// the person's labels panel; 404 for a person the community has not met,
// as for their labels.
func (h *Handler) personRoles(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.cfg.Labels.Person(r.Context(), membershipOf(r).ID, id); err != nil {
		h.fail(w, r, err)
		return
	}
	roles, err := h.cfg.Groups.PersonRoles(r.Context(), membershipOf(r).ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.PersonRoles{URL: r.URL.Path}
	for _, a := range roles {
		p.Roles = append(p.Roles, views.PersonRoleRow{Label: a.Label, Platform: labels.PlatformTitle(a.Platform), Group: a.GroupName,
			Action: map[bool]string{true: "give", false: "take"}[a.Want], State: a.State, Detail: a.Detail})
	}
	h.render(w, r, http.StatusOK, views.PersonRolesFragment(p))
}
