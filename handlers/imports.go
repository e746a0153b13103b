package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// "Import from another bot": a manager picks the bot they move from, uploads
// its exports (or connects Nightbot, or pastes a StreamElements token),
// reads the preview, applies it and follows the progress to the report, and
// may undo it for 7 days. Only the community's owners and admins reach these
// pages (routes.go puts them behind requireManager); the engine (package
// importer) checks every import id against the community in SQL, so another
// community's import is a 404.

// importHubRoutes are the hub's import pages, inside /c/{cid} for managers.
func (h *Handler) importHubRoutes(r chi.Router) {
	if h.cfg.Imports == nil {
		return
	}
	r.Get("/imports", h.importsPage)
	r.Get("/imports/new/{source}", h.importSourcePage)
	r.Post("/imports/new/{source}", h.createImport)
	r.Get("/imports/nightbot/connect", h.connectNightbot)
	r.Get("/imports/{iid}", h.importPage)
	r.Post("/imports/{iid}/apply", h.applyImport)
	r.Get("/imports/{iid}/progress", h.importProgressEvents)
	r.Get("/imports/{iid}/undo", h.undoImportPage)
	r.Post("/imports/{iid}/undo", h.undoImport)
}

// importSources are the source cards: what each brings and how to get it.
var importSources = map[importer.Source]views.ImportSource{
	importer.Nightbot: {Brings: "Commands (reply, cooldown, user level, count), timers, regulars and spam filters (blacklisted words and patterns).",
		HowTo:  "Connect your Nightbot account, or upload the JSON its API returns for your commands (GET /1/commands) and timers (GET /1/timers).",
		Files:  "The commands JSON and, if you have timers, the timers JSON.",
		Accept: ".json,application/json"},
	importer.StreamElements: {Brings: "Commands (reply, cooldowns, aliases, access level), timers, named counters, quotes, loyalty points and banned phrases.",
		HowTo: "Paste your account's JWT token: in the StreamElements dashboard, open your profile, Channels, Show secrets."},
	importer.Streamlabs: {Brings: "Commands (permission, cooldowns, count), viewers' points and hours, quotes with their game and date.",
		HowTo:  "In Streamlabs Chatbot: Commands → the export button (an .abcomg file); Currency and Quotes → the Excel export button.",
		Files:  "The command export (.abcom, .abcomg or JSON) and the currency and quotes spreadsheets (.xlsx).",
		Accept: ".abcom,.abcomg,.json,.xlsx"},
	importer.Firebot: {Brings: "Chat-message commands with aliases, cooldowns and role restrictions, timers, counters, currencies with every viewer's balance, quotes.",
		HowTo:  "Zip your Firebot profile folder (File → Open Data Folder, then profiles/<your profile>), or export a .firebotsetup.",
		Files:  "A zip of the profile folder, a .firebotsetup, or single files (commands, timers, currency, counters, the viewer and quotes databases).",
		Accept: ".zip,.firebotsetup,.json,.db"},
	importer.PhantomBot: {Brings: "Commands with aliases, permissions, cooldowns and counts, viewers' points and time, quotes.",
		HowTo:  "Stop PhantomBot and upload its database file, config/phantombot.db.",
		Files:  "The SQLite database file phantombot.db.",
		Accept: ".db,.sqlite,.sqlite3"},
}

func importSourceCard(s importer.Source) views.ImportSource {
	c := importSources[s]
	c.Source, c.Title = string(s), s.Title()
	return c
}

// importID reads {iid}.
func importID(r *http.Request) (int64, error) { return pathID(r, "iid") }

var importStateLabels = map[string]string{"previewed": "Preview, not applied", "applying": "Applying", "applied": "Applied",
	"failed": "Failed", "undone": "Undone"}

func importStateLabel(s string) string {
	if l, ok := importStateLabels[s]; ok {
		return l
	}
	return s
}

