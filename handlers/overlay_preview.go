package handlers

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// previewOverlay serves the hub's preview of an alerts source's look: the
// overlay page itself, playing a sample follow alert on a loop, without the
// source's secret URL. The look, message and image are the saved ones unless
// the query names others (the hub's form, before it is saved), checked as
// saving would check them.
func (h *Handler) previewOverlay(w http.ResponseWriter, r *http.Request) {
	src, err := h.overlayOf(r)
	if err == nil && src.Kind != overlay.Alerts {
		err = problem.New(problem.NotFound, "Only alerts sources have a look to preview.")
	}
	var sample overlay.Update
	if err == nil {
		sample, err = previewSample(r, src)
	}
	if err != nil {
		if p := problem.As(err); p != nil && p.Code == problem.Invalid {
			// Shown inside the preview frame, where the look would be.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("No preview: " + p.Message + "\n"))
			return
		}
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", overlayCSP)
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, views.OverlayPage(views.OverlayConfig{Kind: overlay.Alerts, Preset: sample.Preset, Volume: sample.Volume,
		Preview: &views.OverlayPreview{Message: sample.Message, Image: sample.Image, Preset: sample.Preset, Seconds: sample.Seconds}}))
}

// previewSample is the follow alert the preview plays.
func previewSample(r *http.Request, src overlay.Source) (overlay.Update, error) {
	q := r.URL.Query()
	style, ok := src.Settings.Alerts["follow"]
	if !ok {
		style = overlay.DefaultAlerts["follow"]
	}
	preset := src.Settings.PresetOf()
	if v, ok := q["preset"]; ok {
		preset = v[0]
		if !overlay.ValidPreset(preset) {
			return overlay.Update{}, problem.Invalidf("preset", "Choose a look: Pop, Slide or Minimal.")
		}
	}
	if v, ok := q["message"]; ok {
		style.Template = strings.TrimSpace(v[0])
		if utf8.RuneCountInString(style.Template) > 200 {
			return overlay.Update{}, problem.Invalidf("message", "An alert message has at most 200 characters.")
		}
	}
	if v, ok := q["image"]; ok {
		style.Image = strings.TrimSpace(v[0])
		if err := overlay.CheckAlertURL("image", "image", style.Image); err != nil {
			return overlay.Update{}, err
		}
	}
	if style.Template == "" {
		style.Template = "{user}"
	}
	msg := strings.NewReplacer("{user}", "TestDuck", "{amount}", "1").Replace(style.Template)
	return overlay.Update{Type: "alert", Message: msg, Image: style.Image, Preset: preset, Volume: src.Settings.VolumeOf(), Seconds: 3, Test: true}, nil
}
