package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
)

// The People pages: a community's people, searchable by any of their names,
// and each person's profile, points ledger and moderation history; members
// look, moderators and up adjust reputation.

func peopleBase(cid int64) string { return fmt.Sprintf("/c/%d/people", cid) }

func personPath(cid, id int64) string { return fmt.Sprintf("/c/%d/people/%d", cid, id) }

// badges turns accounts into the badges the pages show.
func badges(accounts []identity.PersonAccount) []views.PersonBadge {
	out := make([]views.PersonBadge, 0, len(accounts))
	for _, a := range accounts {
		name, _ := identity.PlatformName(a.Platform)
		out = append(out, views.PersonBadge{Platform: a.Platform, PlatformName: name, Name: a.Name})
	}
	return out
}

func (h *Handler) peoplePage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	q := r.URL.Query()
	res := views.PeopleResults{CommunityID: m.ID, Query: runes.Truncate(strings.TrimSpace(q.Get("q")), identity.MaxPeopleQuery, "")}
	page, err := h.cfg.Identity.People(r.Context(), m.ID, identity.PeopleQuery{Search: q.Get("q"), Cursor: q.Get("cursor")})
	st := http.StatusOK
	if err != nil {
		if problem.As(err) == nil {
			h.fail(w, r, err)
			return
		}
		res.Error, st = message(err), status(err)
	}
	for _, p := range page.People {
		res.Rows = append(res.Rows, views.PersonRow{ID: p.ID, Name: p.DisplayName, Accounts: badges(p.Accounts),
			Reputation: p.Reputation, Balance: p.Balance, LastSeen: p.LastSeen})
	}
	if page.Next != "" {
		v := url.Values{"cursor": {page.Next}}
		if res.Query != "" {
			v.Set("q", res.Query)
		}
		res.NextURL = peopleBase(m.ID) + "?" + v.Encode()
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "people-results" {
		// 200 even for a refused search: HTMX swaps only 2xx answers, and the
		// error is shown in place of the results.
		h.render(w, r, http.StatusOK, views.PeopleResultList(res))
		return
	}
	h.render(w, r, st, views.People(views.PeoplePage{Chrome: h.chrome(r, "People · "+m.Name, "communities"), CommunityID: m.ID, Results: res}))
}

// beforeParam reads a page cursor (an entry id) from the query string.
func beforeParam(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, problem.Invalidf(name, "The page marker %s is an entry id.", name)
	}
	return n, nil
}

// profileID reads {identity} from the path; a malformed one is no such person.
func profileID(r *http.Request) (int64, error) {
	id, err := pathID(r, "identity")
	if err != nil {
		return 0, identity.ErrPersonNotFound
	}
	return id, nil
}

func (h *Handler) personPage(w http.ResponseWriter, r *http.Request) {
	h.renderPerson(w, r, http.StatusOK, nil)
}

// reputationFor builds the reputation section of person id.
func (h *Handler) reputationFor(r *http.Request, cid, id int64, score int, before int64) (views.PersonReputation, error) {
	rep := views.PersonReputation{CommunityID: cid, PersonID: id, Score: score, CanAdjust: membershipOf(r).Role.AtLeast(community.Moderator)}
	hist, next, err := h.cfg.Identity.PersonHistory(r.Context(), cid, id, before)
	if err != nil {
		return rep, err
	}
	for _, e := range hist {
		row := views.PersonHistoryRow{Action: e.Action, Delta: e.Delta, Reason: e.Reason, Actor: e.Actor, At: e.At}
		if e.Platform != "" {
			name, _ := identity.PlatformName(e.Platform)
			row.Account = strings.TrimSpace(name + " " + e.AccountID)
		}
		rep.History = append(rep.History, row)
	}
	if next != 0 {
		rep.HistoryMore = fmt.Sprintf("%s?history_before=%d", personPath(cid, id), next)
	}
	return rep, nil
}

