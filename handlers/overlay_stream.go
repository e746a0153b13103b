package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/overlay"
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
	case overlay.Alerts:
		cfg.Preset, cfg.Volume = src.Settings.PresetOf(), src.Settings.VolumeOf()
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
	h.metrics.overlays.Inc()
	defer h.metrics.overlays.Dec()

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
