package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Linking a community's platforms: a Twitch channel through Twitch's OAuth
// authorization-code flow (the broadcaster grants the bot's scopes), a Slack
// workspace through Slack's OAuth v2 install, and a Discord guild through the
// bot's install link, after which the bot reports the guild and it is linked
// from the list. The Twitch bot's own chat account is connected the same way
// by a global admin from the health page.

// sessOAuth holds the flow in progress: "platform purpose community-id state".
const sessOAuth = "oauth"

// Purposes of an OAuth flow.
const (
	oauthLink = "link" // link a channel or workspace to a community
	oauthBot  = "bot"  // the Twitch bot's own account
)

func (h *Handler) startOAuth(w http.ResponseWriter, r *http.Request, plat, purpose string, cid int64, authorize func(redirect, state string) string) {
	// The flows start from a link (a form's redirect to the platform would
	// break the hub's form-action CSP), so a GET: browsers say where it came
	// from, and one started by another site is refused.
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		h.fail(w, r, problem.New(problem.Forbidden, "Start connecting %s from the hub's own page.", platformName(plat)))
		return
	}
	b := make([]byte, 32)
	rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	h.sessions.Put(r.Context(), sessOAuth, strings.Join([]string{plat, purpose, strconv.FormatInt(cid, 10), state}, " "))
	http.Redirect(w, r, authorize(h.oauthRedirect(plat), state), http.StatusSeeOther)
}

func (h *Handler) oauthRedirect(plat string) string {
	return h.cfg.BaseURL + "/oauth/" + plat + "/callback"
}

// finishOAuth checks the callback's state against the flow this session
// started, and returns its purpose and community. It forgets the flow: a
// state works once.
func (h *Handler) finishOAuth(r *http.Request, plat string) (purpose string, cid int64, err error) {
	saved := strings.Fields(h.sessions.PopString(r.Context(), sessOAuth))
	got := r.URL.Query().Get("state")
	if len(saved) != 4 || saved[0] != plat || got == "" || subtle.ConstantTimeCompare([]byte(saved[3]), []byte(got)) != 1 {
		return "", 0, problem.New(problem.Invalid, "This %s sign-in was not started from this browser session, or was already used. Start again from the hub.", platformName(plat))
	}
	cid, _ = strconv.ParseInt(saved[2], 10, 64)
	if e := r.URL.Query().Get("error"); e != "" {
		desc := r.URL.Query().Get("error_description")
		if len(desc) > 200 {
			desc = desc[:200]
		}
		return saved[1], cid, problem.New(problem.Invalid, "%s did not grant access (%s). %s", platformName(plat), e, desc)
	}
	return saved[1], cid, nil
}

func platformName(p string) string {
	switch p {
	case router.Twitch:
		return "Twitch"
	case router.Discord:
		return "Discord"
	case router.Slack:
		return "Slack"
	}
	return p
}

// TwitchOAuth is Twitch's OAuth as the hub uses it (package bots/twitch
// implements it): where to send a broadcaster linking a channel, or an admin
// connecting the bot's account, and the token a returned code gives.
type TwitchOAuth interface {
	ChannelURL(redirectURI, state string) string
	BotURL(redirectURI, state string) string
	Exchange(ctx context.Context, code, redirectURI string) (platform.Token, error)
}

// SlackOAuth is Slack's OAuth v2 install as the hub uses it (package
// bots/slack implements it).
type SlackOAuth interface {
	AuthorizeURL(redirectURI, state string) string
	Exchange(ctx context.Context, code, redirectURI string) (platform.Install, error)
}

// connectTwitch starts linking a Twitch channel: the channel's owner signs in
// to Twitch and grants the scopes the bot needs.
func (h *Handler) connectTwitch(w http.ResponseWriter, r *http.Request) {
	if h.cfg.TwitchOAuth == nil {
		h.fail(w, r, problem.New(problem.NotFound, "The Twitch bot is not configured on this server (TWITCH_CLIENT_ID)."))
		return
	}
	h.startOAuth(w, r, router.Twitch, oauthLink, membershipOf(r).ID, func(redirect, state string) string {
		return h.cfg.TwitchOAuth.ChannelURL(redirect, state)
	})
}

// connectTwitchBot starts connecting the bot's own chat account (global admins).
func (h *Handler) connectTwitchBot(w http.ResponseWriter, r *http.Request) {
	if h.cfg.TwitchOAuth == nil {
		h.fail(w, r, problem.New(problem.NotFound, "The Twitch bot is not configured on this server (TWITCH_CLIENT_ID)."))
		return
	}
	h.startOAuth(w, r, router.Twitch, oauthBot, 0, func(redirect, state string) string {
		return h.cfg.TwitchOAuth.BotURL(redirect, state)
	})
}

// installSlack starts Slack's OAuth v2 install into a workspace.
func (h *Handler) installSlack(w http.ResponseWriter, r *http.Request) {
	if h.cfg.SlackOAuth == nil {
		h.fail(w, r, problem.New(problem.NotFound, "Slack installs are not configured on this server (SLACK_CLIENT_ID)."))
		return
	}
	h.startOAuth(w, r, router.Slack, oauthLink, membershipOf(r).ID, h.cfg.SlackOAuth.AuthorizeURL)
}

