package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

// The schedule API: /api/v1/schedules. A schedule belongs to a published
// workflow's trigger_schedule node; these routes change its row until the
// workflow is published again (see workflow/schedule.go). The community is
// resolved as for the workflow API; changing a schedule needs the write
// right on its workflow, listing them the read right.

// scheduleAPIRoutes lists the schedule API's routes.
func (h *Handler) scheduleAPIRoutes(r chi.Router) {
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiWorkflowCommunity)
	r.Post("/", h.apiScheduleCreate)
	r.Put("/{id}", h.apiScheduleUpdate)
	r.Delete("/{id}", h.apiScheduleDelete)
	r.Get("/workflow/{id}", h.apiSchedules)
}

func (h *Handler) apiScheduleCreate(w http.ResponseWriter, r *http.Request) {
	var in workflow.ScheduleInput
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	cid := membershipOf(r).Community.ID
	if in.WorkflowID <= 0 {
		h.apiFail(w, r, problem.Invalidf("workflow_id", "workflow_id: name the workflow the schedule starts."))
		return
	}
	if _, err := h.cfg.Workflows.Get(r.Context(), cid, in.WorkflowID); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if err := h.workflowMay(r, in.WorkflowID, canWrite); err != nil {
		h.apiFail(w, r, err)
		return
	}
	s, err := h.cfg.Schedules.CreateSchedule(r.Context(), cid, h.workflowActor(r), in)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s, "")
}

// apiScheduleOf loads a schedule of the community and checks the right on
// its workflow.
func (h *Handler) apiScheduleOf(w http.ResponseWriter, r *http.Request, need string) (*workflow.Schedule, bool) {
	id, err := pathID(r, "id")
	if err != nil {
		h.apiFail(w, r, workflow.ErrScheduleNotFound)
		return nil, false
	}
	s, err := h.cfg.Schedules.GetSchedule(r.Context(), membershipOf(r).Community.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return nil, false
	}
	if err := h.workflowMay(r, s.WorkflowID, need); err != nil {
		h.apiFail(w, r, err)
		return nil, false
	}
	return s, true
}

func (h *Handler) apiScheduleUpdate(w http.ResponseWriter, r *http.Request) {
	var in workflow.ScheduleSettings
	if err := decodeWorkflowJSON(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	s, ok := h.apiScheduleOf(w, r, canWrite)
	if !ok {
		return
	}
	s, err := h.cfg.Schedules.UpdateSchedule(r.Context(), membershipOf(r).Community.ID, s.ID, h.workflowActor(r), in)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s, "The schedule is changed until the workflow is published again.")
}

func (h *Handler) apiScheduleDelete(w http.ResponseWriter, r *http.Request) {
	s, ok := h.apiScheduleOf(w, r, canWrite)
	if !ok {
		return
	}
	if err := h.cfg.Schedules.DeleteSchedule(r.Context(), membershipOf(r).Community.ID, s.ID, h.workflowActor(r)); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "The schedule is deleted; publishing the workflow again makes it anew from its node.")
}

func (h *Handler) apiSchedules(w http.ResponseWriter, r *http.Request) {
	id, ok := h.apiWorkflowID(w, r, canRead)
	if !ok {
		return
	}
	list, err := h.cfg.Schedules.ListSchedules(r.Context(), membershipOf(r).Community.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list, "")
}
