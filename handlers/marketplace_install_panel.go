package handlers

import (
	"net/http"

	"github.com/a-h/templ"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/views"
)

// installPanel is the module page's install section: installed state in
// the community whose workspace shows the page, or an install link for its
// owners and admins. Nil outside a community's workspace and for core modules.
func (h *Handler) installPanel(r *http.Request, mod marketplace.Module) (templ.Component, error) {
	m := membershipOf(r)
	if m.ID == 0 || mod.Core {
		return nil, nil
	}
	p := views.InstallPanel{CommunityID: m.ID, Slug: mod.Slug, CanManage: m.Role.CanManage()}
	all, err := h.cfg.Marketplace.Installed(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		if in.Slug == mod.Slug {
			p.Installed, p.Version = true, in.Version
		}
	}
	return views.MarketplaceInstallPanel(p), nil
}
