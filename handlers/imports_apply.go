package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// An import's own pages: its preview until applied, the progress bar while
// the job applies it, then the report with "Undo this import".

// progressEvery is how often the progress stream reads the import's progress.
const progressEvery = 300 * time.Millisecond

var conflictActions = map[string]bool{"skip": true, "rename": true, "overwrite": true}

// importPage shows the import as its state calls for.
func (h *Handler) importPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := importID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	imp, err := h.cfg.Imports.Get(r.Context(), m.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch imp.State {
	case "previewed":
		h.renderPreview(w, r, http.StatusOK, imp.ID, importer.Choices{}, "")
	case "applying":
		pr, err := h.cfg.Imports.Progress(r.Context(), m.ID, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		pct, text := progressText(pr)
		h.render(w, r, http.StatusOK, views.ImportProgress(views.ImportProgressPage{Chrome: h.chrome(r, "Importing · "+m.Name, ""),
			CommunityID: m.ID, ID: id, Source: imp.Source.Title(), Percent: pct, Text: text, State: string(pr.State)}))
	default:
		h.render(w, r, http.StatusOK, views.ImportReport(reportView(h.chrome(r, "Import report · "+m.Name, ""), m.ID, imp, time.Now())))
	}
}

func (h *Handler) renderPreview(w http.ResponseWriter, r *http.Request, st int, id int64, c importer.Choices, msg string) {
	m := membershipOf(r)
	p, err := h.cfg.Imports.Preview(r.Context(), m.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.ImportPreview(previewView(h.chrome(r, "Import preview · "+m.Name, ""), m.ID, p, c, msg)))
}

// parseChoices reads the apply form: "all_conflicts", "conflict.NAME" per
// command, "currency" and "other_currencies".
func parseChoices(v url.Values) (importer.Choices, error) {
	c := importer.Choices{Conflicts: map[string]string{}, AllConflicts: v.Get("all_conflicts"), Currency: strings.TrimSpace(v.Get("currency")),
		OtherCurrencies: v.Get("other_currencies")}
	if c.AllConflicts == "" {
		c.AllConflicts = "skip"
	}
	if !conflictActions[c.AllConflicts] {
		return c, problem.Invalidf("all_conflicts", "For commands that already exist, choose skip, rename or overwrite.")
	}
	for k, vals := range v {
		name, ok := strings.CutPrefix(k, "conflict.")
		if !ok || len(vals) == 0 || vals[0] == "" {
			continue
		}
		if !conflictActions[vals[0]] {
			return c, problem.Invalidf(k, "For !%s, choose skip, rename or overwrite.", name)
		}
		c.Conflicts[name] = vals[0]
	}
	switch c.OtherCurrencies {
	case "", "skip", "counter":
	default:
		return c, problem.Invalidf("other_currencies", "For the other currencies, choose skip or counter.")
	}
	return c, nil
}

func (h *Handler) applyImport(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := importID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := parseChoices(r.PostForm)
	if err == nil {
		err = h.cfg.Imports.Apply(r.Context(), auditActor(r), m.ID, id, c)
	}
	if p := problem.As(err); p != nil && (p.Code == problem.Invalid || p.Code == problem.Conflict) {
		h.renderPreview(w, r, status(err), id, c, p.Message)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, importsPath(m.ID, fmt.Sprintf("/%d", id)))
}

// progressJSON is one progress event.
type progressJSON struct {
	Percent int    `json:"percent"`
	Text    string `json:"text"`
	State   string `json:"state"`
}

// progressText turns the engine's progress into a percentage and a line.
// The items (commands, timers, quotes, counters, filters) count as one
// step, and each viewer's balance as one.
func progressText(p importer.Progress) (int, string) {
	units := p.PointsTotal + 1
	done := p.PointsDone
	if p.ItemsDone {
		done++
	}
	pct := min(100, done*100/units)
	switch p.State {
	case "applied", "undone":
		return 100, "Done."
	case "failed":
		return pct, "The import failed: " + p.Error
	}
	if !p.ItemsDone {
		return pct, "Creating commands, timers, quotes, counters and filters…"
	}
	if p.PointsTotal > 0 {
		return pct, fmt.Sprintf("Giving viewers their points: %d of %d.", p.PointsDone, p.PointsTotal)
	}
	return pct, "Finishing…"
}

// importProgressEvents streams the import's progress as server-sent events
// ("progress", then "done" when it has ended), reading it every ~300 ms.
// The stream ends with the import, or when the browser goes.
func (h *Handler) importProgressEvents(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := importID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if _, err := h.cfg.Imports.Progress(ctx, m.ID, id); err != nil { // 404 before the stream starts
		h.fail(w, r, err)
		return
	}
	sse := &sseWriter{w: w, rc: http.NewResponseController(w)}
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	var last progressJSON
	for first := true; ; first = false {
		p, err := h.cfg.Imports.Progress(ctx, m.ID, id)
		if err != nil {
			if ctx.Err() == nil {
				h.logger.ErrorContext(ctx, "import progress", "err", err)
				sse.event("failed", map[string]string{"error": message(err)})
			}
			return
		}
		pct, text := progressText(p)
		cur := progressJSON{Percent: pct, Text: text, State: string(p.State)}
		if first || cur != last {
			sse.event("progress", cur)
			last = cur
		}
		if p.State != "applying" {
			sse.event("done", cur)
			return
		}
		if sse.broken {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *Handler) undoImportPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := importID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	imp, err := h.cfg.Imports.Get(r.Context(), m.ID, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ImportUndo(views.ImportUndoPage{Chrome: h.chrome(r, "Undo an import · "+m.Name, ""), CommunityID: m.ID,
		ID: id, Source: imp.Source.Title(), Counts: reportCounts(imp)}))
}

func (h *Handler) undoImport(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	id, err := importID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.cfg.Imports.Undo(r.Context(), auditActor(r), m.ID, id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "The import was undone: what it created is removed and its points are taken back.")
	seeOther(w, r, importsPath(m.ID, fmt.Sprintf("/%d", id)))
}
