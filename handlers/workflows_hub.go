package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
	"github.com/waddle/waddle/workflow"
)

// The workflows of a community in the hub: the list (create, import, export,
// delete) and the builder's page, canvas saves, publish and back to draft.
// The node side panel is workflow_nodes.go. Members look; owners and admins
// change (routes.go).

// requireWorkflows answers 404 when the workflow engine is not wired in.
func (h *Handler) requireWorkflows(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Workflows == nil {
			h.fail(w, r, errNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func workflowsPath(cid int64) string { return fmt.Sprintf("/c/%d/workflows", cid) }

func builderPath(cid, id int64) string { return fmt.Sprintf("/c/%d/workflows/%d/edit", cid, id) }

// workflowOf loads the workflow {id} of the community.
func (h *Handler) workflowOf(r *http.Request) (*workflow.Workflow, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, workflow.ErrNotFound
	}
	return h.cfg.Workflows.Get(r.Context(), membershipOf(r).ID, id)
}

func (h *Handler) workflowsView(r *http.Request, create views.WorkflowCreateForm, imp views.WorkflowImportForm) (views.WorkflowsPage, error) {
	m := membershipOf(r)
	list, err := h.cfg.Workflows.List(r.Context(), m.ID)
	if err != nil {
		return views.WorkflowsPage{}, err
	}
	p := views.WorkflowsPage{Chrome: h.chrome(r, "Workflows · "+m.Name, "communities"), CommunityID: m.ID,
		CanManage: m.Role.CanManage(), Create: create, Import: imp}
	for _, wf := range list {
		p.Workflows = append(p.Workflows, views.WorkflowRow{CommunityID: m.ID, ID: wf.ID, Name: wf.Name, Status: wf.Status,
			Version: wf.Version, Nodes: len(wf.Definition.Nodes), Updated: wf.UpdatedAt, CanManage: p.CanManage})
	}
	return p, nil
}

func (h *Handler) renderWorkflows(w http.ResponseWriter, r *http.Request, st int, create views.WorkflowCreateForm, imp views.WorkflowImportForm) {
	p, err := h.workflowsView(r, create, imp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.Workflows(p))
}

func (h *Handler) workflowsPage(w http.ResponseWriter, r *http.Request) {
	h.renderWorkflows(w, r, http.StatusOK, views.WorkflowCreateForm{}, views.WorkflowImportForm{})
}

// createWorkflow makes an empty draft and opens it in the builder.
func (h *Handler) createWorkflow(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.WorkflowCreateForm
	var wf *workflow.Workflow
	err := parseForm(w, r)
	if err == nil {
		f.Name = r.PostForm.Get("name")
		wf, _, err = h.cfg.Workflows.Create(r.Context(), m.ID, auditActor(r), workflow.Input{Name: f.Name})
	}
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			f.Error = msg
			h.renderWorkflows(w, r, st, f, views.WorkflowImportForm{})
		},
		Done: func() { seeOther(w, r, builderPath(m.ID, wf.ID)) },
	})
}

// maxImportBytes bounds an imported workflow: its definition plus a name.
const maxImportBytes = workflow.MaxDefinition + 8<<10

// importWorkflow creates a workflow from exported JSON, pasted or uploaded.
func (h *Handler) importWorkflow(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.WorkflowImportForm
	var wf *workflow.Workflow
	raw, err := importBody(w, r)
	if err == nil {
		if len(raw) <= 64<<10 {
			f.JSON = string(raw)
		}
		var ex workflow.Export
		if ex, err = parseExport(raw); err == nil {
			wf, _, err = h.cfg.Workflows.Create(r.Context(), m.ID, auditActor(r), workflow.Input(ex))
		}
	}
	f.Field = fieldOf(err, nil)
	h.answerForm(w, r, err, formAnswer{
		Page: func(st int, msg string) {
			f.Error = msg
			h.renderWorkflows(w, r, st, views.WorkflowCreateForm{}, f)
		},
		Done: func() {
			h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Workflow %q imported as a draft.", wf.Name))
			seeOther(w, r, builderPath(m.ID, wf.ID))
		},
	})
}

