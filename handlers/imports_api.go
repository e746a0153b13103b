package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
)

// The import API: the hub's import pages for scripts. Keys of the
// community's owners and admins (user keys) and admin keys; the body of a
// new import is the files as multipart/form-data with a "source" field, or
// for StreamElements JSON {"source": "streamelements", "token": "<JWT>"}.

func (h *Handler) importAPIRoutes(r chi.Router) {
	if h.cfg.Imports == nil {
		return
	}
	r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess, h.apiRequireManager)
	r.Get("/imports", h.apiImports)
	r.Post("/imports", h.apiCreateImport)
	r.Get("/imports/{iid}", h.apiImport)
	r.Post("/imports/{iid}/apply", h.apiApplyImport)
	r.Post("/imports/{iid}/undo", h.apiUndoImport)
}

type importJSON struct {
	ID        int64            `json:"id"`
	Source    string           `json:"source"`
	State     string           `json:"state"` // previewed, applying, applied, failed, undone
	FileNames []string         `json:"file_names"`
	Error     string           `json:"error"`
	CreatedAt time.Time        `json:"created_at"`
	AppliedAt *time.Time       `json:"applied_at"`
	UndoneAt  *time.Time       `json:"undone_at"`
	UndoUntil *time.Time       `json:"undo_until"` // null: cannot be undone
	Choices   importer.Choices `json:"choices"`
	Report    importer.Report  `json:"report"`
}

type importCommandJSON struct {
	importer.Command
	Adapted      bool     `json:"adapted"`
	Conflicts    []string `json:"conflicts"` // what each clashing name is now
	CanOverwrite bool     `json:"can_overwrite"`
}

type importTimerJSON struct {
	importer.Timer
	Adapted  bool `json:"adapted"`
	Conflict bool `json:"conflict"`
}

type importCounterJSON struct {
	importer.Counter
	Conflict bool `json:"conflict"`
}

type importSummaryJSON struct {
	Category  string `json:"category"`
	Create    int    `json:"create"`
	Adapted   int    `json:"adapted"`
	Conflicts int    `json:"conflicts"`
	Skipped   int    `json:"skipped"`
}

type importCurrencyJSON struct {
	Currency string `json:"currency"`
	Viewers  int    `json:"viewers"`
	Resolved int    `json:"resolved"`
	Points   int64  `json:"points"`
}

type importPointsJSON struct {
	Viewers     int                  `json:"viewers"`
	Matched     int                  `json:"matched"`
	Pending     int                  `json:"pending"`
	Points      int64                `json:"points"`
	Seconds     int64                `json:"seconds"`
	Currencies  []importCurrencyJSON `json:"currencies"`
	AskCurrency bool                 `json:"ask_currency"` // apply needs "currency"
}

type importQuotesJSON struct {
	Count      int              `json:"count"`
	Renumbered int              `json:"renumbered"`
	First      int              `json:"first"`
	Last       int              `json:"last"`
	Quotes     []importer.Quote `json:"quotes"`
}

// importPreviewJSON is what applying the import would do; nothing is written.
type importPreviewJSON struct {
	Summary     []importSummaryJSON `json:"summary"`
	Commands    []importCommandJSON `json:"commands"`
	Timers      []importTimerJSON   `json:"timers"`
	TimerTarget string              `json:"timer_target"`
	Quotes      importQuotesJSON    `json:"quotes"`
	Counters    []importCounterJSON `json:"counters"`
	Filters     []importer.Filter   `json:"filters"`
	Skipped     []importer.Skipped  `json:"skipped"`
	Regulars    []string            `json:"regulars"`
	Notes       []string            `json:"notes"`
	Points      importPointsJSON    `json:"points"`
}

type importProgressJSON struct {
	State       string `json:"state"`
	Percent     int    `json:"percent"`
	ItemsDone   bool   `json:"items_done"`
	PointsDone  int    `json:"points_done"`
	PointsTotal int    `json:"points_total"`
	Error       string `json:"error"`
}

