package handlers

import (
	"net/http"

	"github.com/waddle/waddle/views"
)

// The Licence section of a community's settings: the plan, and the key an
// admin adds or removes (workflow.Licensing).

// licenceView builds the section, with the error of a refused key.
func (h *Handler) licenceView(r *http.Request, cid int64, keyErr string) (*views.LicenceView, error) {
	if h.cfg.Licensing == nil {
		return nil, nil
	}
	st, err := h.cfg.Licensing.Status(r.Context(), cid)
	if err != nil {
		return nil, err
	}
	v := &views.LicenceView{CommunityID: cid, Plan: string(st.Plan), Source: st.Source, Stored: st.Stored != nil,
		Problems: st.Problems, Fallback: st.Fallback, Error: keyErr}
	if st.Licence != nil {
		v.LicenceID, v.Installation, v.Expires = st.Licence.ID, st.Licence.CommunityID == 0, st.Licence.ExpiresAt
	}
	return v, nil
}

func (h *Handler) setLicence(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	_, err := h.cfg.Licensing.SetKey(r.Context(), auditActor(r), m.ID, r.PostForm.Get("key"))
	if err != nil {
		if status(err) >= 500 {
			h.fail(w, r, err)
			return
		}
		h.renderSettingsWithLicence(w, r, status(err), message(err))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Licence key saved.")
	http.Redirect(w, r, settingsURL(m.ID)+"#licence", http.StatusSeeOther)
}

func (h *Handler) removeLicence(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := h.cfg.Licensing.RemoveKey(r.Context(), auditActor(r), m.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Licence key removed: this community is on the free plan unless the installation has a key.")
	http.Redirect(w, r, settingsURL(m.ID)+"#licence", http.StatusSeeOther)
}

// renderSettingsWithLicence shows the settings page with a refused key's error.
func (h *Handler) renderSettingsWithLicence(w http.ResponseWriter, r *http.Request, st int, keyErr string) {
	p, err := h.communityView(r, views.InviteMemberForm{}, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.Licence, err = h.licenceView(r, p.Community.ID, keyErr); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.CommunitySettings(p))
}
