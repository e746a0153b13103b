package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

// A workflow's webhooks through the API: keys whose owner may write the
// workflow create and delete them, those who may read it list them; POST /api/v1/workflows/webhooks/{token} is the signed,
// key-less URL a sender calls (see the README's Webhooks section).

// webhookCreatedJSON is a new webhook with what is shown only once.
type webhookCreatedJSON struct {
	workflow.IncomingWebhook
	Token  string `json:"token"`
	Secret string `json:"secret"`
	URL    string `json:"url"`
}

// apiWorkflowWebhooks checks the key owner's right on workflow {id} of the
// request's community (workflows_api.go): read to list, write to change.
func (h *Handler) apiWorkflowWebhooks(w http.ResponseWriter, r *http.Request, need string) (*workflow.Webhooks, int64, bool) {
	hooks := h.cfg.WorkflowWebhooks
	wid, err := pathID(r, "id")
	if err != nil || hooks == nil {
		h.apiFail(w, r, workflow.ErrNotFound)
		return nil, 0, false
	}
	if err := h.workflowMay(r, wid, need); err != nil {
		h.apiFail(w, r, err)
		return nil, 0, false
	}
	return hooks, wid, true
}

// apiCreateWorkflowWebhook is POST /api/v1/workflows/{id}/webhooks.
func (h *Handler) apiCreateWorkflowWebhook(w http.ResponseWriter, r *http.Request) {
	hooks, wid, ok := h.apiWorkflowWebhooks(w, r, canWrite)
	if !ok {
		return
	}
	var in workflow.WebhookInput
	if r.ContentLength != 0 { // no body: the defaults
		if err := decodeJSON(w, r, &in); err != nil {
			h.apiFail(w, r, err)
			return
		}
	}
	hook, token, secret, err := hooks.Create(r.Context(), membershipOf(r).Community.ID, wid, h.workflowActor(r), in)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, webhookCreatedJSON{IncomingWebhook: hook, Token: token, Secret: secret,
		URL: h.cfg.BaseURL + "/api/v1/workflows/webhooks/" + token},
		"Webhook created. Copy its secret and URL now: they are not shown again.")
}

// apiListWorkflowWebhooks is GET /api/v1/workflows/{id}/webhooks: no
// secrets, only each token's last characters.
func (h *Handler) apiListWorkflowWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, wid, ok := h.apiWorkflowWebhooks(w, r, canRead)
	if !ok {
		return
	}
	list, err := hooks.List(r.Context(), membershipOf(r).Community.ID, wid)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list, "")
}

// apiDeleteWorkflowWebhook is DELETE /api/v1/workflows/{id}/webhooks/{webhookId}.
func (h *Handler) apiDeleteWorkflowWebhook(w http.ResponseWriter, r *http.Request) {
	hooks, wid, ok := h.apiWorkflowWebhooks(w, r, canWrite)
	if !ok {
		return
	}
	hid, err := pathID(r, "webhookId")
	if err != nil {
		h.apiFail(w, r, workflow.ErrWebhookNotFound)
		return
	}
	if err := hooks.Delete(r.Context(), membershipOf(r).Community.ID, wid, hid, h.workflowActor(r)); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, nil, "Webhook deleted: its URL answers 404 from now on.")
}

type webhookRunJSON struct {
	RunID      int64  `json:"run_id"`
	Status     string `json:"status,omitempty"`
	Repeated   bool   `json:"repeated,omitempty"`
	Error      string `json:"error,omitempty"`
	FailedNode string `json:"failed_node,omitempty"`
}

// workflowWebhook is POST /api/v1/workflows/webhooks/{token}: no API key,
// the signature is the credential. The client's address is the peer's, or
// X-Forwarded-For's when the peer is in TRUSTED_PROXIES (clientIP).
func (h *Handler) workflowWebhook(w http.ResponseWriter, r *http.Request) {
	hooks := h.cfg.WorkflowWebhooks
	if hooks == nil {
		h.apiFail(w, r, workflow.ErrWebhookNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, workflow.MaxDeliveryBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			apiError(w, r, http.StatusRequestEntityTooLarge, "The body is too large (at most 1 MiB).")
			return
		}
		h.apiFail(w, r, problem.Invalidf("body", "The body could not be read."))
		return
	}
	ip, _ := netip.ParseAddr(ipOf(r))
	headers := make(map[string]string, len(workflow.WebhookHeaders))
	for _, name := range workflow.WebhookHeaders {
		headers[name] = r.Header.Get(name)
	}
	ans, err := hooks.Receive(r.Context(), chiURLParam(r, "token"), workflow.ReceiveRequest{Body: body,
		Timestamp: r.Header.Get(workflow.HeaderTimestamp), Signature: r.Header.Get(workflow.HeaderSignature),
		DeliveryID: r.Header.Get(workflow.HeaderDelivery), ClientIP: ip, Headers: headers})
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	w.Header().Set("X-Waddle-Run-Id", strconv.FormatInt(ans.RunID, 10))
	run := webhookRunJSON{RunID: ans.RunID, Status: ans.Status, Repeated: ans.Repeated, Error: ans.Error, FailedNode: ans.FailedNode}
	if ans.Mode == workflow.WebhookAsync {
		msg := "Accepted: the run is stored and will run."
		if ans.Repeated {
			msg = "This delivery id was received before: that delivery's run."
		}
		writeJSON(w, http.StatusAccepted, run, msg)
		return
	}
	switch ans.Status {
	case workflow.RunSucceeded:
		out := ans.OutputJSON
		if out == nil {
			var err error
			if out, err = json.Marshal(ans.Output); err != nil {
				h.apiFail(w, r, err)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		w.Write(out)
	case workflow.RunFailed, workflow.RunCancelled:
		writeJSON(w, http.StatusInternalServerError, run, "The workflow run "+ans.Status+"; see the run for its trace.")
	default: // still going when the wait ended: it goes on as a job
		writeJSON(w, http.StatusAccepted, run, "The run did not end within the webhook's wait; it goes on.")
	}
}