// renderPerson shows a person's page; shown, when set, is the reputation
// form as submitted, with its error.
func (h *Handler) renderPerson(w http.ResponseWriter, r *http.Request, st int, shown *views.PersonReputation) {
	m := membershipOf(r)
	ctx := r.Context()
	id, err := profileID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.cfg.Identity.Person(ctx, m.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ledgerBefore, err := beforeParam(r, "ledger_before")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	historyBefore, err := beforeParam(r, "history_before")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ledger, nextLedger, err := h.cfg.Identity.PersonLedger(ctx, m.ID, id, ledgerBefore)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := h.reputationFor(r, m.ID, id, p.Reputation, historyBefore)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if shown != nil {
		rep.Delta, rep.Reason, rep.Error = shown.Delta, shown.Reason, shown.Error
	}
	primary, _ := identity.PlatformName(p.PrimaryPlatform)
	page := views.PersonPage{Chrome: h.chrome(r, p.DisplayName+" · People · "+m.Name, "communities"), CommunityID: m.ID, Reputation: rep,
		Person: views.PersonView{ID: p.ID, Name: p.DisplayName, PrimaryPlatform: primary, HubUser: p.HubUser, Balance: p.Balance,
			FirstSeen: p.FirstSeen, LastSeen: p.LastSeen}}
	for i, b := range badges(p.Accounts) {
		a := p.Accounts[i]
		page.Person.Accounts = append(page.Person.Accounts, views.PersonAccountRow{PersonBadge: b, ID: a.ID, LinkedAt: a.LinkedAt, LinkedBy: a.LinkedBy})
	}
	for _, l := range ledger {
		page.Ledger = append(page.Ledger, views.PersonLedgerRow{Delta: l.Delta, Reason: l.Reason, Platform: l.Platform, At: l.At})
	}
	if nextLedger != 0 {
		page.LedgerMore = fmt.Sprintf("%s?ledger_before=%d", personPath(m.ID, id), nextLedger)
	}
	h.render(w, r, st, views.Person(page))
}

// reputationForm reads the adjust form; shown is the form as typed.
func reputationForm(w http.ResponseWriter, r *http.Request) (identity.ReputationAdjust, views.PersonReputation, error) {
	if err := parseForm(w, r); err != nil {
		return identity.ReputationAdjust{}, views.PersonReputation{}, err
	}
	f := r.PostForm
	shown := views.PersonReputation{Delta: runes.Truncate(strings.TrimSpace(f.Get("delta")), 20, ""),
		Reason: runes.Truncate(f.Get("reason"), identity.MaxReputationReason+1, "")}
	if shown.Delta == "" {
		return identity.ReputationAdjust{}, shown, problem.Invalidf("delta", "Give the change of reputation, such as 10 or -10.")
	}
	n, _, err := formInt(f, "delta", "The change", 0)
	if err != nil {
		return identity.ReputationAdjust{}, shown, err
	}
	return identity.ReputationAdjust{Delta: n, Reason: f.Get("reason")}, shown, nil
}

// adjustReputation is a moderator's change to a person's reputation.
func (h *Handler) adjustReputation(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.AtLeast(community.Moderator) {
		h.fail(w, r, community.ErrNotAllowed)
		return
	}
	if !h.requireTwoFactorFor(w, r, m) {
		return
	}
	id, err := profileID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, shown, err := reputationForm(w, r)
	if err == nil {
		_, err = h.cfg.Identity.AdjustReputation(r.Context(), auditActor(r), m.ID, id, in)
	}
	h.answerForm(w, r, err, formAnswer{
		Row: func(msg string) (templ.Component, error) {
			p, err := h.cfg.Identity.Person(r.Context(), m.ID, id)
			if err != nil {
				return nil, err
			}
			rep, err := h.reputationFor(r, m.ID, id, p.Reputation, 0)
			if msg != "" {
				rep.Delta, rep.Reason, rep.Error = shown.Delta, shown.Reason, msg
			}
			return views.PersonReputationSection(rep), err
		},
		Page: func(st int, msg string) {
			shown.Error = msg
			h.renderPerson(w, r, st, &shown)
		},
		Flash: "Reputation changed.",
		To:    personPath(m.ID, id),
	})
}

func (h *Handler) peopleHubRoutes(r chi.Router) {
	r.Get("/people", h.peoplePage)
	r.Get("/people/{identity}", h.personPage)
	r.Post("/people/{identity}/reputation", h.adjustReputation) // moderators and up
}