type importDetailJSON struct {
	importJSON
	Preview  *importPreviewJSON `json:"preview"` // while previewed (or failed)
	Progress importProgressJSON `json:"progress"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func toImportJSON(imp importer.Import, now time.Time) importJSON {
	out := importJSON{ID: imp.ID, Source: string(imp.Source), State: imp.State, FileNames: orEmpty(imp.FileNames), Error: imp.Error,
		CreatedAt: imp.CreatedAt, AppliedAt: timePtr(imp.AppliedAt), UndoneAt: timePtr(imp.UndoneAt), Choices: imp.Choices, Report: imp.Report}
	if imp.Undoable(now) {
		out.UndoUntil = timePtr(imp.AppliedAt.Add(importer.UndoWindow))
	}
	return out
}

func toPreviewJSON(p importer.Preview) *importPreviewJSON {
	out := &importPreviewJSON{Summary: []importSummaryJSON{}, Commands: []importCommandJSON{}, Timers: []importTimerJSON{}, TimerTarget: p.TimerTarget,
		Counters: []importCounterJSON{}, Filters: orEmpty(p.Filters), Skipped: orEmpty(p.Skipped), Regulars: orEmpty(p.Regulars), Notes: orEmpty(p.Notes),
		Quotes: importQuotesJSON{Count: p.Quotes.Count, Renumbered: p.Quotes.Renumbered, First: p.Quotes.First, Last: p.Quotes.Last,
			Quotes: orEmpty(p.Import.Bundle.Quotes)},
		Points: importPointsJSON{Viewers: p.Points.Viewers, Matched: p.Points.Resolved, Pending: p.Points.Unresolved, Points: p.Points.Points,
			Seconds: p.Points.Seconds, Currencies: []importCurrencyJSON{}, AskCurrency: p.Points.AskCurrency}}
	for _, x := range p.Summary {
		out.Summary = append(out.Summary, importSummaryJSON{Category: x.Category, Create: x.Create, Adapted: x.Adapted, Conflicts: x.Conflicts, Skipped: x.Skipped})
	}
	for _, c := range p.Commands {
		out.Commands = append(out.Commands, importCommandJSON{Command: c.Command, Adapted: c.Adapted, Conflicts: orEmpty(c.Conflicts), CanOverwrite: c.CanOverwrite})
	}
	for _, t := range p.Timers {
		out.Timers = append(out.Timers, importTimerJSON{Timer: t.Timer, Adapted: t.Adapted, Conflict: t.Conflict})
	}
	for _, c := range p.Counters {
		out.Counters = append(out.Counters, importCounterJSON{Counter: c.Counter, Conflict: c.Conflict})
	}
	for _, c := range p.Points.Currencies {
		out.Points.Currencies = append(out.Points.Currencies, importCurrencyJSON{Currency: c.Currency, Viewers: c.Viewers, Resolved: c.Resolved, Points: c.Points})
	}
	return out
}

func toProgressJSON(p importer.Progress) importProgressJSON {
	pct, _ := progressText(p)
	return importProgressJSON{State: p.State, Percent: pct, ItemsDone: p.ItemsDone, PointsDone: p.PointsDone, PointsTotal: p.PointsTotal,
		Error: p.Error}
}

func (h *Handler) apiImports(w http.ResponseWriter, r *http.Request) {
	list, err := h.cfg.Imports.List(r.Context(), membershipOf(r).ID)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := []importJSON{}
	for _, i := range list {
		out = append(out, toImportJSON(i, time.Now()))
	}
	writeJSON(w, http.StatusOK, out, "")
}

type createImportJSON struct {
	Source string `json:"source"`
	Token  string `json:"token"`
}

func (h *Handler) apiCreateImport(w http.ResponseWriter, r *http.Request) {
	cid := membershipOf(r).ID
	var (
		b     *importer.Bundle
		names []string
		err   error
	)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		var up *importUpload
		up, err = readImportUpload(w, r, importer.MaxBrowserBytes)
		if err == nil {
			defer up.Close()
			var src importer.Source
			if src, err = parseSource(up.Fields["source"]); err == nil {
				b, err = readBundle(r.Context(), src, up.Files)
			}
			for _, f := range up.Files {
				names = append(names, f.Name)
			}
		}
	} else {
		var in createImportJSON
		if err = decodeJSON(w, r, &in); err == nil {
			switch in.Source {
			case string(importer.StreamElements):
				b, err = h.fetchStreamElements(r, in.Token)
			case "":
				err = problem.Invalidf("source", "Say which bot the import is from: source.")
			default:
				if _, err = parseSource(in.Source); err == nil {
					err = problem.Invalidf("source", "Send %s's files as multipart/form-data; only StreamElements is read from a token.", in.Source)
				}
			}
		}
	}
	var imp importer.Import
	if err == nil {
		imp, err = h.cfg.Imports.Create(r.Context(), auditActor(r), cid, b, names)
	}
	var p importer.Preview
	if err == nil {
		p, err = h.cfg.Imports.Preview(r.Context(), cid, imp.ID)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, importDetailJSON{importJSON: toImportJSON(p.Import, time.Now()), Preview: toPreviewJSON(p),
		Progress: toProgressJSON(importer.Progress{State: p.Import.State, PointsTotal: p.Import.PointsTotal})}, "")
}

func (h *Handler) apiImport(w http.ResponseWriter, r *http.Request) {
	cid := membershipOf(r).ID
	id, err := importID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	imp, err := h.cfg.Imports.Get(r.Context(), cid, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := importDetailJSON{importJSON: toImportJSON(imp, time.Now())}
	if imp.State == importer.StatePreviewed || imp.State == importer.StateFailed {
		p, err := h.cfg.Imports.Preview(r.Context(), cid, id)
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		out.Preview = toPreviewJSON(p)
	}
	pr, err := h.cfg.Imports.Progress(r.Context(), cid, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out.Progress = toProgressJSON(pr)
	writeJSON(w, http.StatusOK, out, "")
}

// choicesJSON is the body of an apply.
type choicesJSON struct {
	AllConflicts    string            `json:"all_conflicts"` // skip (the default), rename, overwrite
	Conflicts       map[string]string `json:"conflicts"`     // per command name
	Currency        string            `json:"currency"`
	OtherCurrencies string            `json:"other_currencies"` // skip (the default) or counter
}

func (h *Handler) apiApplyImport(w http.ResponseWriter, r *http.Request) {
	cid := membershipOf(r).ID
	id, err := importID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	var in choicesJSON
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			h.apiFail(w, r, err)
			return
		}
	}
	form := map[string][]string{"all_conflicts": {in.AllConflicts}, "currency": {in.Currency}, "other_currencies": {in.OtherCurrencies}}
	for k, v := range in.Conflicts {
		if v == "" {
			v = "-" // named but empty: refused below
		}
		form["conflict."+k] = []string{v}
	}
	c, err := parseChoices(form)
	if err == nil {
		err = h.cfg.Imports.Apply(r.Context(), auditActor(r), cid, id, c)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.apiImportAnswer(w, r, http.StatusAccepted, cid, id)
}

func (h *Handler) apiUndoImport(w http.ResponseWriter, r *http.Request) {
	cid := membershipOf(r).ID
	id, err := importID(r)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if err := h.cfg.Imports.Undo(r.Context(), auditActor(r), cid, id); err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.apiImportAnswer(w, r, http.StatusOK, cid, id)
}

// apiImportAnswer answers with the import as it is now.
func (h *Handler) apiImportAnswer(w http.ResponseWriter, r *http.Request, st int, cid, id int64) {
	imp, err := h.cfg.Imports.Get(r.Context(), cid, id)
	var pr importer.Progress
	if err == nil {
		pr, err = h.cfg.Imports.Progress(r.Context(), cid, id)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, st, importDetailJSON{importJSON: toImportJSON(imp, time.Now()), Progress: toProgressJSON(pr)}, "")
}
