package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

var errNotFound = problem.New(problem.NotFound, "There is nothing at this address.")

// safeNext keeps a post-sign-in redirect on this site: it returns s if s is a
// path of this site, else "/". Browsers drop tabs and newlines from a URL and
// read a backslash as a slash, so "/\t/evil.example" and "/\\evil.example" are
// "//evil.example" to them, another site. Only printable ASCII without
// backslashes is taken (the paths the hub sends here are escaped), and it
// must be one slash and a path that starts with one slash, as written and
// decoded. (http.Redirect then cleans the path, collapsing any "//" in it.)
func safeNext(s string) string {
	if len(s) == 0 || len(s) > 1000 || s[0] != '/' || strings.HasPrefix(s, "//") {
		return "/"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return s
}

func (h *Handler) popFlash(r *http.Request) string {
	return h.sessions.PopString(r.Context(), sessFlash)
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := userOf(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, views.SignIn(views.SignInForm{Next: safeNext(r.URL.Query().Get("next")), Flash: h.popFlash(r)}))
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	var (
		f views.SignInForm
		u auth.User
	)
	err := parseForm(w, r)
	if err == nil {
		f.Email = r.PostForm.Get("email")
		f.Next = safeNext(r.PostForm.Get("next"))
		u, err = h.auth.SignIn(r.Context(), f.Email, r.PostForm.Get("password"), ipOf(r))
	}
	if need, ok := errors.AsType[*auth.NeedSecondFactor](err); ok {
		h.beginSecondStep(w, r, need.User, f.Next) // twofactor.go
		return
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			if len(f.Email) > 254 {
				f.Email = ""
			}
			f.Error = msg
			h.render(w, r, st, views.SignIn(f))
		},
		Done: func() {
			if err := h.startSession(r, u); err != nil {
				h.fail(w, r, err)
				return
			}
			http.Redirect(w, r, f.Next, http.StatusSeeOther)
		},
	})
}

// startSession signs u in on a fresh session token.
func (h *Handler) startSession(r *http.Request, u auth.User) error {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	h.sessions.Put(r.Context(), sessUserID, u.ID)
	h.sessions.Put(r.Context(), sessVersion, int(u.SessionVersion))
	return nil
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if u, ok := userOf(r); ok {
		// Through auth, on the primary: the audit log's own pool may be the read replica.
		if err := h.auth.SignedOut(r.Context(), u, ipOf(r)); err != nil {
			h.logger.ErrorContext(r.Context(), "record sign-out", "err", err)
		}
	}
	if err := h.sessions.Destroy(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
