package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// The labels pages of a community: the labels (members look, managers
// define them) and a person's labels panel (moderators and above label).
// The label page holds the placeholder the entity groups section fills.

// labelsHubRoutes adds the labels pages under /c/{cid}.
func (h *Handler) labelsHubRoutes(r chi.Router) {
	r.Get("/labels", h.labelsPage)
	r.Get("/labels/{label}", h.labelPage)
	r.Get("/people/{identity}/labels", h.personLabelsPanel)
	r.Group(func(r chi.Router) {
		r.Use(h.requireModerator)
		r.Post("/people/{identity}/labels", h.addPersonLabel)
		r.Post("/people/{identity}/labels/{label}/remove", h.removePersonLabel)
	})
	r.Group(func(r chi.Router) {
		r.Use(h.requireManager)
		r.Post("/labels", h.createLabel)
		r.Post("/labels/{label}", h.updateLabel)
		r.Post("/labels/{label}/delete", h.deleteLabel)
		r.Post("/community-labels", h.setCommunityLabels)
	})
}

// requireModerator allows moderators and above, with a second factor when
// the community requires it.
func (h *Handler) requireModerator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !membershipOf(r).Role.AtLeast(community.Moderator) {
			h.fail(w, r, community.ErrNotAllowed)
			return
		}
		if !h.requireTwoFactorFor(w, r, membershipOf(r)) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

func labelView(l labels.Label) views.LabelView {
	return views.LabelView{ID: l.ID, Name: l.Name, Colour: l.Colour, Description: l.Description}
}

func labelFormOf(r *http.Request) (labels.Input, views.LabelForm) {
	f := views.LabelForm{Name: r.PostForm.Get("name"), Colour: r.PostForm.Get("colour"), Description: r.PostForm.Get("description")}
	return labels.Input{Name: f.Name, Colour: f.Colour, Description: f.Description}, f
}

func (h *Handler) renderLabels(w http.ResponseWriter, r *http.Request, st int, form views.LabelForm) {
	h.renderLabelsWith(w, r, st, form, "")
}

