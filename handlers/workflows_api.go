package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

// The workflow API: /api/v1/workflows. A key bound to a community works on
// that community's workflows; a key of a person bound to none names the
// community with ?community_id= (or the X-Waddle-Community header). Tenancy
// is in SQL: a workflow or run of another community is not found.

// apiWorkflowCommunity puts the community the request is about, and the key
// owner's membership of it, in the request's context.
func (h *Handler) apiWorkflowCommunity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cid := keyOf(r).CommunityID
		if cid == 0 {
			v := r.URL.Query().Get("community_id")
			if v == "" {
				v = r.Header.Get("X-Waddle-Community")
			}
			if v == "" {
				apiError(w, r, http.StatusBadRequest, "This key is not bound to one community: name it with ?community_id=.")
				return
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				h.apiFail(w, r, community.ErrNotFound)
				return
			}
			cid = n
		}
		r, err := h.apiInCommunity(r, cid)
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// workflow permissions a route needs.
const (
	canRead    = workflow.RightRead
	canWrite   = workflow.RightWrite
	canExecute = workflow.RightExecute
)

// workflowMay checks the key owner's right on a workflow (id 0: on the
// community's workflows in general, for listing and creating).
func (h *Handler) workflowMay(r *http.Request, id int64, need string) error {
	m := membershipOf(r)
	u, _ := userOf(r)
	if id == 0 { // the community's workflows in general: the role's defaults
		return workflow.DefaultRights(string(m.Role)).Check(need)
	}
	rights, err := h.cfg.WorkflowAccess.Access(r.Context(), m.Community.ID, id, u.ID, string(m.Role))
	if err != nil {
		return err
	}
	return rights.Check(need)
}

func (h *Handler) workflowActor(r *http.Request) audit.Actor {
	u, _ := userOf(r)
	name := ""
	if k := keyOf(r); k.KeyID != 0 {
		name = "API key " + strconv.FormatInt(k.KeyID, 10)
	}
	return audit.Actor{UserID: u.ID, Email: u.Email, Name: name, IP: ipOf(r)}
}

// maxDefinitionBody bounds a request carrying a workflow definition.
const maxDefinitionBody = workflow.MaxDefinition + 64<<10

// decodeWorkflowJSON reads a JSON body of up to a workflow definition's size.
func decodeWorkflowJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return problem.New(problem.Invalid, "Send the body as application/json.")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDefinitionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return problem.New(problem.Invalid, "The body is too large (at most %d bytes).", maxDefinitionBody)
		case errors.Is(err, io.EOF):
			return problem.New(problem.Invalid, "The body is empty: send a JSON object.")
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return problem.New(problem.Invalid, "The body has a field Waddle does not know: %s.", f)
		}
		return problem.JSON(err, "body")
	}
	if dec.More() {
		return problem.New(problem.Invalid, "Send one JSON object only.")
	}
	return nil
}

type workflowJSON struct {
	*workflow.Workflow
	Validation *workflow.Report `json:"validation,omitempty"`
}

func (h *Handler) apiWorkflows(w http.ResponseWriter, r *http.Request) {
	if err := h.workflowMay(r, 0, canRead); err != nil {
		h.apiFail(w, r, err)
		return
	}
	list, err := h.cfg.Workflows.List(r.Context(), membershipOf(r).Community.ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list, "")
}

func (h *Handler) apiWorkflowCreate(w http.ResponseWriter, r *http.Request) {
	var in workflow.Input
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if err := h.workflowMay(r, 0, canWrite); err != nil {
		h.apiFail(w, r, err)
		return
	}
	wf, rep, err := h.cfg.Workflows.Create(r.Context(), membershipOf(r).Community.ID, h.workflowActor(r), in)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, workflowJSON{wf, &rep}, "")
}

// apiWorkflowID parses the workflow id and checks the right on it.
func (h *Handler) apiWorkflowID(w http.ResponseWriter, r *http.Request, need string) (int64, bool) {
	id, err := pathID(r, "id")
	if err != nil {
		h.apiFail(w, r, workflow.ErrNotFound)
		return 0, false
	}
	if _, err := h.cfg.Workflows.Get(r.Context(), membershipOf(r).Community.ID, id); err != nil {
		h.apiFail(w, r, err)
		return 0, false
	}
	if err := h.workflowMay(r, id, need); err != nil {
		h.apiFail(w, r, err)
		return 0, false
	}
	return id, true
}