func (h *Handler) importsPage(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	list, err := h.cfg.Imports.List(r.Context(), m.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := views.ImportsPage{Chrome: h.chrome(r, "Import from another bot · "+m.Name, ""), CommunityID: m.ID}
	for _, s := range importer.Sources {
		p.Sources = append(p.Sources, importSourceCard(s))
	}
	for _, i := range list {
		p.Past = append(p.Past, views.ImportRow{ID: i.ID, Source: i.Source.Title(), State: string(i.State), StateLabel: importStateLabel(string(i.State)),
			Files: importFiles(i.FileNames), CreatedAt: i.CreatedAt, Href: importsPath(m.ID, fmt.Sprintf("/%d", i.ID))})
	}
	h.render(w, r, http.StatusOK, views.Imports(p))
}

func importsPath(cid int64, rest string) string { return fmt.Sprintf("/c/%d/imports%s", cid, rest) }

func importFiles(names []string) string {
	if len(names) == 0 {
		return "the connected account"
	}
	return strings.Join(names, ", ")
}

func (h *Handler) sourcePage(r *http.Request, src importer.Source, msg string) views.ImportSourcePage {
	m := membershipOf(r)
	return views.ImportSourcePage{Chrome: h.chrome(r, "Import from "+src.Title()+" · "+m.Name, ""), CommunityID: m.ID,
		Source: importSourceCard(src), Error: msg, NightbotConnect: src == importer.Nightbot && h.cfg.NightbotAPI != nil,
		Token: src == importer.StreamElements, MaxUpload: byteSize(importer.MaxBrowserBytes), MaxSmall: byteSize(importer.MaxCommandsBytes)}
}

func (h *Handler) importSourcePage(w http.ResponseWriter, r *http.Request) {
	src, err := parseSource(chi.URLParam(r, "source"))
	if err != nil {
		h.fail(w, r, problem.New(problem.NotFound, "Not found."))
		return
	}
	h.render(w, r, http.StatusOK, views.ImportSourceForm(h.sourcePage(r, src, "")))
}

// createImport reads the upload (or, for StreamElements, the token's
// account) into an import and shows its preview. A bad file is answered on
// the same page, naming the file and where it is wrong.
func (h *Handler) createImport(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := parseSource(chi.URLParam(r, "source"))
	if err != nil {
		h.fail(w, r, problem.New(problem.NotFound, "Not found."))
		return
	}
	var (
		b     *importer.Bundle
		names []string
	)
	if src == importer.StreamElements {
		if err = parseForm(w, r); err == nil {
			b, err = h.fetchStreamElements(r, r.PostForm.Get("token"))
		}
	} else {
		var up *importUpload
		up, err = readImportUpload(w, r, importer.MaxBrowserBytes)
		if err == nil {
			defer up.Close()
			b, err = readBundle(r.Context(), src, up.Files)
			for _, f := range up.Files {
				names = append(names, f.Name)
			}
		}
	}
	var imp importer.Import
	if err == nil {
		imp, err = h.cfg.Imports.Create(r.Context(), auditActor(r), m.ID, b, names)
	}
	if err != nil {
		if p := problem.As(err); p != nil && p.Code == problem.Invalid {
			h.render(w, r, http.StatusBadRequest, views.ImportSourceForm(h.sourcePage(r, src, p.Message)))
			return
		}
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, importsPath(m.ID, fmt.Sprintf("/%d", imp.ID)))
}

// maxTokenLen bounds a pasted token; a StreamElements JWT is under 1 KiB.
const maxTokenLen = 4096

// fetchStreamElements reads the account of a pasted JWT. The token is used
// for this request only: never stored, never logged, never shown back.
func (h *Handler) fetchStreamElements(r *http.Request, token string) (*importer.Bundle, error) {
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bearer "))
	switch {
	case token == "":
		return nil, problem.Invalidf("token", "Paste your StreamElements JWT token.")
	case len(token) > maxTokenLen || strings.ContainsAny(token, " \t\r\n"):
		return nil, problem.Invalidf("token", "That does not look like a StreamElements JWT token: copy it again from the dashboard.")
	}
	b, err := h.cfg.StreamElementsAPI.Fetch(r.Context(), token)
	if err != nil && problem.As(err) == nil && !errors.Is(err, r.Context().Err()) {
		var fe *importer.FileError
		if !errors.As(err, &fe) {
			h.logger.WarnContext(r.Context(), "streamelements import", "err", err)
			return nil, problem.New(problem.Invalid, "StreamElements did not give the account's data: %s", strings.ReplaceAll(err.Error(), token, "…"))
		}
	}
	return b, sourceError(err, nil)
}

// connectNightbot starts Nightbot's OAuth; the callback (below, outside the
// community's routes, at the one redirect URI the app registers) reads the
// account and makes the import.
func (h *Handler) connectNightbot(w http.ResponseWriter, r *http.Request) {
	if h.cfg.NightbotAPI == nil {
		h.fail(w, r, problem.New(problem.NotFound, "Connecting Nightbot is not configured on this server (NIGHTBOT_CLIENT_ID): upload its JSON instead."))
		return
	}
	h.startOAuth(w, r, "nightbot", "import", membershipOf(r).ID, func(redirect, state string) string {
		return h.cfg.NightbotAPI.AuthorizeURL(state, redirect)
	})
}

// nightbotCallback finishes Nightbot's OAuth: the state must be the one this
// session started (it works once), the user must still manage the
// community, and the access token is used once and forgotten.
func (h *Handler) nightbotCallback(w http.ResponseWriter, r *http.Request) {
	if h.cfg.NightbotAPI == nil || h.cfg.Imports == nil {
		h.fail(w, r, problem.New(problem.NotFound, "Connecting Nightbot is not configured on this server."))
		return
	}
	_, cid, err := h.finishOAuth(r, "nightbot")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, _ := userOf(r)
	mem, err := h.comm.Access(r.Context(), u, cid)
	if err == nil && !mem.Role.CanManage() {
		err = problem.New(problem.Forbidden, "Only the community's owners and admins can import.")
	}
	var b *importer.Bundle
	if err == nil {
		var tok string
		tok, err = h.cfg.NightbotAPI.Exchange(r.Context(), r.URL.Query().Get("code"), h.oauthRedirect("nightbot"))
		if err == nil {
			b, err = h.cfg.NightbotAPI.Fetch(r.Context(), tok)
		}
		if err != nil && problem.As(err) == nil {
			h.logger.WarnContext(r.Context(), "nightbot import", "err", err)
			err = problem.New(problem.Invalid, "Nightbot did not give the account's data. Try connecting again, or upload the JSON instead.")
		}
	}
	var imp importer.Import
	if err == nil {
		imp, err = h.cfg.Imports.Create(r.Context(), auditActor(r), cid, b, nil)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, importsPath(cid, fmt.Sprintf("/%d", imp.ID)), http.StatusSeeOther)
}
