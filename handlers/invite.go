package handlers

import (
	"net/http"
	"net/url"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/views"
)

func inviteAction(token string) string { return "/invite/" + url.PathEscape(token) }

func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	token := chiURLParam(r, "token")
	info, err := h.comm.CheckInvitation(r.Context(), token)
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			h.render(w, r, st, views.Invite(views.InviteForm{Error: msg, Invalid: true, CommunityName: "a community"}))
		},
		Done: func() {
			h.render(w, r, http.StatusOK, views.Invite(views.InviteForm{Action: inviteAction(token), CommunityName: info.CommunityName,
				Email: info.Email, Role: string(info.Role), HasAccount: info.HasAccount}))
		},
	})
}

func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := chiURLParam(r, "token")
	info, err := h.comm.CheckInvitation(r.Context(), token)
	f := views.InviteForm{Action: inviteAction(token), CommunityName: info.CommunityName, Email: info.Email, Role: string(info.Role), HasAccount: info.HasAccount}
	if err == nil {
		err = parseForm(w, r)
	}
	var (
		u       auth.User
		created bool
	)
	if err == nil {
		f.DisplayName = r.PostForm.Get("display_name")
		u, created, err = h.comm.AcceptInvitation(r.Context(), token, f.DisplayName, r.PostForm.Get("password"), ipOf(r))
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			f.Error = msg
			if _, err := h.comm.CheckInvitation(r.Context(), token); err != nil {
				f.Invalid = true
				if f.CommunityName == "" {
					f.CommunityName = "a community"
				}
			}
			h.render(w, r, st, views.Invite(f))
		},
		Done: func() {
			if !created {
				h.sessions.Put(r.Context(), sessFlash, "You joined "+info.CommunityName+". Sign in to see it.")
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			if err := h.startSession(r, u); err != nil {
				h.fail(w, r, err)
				return
			}
			h.sessions.Put(r.Context(), sessFlash, "Welcome to "+info.CommunityName+"!")
			http.Redirect(w, r, "/", http.StatusSeeOther)
		},
	})
}
