package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/views"
)

// chrome is what a page shows around its content. Inside a community
// (/c/{cid}/…) it adds the workspace's navigation, marks the page from the
// path, and highlights nothing in the top bar: the sidebar says where you are.
func (h *Handler) chrome(r *http.Request, title, section string) views.Chrome {
	u, _ := userOf(r)
	c := views.Chrome{Title: title, UserName: u.Name(), IsAdmin: u.IsAdmin, Flash: h.popFlash(r), Section: section}
	if m := membershipOf(r); m.ID != 0 {
		c.Section = ""
		ws := &views.Workspace{CommunityID: m.ID, Name: m.Name, Current: workspacePage(r.URL.Path), CanManage: m.Role.CanManage()}
		cs, err := h.comm.ListForUser(r.Context(), u)
		if err != nil {
			// The switcher is a convenience: the page still works without it.
			h.logger.WarnContext(r.Context(), "list communities for the switcher", "err", err)
		}
		for _, o := range cs {
			ws.Communities = append(ws.Communities, views.WorkspaceLink{ID: o.ID, Name: o.Name})
		}
		c.Workspace = ws
	}
	return c
}

// workspacePage names the navigation entry of a path under /c/{cid}:
// "/c/7/commands/3/edit" is "commands", "/c/7" is "overview".
func workspacePage(path string) string {
	rest := strings.TrimPrefix(path, "/c/")
	_, rest, _ = strings.Cut(rest, "/")
	page, sub, _ := strings.Cut(rest, "/")
	if page == "marketplace" && (sub == "installed" || strings.HasPrefix(sub, "installed/")) {
		return "installed"
	}
	switch page {
	case "":
		return "overview"
	case "invitations": // forms answered with the page they sit on
		return "members"
	case "keys":
		return "settings"
	case "prefix", "counters":
		return "commands"
	case "viewer-tracking":
		return "points"
	}
	return page
}

func (h *Handler) communityListPage(r *http.Request, form views.CreateCommunityForm) (views.CommunityList, error) {
	u, _ := userOf(r)
	cs, err := h.comm.ListForUser(r.Context(), u)
	if err != nil {
		return views.CommunityList{}, err
	}
	return views.CommunityList{Chrome: h.chrome(r, "Communities", "communities"), Communities: cs, CanCreate: u.IsAdmin, Create: form}, nil
}

