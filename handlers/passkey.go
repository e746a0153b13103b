package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/problem"
)

// Passkey ceremonies, driven by static/passkey.js: each has a begin request
// that answers the options for navigator.credentials and keeps the ceremony's
// state (challenge, account, expiry) in the server-side session, and a finish
// request that pops that state, so a challenge is used at most once. Answers
// are JSON in the API's envelope; same-origin fetches pass the hub's
// cross-origin protection like its forms.

// sessCeremony holds the state of the ceremony in progress.
const sessCeremony = "webauthn"

// maxCeremonyBytes bounds a finish request (a credential is a few KiB).
const maxCeremonyBytes = 64 << 10

// passkeyOptions stores state and answers options.
func (h *Handler) passkeyOptions(w http.ResponseWriter, r *http.Request, options, state []byte, err error) {
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessCeremony, state)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(options)
}

// ceremonyBody pops the ceremony's state and reads the browser's response.
func (h *Handler) ceremonyBody(w http.ResponseWriter, r *http.Request) (state, body []byte, err error) {
	state = h.sessions.PopBytes(r.Context(), sessCeremony)
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxCeremonyBytes))
	if err != nil {
		return nil, nil, problem.New(problem.Invalid, "The passkey response is too large or could not be read.")
	}
	return state, body, nil
}

type passkeyDone struct {
	Redirect      string   `json:"redirect"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
}

func (h *Handler) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	options, state, err := h.auth.BeginPasskeyRegistration(r.Context(), u)
	h.passkeyOptions(w, r, options, state, err)
}

// finishPasskeyRegistration takes the passkey's name in the query (the body is
// the credential as the browser made it).
func (h *Handler) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	state, body, err := h.ceremonyBody(w, r)
	var pk auth.Passkey
	var codes []string
	if err == nil {
		pk, codes, err = h.auth.FinishPasskeyRegistration(r.Context(), u, state, r.URL.Query().Get("name"), body, ipOf(r))
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if len(codes) == 0 {
		h.sessions.Put(r.Context(), sessFlash, "Passkey "+pk.Name+" added.")
	}
	writeJSON(w, http.StatusCreated, passkeyDone{Redirect: "/account#two-factor", RecoveryCodes: codes}, "Passkey "+pk.Name+" added.")
}

func (h *Handler) removePasskey(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	id, err := pathID(r, "pid")
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		err = h.auth.RemovePasskey(r.Context(), u, id, r.PostForm.Get("password"), ipOf(r))
	}
	h.answerForm(w, r, err, h.twoFactorAnswer(w, r, "The passkey was removed.", nil))
}

// The passkey as the second step of a sign-in.

func (h *Handler) beginPasskeySecondStep(w http.ResponseWriter, r *http.Request) {
	uid, sv, err := h.pendingSignIn(r)
	var options, state []byte
	if err == nil {
		options, state, err = h.auth.BeginPasskeySecondFactor(r.Context(), uid, sv)
	}
	h.passkeyOptions(w, r, options, state, err)
}

func (h *Handler) finishPasskeySecondStep(w http.ResponseWriter, r *http.Request) {
	uid, sv, err := h.pendingSignIn(r)
	var u auth.User
	if err == nil {
		var state, body []byte
		if state, body, err = h.ceremonyBody(w, r); err == nil {
			u, err = h.auth.FinishPasskeySecondFactor(r.Context(), uid, sv, state, body, ipOf(r))
		}
	}
	h.passkeySignedIn(w, r, u, err)
}

// The passkey alone: passwordless sign-in.

func (h *Handler) beginPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	options, state, err := h.auth.BeginPasskeySignIn()
	h.passkeyOptions(w, r, options, state, err)
}

func (h *Handler) finishPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	state, body, err := h.ceremonyBody(w, r)
	var u auth.User
	if err == nil {
		u, err = h.auth.FinishPasskeySignIn(r.Context(), state, body, ipOf(r))
	}
	h.passkeySignedIn(w, r, u, err)
}

func (h *Handler) passkeySignedIn(w http.ResponseWriter, r *http.Request, u auth.User, err error) {
	if errors.Is(err, auth.ErrSignInExpired) {
		h.sessions.Put(r.Context(), sessFlash, problem.As(err).Message)
		writeJSON(w, http.StatusUnauthorized, passkeyDone{Redirect: "/signin"}, problem.As(err).Message)
		return
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	next, err := h.finishSignIn(r, u)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyDone{Redirect: next}, "Signed in.")
}