func (h *Handler) apiWorkflow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canRead)
	if !ok {
		return
	}
	wf, err := h.cfg.Workflows.Get(r.Context(), membershipOf(r).Community.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	rep := workflow.Validate(&wf.Definition)
	writeJSON(w, http.StatusOK, workflowJSON{wf, &rep}, "")
}

func (h *Handler) apiWorkflowUpdate(w http.ResponseWriter, r *http.Request) {
	var in workflow.Input
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	id, ok := h.apiWorkflowID(w, r, canWrite)
	if !ok {
		return
	}
	wf, rep, err := h.cfg.Workflows.Update(r.Context(), membershipOf(r).Community.ID, id, h.workflowActor(r), in)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, workflowJSON{wf, &rep}, "")
}

func (h *Handler) apiWorkflowDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canWrite)
	if !ok {
		return
	}
	if err := h.cfg.Workflows.Delete(r.Context(), membershipOf(r).Community.ID, id, h.workflowActor(r)); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "The workflow is deleted.")
}

func (h *Handler) apiWorkflowPublish(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canWrite)
	if !ok {
		return
	}
	wf, rep, err := h.cfg.Workflows.Publish(r.Context(), membershipOf(r).Community.ID, id, h.workflowActor(r))
	if err != nil {
		if !rep.OK() {
			writeJSON(w, status(err), rep, message(err))
			return
		}
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, workflowJSON{wf, &rep}, "Published as version "+strconv.Itoa(int(wf.Version))+".")
}

func (h *Handler) apiWorkflowDraft(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canWrite)
	if !ok {
		return
	}
	wf, err := h.cfg.Workflows.SetStatus(r.Context(), membershipOf(r).Community.ID, id, h.workflowActor(r), workflow.StatusDraft)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, workflowJSON{Workflow: wf}, "The workflow is a draft again: its triggers are off.")
}

type validateJSON struct {
	Definition workflow.Definition `json:"definition"`
}

type validationJSON struct {
	Valid bool `json:"valid"`
	workflow.Report
}

// apiWorkflowValidate validates a definition sent in the body.
func (h *Handler) apiWorkflowValidate(w http.ResponseWriter, r *http.Request) {
	var in validateJSON
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	rep := workflow.Validate(&in.Definition)
	writeJSON(w, http.StatusOK, validationJSON{rep.OK(), rep}, "")
}

// apiWorkflowValidateStored validates a stored workflow's draft.
func (h *Handler) apiWorkflowValidateStored(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canRead)
	if !ok {
		return
	}
	wf, err := h.cfg.Workflows.Get(r.Context(), membershipOf(r).Community.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	rep := workflow.Validate(&wf.Definition)
	writeJSON(w, http.StatusOK, validationJSON{rep.OK(), rep}, "")
}

type executeJSON struct {
	Payload json.RawMessage `json:"payload"`
}

func (h *Handler) apiWorkflowExecute(w http.ResponseWriter, r *http.Request) {
	var in executeJSON
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	id, ok := h.apiWorkflowID(w, r, canExecute)
	if !ok {
		return
	}
	var payload any = map[string]any{}
	if len(in.Payload) > 0 {
		if err := json.Unmarshal(in.Payload, &payload); err != nil {
			h.apiFail(w, r, problem.Invalidf("payload", "The payload is not valid JSON."))
			return
		}
	}
	runID, err := h.cfg.Workflows.Execute(r.Context(), membershipOf(r).Community.ID, id, payload, h.workflowActor(r))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"execution_id": runID}, "The run is queued.")
}

// apiRunOf loads a run of the community and checks the right on its workflow.
func (h *Handler) apiRunOf(w http.ResponseWriter, r *http.Request, need string) (*workflow.Run, bool) {
	id, err := pathID(r, "execId")
	if err != nil {
		h.apiFail(w, r, workflow.ErrRunNotFound)
		return nil, false
	}
	run, err := h.cfg.Workflows.GetRun(r.Context(), membershipOf(r).Community.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return nil, false
	}
	if err := h.workflowMay(r, run.WorkflowID, need); err != nil {
		h.apiFail(w, r, err)
		return nil, false
	}
	return run, true
}