// oauthDone flashes the outcome and returns to where the flow started.
func (h *Handler) oauthDone(w http.ResponseWriter, r *http.Request, cid int64, msg string) {
	h.sessions.Put(r.Context(), sessFlash, msg)
	target := "/health"
	if cid > 0 {
		target = botPath(cid, "servers")
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// oauthFailed shows a refused or broken flow as a flash message; internal
// errors stay in the log.
func (h *Handler) oauthFailed(w http.ResponseWriter, r *http.Request, plat string, cid int64, err error) {
	msg := fmt.Sprintf("Could not connect %s: something went wrong on our side. Try again in a moment.", platformName(plat))
	if p := problem.As(err); p != nil {
		msg = p.Message
	} else {
		h.logger.ErrorContext(r.Context(), "oauth callback", "platform", plat, "err", err)
	}
	h.oauthDone(w, r, cid, msg)
}

// manages checks, at the end of a flow, that the user still manages the community.
func (h *Handler) manages(r *http.Request, cid int64) error {
	u, _ := userOf(r)
	m, err := h.comm.Access(r.Context(), u, cid)
	if err != nil {
		return err
	}
	if !m.Role.CanManage() {
		return problem.New(problem.Forbidden, "Only the community's admins can link servers.")
	}
	return nil
}

// twitchCallback finishes a Twitch sign-in: it links the channel of the
// account that signed in and stores its token sealed, or stores the bot's.
func (h *Handler) twitchCallback(w http.ResponseWriter, r *http.Request) {
	if h.cfg.TwitchOAuth == nil {
		h.fail(w, r, problem.New(problem.NotFound, "The Twitch bot is not configured on this server."))
		return
	}
	purpose, cid, err := h.finishOAuth(r, router.Twitch)
	if err == nil && purpose == oauthBot {
		if u, _ := userOf(r); !u.IsAdmin {
			err = problem.New(problem.Forbidden, "Only global admins can connect the bot account.")
		}
	} else if err == nil {
		err = h.manages(r, cid)
	}
	var tok platform.Token
	if err == nil {
		tok, err = h.cfg.TwitchOAuth.Exchange(r.Context(), r.URL.Query().Get("code"), h.oauthRedirect(router.Twitch))
	}
	if err == nil && tok.AccountLogin == "" {
		err = errors.New("twitch returned a token without a login")
	}
	if err != nil {
		h.oauthFailed(w, r, router.Twitch, cid, err)
		return
	}
	login := strings.ToLower(tok.AccountLogin)
	if purpose == oauthBot {
		if want := h.cfg.TwitchBotLogin; want != "" && login != want {
			h.oauthFailed(w, r, router.Twitch, 0, problem.New(problem.Invalid,
				"You signed in to Twitch as %s, but the bot account is %s (TWITCH_BOT_LOGIN). Sign out of Twitch, sign in as %s and connect again.", login, want, want))
			return
		}
		if err := h.cfg.Tokens.ConnectBot(r.Context(), auditActor(r), router.Twitch, tok); err != nil {
			h.oauthFailed(w, r, router.Twitch, 0, err)
			return
		}
		h.oauthDone(w, r, 0, fmt.Sprintf("The Twitch bot now chats as %s.", login))
		return
	}
	if err := h.linkWithToken(r, cid, router.Twitch, login, tok.AccountLogin, tok); err != nil {
		h.oauthFailed(w, r, router.Twitch, cid, err)
		return
	}
	h.oauthDone(w, r, cid, fmt.Sprintf("Twitch channel %s is linked to this community. The bot joins it within a few seconds.", login))
}

// slackCallback finishes a Slack install: it links the workspace and stores
// the bot token sealed.
func (h *Handler) slackCallback(w http.ResponseWriter, r *http.Request) {
	if h.cfg.SlackOAuth == nil {
		h.fail(w, r, problem.New(problem.NotFound, "Slack installs are not configured on this server."))
		return
	}
	_, cid, err := h.finishOAuth(r, router.Slack)
	if err == nil {
		err = h.manages(r, cid)
	}
	var inst platform.Install
	if err == nil {
		inst, err = h.cfg.SlackOAuth.Exchange(r.Context(), r.URL.Query().Get("code"), h.oauthRedirect(router.Slack))
	}
	if err == nil {
		err = h.linkWithToken(r, cid, router.Slack, inst.Server, inst.Name, inst.Token)
	}
	if err != nil {
		h.oauthFailed(w, r, router.Slack, cid, err)
		return
	}
	h.oauthDone(w, r, cid, fmt.Sprintf("Slack workspace %s is linked to this community. Invite the app to a channel with /invite @waddle.", inst.Name))
}

// linkWithToken links the server to the community, unless it already is, and
// stores its token. A server linked to another community is refused.
func (h *Handler) linkWithToken(r *http.Request, cid int64, plat, server, name string, tok platform.Token) error {
	linked := false
	es, err := h.settings.Entities(r.Context(), cid)
	if err != nil {
		return err
	}
	for _, e := range es {
		linked = linked || (e.Platform == plat && e.Server == server)
	}
	if !linked {
		if _, err := h.settings.LinkEntity(r.Context(), auditActor(r), cid, plat, server, name); err != nil {
			return err
		}
	}
	return h.cfg.Tokens.Save(r.Context(), plat, server, tok)
}

// discordPermissions are the permissions the install link asks for: view
// channels (1<<10), send messages (1<<11) and send messages in threads
// (1<<38, for commands typed in threads), manage messages (1<<13, deleting
// by moderation rules), embed links (1<<14), read message history (1<<16),
// add reactions (1<<6), moderate members (1<<40, timeouts) and ban members
// (1<<2).
const discordPermissions = 1<<10 | 1<<11 | 1<<38 | 1<<13 | 1<<14 | 1<<16 | 1<<6 | 1<<40 | 1<<2

// discordInstallURL is the link that adds the bot to a Discord server with
// the permissions it needs.
func discordInstallURL(appID string) string {
	const perms = discordPermissions
	q := url.Values{"client_id": {appID}, "scope": {"bot applications.commands"}, "permissions": {strconv.FormatInt(perms, 10)}}
	return "https://discord.com/oauth2/authorize?" + q.Encode()
}
