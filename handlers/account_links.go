package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
)

// A hub user links their own Twitch, Discord and Slack accounts from the
// account page by signing in with each platform: the callback learns the
// account's id from the platform (the token is used once and never stored)
// and the identity service makes it one of the user's accounts, so they are
// one person in every community.

// AccountOAuth is a platform's sign-in as a hub user linking their own
// account uses it (bots/twitch, bots/slack and bots/discord implement it).
type AccountOAuth interface {
	IdentifyURL(redirectURI, state string) string
	Identify(ctx context.Context, code, redirectURI string) (identity.Account, error)
}

// sessAccountLink holds the account link in progress:
// "platform user-id expires-unix state".
const sessAccountLink = "account_link"

// accountLinkTTL is how long a started link may take to come back.
const accountLinkTTL = 10 * time.Minute

// accountPlatforms are the platforms in the order the page lists them.
var accountPlatforms = []string{identity.Twitch, identity.Discord, identity.Slack}

// accountOAuth is the platform's sign-in, when it is configured.
func (h *Handler) accountOAuth(plat string) (AccountOAuth, bool) {
	o, ok := h.cfg.AccountOAuth[plat]
	return o, ok && o != nil && h.cfg.Identity != nil
}

func (h *Handler) accountLinkRedirect(plat string) string {
	return h.cfg.BaseURL + "/account/links/" + plat + "/callback"
}

// errAccountLinkOff: the platform's sign-in is not configured here.
func errAccountLinkOff(plat string) error {
	if name, ok := identity.PlatformName(plat); ok {
		return problem.New(problem.NotFound, "Linking %s accounts is not configured on this server.", name)
	}
	return errNotFound
}

// startAccountLink sends the browser to the platform's sign-in. It is a GET
// from a link (a form's redirect to the platform would break the hub's
// form-action CSP), so one started by another site is refused.
func (h *Handler) startAccountLink(w http.ResponseWriter, r *http.Request) {
	plat := chiURLParam(r, "platform")
	o, ok := h.accountOAuth(plat)
	if !ok {
		h.fail(w, r, errAccountLinkOff(plat))
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		h.fail(w, r, problem.New(problem.Forbidden, "Start linking an account from your account page."))
		return
	}
	u, _ := userOf(r)
	b := make([]byte, 32)
	rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	expires := time.Now().Add(accountLinkTTL).Unix()
	h.sessions.Put(r.Context(), sessAccountLink, fmt.Sprintf("%s %d %d %s", plat, u.ID, expires, state))
	http.Redirect(w, r, o.IdentifyURL(h.accountLinkRedirect(plat), state), http.StatusSeeOther)
}

