package handlers

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

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
		row.Preset, row.Volume = s.Settings.PresetOf(), s.Settings.VolumeOf()
		for _, p := range overlay.Presets {
			row.Presets = append(row.Presets, views.PresetOption{ID: p.ID, Name: p.Name, About: p.About})
		}
		row.PreviewURL = botPath(cid, fmt.Sprintf("overlays/%d/preview", s.ID))
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
func (h *Handler) overlaysView(r *http.Request, shown views.OverlayURL, create views.OverlayForm, rowErr map[int64]views.OverlayError) (views.OverlaysPage, error) {
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
		e := rowErr[s.ID]
		row.Error, row.ErrorField, row.ErrorEvent = e.Msg, e.Field, alertEventOf(e.Field)
		p.Sources = append(p.Sources, row)
	}
	return p, nil
}

func (h *Handler) renderOverlays(w http.ResponseWriter, r *http.Request, st int, shown views.OverlayURL, create views.OverlayForm, rowErr map[int64]views.OverlayError) {
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
	var (
		f     views.OverlayForm
		src   overlay.Source
		token string
	)
	answer := formAnswer{
		Page: func(st int, msg string) { f.Error = msg; h.renderOverlays(w, r, st, views.OverlayURL{}, f, nil) },
		Done: func() {
			h.renderOverlays(w, r, http.StatusCreated, views.OverlayURL{SourceID: src.ID, URL: h.overlayBase(r) + "/overlay/" + token},
				views.OverlayForm{Kind: overlay.Alerts}, nil)
		},
	}
	if err := parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	f = views.OverlayForm{Kind: r.PostForm.Get("kind"), Name: strings.TrimSpace(r.PostForm.Get("name"))}
	src, token, err := h.cfg.Overlays.Create(r.Context(), auditActor(r), m.ID, f.Kind, f.Name)
	h.answerForm(w, r, err, answer)
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
		return overlay.Update{Type: "alert", Message: msg, User: "TestDuck", Image: a.Image, Sound: a.Sound, Seconds: max(a.Seconds, 1), Test: true,
			Preset: src.Settings.PresetOf(), Volume: src.Settings.VolumeOf()}
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
		// A form without a look or a volume (an older page) keeps the saved ones.
		if _, ok := v["preset"]; ok {
			st.Preset = v.Get("preset")
			if !overlay.ValidPreset(st.Preset) {
				return "", st, problem.Invalidf("preset", "Choose a look for the alerts: Pop, Slide or Minimal.")
			}
		}
		if _, ok := v["volume"]; ok {
			vol, _, err := formInt(v, "volume", "The sound volume", overlay.DefaultVolume)
			if err != nil {
				return "", st, err
			}
			if vol < 1 || vol > 100 {
				return "", st, problem.Invalidf("volume", "The sound volume is 1 to 100 %%.")
			}
			st.Volume = vol
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
	if ev := alertEventOf(field); ev != "" {
		return "The " + strings.ReplaceAll(ev, "_", " ") + " alert: "
	}
	return ""
}

// alertEventOf returns the alert event a settings field belongs to
// ("alerts.follow", "seconds.follow": "follow"), or "".
func alertEventOf(field string) string {
	for _, prefix := range []string{"alerts.", "seconds."} {
		if ev, ok := strings.CutPrefix(field, prefix); ok && slices.Contains(alertEvents, ev) {
			return ev
		}
	}
	return ""
}

// overlayAnswer answers a change to the source src: the overlays page with
// the reason next to the field of *errp that it names (or atop the source),
// or flash and back to the overlays page.
func (h *Handler) overlayAnswer(w http.ResponseWriter, r *http.Request, src overlay.Source, flash string, errp *error) formAnswer {
	return formAnswer{
		Page: func(st int, msg string) {
			e := views.OverlayError{Msg: msg}
			if p := problem.As(*errp); p != nil {
				e.Field, e.Msg = p.Field, fieldWords(p.Field)+msg
			}
			h.renderOverlays(w, r, st, views.OverlayURL{}, views.OverlayForm{Kind: overlay.Alerts}, map[int64]views.OverlayError{src.ID: e})
		},
		Flash: flash,
		To:    botPath(membershipOf(r).ID, "overlays"),
	}
}

func (h *Handler) updateOverlay(w http.ResponseWriter, r *http.Request) {
	m := membershipOf(r)
	src, err := h.overlayOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = parseForm(w, r)
	answer := h.overlayAnswer(w, r, src, "Settings of "+strings.TrimSpace(r.PostForm.Get("name"))+" saved.", &err)
	if err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	name, st, err := overlaySettings(r.PostForm, src)
	if err == nil {
		err = h.cfg.Overlays.UpdateSettings(r.Context(), auditActor(r), m.ID, src.ID, name, st)
	}
	h.answerForm(w, r, err, answer)
}

// setOverlayContent sets a ticker's text or a text source's HTML: stored for
// pages that open later, and published to the pages open now.
func (h *Handler) setOverlayContent(w http.ResponseWriter, r *http.Request) {
	src, err := h.overlayOf(r)
	if err == nil && src.Kind != overlay.Ticker && src.Kind != overlay.Text {
		err = problem.New(problem.NotFound, "Only ticker and text sources have content to set.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer := h.overlayAnswer(w, r, src, "Content of "+src.Name+" shown.", &err)
	if err = parseForm(w, r); err != nil {
		h.answerForm(w, r, err, answer)
		return
	}
	text := strings.TrimSpace(r.PostForm.Get("text"))
	u := overlay.Update{Type: "ticker", Message: text}
	if src.Kind == overlay.Text {
		u = overlay.Update{Type: "text", HTML: text}
	}
	err = h.setContent(r, src, text, u)
	h.answerForm(w, r, err, answer)
}

// setContent stores a source's content and publishes it to its open pages.
func (h *Handler) setContent(r *http.Request, src overlay.Source, text string, u overlay.Update) error {
	u, err := h.cfg.Overlays.Clean(u)
	if err != nil {
		return err
	}
	if err := h.cfg.Overlays.SetContent(r.Context(), auditActor(r), membershipOf(r).ID, src.ID, text); err != nil {
		return err
	}
	_, err = h.cfg.Overlays.Publish(r.Context(), src.ID, u)
	return err
}