// importBody reads the import form: a file if one was chosen, the pasted
// JSON otherwise.
func importBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes+64<<10)
	tooLarge := problem.Invalidf("json", "An imported workflow has at most %d KiB of JSON.", workflow.MaxDefinition>>10)
	if err := r.ParseMultipartForm(maxImportBytes + 64<<10); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		if !errors.Is(err, http.ErrNotMultipart) {
			return nil, problem.Invalidf("json", "The form could not be read.")
		}
	}
	if file, _, err := r.FormFile("file"); err == nil {
		defer file.Close()
		raw, err := io.ReadAll(io.LimitReader(file, maxImportBytes+1))
		if err != nil {
			return nil, problem.Invalidf("file", "The file could not be read.")
		}
		if len(raw) > maxImportBytes {
			return nil, tooLarge
		}
		if len(strings.TrimSpace(string(raw))) > 0 {
			return raw, nil
		}
	}
	raw := strings.TrimSpace(r.FormValue("json"))
	if raw == "" {
		return nil, problem.Invalidf("json", "Paste a workflow's exported JSON or choose its file.")
	}
	if len(raw) > maxImportBytes {
		return nil, tooLarge
	}
	return []byte(raw), nil
}

// parseExport reads export JSON: {name, description, definition}, whose
// definition is read as strictly as the API reads one.
func parseExport(raw []byte) (workflow.Export, error) {
	var ex struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Definition  json.RawMessage `json:"definition"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ex); err != nil {
		p := problem.As(problem.JSON(err, "exported workflow"))
		return workflow.Export{}, problem.Invalidf("json", "%s", p.Message)
	}
	out := workflow.Export{Name: ex.Name, Description: ex.Description}
	if len(ex.Definition) == 0 {
		return out, problem.Invalidf("json", "The JSON has no definition: export a workflow to see the shape.")
	}
	def, err := workflow.ParseDefinition(ex.Definition)
	if err != nil {
		return out, problem.Invalidf("json", "%s", problem.As(err).Message)
	}
	out.Definition = def
	return out, nil
}

// exportWorkflow downloads a workflow's draft as JSON that import reads.
func (h *Handler) exportWorkflow(w http.ResponseWriter, r *http.Request) {
	wf, err := h.workflowOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := json.MarshalIndent(workflow.Export{Name: wf.Name, Description: wf.Description, Definition: wf.Definition}, "", "  ")
	if err != nil {
		h.fail(w, r, fmt.Errorf("encode workflow %d: %w", wf.ID, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="workflow-%d.json"`, wf.ID))
	w.Write(append(body, '\n'))
}

