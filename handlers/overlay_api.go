package handlers

import (
	"net/http"

	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
)

// updateTypeOf is the update type a source of kind shows.
func updateTypeOf(kind string) string {
	if kind == overlay.Alerts {
		return "alert"
	}
	return kind
}

// apiOverlayEvent publishes an update to one of the community's sources.
// routes.go lets action, core and admin keys through; the key's owner must
// manage the community.
// apiOverlayEventByID is POST /api/v1/overlays/{id}/events: it finds the
// source's community and checks the key owner's role there like the
// community-scoped route does (non-members get 404).
func (h *Handler) apiOverlayEventByID(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.apiFail(w, r, overlay.ErrNotFound)
		return
	}
	cid, err := h.cfg.Overlays.CommunityOf(r.Context(), id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	r, err = h.apiInCommunity(r, cid)
	if err != nil {
		h.apiFail(w, r, overlay.ErrNotFound)
		return
	}
	h.apiOverlayEvent(w, r)
}

func (h *Handler) apiOverlayEvent(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.CanManage() {
		apiError(w, r, http.StatusForbidden, "Only the community's owners and admins may send overlay updates.")
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		h.apiFail(w, r, overlay.ErrNotFound)
		return
	}
	src, err := h.cfg.Overlays.Get(r.Context(), m.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	var u overlay.Update
	if err := decodeJSON(w, r, &u); err != nil {
		h.apiFail(w, r, err)
		return
	}
	want := updateTypeOf(src.Kind)
	if u.Type == "" {
		u.Type = want
	}
	if u.Type != want {
		h.apiFail(w, r, problem.Invalidf("type", "A %s source shows %q updates, not %q.", src.Kind, want, u.Type))
		return
	}
	if u.Type == "alert" {
		// An alert without a look or volume takes the source's.
		if u.Preset == "" {
			u.Preset = src.Settings.PresetOf()
		}
		if u.Volume == 0 {
			u.Volume = src.Settings.VolumeOf()
		}
	}
	if u, err = h.cfg.Overlays.Clean(u); err == nil {
		u, err = h.cfg.Overlays.Publish(r.Context(), src.ID, u)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u, "Sent to the source's pages.")
}
