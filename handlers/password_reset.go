package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/waddle/waddle/views"
)

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.Forgot(views.ForgotForm{}))
}

// forgot queues a reset mail. It answers the same way, and after the same
// minimum time, whether or not an account has the address.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	f := views.ForgotForm{}
	err := parseForm(w, r)
	if err == nil {
		f.Email = r.PostForm.Get("email")
		err = h.auth.RequestPasswordReset(r.Context(), f.Email, ipOf(r))
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			if len(f.Email) > 254 {
				f.Email = ""
			}
			f.Error = msg
			h.render(w, r, st, views.Forgot(f))
		},
		Done: func() {
			if d := h.cfg.MinForgotResponse - time.Since(start); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-r.Context().Done():
				}
				t.Stop()
			}
			f.Sent = true
			h.render(w, r, http.StatusOK, views.Forgot(f))
		},
	})
}

func resetAction(token string) string { return "/reset-password/" + url.PathEscape(token) }

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	token := chiURLParam(r, "token")
	f := views.ResetForm{Action: resetAction(token)}
	h.answerForm(w, r, h.auth.CheckResetToken(r.Context(), token), formAnswer{
		Page: func(st int, msg string) {
			f.Error, f.Invalid = msg, true
			h.render(w, r, st, views.Reset(f))
		},
		Done: func() { h.render(w, r, http.StatusOK, views.Reset(f)) },
	})
}

func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	token := chiURLParam(r, "token")
	f := views.ResetForm{Action: resetAction(token)}
	err := parseForm(w, r)
	if err == nil {
		_, err = h.auth.ResetPassword(r.Context(), token, r.PostForm.Get("password"), ipOf(r))
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			f.Error = msg
			// A bad link cannot be fixed by typing again; a bad password can.
			if h.auth.CheckResetToken(r.Context(), token) != nil {
				f.Invalid = true
			}
			h.render(w, r, st, views.Reset(f))
		},
		Done: func() {
			// Every session of the account ended; this browser signs in afresh.
			if err := h.sessions.Destroy(r.Context()); err != nil {
				h.fail(w, r, err)
				return
			}
			h.sessions.Put(r.Context(), sessFlash, "Your password is changed. Sign in with the new one.")
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
		},
	})
}