func (h *Handler) deleteWorkflow(w http.ResponseWriter, r *http.Request) {
	wf, err := h.workflowOf(r)
	if err == nil {
		err = h.cfg.Workflows.Delete(r.Context(), wf.CommunityID, wf.ID, auditActor(r))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.removed(w, r, fmt.Sprintf("Workflow %q deleted.", wf.Name), workflowsPath(wf.CommunityID))
}

// builderPage shows the canvas of a workflow's draft.
func (h *Handler) builderPage(w http.ResponseWriter, r *http.Request) {
	wf, err := h.workflowOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := membershipOf(r)
	p := views.WorkflowBuilderPage{Chrome: h.chrome(r, wf.Name+" · Workflows · "+m.Name, "communities"), CommunityID: m.ID,
		ID: wf.ID, Name: wf.Name, Status: wf.Status, Version: wf.Version, CanManage: m.Role.CanManage(),
		Palette: palette(), State: builderState(wf, m.Role.CanManage())}
	h.render(w, r, http.StatusOK, views.WorkflowBuilder(p))
}

// palette lists the node types by category.
func palette() []views.PaletteGroup {
	var out []views.PaletteGroup
	for _, k := range workflow.Kinds() {
		if len(out) == 0 || out[len(out)-1].Category != k.Category {
			out = append(out, views.PaletteGroup{Category: k.Category, Label: categoryLabels[k.Category]})
		}
		g := &out[len(out)-1]
		g.Items = append(g.Items, views.PaletteItem{Type: k.Type, Title: k.Title, Summary: k.Summary})
	}
	return out
}

var categoryLabels = map[string]string{
	workflow.CategoryTrigger: "Triggers", workflow.CategoryCondition: "Conditions", workflow.CategoryAction: "Actions",
	workflow.CategoryData: "Data", workflow.CategoryLoop: "Loops", workflow.CategoryFlow: "Flow",
}

// builderState is what the canvas script starts from: the draft, each node
// type's ports, each node's output ports under its configuration, and the
// draft's validation report.
func builderState(wf *workflow.Workflow, canManage bool) views.BuilderState {
	st := views.BuilderState{Definition: wf.Definition, Kinds: map[string]views.BuilderKind{}, Outputs: map[string][]string{},
		Report: reportOf(workflow.Validate(&wf.Definition)), CanManage: canManage,
		Base: fmt.Sprintf("/c/%d/workflows/%d", wf.CommunityID, wf.ID)}
	for _, k := range workflow.Kinds() {
		st.Kinds[k.Type] = views.BuilderKind{Title: k.Title, Category: k.Category, Inputs: nonNil(k.Inputs), Outputs: nonNil(k.Outputs(k.New()))}
	}
	for _, n := range wf.Definition.Nodes {
		st.Outputs[n.ID] = nodeOutputs(n)
	}
	return st
}

// nodeOutputs are a node's output ports under its configuration (its
// type's defaults when the configuration does not decode).
func nodeOutputs(n workflow.Node) []string {
	k, ok := workflow.KindOf(n.Type)
	if !ok {
		return []string{}
	}
	cfg, err := workflow.DecodeConfig(k, n.Config)
	if err != nil {
		cfg = k.New()
	}
	return nonNil(k.Outputs(cfg))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// reportOf is a validation report with empty lists rather than nulls.
func reportOf(rep workflow.Report) workflow.Report {
	if rep.Errors == nil {
		rep.Errors = []workflow.Issue{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []workflow.Issue{}
	}
	return rep
}

// saveAnswer is what a canvas save, publish or back to draft answers.
type saveAnswer struct {
	OK      bool                `json:"ok"`
	Message string              `json:"message"`
	Status  string              `json:"status,omitempty"`
	Version int32               `json:"version"`
	Report  workflow.Report     `json:"report"`
	Outputs map[string][]string `json:"outputs,omitempty"`
}

func builderJSON(w http.ResponseWriter, st int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(v)
}

// saveDefinition stores the canvas: its nodes (ids, types, labels,
// positions) and connections, with the configurations the server holds for
// nodes it already knows (the canvas has none). It answers with the report.
func (h *Handler) saveDefinition(w http.ResponseWriter, r *http.Request) {
	wf, err := h.workflowOf(r)
	if err != nil {
		h.failJSON(w, r, err)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, workflow.MaxDefinition+1))
	if err != nil || len(raw) > workflow.MaxDefinition {
		h.failJSON(w, r, problem.Invalidf("definition", "A workflow definition has at most %d bytes of JSON.", workflow.MaxDefinition))
		return
	}
	canvas, err := workflow.ParseDefinition(raw)
	if err != nil {
		h.failJSON(w, r, err)
		return
	}
	def := mergeConfigs(canvas, wf.Definition)
	saved, rep, err := h.cfg.Workflows.Update(r.Context(), wf.CommunityID, wf.ID, auditActor(r),
		workflow.Input{Name: wf.Name, Description: wf.Description, Definition: def})
	if err != nil {
		h.failJSON(w, r, err)
		return
	}
	out := map[string][]string{}
	for _, n := range saved.Definition.Nodes {
		out[n.ID] = nodeOutputs(n)
	}
	msg := "Draft saved."
	if !rep.OK() {
		msg = fmt.Sprintf("Draft saved with %d %s to fix before publishing.", len(rep.Errors), plural(len(rep.Errors), "problem", "problems"))
	}
	builderJSON(w, http.StatusOK, saveAnswer{OK: rep.OK(), Message: msg, Status: saved.Status, Version: saved.Version, Report: reportOf(rep), Outputs: out})
}

// mergeConfigs gives the canvas's nodes the configurations (and disabled
// flags) stored for the same id and type; a new node gets its type's defaults.
func mergeConfigs(canvas, stored workflow.Definition) workflow.Definition {
	for i := range canvas.Nodes {
		n := &canvas.Nodes[i]
		if old, ok := stored.Node(n.ID); ok && old.Type == n.Type {
			n.Config, n.Disabled = old.Config, old.Disabled
			continue
		}
		n.Config = nil
		if k, ok := workflow.KindOf(n.Type); ok {
			if raw, err := json.Marshal(k.New()); err == nil {
				n.Config = raw
			}
		}
	}
	return canvas
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// failJSON answers a builder script's request with the error's message as
// JSON; internal errors are logged and not shown.
func (h *Handler) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	if st == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "route", routeOf(r))
	}
	builderJSON(w, st, saveAnswer{Message: message(err), Report: reportOf(workflow.Report{})})
}

