package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

const auditPageSize = 50

// parseAuditFilter reads the filter from the query string.
func parseAuditFilter(r *http.Request) (audit.Filter, views.AuditFilter, error) {
	q := r.URL.Query()
	vf := views.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Since: q.Get("since"), Until: q.Get("until")}
	f := audit.Filter{Limit: auditPageSize + 1}
	if vf.Action != "" {
		known := false
		for _, a := range audit.Actions {
			known = known || a == vf.Action
		}
		if !known {
			return f, vf, problem.Invalidf("action", "Unknown action %q.", vf.Action)
		}
		f.Action = vf.Action
	}
	if len(vf.Actor) > 254 {
		return f, vf, problem.Invalidf("actor", "The email filter has at most 254 characters.")
	}
	f.Actor = vf.Actor
	var err error
	if vf.Since != "" {
		if f.Since, err = time.ParseInLocation("2006-01-02", vf.Since, zoneOf(r)); err != nil { // midnight where the person is
			return f, vf, problem.Invalidf("since", "The start date %q is not a date like 2026-01-31.", vf.Since)
		}
	}
	if vf.Until != "" {
		if f.Until, err = time.ParseInLocation("2006-01-02", vf.Until, zoneOf(r)); err != nil {
			return f, vf, problem.Invalidf("until", "The end date %q is not a date like 2026-01-31.", vf.Until)
		}
		f.Until = f.Until.AddDate(0, 0, 1) // the whole end day, 23 or 25 hours long across a DST change
	}
	if b := q.Get("before"); b != "" {
		if f.BeforeID, err = strconv.ParseInt(b, 10, 64); err != nil || f.BeforeID <= 0 {
			return f, vf, problem.Invalidf("before", "Bad page marker.")
		}
	}
	return f, vf, nil
}

// auditRows trims the look-ahead row and builds the "older" link.
func auditRows(base string, vf views.AuditFilter, items []audit.Item, showComm bool) views.AuditRows {
	rows := views.AuditRows{ShowComm: showComm}
	if len(items) > auditPageSize {
		items = items[:auditPageSize]
		rows.MoreURL = views.AuditQuery(base, vf, items[len(items)-1].ID)
	}
	rows.Items = items
	return rows
}

func (h *Handler) serveAudit(w http.ResponseWriter, r *http.Request, base, heading string, showComm bool, list func(audit.Filter) ([]audit.Item, error)) {
	f, vf, ferr := parseAuditFilter(r)
	var items []audit.Item
	if ferr == nil {
		var err error
		if items, err = list(f); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	rows := auditRows(base, vf, items, showComm)
	st := http.StatusOK
	if ferr != nil {
		st = http.StatusBadRequest
		vf.Error = message(ferr)
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "audit-rows" {
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		h.render(w, r, st, views.AuditTable(rows))
		return
	}
	h.render(w, r, st, views.Audit(views.AuditPage{Chrome: h.chrome(r, heading, "audit"), Heading: heading, Action: base,
		Filter: vf, Actions: audit.Actions, Rows: rows}))
}

func (h *Handler) communityAudit(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	h.serveAudit(w, r, fmt.Sprintf("/c/%d/audit", m.ID), "Audit log · "+m.Name, false, func(f audit.Filter) ([]audit.Item, error) {
		return h.cfg.Audit.ListCommunity(r.Context(), m.ID, f)
	})
}

func (h *Handler) globalAudit(w http.ResponseWriter, r *http.Request) {
	h.serveAudit(w, r, "/admin/audit", "Audit log · whole hub", true, func(f audit.Filter) ([]audit.Item, error) {
		return h.cfg.Audit.ListAll(r.Context(), f)
	})
}