func (h *Handler) communityList(w http.ResponseWriter, r *http.Request) {
	p, err := h.communityListPage(r, views.CreateCommunityForm{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.Communities(p))
}

func (h *Handler) createCommunity(w http.ResponseWriter, r *http.Request) {
	u, _ := userOf(r)
	var (
		f views.CreateCommunityForm
		c community.Community
	)
	answer := formAnswer{
		Page: func(st int, msg string) {
			f.Error = msg
			p, err := h.communityListPage(r, f)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			h.render(w, r, st, views.Communities(p))
		},
		Done: func() {
			h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Community %s created.", c.Name))
			seeOther(w, r, fmt.Sprintf("/c/%d", c.ID))
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	f = views.CreateCommunityForm{Name: r.PostForm.Get("name"), Slug: r.PostForm.Get("slug"), Description: r.PostForm.Get("description")}
	c, err := h.comm.Create(r.Context(), u, ipOf(r), f.Slug, community.Settings{Name: f.Name, Description: f.Description})
	h.answerForm(w, r, err, answer)
}

// memberRow builds the view of one member as the viewer may act on it.
func memberRow(viewer community.Actor, cid int64, m community.MemberInfo) views.MemberRow {
	row := views.MemberRow{CommunityID: cid, Member: m}
	if viewer.Role.CanManage() && (m.Role != community.Owner || viewer.Role == community.Owner) {
		row.Assignable = viewer.Role.Assignable()
		row.CanRemove = true
	}
	return row
}

// communityView assembles the community page; forms carry what the user typed.
func (h *Handler) communityView(r *http.Request, invite views.InviteMemberForm, settings *views.SettingsForm) (views.CommunityPage, error) {
	m := membershipOf(r)
	title := views.WorkspaceLabel(workspacePage(r.URL.Path))
	if title == "" || title == "Overview" {
		title = "Members"
	}
	a := actorOf(r)
	members, err := h.comm.Members(r.Context(), m.ID)
	if err != nil {
		return views.CommunityPage{}, err
	}
	p := views.CommunityPage{Chrome: h.chrome(r, title+" · "+m.Name, "communities"), Community: m.Community, Role: m.Role}
	for _, mem := range members {
		p.Members = append(p.Members, memberRow(a, m.ID, mem))
	}
	if m.Role.CanManage() {
		if p.Invitations, err = h.comm.PendingInvitations(r.Context(), m.ID); err != nil {
			return views.CommunityPage{}, err
		}
		for _, role := range m.Role.Assignable() {
			if role != community.Owner {
				invite.Roles = append(invite.Roles, role)
			}
		}
		if invite.Role == "" {
			invite.Role = string(community.Member)
		}
		p.Invite = invite
		if settings != nil {
			p.Settings = *settings
		} else {
			p.Settings = views.SettingsForm{Name: m.Name, Description: m.Description}
		}
		if p.Keys, err = h.communityKeysView(r, m.ID, views.NewKeyForm{}, nil); err != nil {
			return views.CommunityPage{}, err
		}
	}
	return p, nil
}

// membersPage lists the community's members and, for managers, its invitations.
func (h *Handler) membersPage(w http.ResponseWriter, r *http.Request) {
	h.renderMembers(w, r, http.StatusOK, views.InviteMemberForm{})
}

// settingsPage is the community's settings, two-factor rule and API keys (managers only).
func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request) {
	h.renderSettings(w, r, http.StatusOK, nil)
}

func communityURL(id int64) string { return fmt.Sprintf("/c/%d", id) }

// membersURL and settingsURL are the community's members and settings pages.
func membersURL(id int64) string  { return fmt.Sprintf("/c/%d/members", id) }
func settingsURL(id int64) string { return fmt.Sprintf("/c/%d/settings", id) }

func (h *Handler) updateSettings(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var (
		f           views.SettingsForm
		settingsErr error // the refusal, whose field the form marks
	)
	answer := formAnswer{
		Page: func(st int, msg string) {
			f.Error, f.Field = msg, fieldOf(settingsErr, nil)
			h.renderSettings(w, r, st, &f)
		},
		Flash: "Settings saved.",
		To:    settingsURL(m.ID),
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	f = views.SettingsForm{Name: r.PostForm.Get("name"), Description: r.PostForm.Get("description")}
	_, settingsErr = h.comm.UpdateSettings(r.Context(), actorOf(r), m.ID, community.Settings{Name: f.Name, Description: f.Description})
	h.answerForm(w, r, settingsErr, answer)
}

// renderMembers shows the members page with the invite form as given.
func (h *Handler) renderMembers(w http.ResponseWriter, r *http.Request, st int, invite views.InviteMemberForm) {
	p, err := h.communityView(r, invite, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.CommunityMembers(p))
}

// renderSettings shows the settings page with the settings form as given (nil: as saved).
func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, st int, settings *views.SettingsForm) {
	p, err := h.communityView(r, views.InviteMemberForm{}, settings)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.Licence, err = h.licenceView(r, p.Community.ID, ""); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.CommunitySettings(p))
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var (
		f         views.InviteMemberForm
		res       community.InviteResult
		inviteErr error // the refusal, whose field the form marks
	)
	answer := formAnswer{
		Page: func(st int, msg string) {
			if len(f.Email) > 254 {
				f.Email = ""
			}
			f.Error, f.Field = msg, fieldOf(inviteErr, nil)
			h.renderMembers(w, r, st, f)
		},
		Done: func() {
			if res.Added {
				h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("%s already had an account and is now a member; they were told by mail.", res.Email))
			} else {
				h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Invitation mailed to %s.", res.Email))
			}
			seeOther(w, r, membersURL(m.ID))
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	f.Email, f.Role = r.PostForm.Get("email"), r.PostForm.Get("role")
	role, err := community.ParseRole("role", f.Role)
	if err != nil {
		inviteErr = err
		h.answerForm(w, r, err, answer)
		return
	}
	res, inviteErr = h.comm.Invite(r.Context(), actorOf(r), m.Community, f.Email, role)
	h.answerForm(w, r, inviteErr, answer)
}

func (h *Handler) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := pathID(r, "iid")
	if err == nil {
		err = h.comm.RevokeInvitation(r.Context(), actorOf(r), m.ID, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Invitation withdrawn; its link no longer works.")
	seeOther(w, r, membersURL(m.ID))
}

// changeRole answers HTMX with the updated row, and a plain form with a redirect.
func (h *Handler) changeRole(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	a := actorOf(r)
	uid, err := pathID(r, "uid")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var mem community.MemberInfo
	if err = parseForm(w, r); err == nil {
		var role community.Role
		if role, err = community.ParseRole("role", r.PostForm.Get("role")); err == nil {
			mem, err = h.comm.ChangeRole(r.Context(), a, m.ID, uid, role)
		}
	}
	if err != nil {
		if !isHTMX(r) || status(err) == http.StatusInternalServerError || status(err) == http.StatusNotFound {
			h.fail(w, r, err)
			return
		}
		// Show the row as it really is, with the reason the change was refused.
		cur, cerr := h.comm.Member(r.Context(), m.ID, uid)
		if cerr != nil {
			h.fail(w, r, cerr)
			return
		}
		row := memberRow(a, m.ID, cur)
		row.Error = message(err)
		h.render(w, r, http.StatusOK, views.Member(row))
		return
	}
	if uid == a.User.ID {
		// The user's own privileges changed: new session token.
		if err := h.sessions.RenewToken(r.Context()); err != nil {
			h.fail(w, r, err)
			return
		}
		a.Role = mem.Role
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.Member(memberRow(a, m.ID, mem)))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("%s is now %s.", mem.Name(), mem.Role))
	seeOther(w, r, membersURL(m.ID))
}

func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	uid, err := pathID(r, "uid")
	if err == nil {
		err = h.comm.RemoveMember(r.Context(), actorOf(r), m.ID, uid)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, "Member removed.", membersURL(m.ID))
}