// publishWorkflow publishes the draft: the script gets JSON (the report of
// a refused draft, the licence's message, or the new version); a plain form
// gets the builder again with a flash.
func (h *Handler) publishWorkflow(w http.ResponseWriter, r *http.Request) {
	h.changeStatus(w, r, func(wf *workflow.Workflow) (*workflow.Workflow, workflow.Report, error) {
		return h.cfg.Workflows.Publish(r.Context(), wf.CommunityID, wf.ID, auditActor(r))
	})
}

// draftWorkflow takes a published workflow back to draft: its triggers stop.
func (h *Handler) draftWorkflow(w http.ResponseWriter, r *http.Request) {
	h.changeStatus(w, r, func(wf *workflow.Workflow) (*workflow.Workflow, workflow.Report, error) {
		out, err := h.cfg.Workflows.SetStatus(r.Context(), wf.CommunityID, wf.ID, auditActor(r), workflow.StatusDraft)
		return out, workflow.Report{}, err
	})
}

func (h *Handler) changeStatus(w http.ResponseWriter, r *http.Request, change func(*workflow.Workflow) (*workflow.Workflow, workflow.Report, error)) {
	wantJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	wf, err := h.workflowOf(r)
	var rep workflow.Report
	var after *workflow.Workflow
	if err == nil {
		after, rep, err = change(wf)
	}
	if err != nil && (problem.As(err) == nil || problem.Is(err, problem.NotFound)) {
		if wantJSON {
			h.failJSON(w, r, err)
		} else {
			h.fail(w, r, err)
		}
		return
	}
	ans := saveAnswer{OK: err == nil, Report: reportOf(rep)}
	st := http.StatusOK
	switch {
	case err != nil:
		ans.Message, ans.Status, ans.Version, st = message(err), wf.Status, wf.Version, status(err)
	case after.Status == workflow.StatusPublished:
		ans.Message = fmt.Sprintf("Published as version %d: its triggers start runs from now on.", after.Version)
		ans.Status, ans.Version = after.Status, after.Version
	default:
		ans.Message = "Back to draft: its triggers no longer start runs."
		ans.Status, ans.Version = after.Status, after.Version
	}
	if wantJSON {
		builderJSON(w, st, ans)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, ans.Message)
	seeOther(w, r, builderPath(wf.CommunityID, wf.ID))
}
