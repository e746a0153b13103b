package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
	"github.com/waddle/waddle/workflow"
)

// The runs of workflows in the hub: /c/{cid}/runs lists the community's
// runs, /c/{cid}/workflows/{id}/runs one workflow's (with its test run,
// workflow_testrun.go), and /c/{cid}/runs/{runID} shows one run with its
// trace. Reading needs the read right on the run's workflow; retry, replay
// and cancel need the execute right. A run of another community is not found.

const runsPageSize = 50

// requireRunViews answers 404 when the workflow engine is not wired in.
func (h *Handler) requireRunViews(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Workflows == nil || h.cfg.WorkflowAccess == nil {
			h.fail(w, r, errNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// runTwoFactor holds a manager of a community that requires two-factor
// authentication to it before acting on runs, as requireManager does.
func (h *Handler) runTwoFactor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.requireTwoFactorFor(w, r, membershipOf(r)) {
			next.ServeHTTP(w, r)
		}
	})
}

// workflowRights is what the signed-in member may do with workflow id; a
// workflow of another community is problem.NotFound.
func (h *Handler) workflowRights(r *http.Request, id int64) (workflow.Rights, error) {
	m := membershipOf(r)
	u, _ := userOf(r)
	return h.cfg.WorkflowAccess.Access(r.Context(), m.ID, id, u.ID, string(m.Role))
}

func runsPath(cid int64) string             { return fmt.Sprintf("/c/%d/runs", cid) }
func runPath(cid, id int64) string          { return fmt.Sprintf("/c/%d/runs/%d", cid, id) }
func workflowRunsPath(cid, id int64) string { return fmt.Sprintf("/c/%d/workflows/%d/runs", cid, id) }

// parseRunFilter reads the filter of a runs page; workflows says whether
// the page filters by workflow (the community's page does).
func parseRunFilter(r *http.Request, loc *time.Location, workflows bool) (workflow.RunFilter, views.RunFilter, error) {
	q := r.URL.Query()
	vf := views.RunFilter{Status: q.Get("status"), Trigger: q.Get("trigger"), Since: strings.TrimSpace(q.Get("since"))}
	f := workflow.RunFilter{Limit: runsPageSize + 1}
	if vf.Status != "" {
		if !slices.Contains(workflow.RunStatuses, vf.Status) {
			return f, vf, problem.Invalidf("status", "Unknown status %q: want one of %s.", runes.Truncate(vf.Status, 20, "…"), strings.Join(workflow.RunStatuses, ", "))
		}
		f.Status = vf.Status
	}
	if vf.Trigger != "" {
		if !slices.Contains(workflow.TriggerKinds, vf.Trigger) {
			return f, vf, problem.Invalidf("trigger", "Unknown trigger %q: want one of %s.", runes.Truncate(vf.Trigger, 20, "…"), strings.Join(workflow.TriggerKinds, ", "))
		}
		f.Trigger = vf.Trigger
	}
	if vf.Since != "" {
		t, err := time.ParseInLocation("2006-01-02", vf.Since, loc)
		if err != nil {
			return f, vf, problem.Invalidf("since", "Since is a date like 2026-12-06; %q is not.", runes.Truncate(vf.Since, 20, "…"))
		}
		f.Since = &t
	}
	if workflows {
		vf.Workflow = strings.TrimSpace(q.Get("workflow"))
		if vf.Workflow != "" {
			id, err := strconv.ParseInt(vf.Workflow, 10, 64)
			if err != nil || id <= 0 {
				return f, vf, problem.Invalidf("workflow", "Pick a workflow from the list.")
			}
			f.WorkflowID = id
		}
	}
	if b := q.Get("before"); b != "" {
		var err error
		if f.BeforeID, err = strconv.ParseInt(b, 10, 64); err != nil || f.BeforeID <= 0 {
			return f, vf, problem.Invalidf("before", "Bad page marker.")
		}
	}
	return f, vf, nil
}

