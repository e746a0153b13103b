package handlers

import (
	"net/http"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/views"
)

// A community's API keys, on its page, for its owners and admins (routes.go
// puts these handlers behind requireManager): trigger keys send the
// community's platform events in, action keys its overlay updates. A key
// reaches its community only; the secret is shown once, in the page that
// answers the POST, as on the account page.

// communityKeysView lists the community's keys; form carries what the user typed.
func (h *Handler) communityKeysView(r *http.Request, cid int64, form views.NewKeyForm, created *views.CreatedKey) (views.CommunityKeys, error) {
	u, _ := userOf(r)
	keys, err := h.auth.ListCommunityAPIKeys(r.Context(), cid)
	if err != nil {
		return views.CommunityKeys{}, err
	}
	out := views.CommunityKeys{CommunityID: cid, New: form, Created: created}
	for _, k := range keys {
		out.Keys = append(out.Keys, communityKeyRow(cid, u, k))
	}
	out.New.Roles = []string{auth.RoleTrigger, auth.RoleAction}
	if out.New.Role == "" {
		out.New.Role = auth.RoleTrigger
	}
	return out, nil
}

func communityKeyRow(cid int64, viewer auth.User, k auth.APIKey) views.CommunityKeyRow {
	return views.CommunityKeyRow{CommunityID: cid, Key: k, Mine: k.OwnerID == viewer.ID}
}

// renderCommunityKeys answers with the settings page, its keys section showing form and created.
func (h *Handler) renderCommunityKeys(w http.ResponseWriter, r *http.Request, st int, form views.NewKeyForm, created *views.CreatedKey) {
	p, err := h.communityView(r, views.InviteMemberForm{}, nil)
	if err == nil { // the section again, with the form and the secret
		p.Keys, err = h.communityKeysView(r, membershipOf(r).ID, form, created)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it may carry a new key's secret
	h.render(w, r, st, views.CommunitySettings(p))
}

func (h *Handler) createCommunityKey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	var (
		form   views.NewKeyForm
		k      auth.APIKey
		secret string
	)
	answer := formAnswer{
		Page: func(st int, msg string) { form.Error = msg; h.renderCommunityKeys(w, r, st, form, nil) },
		Done: func() {
			h.renderCommunityKeys(w, r, http.StatusCreated, views.NewKeyForm{}, &views.CreatedKey{Name: k.Name, Secret: secret})
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	form = views.NewKeyForm{Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role")}
	k, secret, err := h.auth.CreateCommunityAPIKey(r.Context(), u, ipOf(r), membershipOf(r).ID, form.Name, form.Role)
	h.answerForm(w, r, err, answer)
}

// regenerateCommunityKey replaces the secret of one of the viewer's own keys of the community.
func (h *Handler) regenerateCommunityKey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	id, err := pathID(r, "kid")
	if err == nil {
		var k auth.APIKey
		var secret string
		if k, secret, err = h.auth.RegenerateCommunityAPIKey(r.Context(), u, ipOf(r), membershipOf(r).ID, id); err == nil {
			h.renderCommunityKeys(w, r, http.StatusOK, views.NewKeyForm{}, &views.CreatedKey{Name: k.Name, Secret: secret})
			return
		}
	}
	h.fail(w, r, err)
}

// revokeCommunityKey stops any of the community's keys; HTMX gets the updated row.
func (h *Handler) revokeCommunityKey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	cid := membershipOf(r).ID
	id, err := pathID(r, "kid")
	var k auth.APIKey
	if err == nil {
		k, err = h.auth.RevokeCommunityAPIKey(r.Context(), u, ipOf(r), cid, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.CommunityKey(communityKeyRow(cid, u, k)))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Key "+k.Name+" revoked.")
	seeOther(w, r, settingsURL(cid))
}
