package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
	"github.com/waddle/waddle/views"
	"github.com/waddle/waddle/workflow"
)

// A test run: POST /c/{cid}/workflows/{id}/test with the form field
// "payload" (a JSON value of at most 64 KiB) runs the workflow's draft once,
// in this process, while the request lasts (workflow.Service.TestRun).
//
// Asked with "Accept: text/event-stream" (static/workflow-testrun.js, through
// fetch and a streaming body reader: EventSource only GETs), the answer is a
// stream of server-sent events, one per node execution as it ends:
//
//	event: node
//	data: {"seq":1,"node":"hook","label":"…","type":"trigger_webhook","status":"succeeded",
//	       "output":…,"truncated":false,"error":"","duration":"1.2ms","duration_ms":1.2,
//	       "ports":["out"],"notes":[]}
//
// then one last event when the run ends and is stored:
//
//	event: done
//	data: {"run_id":12,"status":"succeeded","error":"","failed_node":"","output":…,"url":"/c/1/runs/12"}
//
// A refusal before the run starts (bad payload, no right, invalid draft) is
// an ordinary answer with its status and {"error": "…", "field": "…"}.
// Closing the page ends the request, which stops the run (stored as failed).
// One request keeps everything on one instance: no pending state to share.
//
// Without that header (a plain form post, no script), the run's page follows.

// maxTestPayload bounds a test run's sample payload.
const maxTestPayload = 64 << 10

// maxPreview bounds the output a node event carries; the run's page has it whole.
const maxPreview = 2000

func testRunPath(cid, id int64) string { return fmt.Sprintf("/c/%d/workflows/%d/test", cid, id) }

// parseTestPayload reads the sample payload; raw is what was typed.
func parseTestPayload(w http.ResponseWriter, r *http.Request) (raw string, v any, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, 4*maxTestPayload) // form encoding inflates it
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", nil, problem.Invalidf("payload", "The payload is too large: at most %d KiB.", maxTestPayload>>10)
		}
		return "", nil, problem.Invalidf("payload", "The form could not be read.")
	}
	raw = r.PostFormValue("payload")
	switch {
	case len(raw) > maxTestPayload:
		return runes.TruncateBytes(raw, maxTestPayload), nil, problem.Invalidf("payload", "The payload is %d KiB; at most %d KiB.", (len(raw)+1023)>>10, maxTestPayload>>10)
	case strings.TrimSpace(raw) == "":
		return raw, nil, problem.Invalidf("payload", "Write a JSON payload for the trigger, such as {} or {\"user\": \"ada\"}.")
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return raw, nil, problem.Invalidf("payload", "The payload is not valid JSON: %s (at byte %d).", syn.Error(), syn.Offset)
		}
		return raw, nil, problem.Invalidf("payload", "The payload is not valid JSON: it ends before the JSON value does.")
	}
	if dec.More() {
		return raw, nil, problem.Invalidf("payload", "The payload is more than one JSON value: write one object.")
	}
	return raw, v, nil
}

func wantsStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// streamRefusal answers a streaming test run refused before it started.
func (h *Handler) streamRefusal(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	if st == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "test run", "err", err)
	}
	if st == 499 {
		return
	}
	field := ""
	if p := problem.As(err); p != nil {
		field = p.Field
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	json.NewEncoder(w).Encode(map[string]string{"error": message(err), "field": field})
}

// testNodeEvent is the data of one "node" event.
type testNodeEvent struct {
	Seq        int      `json:"seq"`
	Node       string   `json:"node"`
	Label      string   `json:"label"`
	Type       string   `json:"type"`
	Status     string   `json:"status"`
	Output     any      `json:"output"`
	Truncated  bool     `json:"truncated"`
	Error      string   `json:"error"`
	Duration   string   `json:"duration"`
	DurationMS float64  `json:"duration_ms"`
	Ports      []string `json:"ports"`
	Notes      []string `json:"notes"`
	Repeated   bool     `json:"repeated"`
}

// testDoneEvent is the data of the "done" event.
type testDoneEvent struct {
	RunID      int64  `json:"run_id"`
	Status     string `json:"status"`
	Error      string `json:"error"`
	FailedNode string `json:"failed_node"`
	Output     any    `json:"output"`
	Truncated  bool   `json:"truncated"`
	URL        string `json:"url"`
}

