package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/problem"
)

// The people API: a community's people, one person's profile with their
// points ledger and moderation history, and moderators' reputation
// adjustments. Members' user keys read; a moderator's (or higher) adjusts.

func (h *Handler) peopleAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess)
	r.Get("/people", h.apiPeople)
	r.Get("/people/{identity}", h.apiPerson)
	r.Post("/people/{identity}/reputation", h.apiAdjustReputation)
}

type personAccountJSON struct {
	Platform string     `json:"platform"`
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	LinkedAt *time.Time `json:"linked_at"`
	LinkedBy string     `json:"linked_by"`
}

type personSummaryJSON struct {
	ID              int64               `json:"id"`
	DisplayName     string              `json:"display_name"`
	PrimaryPlatform string              `json:"primary_platform"`
	Reputation      int                 `json:"reputation"`
	Balance         int64               `json:"balance"`
	FirstSeen       time.Time           `json:"first_seen"`
	LastSeen        time.Time           `json:"last_seen"`
	Accounts        []personAccountJSON `json:"accounts"`
}

func toPersonSummaryJSON(p identity.PersonSummary) personSummaryJSON {
	out := personSummaryJSON{ID: p.ID, DisplayName: p.DisplayName, PrimaryPlatform: p.PrimaryPlatform, Reputation: p.Reputation,
		Balance: p.Balance, FirstSeen: p.FirstSeen, LastSeen: p.LastSeen, Accounts: []personAccountJSON{}}
	for _, a := range p.Accounts {
		out.Accounts = append(out.Accounts, personAccountJSON{Platform: a.Platform, ID: a.ID, Name: a.Name, LinkedAt: a.LinkedAt, LinkedBy: a.LinkedBy})
	}
	return out
}

type peoplePageJSON struct {
	People     []personSummaryJSON `json:"people"`
	NextCursor string              `json:"next_cursor"` // "": the last page
}

func (h *Handler) apiPeople(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := identity.PeopleQuery{Search: q.Get("q"), Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > identity.MaxPeoplePage {
			h.apiFail(w, r, problem.Invalidf("limit", "The limit is a whole number from 1 to %d.", identity.MaxPeoplePage))
			return
		}
		in.Limit = n
	}
	page, err := h.cfg.Identity.People(r.Context(), membershipOf(r).ID, in)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := peoplePageJSON{People: []personSummaryJSON{}, NextCursor: page.Next}
	for _, p := range page.People {
		out.People = append(out.People, toPersonSummaryJSON(p))
	}
	writeJSON(w, http.StatusOK, out, "")
}

type ledgerEntryJSON struct {
	ID       int64     `json:"id"`
	Delta    int64     `json:"delta"`
	Reason   string    `json:"reason"`
	Platform string    `json:"platform"`
	UserName string    `json:"user_name"`
	At       time.Time `json:"at"`
}

type historyEntryJSON struct {
	ID        int64     `json:"id"`
	Action    string    `json:"action"`
	Delta     int       `json:"delta"`
	Reason    string    `json:"reason"`
	Platform  string    `json:"platform"`
	AccountID string    `json:"account_id"`
	Actor     string    `json:"actor"`
	At        time.Time `json:"at"`
}

type personJSON struct {
	personSummaryJSON
	HubUser bool `json:"hub_user"`
	Ledger  struct {
		Entries    []ledgerEntryJSON `json:"entries"`
		NextBefore int64             `json:"next_before"` // 0: the last page; else pass as ledger_before
	} `json:"ledger"`
	History struct {
		Entries    []historyEntryJSON `json:"entries"`
		NextBefore int64              `json:"next_before"` // 0: the last page; else pass as history_before
	} `json:"history"`
}

func (h *Handler) apiPerson(w http.ResponseWriter, r *http.Request) {
	cid := membershipOf(r).ID
	ctx := r.Context()
	id, err := profileID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	p, err := h.cfg.Identity.Person(ctx, cid, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	ledgerBefore, err := beforeParam(r, "ledger_before")
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	historyBefore, err := beforeParam(r, "history_before")
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := personJSON{personSummaryJSON: toPersonSummaryJSON(p.PersonSummary), HubUser: p.HubUser}
	ledger, nextLedger, err := h.cfg.Identity.PersonLedger(ctx, cid, id, ledgerBefore)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	hist, nextHist, err := h.cfg.Identity.PersonHistory(ctx, cid, id, historyBefore)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out.Ledger.Entries, out.Ledger.NextBefore = []ledgerEntryJSON{}, nextLedger
	for _, l := range ledger {
		out.Ledger.Entries = append(out.Ledger.Entries, ledgerEntryJSON{ID: l.ID, Delta: l.Delta, Reason: l.Reason, Platform: l.Platform, UserName: l.UserName, At: l.At})
	}
	out.History.Entries, out.History.NextBefore = []historyEntryJSON{}, nextHist
	for _, e := range hist {
		out.History.Entries = append(out.History.Entries, historyEntryJSON{ID: e.ID, Action: e.Action, Delta: e.Delta, Reason: e.Reason,
			Platform: e.Platform, AccountID: e.AccountID, Actor: e.Actor, At: e.At})
	}
	writeJSON(w, http.StatusOK, out, "")
}

type reputationJSON struct {
	Delta  *int    `json:"delta"`
	Reason *string `json:"reason"`
}

type reputationAnswerJSON struct {
	ID         int64 `json:"id"`
	Reputation int   `json:"reputation"`
}

func (h *Handler) apiAdjustReputation(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := profileID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if !m.Role.AtLeast(community.Moderator) {
		h.apiFail(w, r, community.ErrNotAllowed)
		return
	}
	var in reputationJSON
	if err := decodeJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.Delta == nil {
		h.apiFail(w, r, problem.Invalidf("delta", "The field \"delta\" is required."))
		return
	}
	if in.Reason == nil {
		h.apiFail(w, r, problem.Invalidf("reason", "The field \"reason\" is required."))
		return
	}
	u, _ := userOf(r)
	rep, err := h.cfg.Identity.AdjustReputation(r.Context(), keyActor(r, u), m.ID, id, identity.ReputationAdjust{Delta: *in.Delta, Reason: *in.Reason})
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reputationAnswerJSON{ID: id, Reputation: rep}, "")
}
