package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// Browser sources for OBS. Three audiences:
//   - OBS: GET /overlay/{token} is a self-contained page with a strict CSP, and
//     /overlay/{token}/events streams its updates as Server-Sent Events. The
//     token is the only credential; a wrong one gets the same bare 404 always.
//   - The hub: /c/{cid}/overlays lists the sources (members look, managers
//     change). A source's URL is shown once, in the answer to the POST that
//     made it, like an API key: only its hash is stored.
//   - The API: POST /api/v1/communities/{cid}/overlays/{id}/events publishes an
//     update with an action, core or admin key of a community manager.

// overlayKeepalive is how often an idle stream sends a comment, so proxies
// and OBS keep the connection open.
const overlayKeepalive = 15 * time.Second

// overlayCSP is the policy of the overlay page: its own script and style,
// media from anywhere over http(s), no inline code, framed only by the hub.
const overlayCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src http: https: data:; media-src http: https:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// overlayNotFound is the one answer to any token that does not open a source:
// unknown, revoked, deleted or malformed look the same.
func overlayNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "Not found.\n")
}

// overlaySource resolves {token}; it answers the request itself when it fails.
func (h *Handler) overlaySource(w http.ResponseWriter, r *http.Request) (overlay.Source, bool) {
	src, err := h.cfg.Overlays.ByToken(r.Context(), chiURLParam(r, "token"))
	if err != nil {
		if status(err) == http.StatusInternalServerError {
			h.logger.ErrorContext(r.Context(), "overlay token lookup", "err", err)
			http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			return src, false
		}
		overlayNotFound(w)
		return src, false
	}
	return src, true
}

// overlayPage serves the page OBS loads as a browser source.
func (h *Handler) overlayPage(w http.ResponseWriter, r *http.Request) {
	src, ok := h.overlaySource(w, r)
	if !ok {
		return
	}
	cfg := views.OverlayConfig{Kind: src.Kind, Lines: src.Settings.Lines, Top: src.Settings.Top}
	switch src.Kind {
	case overlay.Text:
		cfg.HTML = src.Settings.Text // sanitised by UpdateSettings
	case overlay.Ticker:
		// Settings.Text is stored sanitised as HTML; the ticker shows it as text.
		cfg.Text = html.UnescapeString(src.Settings.Text)
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", overlayCSP)
	hd.Set("X-Frame-Options", "SAMEORIGIN") // the hub's preview frames it
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, views.OverlayPage(cfg))
}

