package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
)

const execPageSize = 50

func parseExecFilter(r *http.Request) (router.ExecutionFilter, views.ExecutionFilter, error) {
	q := r.URL.Query()
	vf := views.ExecutionFilter{Command: strings.TrimSpace(q.Get("command")), User: strings.TrimSpace(q.Get("user")), Outcome: q.Get("outcome")}
	f := router.ExecutionFilter{Limit: execPageSize + 1}
	if len(vf.Command) > 33 {
		return f, vf, problem.Invalidf("command", "A command name has at most 32 characters.")
	}
	// Commands are logged without the prefix, in lower case.
	f.Command = strings.ToLower(strings.TrimLeft(vf.Command, strings.Join(router.Prefixes, "")))
	if len(vf.User) > 100 {
		return f, vf, problem.Invalidf("user", "A user name has at most 100 characters.")
	}
	f.User = vf.User
	if vf.Outcome != "" {
		if !slices.Contains(router.Outcomes, vf.Outcome) {
			return f, vf, problem.Invalidf("outcome", "Unknown outcome %q.", runes.Truncate(vf.Outcome, 20, "…"))
		}
		f.Outcome = vf.Outcome
	}
	if b := q.Get("before"); b != "" {
		var err error
		if f.BeforeID, err = strconv.ParseInt(b, 10, 64); err != nil || f.BeforeID <= 0 {
			return f, vf, problem.Invalidf("before", "Bad page marker.")
		}
	}
	return f, vf, nil
}

func (h *Handler) executionsPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	base := botPath(m.ID, "executions")
	f, vf, ferr := parseExecFilter(r)
	var items []router.Execution
	if ferr == nil {
		var err error
		if items, err = h.settings.Executions(r.Context(), m.ID, f); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	var rows views.ExecutionRows
	if len(items) > execPageSize {
		items = items[:execPageSize]
		rows.MoreURL = views.ExecutionQuery(base, vf, items[len(items)-1].ID)
	}
	for _, x := range items {
		rows.Items = append(rows.Items, views.ExecutionRow{At: x.At, Command: x.Command,
			Platform: x.Platform, User: x.User, Args: x.Args, Executor: x.Executor, Outcome: x.Outcome,
			Duration: fmt.Sprintf("%.1f ms", float64(x.Duration.Microseconds())/1000), Error: x.Error})
	}
	st := http.StatusOK
	if ferr != nil {
		st = http.StatusBadRequest
		vf.Error = message(ferr)
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "exec-rows" {
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		h.render(w, r, st, views.ExecutionTable(rows))
		return
	}
	h.render(w, r, st, views.Executions(views.ExecutionsPage{Chrome: h.chrome(r, "Execution log · "+m.Name, "communities"),
		Nav: h.botNav(r, "executions"), Action: base, Filter: vf, Outcomes: router.Outcomes, Rows: rows}))
}
