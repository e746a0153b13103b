package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// Two-factor sign-in. After a right password, an account with a second factor
// gets a half-signed-in session: it holds only the pending account id, its
// session version and a deadline, which loadUser ignores, so the session
// reaches nothing but the second step. The step that passes starts the real
// session on a new token.

// Session keys of a sign-in waiting for its second step.
const (
	sess2FAUser    = "2fa_uid"
	sess2FAVersion = "2fa_sv"
	sess2FAUntil   = "2fa_until"
	sess2FANext    = "2fa_next"
)

// secondStepWindow is how long the second step may follow the password.
const secondStepWindow = 10 * time.Minute

// beginSecondStep turns the session into a half-signed-in one for u.
func (h *Handler) beginSecondStep(w http.ResponseWriter, r *http.Request, u auth.User, next string) {
	ctx := r.Context()
	if err := h.sessions.RenewToken(ctx); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Remove(ctx, sessUserID)
	h.sessions.Put(ctx, sess2FAUser, u.ID)
	h.sessions.Put(ctx, sess2FAVersion, int(u.SessionVersion))
	h.sessions.Put(ctx, sess2FAUntil, time.Now().Add(secondStepWindow).Unix())
	h.sessions.Put(ctx, sess2FANext, next)
	http.Redirect(w, r, "/signin/two-factor", http.StatusSeeOther)
}

// pendingSignIn returns the account id and session version waiting for a
// second step, or an error when there is none or it is too old.
func (h *Handler) pendingSignIn(r *http.Request) (int64, int32, error) {
	ctx := r.Context()
	uid := h.sessions.GetInt64(ctx, sess2FAUser)
	if uid == 0 || time.Now().Unix() > h.sessions.GetInt64(ctx, sess2FAUntil) {
		return 0, 0, auth.ErrSignInExpired
	}
	return uid, int32(h.sessions.GetInt(ctx, sess2FAVersion)), nil
}

// finishSignIn signs the account in on a fresh token once its second step
// passed, and returns where to go.
func (h *Handler) finishSignIn(r *http.Request, u auth.User) (string, error) {
	ctx := r.Context()
	next := safeNext(h.sessions.GetString(ctx, sess2FANext))
	for _, k := range []string{sess2FAUser, sess2FAVersion, sess2FAUntil, sess2FANext, sessCeremony} {
		h.sessions.Remove(ctx, k)
	}
	return next, h.startSession(r, u)
}

func (h *Handler) secondStepView(r *http.Request, uid int64) (views.SecondStepPage, error) {
	u, err := h.auth.User(r.Context(), uid)
	if err != nil {
		return views.SecondStepPage{}, err
	}
	f, err := h.auth.Factors(r.Context(), uid)
	if err != nil {
		return views.SecondStepPage{}, err
	}
	return views.SecondStepPage{Email: u.Email, TOTP: f.TOTP, Passkey: len(f.Passkeys) > 0, Recovery: f.RecoveryLeft > 0}, nil
}

func (h *Handler) secondStepPage(w http.ResponseWriter, r *http.Request) {
	uid, _, err := h.pendingSignIn(r)
	if err != nil {
		h.sessions.Put(r.Context(), sessFlash, "Sign in with your email and password first.")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	p, err := h.secondStepView(r, uid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, views.SecondStep(p))
}

func (h *Handler) secondStep(w http.ResponseWriter, r *http.Request) {
	uid, sv, err := h.pendingSignIn(r)
	if err == nil {
		err = parseForm(w, r)
	}
	var (
		method string
		u      auth.User
	)
	if err == nil {
		method = r.PostForm.Get("method")
		u, err = h.auth.CompleteSignIn(r.Context(), uid, sv, method, r.PostForm.Get("code"), ipOf(r))
	}
	if errors.Is(err, auth.ErrSignInExpired) {
		h.sessions.Put(r.Context(), sessFlash, problem.As(err).Message)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			p, err := h.secondStepView(r, uid)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			p.Error, p.Method = msg, method
			h.render(w, r, st, views.SecondStep(p))
		},
		Done: func() {
			next, err := h.finishSignIn(r, u)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
		},
	})
}

// twoFactorView fills the account page's two-factor section; v carries an
// error to show next to its forms.
func (h *Handler) twoFactorView(r *http.Request, v views.TwoFactorSection) (views.TwoFactorSection, error) {
	u, _ := userOf(r)
	f, err := h.auth.Factors(r.Context(), u.ID)
	if err != nil {
		return v, err
	}
	v.Factors = f
	return v, nil
}

// startTOTP creates a new secret and shows it on the set-up page.
func (h *Handler) startTOTP(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	_, err := h.auth.StartTOTP(r.Context(), u)
	h.answerForm(w, r, err, formAnswer{
		Page: h.twoFactorAnswer(w, r, "", nil).Page,
		To:   "/account/two-factor/totp",
	})
}