func (h *Handler) apiExecution(w http.ResponseWriter, r *http.Request) {
	if run, ok := h.apiRunOf(w, r, canRead); ok {
		writeJSON(w, http.StatusOK, run, "")
	}
}

func (h *Handler) apiExecutionCancel(w http.ResponseWriter, r *http.Request) {
	run, ok := h.apiRunOf(w, r, canExecute)
	if !ok {
		return
	}
	if err := h.cfg.Workflows.Cancel(r.Context(), membershipOf(r).Community.ID, run.ID, h.workflowActor(r)); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "The run is cancelled.")
}

func (h *Handler) apiExecutionRetry(w http.ResponseWriter, r *http.Request) {
	run, ok := h.apiRunOf(w, r, canExecute)
	if !ok {
		return
	}
	if err := h.cfg.Workflows.Retry(r.Context(), membershipOf(r).Community.ID, run.ID, h.workflowActor(r)); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"execution_id": run.ID}, "The run goes on from the node that failed.")
}

func (h *Handler) apiExecutionReplay(w http.ResponseWriter, r *http.Request) {
	run, ok := h.apiRunOf(w, r, canExecute)
	if !ok {
		return
	}
	original := r.URL.Query().Get("version") == "original"
	id, err := h.cfg.Workflows.Replay(r.Context(), membershipOf(r).Community.ID, run.ID, original, h.workflowActor(r))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"execution_id": id}, "The replay is queued.")
}

func (h *Handler) apiWorkflowExecutions(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canRead)
	if !ok {
		return
	}
	f, err := runFilterOf(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	f.WorkflowID = id
	runs, err := h.cfg.Workflows.ListRuns(r.Context(), membershipOf(r).Community.ID, f)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runs, "")
}

// runFilterOf reads ?status=&trigger=&since=&before=&limit=.
func runFilterOf(r *http.Request) (workflow.RunFilter, error) {
	q := r.URL.Query()
	f := workflow.RunFilter{Status: q.Get("status"), Trigger: q.Get("trigger")}
	if f.Status != "" && !contains(workflow.RunStatuses, f.Status) {
		return f, problem.Invalidf("status", "Unknown status %q: use one of %s.", f.Status, strings.Join(workflow.RunStatuses, ", "))
	}
	if f.Trigger != "" && !contains(workflow.TriggerKinds, f.Trigger) {
		return f, problem.Invalidf("trigger", "Unknown trigger %q: use one of %s.", f.Trigger, strings.Join(workflow.TriggerKinds, ", "))
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if d, derr := time.Parse(time.DateOnly, v); derr == nil {
				t = d
			} else {
				return f, problem.Invalidf("since", "Give since as a date (2026-12-01) or an RFC 3339 time.")
			}
		}
		f.Since = &t
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, problem.Invalidf("before", "before is a run id.")
		}
		f.BeforeID = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return f, problem.Invalidf("limit", "limit is 1 to 200.")
		}
		f.Limit = n
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// workflowAPIRoutes lists the workflow API's routes.
func (h *Handler) workflowAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiWorkflowCommunity)
	r.Get("/", h.apiWorkflows)
	r.Post("/", h.apiWorkflowCreate)
	r.Post("/validate", h.apiWorkflowValidate)
	r.Get("/executions/{execId}", h.apiExecution)
	r.Post("/executions/{execId}/cancel", h.apiExecutionCancel)
	r.Post("/executions/{execId}/retry", h.apiExecutionRetry)
	r.Post("/executions/{execId}/replay", h.apiExecutionReplay)
	r.Get("/{id}", h.apiWorkflow)
	r.Put("/{id}", h.apiWorkflowUpdate)
	r.Delete("/{id}", h.apiWorkflowDelete)
	r.Post("/{id}/publish", h.apiWorkflowPublish)
	r.Post("/{id}/draft", h.apiWorkflowDraft)
	r.Post("/{id}/validate", h.apiWorkflowValidateStored)
	r.Post("/{id}/execute", h.apiWorkflowExecute)
	r.Get("/{id}/executions", h.apiWorkflowExecutions)
}