// runsPage lists the community's runs: every member reads workflows.
func (h *Handler) runsPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if err := workflow.DefaultRights(string(m.Role)).Check(workflow.RightRead); err != nil {
		h.fail(w, r, err)
		return
	}
	flows, err := h.cfg.Workflows.List(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	opts := []views.RunWorkflowOption{}
	for _, f := range flows {
		opts = append(opts, views.RunWorkflowOption{ID: f.ID, Name: f.Name})
	}
	p := views.RunsPage{Title: "Workflow runs", Action: runsPath(m.ID), Statuses: workflow.RunStatuses,
		Triggers: workflow.TriggerKinds, Workflows: opts}
	h.answerRuns(w, r, p, flows)
}

// workflowRunsPage lists one workflow's runs, with its test run for those
// who may run it.
func (h *Handler) workflowRunsPage(w http.ResponseWriter, r *http.Request) {
	h.showWorkflowRuns(w, r, nil)
}

// showWorkflowRuns renders a workflow's runs page; test is the test-run
// form as sent (nil: a fresh one).
func (h *Handler) showWorkflowRuns(w http.ResponseWriter, r *http.Request, test *views.TestRunPanel) {
	m := membershipOf(r)
	id, err := pathID(r, "id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rights, err := h.workflowRights(r, id)
	if err == nil {
		err = rights.Check(workflow.RightRead)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	wf, err := h.cfg.Workflows.Get(r.Context(), m.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rw := &views.RunsWorkflow{ID: wf.ID, Name: wf.Name, EditURL: fmt.Sprintf("/c/%d/workflows/%d/edit", m.ID, wf.ID), AllURL: runsPath(m.ID)}
	if rights.Execute {
		rw.Test = test
		if rw.Test == nil {
			rw.Test = &views.TestRunPanel{Payload: "{}"}
		}
		rw.Test.Action = testRunPath(m.ID, wf.ID)
	}
	p := views.RunsPage{Title: "Runs of " + wf.Name, Action: workflowRunsPath(m.ID, wf.ID), Statuses: workflow.RunStatuses,
		Triggers: workflow.TriggerKinds, Workflow: rw}
	h.answerRuns(w, r, p, []workflow.Workflow{*wf})
}

// answerRuns fills the rows of a runs page from its filter and answers
// with the page, or the table alone for the filter's HTMX requests.
func (h *Handler) answerRuns(w http.ResponseWriter, r *http.Request, p views.RunsPage, flows []workflow.Workflow) {
	m := membershipOf(r)
	f, vf, ferr := parseRunFilter(r, clockOf(r).Loc, p.Workflow == nil)
	if p.Workflow != nil {
		f.WorkflowID = p.Workflow.ID
	}
	names := map[int64]string{}
	for _, wf := range flows {
		names[wf.ID] = wf.Name
	}
	var items []workflow.Run
	if ferr == nil {
		var err error
		if items, err = h.cfg.Workflows.ListRuns(r.Context(), m.ID, f); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if len(items) > runsPageSize {
		items = items[:runsPageSize]
		p.Rows.MoreURL = views.RunsQuery(p.Action, vf, items[len(items)-1].ID)
	}
	for _, x := range items {
		name := names[x.WorkflowID]
		if name == "" {
			name = fmt.Sprintf("workflow %d", x.WorkflowID)
		}
		p.Rows.Items = append(p.Rows.Items, views.RunRow{ID: x.ID, URL: runPath(m.ID, x.ID), Workflow: name, Version: x.Version,
			Status: x.Status, Trigger: x.TriggerKind, Started: startedAt(x), Busy: x.Busy, Error: x.Error})
	}
	st := http.StatusOK
	if ferr != nil {
		st = http.StatusBadRequest
		vf.Error = message(ferr)
	}
	p.Filter = vf
	if isHTMX(r) && r.Header.Get("HX-Target") == "run-rows" {
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		h.render(w, r, st, views.RunTable(p.Rows))
		return
	}
	if p.Workflow != nil && p.Workflow.Test != nil && p.Workflow.Test.Error != "" {
		st = http.StatusBadRequest
	}
	p.Chrome = h.chrome(r, p.Title+" · "+m.Name, "communities")
	h.render(w, r, st, views.Runs(p))
}

func startedAt(x workflow.Run) time.Time {
	if x.StartedAt != nil {
		return *x.StartedAt
	}
	return x.CreatedAt
}

// runOf loads the run {runID} of the community and the viewer's rights on
// its workflow, which must include need.
func (h *Handler) runOf(r *http.Request, need string) (*workflow.Run, workflow.Rights, error) {
	id, err := pathID(r, "runID")
	if err != nil {
		return nil, workflow.Rights{}, err
	}
	run, err := h.cfg.Workflows.GetRun(r.Context(), membershipOf(r).ID, id)
	if err != nil {
		return nil, workflow.Rights{}, err
	}
	rights, err := h.workflowRights(r, run.WorkflowID)
	if err != nil {
		return nil, rights, err
	}
	return run, rights, rights.Check(need)
}

func (h *Handler) runPage(w http.ResponseWriter, r *http.Request) {
	run, rights, err := h.runOf(r, workflow.RightRead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showRun(w, r, http.StatusOK, run, rights, "")
}

// showRun renders a run's page, with msg when an action was refused.
func (h *Handler) showRun(w http.ResponseWriter, r *http.Request, st int, run *workflow.Run, rights workflow.Rights, msg string) {
	m := membershipOf(r)
	wf, err := h.cfg.Workflows.Get(r.Context(), m.ID, run.WorkflowID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	def := wf.Definition
	if run.Version != 0 {
		def, err = h.cfg.Workflows.Version(r.Context(), m.ID, wf.ID, run.Version)
		if status(err) == http.StatusNotFound { // the page still shows the trace, without the canvas
			def, err = workflow.Definition{}, nil
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	p := runView(m.ID, wf, def, run, rights)
	p.Error = msg
	p.Chrome = h.chrome(r, fmt.Sprintf("Run #%d of %s · %s", run.ID, wf.Name, m.Name), "communities")
	h.render(w, r, st, views.RunView(p))
}

// runView shapes a run for its page.
func runView(cid int64, wf *workflow.Workflow, def workflow.Definition, run *workflow.Run, rights workflow.Rights) views.RunPage {
	nodes := map[string]workflow.Node{}
	for _, n := range def.Nodes {
		nodes[n.ID] = n
	}
	label := func(id string) string {
		if n, ok := nodes[id]; ok && strings.TrimSpace(n.Label) != "" {
			return n.Label
		}
		return id
	}
	p := views.RunPage{Run: views.RunHeader{ID: run.ID, WorkflowID: wf.ID, Workflow: wf.Name, WorkflowURL: workflowRunsPath(cid, wf.ID),
		Version: run.Version, Status: run.Status, Trigger: run.TriggerKind, TriggerNode: run.TriggerNode, Created: run.CreatedAt,
		Started: run.StartedAt, Finished: run.FinishedAt, WaitUntil: run.WaitUntil, Busy: run.Busy, NodeCount: run.NodeCount,
		Error: run.Error, FailedNode: run.FailedNode, FailedLabel: label(run.FailedNode)},
		TriggerJSON: prettyJSON(run.Trigger), ResultJSON: prettyJSON(run.Result)}
	if run.ReplayOf != nil {
		p.Run.ReplayOf, p.Run.ReplayOfURL = *run.ReplayOf, runPath(cid, *run.ReplayOf)
	}
	last := map[string]string{}
	ports := map[string][]string{}
	for _, t := range run.Traces {
		last[t.Node] = t.Status
		ports[t.Node] = append(ports[t.Node], t.Ports...)
		p.Trace = append(p.Trace, views.TraceRow{Seq: t.Seq, Node: t.Node, Label: label(t.Node), Type: kindTitle(t.Type), Status: t.Status,
			Duration: t.Duration.Round(time.Microsecond).String(), Ports: t.Ports, Notes: t.Notes, Repeated: t.Repeated, Error: t.Error,
			InputJSON: prettyJSON(t.Input), OutputJSON: prettyJSON(t.Output)})
	}
	var gn []views.GraphNode
	for _, n := range def.Nodes {
		gn = append(gn, views.GraphNode{ID: n.ID, Label: label(n.ID), Type: kindTitle(n.Type), X: n.Position.X, Y: n.Position.Y,
			Status: last[n.ID], Disabled: n.Disabled})
	}
	var ge []views.GraphEdge
	for _, c := range def.Connections {
		_, ran := last[c.To]
		ge = append(ge, views.GraphEdge{From: c.From, To: c.To, Taken: ran && slices.Contains(ports[c.From], c.FromPort)})
	}
	p.Graph = views.NewRunGraph(gn, ge)
	a := views.RunActions{CanAct: rights.Execute}
	if rights.Execute {
		switch run.Status {
		case workflow.RunFailed:
			if run.Version != 0 { // a test of the draft is run again from the runs page
				a.Retry = runPath(cid, run.ID) + "/retry"
			}
		case workflow.RunQueued, workflow.RunRunning, workflow.RunWaiting:
			a.Cancel = runPath(cid, run.ID) + "/cancel"
		}
		if run.Version != 0 {
			a.ReplayOriginal = runPath(cid, run.ID) + "/replay"
		}
		if wf.Version != 0 && wf.Version != run.Version {
			a.ReplayNow = runPath(cid, run.ID) + "/replay"
		}
	}
	p.Actions = a
	return p
}

// kindTitle names a node type as the palette does.
func kindTitle(typ string) string {
	if k, ok := workflow.KindOf(typ); ok && k.Title != "" {
		return k.Title
	}
	return typ
}

// prettyJSON indents a value for the page ("" for none).
func prettyJSON(v any) string {
	if v == nil {
		return ""
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}

// runAction answers a retry, replay or cancel: the run's page (or the new
// run's) with a flash message, or the page again with the refusal.
func (h *Handler) runAction(w http.ResponseWriter, r *http.Request, act func(run *workflow.Run) (to int64, flash string, err error)) {
	run, rights, err := h.runOf(r, workflow.RightExecute)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	to, flash, err := act(run)
	h.answerForm(w, r, err, formAnswer{
		Page:  func(st int, msg string) { h.showRun(w, r, st, run, rights, msg) },
		Flash: flash, To: runPath(membershipOf(r).ID, to)})
}

func (h *Handler) retryRun(w http.ResponseWriter, r *http.Request) {
	h.runAction(w, r, func(run *workflow.Run) (int64, string, error) {
		if run.Version == 0 && run.Status == workflow.RunFailed {
			return run.ID, "", problem.New(problem.Conflict, "A test run of the draft is not retried: run the test again from the workflow's runs page.")
		}
		err := h.cfg.Workflows.Retry(r.Context(), membershipOf(r).ID, run.ID, auditActor(r))
		return run.ID, fmt.Sprintf("Run #%d is queued again from node %s.", run.ID, run.FailedNode), err
	})
}

func (h *Handler) replayRun(w http.ResponseWriter, r *http.Request) {
	h.runAction(w, r, func(run *workflow.Run) (int64, string, error) {
		on := r.PostFormValue("on")
		if on != "original" && on != "current" {
			return run.ID, "", problem.Invalidf("on", "Replay on the original or the current version.")
		}
		id, err := h.cfg.Workflows.Replay(r.Context(), membershipOf(r).ID, run.ID, on == "original", auditActor(r))
		return id, fmt.Sprintf("Run #%d replays run #%d.", id, run.ID), err
	})
}

func (h *Handler) cancelRun(w http.ResponseWriter, r *http.Request) {
	h.runAction(w, r, func(run *workflow.Run) (int64, string, error) {
		err := h.cfg.Workflows.Cancel(r.Context(), membershipOf(r).ID, run.ID, auditActor(r))
		return run.ID, fmt.Sprintf("Run #%d is cancelled.", run.ID), err
	})
}
