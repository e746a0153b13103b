package handlers

import (
	"net/http"
	"strconv"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/views"
)

// accountView assembles the account page.
func (h *Handler) accountView(r *http.Request, p views.AccountPage) (views.AccountPage, error) {
	u, _ := userOf(r)
	keys, err := h.auth.ListAPIKeys(r.Context(), u.ID)
	if err != nil {
		return p, err
	}
	p.Chrome = h.chrome(r, "Your account", "account")
	p.Email = u.Email
	if p.DisplayName == "" {
		p.DisplayName = u.DisplayName
	}
	p.Keys = p.Keys[:0]
	for _, k := range keys {
		p.Keys = append(p.Keys, views.KeyRow{Key: k})
	}
	for _, role := range auth.APIRoles {
		if !auth.AdminOnlyRole(role) || u.IsAdmin {
			p.NewKey.Roles = append(p.NewKey.Roles, role)
		}
	}
	if p.NewKey.Role == "" {
		p.NewKey.Role = auth.RoleUser
	}
	// Trigger and action keys belong to a community the user owns or administers.
	cs, err := h.comm.ListForUser(r.Context(), u)
	if err != nil {
		return p, err
	}
	p.NewKey.Communities = p.NewKey.Communities[:0]
	for _, c := range cs {
		if c.Role.CanManage() {
			p.NewKey.Communities = append(p.NewKey.Communities, views.KeyCommunity{ID: c.ID, Name: c.Name})
		}
	}
	p.NewKey.InstallationWide = u.IsAdmin
	p.TimeZone = timeZoneView(r, p.TimeZone)
	if p.TwoFactor, err = h.twoFactorView(r, p.TwoFactor); err != nil { // twofactor.go
		return p, err
	}
	if p.Links, err = h.accountLinksView(r); err != nil { // account_links.go
		return p, err
	}
	return p, nil
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, st int, p views.AccountPage) {
	p, err := h.accountView(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it may carry a new key's secret
	h.render(w, r, st, views.Account(p))
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	h.renderAccount(w, r, http.StatusOK, views.AccountPage{})
}

func (h *Handler) updateProfile(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	err := parseForm(w, r)
	if err == nil {
		err = h.auth.UpdateProfile(r.Context(), u.ID, r.PostForm.Get("display_name"))
	}
	h.answerForm(w, r, err, formAnswer{
		Page:  func(st int, msg string) { h.renderAccount(w, r, st, views.AccountPage{ProfileError: msg}) },
		Flash: "Profile saved.", To: "/account",
	})
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	err := parseForm(w, r)
	if err == nil {
		u, err = h.auth.ChangePassword(r.Context(), u.ID, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), ipOf(r))
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) { h.renderAccount(w, r, st, views.AccountPage{PasswordError: msg}) },
		Done: func() {
			// Other sessions ended with the version bump; this one continues on a new token.
			if err := h.startSession(r, u); err != nil {
				h.fail(w, r, err)
				return
			}
			h.sessions.Put(r.Context(), sessFlash, "Password changed. Your other sessions were signed out.")
			seeOther(w, r, "/account")
		},
	})
}

// createKey shows the new secret once, in the page that answers the POST
// (not after a redirect, so the secret is never stored in the session).
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	var (
		p      views.AccountPage
		k      auth.APIKey
		secret string
	)
	answer := formAnswer{
		Page: func(st int, msg string) { p.NewKey.Error = msg; h.renderAccount(w, r, st, p) },
		Done: func() {
			h.renderAccount(w, r, http.StatusCreated, views.AccountPage{Created: &views.CreatedKey{Name: k.Name, Secret: secret}})
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	p.NewKey = views.NewKeyForm{Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"), Community: r.PostForm.Get("community")}
	var err error
	if p.NewKey.Community == "" {
		k, secret, err = h.auth.CreateAPIKey(r.Context(), u, ipOf(r), p.NewKey.Name, p.NewKey.Role)
	} else if cid, perr := strconv.ParseInt(p.NewKey.Community, 10, 64); perr != nil || cid <= 0 {
		err = auth.ErrKeyCommunity
	} else {
		k, secret, err = h.auth.CreateCommunityAPIKey(r.Context(), u, ipOf(r), cid, p.NewKey.Name, p.NewKey.Role)
	}
	h.answerForm(w, r, err, answer)
}

func (h *Handler) regenerateKey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	id, err := pathID(r, "kid")
	if err == nil {
		var k auth.APIKey
		var secret string
		if k, secret, err = h.auth.RegenerateAPIKey(r.Context(), u, ipOf(r), id); err == nil {
			h.renderAccount(w, r, http.StatusOK, views.AccountPage{Created: &views.CreatedKey{Name: k.Name, Secret: secret}})
			return
		}
	}
	h.fail(w, r, err)
}

// revokeKey answers HTMX with the updated row.
func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	id, err := pathID(r, "kid")
	var k auth.APIKey
	if err == nil {
		k, err = h.auth.RevokeAPIKey(r.Context(), u, ipOf(r), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.Key(views.KeyRow{Key: k}))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Key "+k.Name+" revoked.")
	seeOther(w, r, "/account")
}
