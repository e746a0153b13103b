package router

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The parts of an answer a marketplace module may give, and the capability
// each needs. An installed module's answer is cut to what it was granted:
// a refused part is dropped (the rest kept) and the execution log names the
// capability. Community modules set up by hand may do all of it.

// PointsGrant is a points change a remote module asks for: to the user who
// ran the command, or to another user of the same platform.
type PointsGrant struct {
	UserID   string `json:"user_id,omitempty"`  // "": the caller
	Platform string `json:"platform,omitempty"` // "" or the event's platform
	Amount   int64  `json:"amount"`
	Reason   string `json:"reason,omitempty"`
}

// HTTPRequest is a call a remote module asks Waddle to make for it, through
// the executor's guarded client, without waiting for its answer.
type HTTPRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Body   string `json:"body,omitempty"`
}

// Bounds of what a module's answer may ask for.
const (
	MaxModulePoints = 100000 // either way, per response
	maxHTTPURL      = 2048
	maxHTTPBody     = 16 << 10
	httpTimeout     = 5 * time.Second
)

// remoteCall is what an installed module's call carries besides the event.
type remoteCall struct {
	command string
	config  map[string]any
	version string
	balance *int64
	granted map[string]bool
}

// enforce drops the parts of rs that need a capability not in granted and
// returns the rest with the refused capabilities' names, sorted.
func (h *handling) enforce(rs []Response, granted map[string]bool, module string) ([]Response, []string) {
	var refused []string
	refuse := func(c string) bool {
		if granted[c] {
			return false
		}
		if !slices.Contains(refused, c) {
			refused = append(refused, c)
		}
		return true
	}
	out := make([]Response, 0, len(rs))
	for _, r := range rs {
		if r.Reply != "" || r.Embed != nil || len(r.Parts) > 0 {
			need := "chat"
			if r.Private {
				need = "dm"
			}
			if refuse(need) {
				r.Reply, r.Parts, r.Embed, r.Private = "", nil, nil, false
			}
		}
		if r.Moderation != nil && refuse("moderate") {
			r.Moderation = nil
		}
		if r.Overlay != nil && refuse("overlay") {
			r.Overlay = nil
		}
		if (len(r.Buttons) > 0 || r.Form != nil) && refuse("buttons") {
			r.Buttons, r.Form = nil, nil
		}
		if r.Points != nil && refuse("points:write") {
			r.Points = nil
		}
		if r.HTTP != nil && refuse("http") {
			r.HTTP = nil
		}
		if !emptyResponse(r) {
			out = append(out, r)
		}
	}
	slices.Sort(refused)
	if len(refused) > 0 {
		h.changed("refused from module %s for want of a capability: %s", module, strings.Join(refused, ", "))
	}
	return out, refused
}

func emptyResponse(r Response) bool {
	return r.Reply == "" && len(r.Parts) == 0 && r.Embed == nil && r.Moderation == nil && len(r.Buttons) == 0 &&
		r.Form == nil && r.Overlay == nil && r.Points == nil && r.HTTP == nil
}

// withoutExtras takes the points changes and HTTP calls, made already, out of
// the answer the platform adapters get.
func withoutExtras(rs []Response) []Response {
	out := rs[:0]
	for _, r := range rs {
		r.Points, r.HTTP = nil, nil
		if !emptyResponse(r) {
			out = append(out, r)
		}
	}
	return out
}

// applyExtras makes the points changes and HTTP calls an answer asks for.
// A bad one is skipped and said in the result's changes; it fails nothing else.
func (h *handling) applyExtras(ctx context.Context, rs []Response, module string) error {
	for _, r := range rs {
		if r.Points != nil {
			if err := h.modulePoints(ctx, *r.Points, module); err != nil {
				return err
			}
		}
		if r.HTTP != nil {
			h.moduleHTTP(ctx, *r.HTTP, module)
		}
	}
	return nil
}

// modulePoints applies a module's points change in the event's transaction.
func (h *handling) modulePoints(ctx context.Context, g PointsGrant, module string) error {
	platform := g.Platform
	if platform == "" {
		platform = h.ev.Platform
	}
	switch {
	case platform != h.ev.Platform:
		h.changed("points change from module %s skipped: another platform (%q)", module, platform)
		return nil
	case g.Amount == 0 || g.Amount > MaxModulePoints || g.Amount < -MaxModulePoints:
		h.changed("points change from module %s skipped: an amount is 1 to %d points either way", module, MaxModulePoints)
		return nil
	case len(g.UserID) > 100:
		h.changed("points change from module %s skipped: a user id has at most 100 bytes", module)
		return nil
	}
	userID, name := g.UserID, ""
	if userID == "" || userID == h.ev.User.ID {
		userID, name = h.ev.User.ID, h.ev.User.Name
	}
	reason := strings.TrimSpace(g.Reason)
	if reason == "" || !utf8.ValidString(reason) {
		reason = "module " + module
	}
	if utf8.RuneCountInString(reason) > 100 {
		reason = string([]rune(reason)[:100])
	}
	shown := name
	if shown == "" {
		shown = userID
	}
	if h.dry {
		h.changed("points of %s %+d (%s)", shown, g.Amount, reason)
		return nil
	}
	h.local.Lock()
	defer h.local.Unlock()
	q, err := h.writer(ctx)
	if err != nil {
		return err
	}
	bal, err := addPoints(ctx, q, h.s.communityID, platform, userID, name, g.Amount, reason)
	if errors.Is(err, ErrBalanceLimit) {
		h.changed("points of %s not changed (%s): %s", shown, reason, ErrBalanceLimit.Message)
		return nil
	}
	if err != nil {
		return fmt.Errorf("points change from module %s: %w", module, err)
	}
	pc := PointsChange{User: shown, Delta: g.Amount, Reason: reason, Balance: bal}
	h.addPoints(pc)
	h.changed("%s", pc.Change())
	return nil
}

// moduleHTTP checks a module's HTTP call and makes it in the background,
// through the executor's guarded client, with a timeout; its answer is not read.
func (h *handling) moduleHTTP(ctx context.Context, req HTTPRequest, module string) {
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = "GET"
	}
	u, err := url.Parse(req.URL)
	switch {
	case !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, method):
		h.changed("HTTP call from module %s skipped: method %q", module, req.Method)
		return
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.URL) > maxHTTPURL:
		h.changed("HTTP call from module %s skipped: not an http(s) address of at most %d bytes", module, maxHTTPURL)
		return
	case len(req.Body) > maxHTTPBody:
		h.changed("HTTP call from module %s skipped: a body has at most %d bytes", module, maxHTTPBody)
		return
	case h.r.exec == nil:
		h.changed("HTTP call from module %s skipped: remote calls are off on this server", module)
		return
	}
	if h.dry {
		h.changed("would call %s %s for module %s (not sent in a dry run)", method, u.Scheme+"://"+u.Host, module)
		return
	}
	h.changed("%s %s called for module %s", method, u.Scheme+"://"+u.Host, module)
	bg := context.WithoutCancel(ctx)
	h.r.outbound.Add(1)
	go func() {
		defer h.r.outbound.Done()
		cctx, cancel := context.WithTimeout(bg, httpTimeout)
		defer cancel()
		if err := h.r.exec.Send(cctx, method, req.URL, []byte(req.Body)); err != nil {
			h.r.logger.WarnContext(cctx, "HTTP call for a module", "module", module, "host", u.Host, "err", err)
		}
	}()
}