func (h *Handler) renderTOTPSetup(w http.ResponseWriter, r *http.Request, st int, msg string) {
	u, _ := userOf(r)
	e, err := h.auth.PendingTOTP(r.Context(), u)
	if problem.Is(err, problem.Conflict) {
		h.sessions.Put(r.Context(), sessFlash, problem.As(err).Message)
		seeOther(w, r, "/account#two-factor")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it shows the secret
	h.render(w, r, st, views.TOTPSetup(views.TOTPSetupPage{Chrome: h.chrome(r, "Set up an authenticator app", "account"), Enrolment: e, Error: msg}))
}

func (h *Handler) totpSetupPage(w http.ResponseWriter, r *http.Request) {
	h.renderTOTPSetup(w, r, http.StatusOK, "")
}

// confirmTOTP turns the app on with its first code and shows the recovery
// codes, once, in the answer to the POST.
func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	err := parseForm(w, r)
	var codes []string
	if err == nil {
		codes, err = h.auth.ConfirmTOTP(r.Context(), u, r.PostForm.Get("code"), ipOf(r))
	}
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) { h.renderTOTPSetup(w, r, st, msg) },
		Done: func() {
			h.showRecoveryCodes(w, r, "Your authenticator app is set up. From now on you sign in with your password and a code from it.", codes)
		},
	})
}

func (h *Handler) showRecoveryCodes(w http.ResponseWriter, r *http.Request, intro string, codes []string) {
	if len(codes) == 0 {
		h.sessions.Put(r.Context(), sessFlash, intro)
		seeOther(w, r, "/account#two-factor")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, views.RecoveryCodes(views.RecoveryCodesPage{Chrome: h.chrome(r, "Your recovery codes", "account"), Intro: intro, Codes: codes}))
}

func (h *Handler) removeTOTP(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	err := parseForm(w, r)
	if err == nil {
		err = h.auth.RemoveTOTP(r.Context(), u, r.PostForm.Get("password"), ipOf(r))
	}
	h.answerForm(w, r, err, h.twoFactorAnswer(w, r, "The authenticator app was removed.", nil))
}

func (h *Handler) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	err := parseForm(w, r)
	var codes []string
	if err == nil {
		codes, err = h.auth.RegenerateRecoveryCodes(r.Context(), u, r.PostForm.Get("password"), ipOf(r))
	}
	h.answerForm(w, r, err, h.twoFactorAnswer(w, r, "New recovery codes. The old ones no longer work.", &codes))
}

// twoFactorAnswer answers a change to the account's second factors: the
// account page with the reason next to the two-factor forms, or intro and
// the new recovery codes *codes, if any, once.
func (h *Handler) twoFactorAnswer(w http.ResponseWriter, r *http.Request, intro string, codes *[]string) formAnswer {
	return formAnswer{
		Page: func(st int, msg string) {
			h.renderAccount(w, r, st, views.AccountPage{TwoFactor: views.TwoFactorSection{Error: msg}})
		},
		Done: func() {
			var shown []string
			if codes != nil {
				shown = *codes
			}
			h.showRecoveryCodes(w, r, intro, shown)
		},
	}
}

// requireTwoFactorFor sends an owner or admin without a second factor to the
// page that says why, when the community m requires one; it reports whether
// the request may go on.
func (h *Handler) requireTwoFactorFor(w http.ResponseWriter, r *http.Request, m community.Membership) bool {
	if !m.RequireTwoFactor || !m.Role.CanManage() {
		return true
	}
	return h.twoFactorOrEnrol(w, r, "/account/two-factor/required?c="+strconv.FormatInt(m.ID, 10))
}

// requireTwoFactorForKeys guards the account's API key forms: a manager of a
// community that requires two-factor needs it before making keys.
func (h *Handler) requireTwoFactorForKeys(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := userOf(r)
		req, err := h.comm.TwoFactorRequiredOf(r.Context(), u)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if req && !h.twoFactorOrEnrol(w, r, "/account/two-factor/required?keys=1") {
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) twoFactorOrEnrol(w http.ResponseWriter, r *http.Request, target string) bool {
	u, _ := userOf(r)
	has, err := h.auth.HasTwoFactor(r.Context(), u.ID)
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	if !has {
		seeOther(w, r, target)
	}
	return has
}

// twoFactorRequiredPage says why the user was sent here and how to go on.
func (h *Handler) twoFactorRequiredPage(w http.ResponseWriter, r *http.Request) {
	p := views.TwoFactorRequiredPage{Chrome: h.chrome(r, "Two-factor sign-in required", "account")}
	if cid, err := strconv.ParseInt(r.URL.Query().Get("c"), 10, 64); err == nil && cid > 0 {
		u, _ := userOf(r)
		if m, err := h.comm.Access(r.Context(), u, cid); err == nil {
			p.Community = m.Name
			p.CommunityURL = communityURL(m.ID)
		}
	}
	p.Keys = r.URL.Query().Get("keys") != ""
	h.render(w, r, http.StatusOK, views.TwoFactorRequired(p))
}

// setRequireTwoFactor is the owners' switch on the community page.
func (h *Handler) setRequireTwoFactor(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	err := parseForm(w, r)
	on := false
	if err == nil {
		switch r.PostForm.Get("require_two_factor") {
		case "on":
			on = true
		case "off", "":
		default:
			err = problem.Invalidf("require_two_factor", "Choose on or off.")
		}
	}
	if err == nil {
		_, err = h.comm.SetRequireTwoFactor(r.Context(), actorOf(r), m.ID, on)
	}
	flash := "Two-factor sign-in is no longer required to manage this community."
	if on {
		flash = "Owners and admins now need two-factor sign-in to manage this community."
	}
	h.answerForm(w, r, err, formAnswer{
		// The form sits on the community page: the reason goes back there.
		Page: func(_ int, msg string) {
			h.sessions.Put(r.Context(), sessFlash, msg)
			seeOther(w, r, settingsURL(m.ID)+"#two-factor")
		},
		Flash: flash,
		To:    settingsURL(m.ID),
	})
}