func (h *Handler) renderLabelsWith(w http.ResponseWriter, r *http.Request, st int, form views.LabelForm, communityMsg string) {
	m := membershipOf(r)
	ls, err := h.cfg.Labels.List(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	onCommunity, err := h.cfg.Labels.OnCommunity(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hub, err := h.cfg.Labels.List(r.Context(), 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.LabelsPage{Chrome: h.chrome(r, "Labels · "+m.Name, "communities"), Nav: h.botNav(r, "labels"), CanManage: m.Role.CanManage(),
		Create: form, Max: labels.MaxPerPerson, MaxCommunity: labels.MaxPerCommunity, CommunityError: communityMsg}
	for _, l := range onCommunity {
		p.Community = append(p.Community, labelView(l))
	}
	for _, l := range hub {
		p.HubLabels = append(p.HubLabels, labelView(l.Label))
	}
	for _, l := range ls {
		v := labelView(l.Label)
		v.Uses = l.Uses
		p.Labels = append(p.Labels, v)
	}
	h.render(w, r, st, views.Labels(p))
}

func (h *Handler) labelsPage(w http.ResponseWriter, r *http.Request) {
	h.renderLabels(w, r, http.StatusOK, views.LabelForm{Colour: labels.DefaultColour})
}

func (h *Handler) createLabel(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.LabelForm
	var l labels.Label
	answer := formAnswer{
		Page: func(st int, msg string) { f.Error = msg; h.renderLabels(w, r, st, f) },
		Done: func() {
			h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Label %q created.", l.Name))
			seeOther(w, r, fmt.Sprintf("/c/%d/labels/%d", m.ID, l.ID))
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	in, form := labelFormOf(r)
	f = form
	var err error
	l, err = h.cfg.Labels.Create(r.Context(), auditActor(r), m.ID, in)
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, answer)
}

// renderLabel renders a label's page; form nil shows the label as it is.
func (h *Handler) renderLabel(w http.ResponseWriter, r *http.Request, st int, l labels.Label, form *views.LabelForm) {
	m := membershipOf(r)
	people, err := h.cfg.Labels.People(r.Context(), m.ID, l.ID, 100, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uses := int64(len(people))
	if ls, err := h.cfg.Labels.List(r.Context(), m.ID); err == nil {
		for _, x := range ls {
			if x.ID == l.ID {
				uses = x.Uses
			}
		}
	}
	v := labelView(l)
	v.Uses = uses
	p := views.LabelPage{Chrome: h.chrome(r, "Label "+l.Name+" · "+m.Name, "communities"), Nav: h.botNav(r, "labels"), CanManage: m.Role.CanManage(),
		Label: v, Edit: views.LabelForm{Name: l.Name, Colour: l.Colour, Description: l.Description}}
	if form != nil {
		p.Edit = *form
	}
	for _, x := range people {
		p.People = append(p.People, views.LabelPerson{IdentityID: x.IdentityID, Name: x.DisplayName, Since: x.Since.UTC().Format("2 Jan 2006")})
	}
	h.render(w, r, st, views.Label(p))
}

func (h *Handler) labelPage(w http.ResponseWriter, r *http.Request) {
	l, err := h.cfg.Labels.Get(r.Context(), membershipOf(r).ID, chi.URLParam(r, "label"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderLabel(w, r, http.StatusOK, l, nil)
}

func (h *Handler) updateLabel(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	old, err := h.cfg.Labels.Get(r.Context(), m.ID, chi.URLParam(r, "label"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var f views.LabelForm
	answer := formAnswer{
		Page:  func(st int, msg string) { f.Error = msg; h.renderLabel(w, r, st, old, &f) },
		Flash: "Label saved.",
		To:    fmt.Sprintf("/c/%d/labels/%d", m.ID, old.ID),
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	in, form := labelFormOf(r)
	f = form
	_, err = h.cfg.Labels.Update(r.Context(), auditActor(r), m.ID, strconv.FormatInt(old.ID, 10), in)
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, answer)
}

func (h *Handler) deleteLabel(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := h.cfg.Labels.Delete(r.Context(), auditActor(r), m.ID, chi.URLParam(r, "label")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Label deleted.")
	seeOther(w, r, fmt.Sprintf("/c/%d/labels", m.ID))
}

// personPanel builds a person's labels panel; msg is a refusal to show.
func (h *Handler) personPanel(r *http.Request, id int64, msg string) (views.PersonLabelsPanel, error) {
	m := membershipOf(r)
	who, err := h.cfg.Labels.Person(r.Context(), m.ID, id)
	if err != nil {
		return views.PersonLabelsPanel{}, err
	}
	have, err := h.cfg.Labels.Of(r.Context(), m.ID, id)
	if err != nil {
		return views.PersonLabelsPanel{}, err
	}
	all, err := h.cfg.Labels.List(r.Context(), m.ID)
	if err != nil {
		return views.PersonLabelsPanel{}, err
	}
	p := views.PersonLabelsPanel{CommunityID: m.ID, IdentityID: id, Name: who.DisplayName, CanLabel: m.Role.AtLeast(community.Moderator),
		Max: labels.MaxPerPerson, Error: msg}
	carried := map[int64]bool{}
	for _, l := range have {
		carried[l.ID] = true
		p.Labels = append(p.Labels, labelView(l))
	}
	for _, l := range all {
		if !carried[l.ID] {
			p.Choices = append(p.Choices, labelView(l.Label))
		}
	}
	return p, nil
}

// answerPanel answers with the panel: the fragment for HTMX (refusals
// included, with 200, since HTMX swaps only 2xx answers), the page otherwise.
func (h *Handler) answerPanel(w http.ResponseWriter, r *http.Request, st int, id int64, msg string) {
	p, err := h.personPanel(r, id, msg)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.PersonLabels(p))
		return
	}
	m := membershipOf(r)
	title := "Labels of " + p.Name + " · " + m.Name
	h.render(w, r, st, views.PersonLabelsFull(views.PersonLabelsPage{Chrome: h.chrome(r, title, "communities"), Nav: h.botNav(r, "labels"), Panel: p}))
}

func (h *Handler) personLabelsPanel(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerPanel(w, r, http.StatusOK, id, "")
}

func (h *Handler) addPersonLabel(w http.ResponseWriter, r *http.Request) {
	h.changePersonLabel(w, r, true)
}

func (h *Handler) removePersonLabel(w http.ResponseWriter, r *http.Request) {
	h.changePersonLabel(w, r, false)
}

func (h *Handler) changePersonLabel(w http.ResponseWriter, r *http.Request, give bool) {
	m := membershipOf(r)
	id, err := personID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.cfg.Labels.Person(r.Context(), m.ID, id); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	if give {
		ref := r.PostForm.Get("label")
		if ref == "" {
			err = problem.Invalidf("label", "Choose a label to add.")
		} else {
			_, err = h.cfg.Labels.Add(r.Context(), auditActor(r), m.ID, id, ref)
		}
	} else {
		_, err = h.cfg.Labels.Remove(r.Context(), auditActor(r), m.ID, id, chi.URLParam(r, "label"))
	}
	if err != nil {
		msg, ok := h.formError(w, r, labelPanelErr(err))
		if !ok {
			return
		}
		h.answerPanel(w, r, status(labelPanelErr(err)), id, msg)
		return
	}
	if isHTMX(r) {
		h.answerPanel(w, r, http.StatusOK, id, "")
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Labels saved.")
	seeOther(w, r, fmt.Sprintf("/c/%d/people/%d/labels", m.ID, id))
}

// labelPanelErr shows an unknown label next to the panel's form rather than
// as a missing page.
func labelPanelErr(err error) error {
	if errors.Is(err, labels.ErrNotFound) {
		return problem.Invalidf("label", "This community has no such label.")
	}
	return err
}

// setCommunityLabels sets the hub-wide labels the community carries.
func (h *Handler) setCommunityLabels(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	answer := formAnswer{
		Page: func(st int, msg string) {
			h.renderLabelsWith(w, r, st, views.LabelForm{Colour: labels.DefaultColour}, msg)
		},
		Flash: "The community's labels are saved.",
		To:    fmt.Sprintf("/c/%d/labels", m.ID),
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	_, err := h.cfg.Labels.SetOnCommunity(r.Context(), auditActor(r), m.ID, r.PostForm["label"])
	h.answerForm(w, r, err, answer)
}