// preview is v, or the start of its JSON as a string when that is long.
func preview(v any) (any, bool) {
	raw, err := json.Marshal(v)
	if err != nil || len(raw) <= maxPreview {
		return v, false
	}
	return runes.TruncateBytes(string(raw), maxPreview) + "…", true
}

func (h *Handler) testRun(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	stream := wantsStream(r)
	refuse := func(err error) {
		if stream {
			h.streamRefusal(w, r, err)
		} else {
			h.fail(w, r, err)
		}
	}
	id, err := pathID(r, "id")
	if err != nil {
		refuse(err)
		return
	}
	rights, err := h.workflowRights(r, id)
	if err == nil {
		err = rights.Check(workflow.RightExecute)
	}
	if err != nil {
		refuse(err)
		return
	}
	raw, payload, err := parseTestPayload(w, r)
	if err != nil {
		if stream {
			h.streamRefusal(w, r, err)
		} else {
			h.showWorkflowRuns(w, r, &views.TestRunPanel{Payload: raw, Error: message(err)})
		}
		return
	}
	wf, err := h.cfg.Workflows.Get(r.Context(), m.ID, id)
	if err != nil {
		refuse(err)
		return
	}
	u, _ := userOf(r)
	if !stream {
		out, err := h.cfg.Workflows.TestRun(r.Context(), m.ID, id, payload, u.ID, nil)
		if err != nil {
			if p := problem.As(err); p != nil && p.Code == problem.Invalid {
				h.showWorkflowRuns(w, r, &views.TestRunPanel{Payload: raw, Error: message(err)})
				return
			}
			h.fail(w, r, err)
			return
		}
		h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Test run #%d %s.", out.RunID, views.RunStatusLabel(out.Status)))
		seeOther(w, r, runPath(m.ID, out.RunID))
		return
	}

	labels := map[string]string{}
	for _, n := range wf.Definition.Nodes {
		labels[n.ID] = n.Label
	}
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	observe := func(t workflow.Trace) {
		out, cut := preview(t.Output)
		label := labels[t.Node]
		if label == "" {
			label = t.Node
		}
		sw.event("node", testNodeEvent{Seq: t.Seq, Node: t.Node, Label: label, Type: t.Type, Status: t.Status, Output: out, Truncated: cut,
			Error: t.Error, Duration: t.Duration.Round(time.Microsecond).String(), DurationMS: float64(t.Duration.Microseconds()) / 1000,
			Ports: nonNilStrings(t.Ports), Notes: nonNilStrings(t.Notes), Repeated: t.Repeated})
	}
	out, err := h.cfg.Workflows.TestRun(r.Context(), m.ID, id, payload, u.ID, observe)
	if err != nil && !sw.started && out.RunID == 0 {
		h.streamRefusal(w, r, err) // refused before any node ran: the draft is not valid
		return
	}
	done := testDoneEvent{RunID: out.RunID, Status: out.Status, Error: out.Error, FailedNode: out.Node}
	done.Output, done.Truncated = preview(out.Output)
	if out.RunID != 0 {
		done.URL = runPath(m.ID, out.RunID)
	}
	if err != nil {
		if status(err) == http.StatusInternalServerError {
			h.logger.ErrorContext(r.Context(), "store a test run", "err", err, "run", out.RunID)
		}
		done.Status, done.Error, done.URL = workflow.RunFailed, message(err), ""
	}
	sw.event("done", done)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sseWriter writes server-sent events, starting the stream at the first.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	broken  bool
	buf     bytes.Buffer
}

func (s *sseWriter) start() {
	s.started = true
	// The server's WriteTimeout would cut a long run; the request's context ends it instead.
	_ = s.rc.SetWriteDeadline(time.Time{})
	hd := s.w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache, no-store")
	hd.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// event sends one event; once the client is gone, it sends nothing more.
func (s *sseWriter) event(name string, v any) {
	if !s.started {
		s.start()
	}
	if s.broken {
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"error": "this event could not be encoded"})
	}
	s.buf.Reset()
	fmt.Fprintf(&s.buf, "event: %s\ndata: %s\n\n", name, raw)
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		s.broken = true
		return
	}
	if err := s.rc.Flush(); err != nil {
		s.broken = true
	}
}
