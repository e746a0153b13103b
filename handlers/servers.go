package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/views"
)

func (h *Handler) renderServers(w http.ResponseWriter, r *http.Request, st int, form views.ServerForm) {
	m := membershipOf(r)
	es, err := h.settings.Entities(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	can := m.Role.CanManage()
	u, _ := userOf(r)
	p := views.ServersPage{Chrome: h.chrome(r, "Linked servers · "+m.Name, "communities"), Nav: h.botNav(r, "servers"),
		CanManage: can, CanLinkByHand: u.IsAdmin, Link: form, Platforms: router.Platforms}
	var checks map[int64]platform.TokenCheck
	if h.cfg.Tokens != nil {
		if checks, err = h.cfg.Tokens.CommunityChecks(r.Context(), m.ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	for _, e := range es {
		row := views.ServerRow{CommunityID: m.ID, ID: e.ID, Platform: e.Platform, Server: e.Server, Name: e.Name, CanManage: can}
		if c, ok := checks[e.ID]; ok {
			row.NeedsReconnect, row.MissingScopes = c.NeedsReconnect, c.MissingScopes
		}
		if can && e.Platform == router.Twitch && h.cfg.TwitchOAuth != nil {
			row.ReconnectURL = botPath(m.ID, "servers/twitch/connect")
		}
		p.Servers = append(p.Servers, row)
	}
	if can {
		p.TwitchConnect = h.cfg.TwitchOAuth != nil
		p.SlackInstall = h.cfg.SlackOAuth != nil
		if h.cfg.DiscordAppID != "" {
			p.DiscordInstallURL = discordInstallURL(h.cfg.DiscordAppID)
		}
		if h.cfg.Links != nil && u.IsAdmin {
			// Guilds the Discord bot was added to, and the workspace of SLACK_BOT_TOKEN.
			for _, plat := range []string{router.Discord, router.Slack} {
				av, err := h.cfg.Links.Available(r.Context(), plat)
				if err != nil {
					h.fail(w, r, err)
					return
				}
				for _, a := range av {
					p.Available = append(p.Available, views.AvailableServer{Platform: plat, Server: a.Server, Name: a.Name})
				}
			}
		}
	}
	h.render(w, r, st, views.Servers(p))
}

func (h *Handler) serversPage(w http.ResponseWriter, r *http.Request) {
	h.renderServers(w, r, http.StatusOK, views.ServerForm{Platform: router.Twitch})
}

// errLinkByHand refuses a link by typed id to anyone but the hub's admins.
var errLinkByHand = problem.New(problem.Forbidden, "Only the hub's admins link servers by hand: a typed id proves no ownership. "+
	"Connect Twitch or Slack through their sign-in; for a Discord server, ask a hub admin to link it once the bot is in it.")

func (h *Handler) linkServer(w http.ResponseWriter, r *http.Request) {
	if u, _ := userOf(r); !u.IsAdmin {
		h.fail(w, r, errLinkByHand)
		return
	}
	m := membershipOf(r)
	var (
		f views.ServerForm
		e router.Entity
	)
	answer := formAnswer{
		Page: func(st int, msg string) { f.Error = msg; h.renderServers(w, r, st, f) },
		Done: func() {
			h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("%s %s is linked to this community.", e.Platform, e.Server))
			seeOther(w, r, botPath(m.ID, "servers"))
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	f = views.ServerForm{Platform: r.PostForm.Get("platform"), Server: strings.TrimSpace(r.PostForm.Get("server")), Name: strings.TrimSpace(r.PostForm.Get("name"))}
	e, err := h.settings.LinkEntity(r.Context(), auditActor(r), m.ID, f.Platform, f.Server, f.Name)
	h.answerForm(w, r, err, answer)
}

func (h *Handler) unlinkServer(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := pathID(r, "eid")
	if err == nil {
		err = h.settings.UnlinkEntity(r.Context(), auditActor(r), m.ID, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, "Server unlinked.", botPath(m.ID, "servers"))
}