// overlayEvents streams a source's updates as Server-Sent Events: what the
// page missed after Last-Event-ID first, then live updates, each once and in
// order (the event id is the update's number in its source), with a
// keepalive comment when idle. The stream ends when the page goes, when the
// source's URL is revoked or the source deleted (the page's reconnect then
// gets 404), or when the request's context ends.
func (h *Handler) overlayEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	src, ok := h.overlaySource(w, r)
	if !ok {
		return
	}
	var last int64
	if v := strings.TrimSpace(r.Header.Get("Last-Event-ID")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			last = n
		}
	}
	feed, missed, err := h.cfg.Overlays.Follow(ctx, src.ID, last)
	if errors.Is(err, overlay.ErrNotFound) {
		overlayNotFound(w)
		return
	}
	if err != nil {
		h.logger.ErrorContext(ctx, "overlay replay", "err", err, "source", src.ID)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	defer feed.Close()
	// A regeneration between the lookup and the subscription would not reach
	// this subscriber, so the token is checked again now that it listens.
	if again, ok := h.overlaySource(w, r); !ok {
		return
	} else if again.ID != src.ID {
		overlayNotFound(w)
		return
	}

	rc := http.NewResponseController(w)
	// The server's WriteTimeout would cut the stream; this one lives until it ends.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		h.logger.WarnContext(ctx, "overlay stream: lift the write deadline", "err", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache, no-store")
	hd.Set("X-Accel-Buffering", "no")
	hd.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	// send writes the events in one write and one flush.
	send := func(us []overlay.Update) bool {
		buf.Reset()
		for _, u := range us {
			raw, err := json.Marshal(u)
			if err != nil {
				h.logger.ErrorContext(ctx, "overlay update encoding", "err", err, "source", src.ID)
				continue
			}
			fmt.Fprintf(&buf, "id: %d\nevent: update\ndata: %s\n\n", u.ID, raw)
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	comment := func(s string) bool {
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !comment("retry: 2000\n\n") || !send(missed) {
		return
	}
	// A leaderboard shows the current standings at once, not only after the next change.
	if cur, ok, err := h.cfg.Overlays.Current(ctx, src); err != nil {
		h.logger.WarnContext(ctx, "overlay current state", "err", err, "source", src.ID)
	} else if ok {
		raw, _ := json.Marshal(cur)
		if !comment(fmt.Sprintf("event: update\ndata: %s\n\n", raw)) {
			return
		}
	}
	tick := time.NewTicker(overlayKeepalive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-feed.Live():
			if !ok {
				return // revoked or deleted: the page's reconnect gets 404
			}
			us, err := feed.Order(ctx, u)
			if err != nil {
				// The page reconnects with the last id it got and replays the rest.
				if ctx.Err() != nil {
					return
				}
				h.logger.WarnContext(ctx, "overlay stream: read missed updates", "err", err, "source", src.ID)
				return
			}
			if len(us) > 0 && !send(us) {
				return
			}
		case <-tick.C:
			if !comment(": keepalive\n\n") {
				return
			}
		}
	}
}

// ---- The API ----

// updateTypeOf is the update type a source of kind shows.
func updateTypeOf(kind string) string {
	if kind == overlay.Alerts {
		return "alert"
	}
	return kind
}

// apiOverlayEvent publishes an update to one of the community's sources.
// routes.go lets action, core and admin keys through; the key's owner must
// manage the community.
// apiOverlayEventByID is POST /api/v1/overlays/{id}/events: it finds the
// source's community and checks the key owner's role there like the
// community-scoped route does (non-members get 404).
func (h *Handler) apiOverlayEventByID(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		h.apiFail(w, r, overlay.ErrNotFound)
		return
	}
	cid, err := h.cfg.Overlays.CommunityOf(r.Context(), id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	r, err = h.apiInCommunity(r, cid)
	if err != nil {
		h.apiFail(w, r, overlay.ErrNotFound)
		return
	}
	h.apiOverlayEvent(w, r)
}

func (h *Handler) apiOverlayEvent(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	if !m.Role.CanManage() {
		apiError(w, r, http.StatusForbidden, "Only the community's owners and admins may send overlay updates.")
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		h.apiFail(w, r, overlay.ErrNotFound)
		return
	}
	src, err := h.cfg.Overlays.Get(r.Context(), m.ID, id)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	var u overlay.Update
	if err := decodeJSON(w, r, &u); err != nil {
		h.apiFail(w, r, err)
		return
	}
	want := updateTypeOf(src.Kind)
	if u.Type == "" {
		u.Type = want
	}
	if u.Type != want {
		h.apiFail(w, r, problem.Invalidf("type", "A %s source shows %q updates, not %q.", src.Kind, want, u.Type))
		return
	}
	if u, err = h.cfg.Overlays.Clean(u); err == nil {
		u, err = h.cfg.Overlays.Publish(r.Context(), src.ID, u)
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u, "Sent to the source's pages.")
}

// ---- The hub page ----

// overlayBase is the scheme and host overlay URLs start with.
func (h *Handler) overlayBase(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return strings.TrimRight(h.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// alertEvents orders the alert kinds as the settings form shows them.
var alertEvents = []string{"follow", "subscribe", "gift_subscription", "cheer", "raid", "shoutout"}

func overlayRow(cid int64, s overlay.Source, can bool) views.OverlayRow {
	row := views.OverlayRow{CommunityID: cid, ID: s.ID, Kind: s.Kind, Name: s.Name, CanManage: can, Text: s.Settings.Text,
		Top: s.Settings.Top, Lines: s.Settings.Lines}
	if s.Kind == overlay.Ticker {
		row.Text = html.UnescapeString(row.Text)
	}
	if s.Kind == overlay.Alerts {
		for _, ev := range alertEvents {
			a, ok := s.Settings.Alerts[ev]
			if !ok {
				a = overlay.DefaultAlerts[ev]
			}
			row.Alerts = append(row.Alerts, views.AlertRow{Event: ev, Template: a.Template, Seconds: a.Seconds, Image: a.Image, Sound: a.Sound})
		}
	}
	return row
}

// overlaysView builds the page; shown is a URL to show once (0: none).
func (h *Handler) overlaysView(r *http.Request, shown views.OverlayURL, create views.OverlayForm, rowErr map[int64]string) (views.OverlaysPage, error) {
	m := membershipOf(r)
	list, err := h.cfg.Overlays.List(r.Context(), m.ID)
	if err != nil {
		return views.OverlaysPage{}, err
	}
	can := m.Role.CanManage()
	p := views.OverlaysPage{Chrome: h.chrome(r, "Overlays · "+m.Name, "communities"), Nav: h.botNav(r, "overlays"), CanManage: can,
		Kinds: overlay.Kinds, Create: create}
	for _, s := range list {
		row := overlayRow(m.ID, s, can)
		if shown.SourceID == s.ID {
			row.URL = shown.URL
		}
		row.Error = rowErr[s.ID]
		p.Sources = append(p.Sources, row)
	}
	return p, nil
}

func (h *Handler) renderOverlays(w http.ResponseWriter, r *http.Request, st int, shown views.OverlayURL, create views.OverlayForm, rowErr map[int64]string) {
	p, err := h.overlaysView(r, shown, create, rowErr)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it may carry a new secret URL
	h.render(w, r, st, views.Overlays(p))
}

func (h *Handler) overlaysPage(w http.ResponseWriter, r *http.Request) {
	h.renderOverlays(w, r, http.StatusOK, views.OverlayURL{}, views.OverlayForm{Kind: overlay.Alerts}, nil)
}

// createOverlay adds a source and shows its URL once, in the answer to the
// POST (not after a redirect, so the token never sits in the session).
func (h *Handler) createOverlay(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	var f views.OverlayForm
	err := parseForm(w, r)
	if err == nil {
		f = views.OverlayForm{Kind: r.PostForm.Get("kind"), Name: strings.TrimSpace(r.PostForm.Get("name"))}
		var src overlay.Source
		var token string
		if src, token, err = h.cfg.Overlays.Create(r.Context(), auditActor(r), m.ID, f.Kind, f.Name); err == nil {
			h.renderOverlays(w, r, http.StatusCreated, views.OverlayURL{SourceID: src.ID, URL: h.overlayBase(r) + "/overlay/" + token},
				views.OverlayForm{Kind: overlay.Alerts}, nil)
			return
		}
	}
	msg, ok := h.formError(w, r, err)
	if !ok {
		return
	}
	f.Error = msg
	h.renderOverlays(w, r, status(err), views.OverlayURL{}, f, nil)
}

// overlayOf loads the source {oid} of the community.
func (h *Handler) overlayOf(r *http.Request) (overlay.Source, error) {
	id, err := pathID(r, "oid")
	if err != nil {
		return overlay.Source{}, overlay.ErrNotFound
	}
	return h.cfg.Overlays.Get(r.Context(), membershipOf(r).ID, id)
}

// regenerateOverlay gives a source a new URL, shown once; the old one stops at once.
func (h *Handler) regenerateOverlay(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := h.overlayOf(r)
	var token string
	if err == nil {
		token, err = h.cfg.Overlays.Regenerate(r.Context(), auditActor(r), m.ID, src.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderOverlays(w, r, http.StatusOK, views.OverlayURL{SourceID: src.ID, URL: h.overlayBase(r) + "/overlay/" + token},
		views.OverlayForm{Kind: overlay.Alerts}, nil)
}

func (h *Handler) deleteOverlay(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := h.overlayOf(r)
	if err == nil {
		err = h.cfg.Overlays.Delete(r.Context(), auditActor(r), m.ID, src.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isHTMX(r) {
		w.WriteHeader(http.StatusOK) // empty body: the source's card disappears
		return
	}
	h.sessions.Put(r.Context(), sessFlash, fmt.Sprintf("Source %s deleted; its URL no longer works.", src.Name))
	seeOther(w, r, botPath(m.ID, "overlays"))
}

// testUpdate is what "send test" shows on a source of kind.
func (h *Handler) testUpdate(r *http.Request, src overlay.Source) overlay.Update {
	switch src.Kind {
	case overlay.Alerts:
		a, ok := src.Settings.Alerts["follow"]
		if !ok {
			a = overlay.DefaultAlerts["follow"]
		}
		msg := strings.NewReplacer("{user}", "TestDuck", "{amount}", "1").Replace(a.Template)
		return overlay.Update{Type: "alert", Message: msg, User: "TestDuck", Image: a.Image, Sound: a.Sound, Seconds: max(a.Seconds, 1), Test: true}
	case overlay.Ticker:
		return overlay.Update{Type: "ticker", Message: "This is a test of the ticker from Waddle.", Test: true}
	case overlay.Text:
		return overlay.Update{Type: "text", HTML: "<p><strong>Test</strong> text from Waddle.</p>", Test: true}
	case overlay.Media:
		return overlay.Update{Type: "media", Image: h.overlayBase(r) + "/static/favicon.svg", Seconds: 5, Test: true}
	case overlay.Leaderboard:
		return overlay.Update{Type: "leaderboard", Entries: []overlay.Entry{{Name: "TestDuck", Points: 300}, {Name: "Mallard", Points: 200}, {Name: "Teal", Points: 100}}, Test: true}
	}
	return overlay.Update{Type: "chat", User: "TestDuck", Message: "Hello from Waddle!", Test: true}
}

// testOverlay publishes a test update of the source's kind.
func (h *Handler) testOverlay(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := h.overlayOf(r)
	if err == nil {
		var u overlay.Update
		if u, err = h.cfg.Overlays.Clean(h.testUpdate(r, src)); err == nil {
			_, err = h.cfg.Overlays.Publish(r.Context(), src.ID, u)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg := "Test sent to " + src.Name + "."
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.OverlayStatus(msg))
		return
	}
	h.sessions.Put(r.Context(), sessFlash, msg)
	seeOther(w, r, botPath(m.ID, "overlays"))
}

// overlaySettings reads the settings form of src: its name, and per kind the
// alert styles, leaderboard size or chat lines.
func overlaySettings(v url.Values, src overlay.Source) (string, overlay.Settings, error) {
	st := src.Settings
	switch src.Kind {
	case overlay.Alerts:
		st.Alerts = map[string]overlay.AlertStyle{}
		for _, ev := range alertEvents {
			secs, _, err := formInt(v, "seconds."+ev, "The seconds of the "+ev+" alert", overlay.DefaultAlerts[ev].Seconds)
			if err != nil {
				return "", st, err
			}
			st.Alerts[ev] = overlay.AlertStyle{Template: strings.TrimSpace(v.Get("template." + ev)), Seconds: secs,
				Image: strings.TrimSpace(v.Get("image." + ev)), Sound: strings.TrimSpace(v.Get("sound." + ev))}
		}
	case overlay.Leaderboard:
		n, _, err := formInt(v, "top", "The leaderboard size", 10)
		if err != nil {
			return "", st, err
		}
		if n < 1 || n > 50 {
			return "", st, problem.Invalidf("top", "Show 1 to 50 entries.")
		}
		st.Top = n
	case overlay.Chat:
		n, _, err := formInt(v, "lines", "The number of chat lines", 10)
		if err != nil {
			return "", st, err
		}
		if n < 1 || n > 50 {
			return "", st, problem.Invalidf("lines", "Keep 1 to 50 chat lines.")
		}
		st.Lines = n
	}
	return v.Get("name"), st, nil
}

// fieldWords turns a settings field ("alerts.follow") into words for a message.
func fieldWords(field string) string {
	if ev, ok := strings.CutPrefix(field, "alerts."); ok && slices.Contains(alertEvents, ev) {
		return "The " + strings.ReplaceAll(ev, "_", " ") + " alert: "
	}
	return ""
}

func (h *Handler) updateOverlay(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := h.overlayOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err = parseForm(w, r); err == nil {
		var name string
		var st overlay.Settings
		if name, st, err = overlaySettings(r.PostForm, src); err == nil {
			err = h.cfg.Overlays.UpdateSettings(r.Context(), auditActor(r), m.ID, src.ID, name, st)
		}
	}
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		if p := problem.As(err); p != nil {
			msg = fieldWords(p.Field) + msg
		}
		h.renderOverlays(w, r, status(err), views.OverlayURL{}, views.OverlayForm{Kind: overlay.Alerts}, map[int64]string{src.ID: msg})
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Settings of "+strings.TrimSpace(r.PostForm.Get("name"))+" saved.")
	seeOther(w, r, botPath(m.ID, "overlays"))
}

// setOverlayContent sets a ticker's text or a text source's HTML: stored for
// pages that open later, and published to the pages open now.
func (h *Handler) setOverlayContent(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := h.overlayOf(r)
	if err == nil && src.Kind != overlay.Ticker && src.Kind != overlay.Text {
		err = problem.New(problem.NotFound, "Only ticker and text sources have content to set.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err = parseForm(w, r); err == nil {
		text := strings.TrimSpace(r.PostForm.Get("text"))
		u := overlay.Update{Type: "ticker", Message: text}
		if src.Kind == overlay.Text {
			u = overlay.Update{Type: "text", HTML: text}
		}
		if u, err = h.cfg.Overlays.Clean(u); err == nil {
			if err = h.cfg.Overlays.SetContent(r.Context(), auditActor(r), m.ID, src.ID, text); err == nil {
				_, err = h.cfg.Overlays.Publish(r.Context(), src.ID, u)
			}
		}
	}
	if err != nil {
		msg, ok := h.formError(w, r, err)
		if !ok {
			return
		}
		h.renderOverlays(w, r, status(err), views.OverlayURL{}, views.OverlayForm{Kind: overlay.Alerts}, map[int64]string{src.ID: msg})
		return
	}
	h.sessions.Put(r.Context(), sessFlash, "Content of "+src.Name+" shown.")
	seeOther(w, r, botPath(m.ID, "overlays"))
}