// accountLinkCallback finishes a link: the state must be the one this
// session's user started for this platform, unused and recent; then the
// platform says who signed in, and the account becomes the user's.
func (h *Handler) accountLinkCallback(w http.ResponseWriter, r *http.Request) {
	plat := chiURLParam(r, "platform")
	o, ok := h.accountOAuth(plat)
	if !ok {
		h.fail(w, r, errAccountLinkOff(plat))
		return
	}
	name, _ := identity.PlatformName(plat)
	u, _ := userOf(r)
	if err := h.checkAccountLinkState(r, plat, u.ID); err != nil {
		h.accountLinkDone(w, r, plat, err)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		h.accountLinkDone(w, r, plat, platformRefusal(name, e, q.Get("error_description")))
		return
	}
	acc, err := o.Identify(r.Context(), q.Get("code"), h.accountLinkRedirect(plat))
	if err != nil {
		h.accountLinkDone(w, r, plat, err)
		return
	}
	linked, err := h.cfg.Identity.LinkHub(r.Context(), auditActor(r), u.ID, acc)
	if err != nil {
		h.accountLinkDone(w, r, plat, err)
		return
	}
	msg := fmt.Sprintf("Your %s account %s is linked: you are one person in every community, with one balance.", name, acc.Name)
	if linked.Already {
		msg = fmt.Sprintf("Your %s account %s was already linked to you.", name, acc.Name)
	}
	h.sessions.Put(r.Context(), sessFlash, msg)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// checkAccountLinkState checks the callback's state against the link this
// session started, and forgets it: a state works once.
func (h *Handler) checkAccountLinkState(r *http.Request, plat string, userID int64) error {
	saved := strings.Fields(h.sessions.PopString(r.Context(), sessAccountLink))
	got := r.URL.Query().Get("state")
	name, _ := identity.PlatformName(plat)
	refused := problem.New(problem.Invalid, "This %s sign-in was not started from your account page in this browser, or was already used. Link again from here.", name)
	if len(saved) != 4 || saved[0] != plat || saved[1] != strconv.FormatInt(userID, 10) || got == "" ||
		subtle.ConstantTimeCompare([]byte(saved[3]), []byte(got)) != 1 {
		return refused
	}
	expires, err := strconv.ParseInt(saved[2], 10, 64)
	if err != nil {
		return refused
	}
	if time.Now().Unix() > expires {
		return problem.New(problem.Invalid, "The %s sign-in took longer than %d minutes. Link again from here.", name, int(accountLinkTTL.Minutes()))
	}
	return nil
}

// platformRefusal is the flash for an error the platform sent back.
func platformRefusal(name, code, desc string) error {
	code, desc = runes.Truncate(code, 60, "…"), runes.Truncate(desc, 200, "…")
	if code == "access_denied" {
		return problem.New(problem.Invalid, "You did not allow Waddle to see your %s account (access_denied), so nothing was linked.", name)
	}
	if desc != "" {
		return problem.New(problem.Invalid, "%s did not sign you in (%s: %s). Nothing was linked.", name, code, desc)
	}
	return problem.New(problem.Invalid, "%s did not sign you in (%s). Nothing was linked.", name, code)
}

// accountLinkDone flashes why a link did not happen and returns to the
// account page; internal errors stay in the log.
func (h *Handler) accountLinkDone(w http.ResponseWriter, r *http.Request, plat string, err error) {
	name, _ := identity.PlatformName(plat)
	msg := fmt.Sprintf("Could not link your %s account: something went wrong on our side. Try again in a moment.", name)
	if p := problem.As(err); p != nil {
		msg = p.Message
	} else {
		h.logger.ErrorContext(r.Context(), "account link", "platform", plat, "err", err)
	}
	h.sessions.Put(r.Context(), sessFlash, msg)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// removeAccountLink unlinks one of the user's accounts (form field
// account: its id on the platform).
func (h *Handler) removeAccountLink(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Identity == nil {
		h.fail(w, r, errNotFound)
		return
	}
	plat := chiURLParam(r, "platform")
	name, ok := identity.PlatformName(plat)
	if !ok {
		h.fail(w, r, errNotFound)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PostForm.Get("account")
	if id == "" || len(id) > 100 {
		h.fail(w, r, problem.Invalidf("account", "Say which %s account to remove.", name))
		return
	}
	u, _ := userOf(r)
	acc, err := h.cfg.Identity.UnlinkHub(r.Context(), auditActor(r), u.ID, plat, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Your %s account %s is no longer linked. Its points stay with you; it starts afresh.", name, acc.Name))
	seeOther(w, r, "/account")
}

// accountLinksView is the account page's "Linked accounts" section.
func (h *Handler) accountLinksView(r *http.Request) (views.LinkedAccounts, error) {
	if h.cfg.Identity == nil {
		return views.LinkedAccounts{}, nil
	}
	u, _ := userOf(r)
	links, err := h.cfg.Identity.HubLinks(r.Context(), u.ID)
	if err != nil {
		return views.LinkedAccounts{}, err
	}
	v := views.LinkedAccounts{On: true}
	have := map[string]bool{}
	for _, l := range links {
		name, _ := identity.PlatformName(l.Platform)
		have[l.Platform] = true
		v.Rows = append(v.Rows, views.LinkedAccountRow{Platform: l.Platform, PlatformName: name, AccountID: l.ID, Name: l.Name,
			LinkedAt: l.LinkedAt, How: l.LinkedBy})
	}
	for _, p := range accountPlatforms {
		if _, ok := h.accountOAuth(p); ok && !have[p] {
			name, _ := identity.PlatformName(p)
			v.Offers = append(v.Offers, views.LinkOffer{Platform: p, PlatformName: name})
		}
	}
	return v, nil
}
