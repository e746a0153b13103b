// Package handlers is Waddle's HTTP layer: hub pages and HTMX partials, the
// JSON API under /api/v1, and the health and metrics endpoints. Handlers parse
// and validate input, call a domain package, and render a view or JSON.
package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/alexedwards/scs/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/health"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
	"github.com/waddle/waddle/views"
	"github.com/waddle/waddle/workflow"
)

// Config is what the HTTP layer needs.
type Config struct {
	Auth        *auth.Service
	Communities *community.Service
	Router      *router.Router
	Settings    *router.Settings // the router's configuration
	Overlays    *overlay.Service
	Workflows   *workflow.Service
	// Marketplace is the module catalogue, installs, reviews and payments.
	Marketplace *marketplace.Service
	// Identity links a person's platform accounts into one identity.
	Identity *identity.Service
	// Labels are the labels on people and communities, and their platform roles.
	Labels *labels.Service
	// Groups keeps labels' platform roles (entity groups) in step with the labels.
	Groups *labels.Groups
	// WorkflowAccess answers who may read, write and run each workflow.
	WorkflowAccess *workflow.Permissions
	Schedules      *workflow.Scheduler // the workflows' schedules, which the schedule API edits
	Timers         *timers.Service     // timed chat messages (timers_hub.go, timers_api.go)
	// Licensing says each community's plan; nil: no Licence section.
	Licensing   *workflow.Licensing
	Audit       audit.Log
	Health      health.Checker
	Limiter     *ratelimit.Limiter
	Sessions    scs.Store
	Logger      *slog.Logger
	Registry    *prometheus.Registry
	EventSub    EventSubReceiver // Twitch EventSub deliveries
	Slack       SlackReceiver    // Slack Events API; nil (no SLACK_SIGNING_SECRET): /webhooks/slack/events answers 404
	TwitchOAuth TwitchOAuth      // linking Twitch channels; nil: the Twitch bot is off
	SlackOAuth  SlackOAuth       // Slack OAuth v2 installs; nil: off
	// AccountOAuth signs hub users in with a platform to link their own
	// account there, by platform (twitch, discord, slack); a missing one is off.
	AccountOAuth map[string]AccountOAuth
	Tokens       *platform.Tokens // platform tokens, sealed
	Links        *platform.Links  // servers the bots were added to (Discord guilds)

	// Imports moves a community in from another bot (imports.go); nil: no
	// import pages or API. NightbotAPI is set when the server has a
	// Nightbot app (NIGHTBOT_CLIENT_ID/SECRET): "Connect Nightbot".
	Imports           *importer.Service
	NightbotAPI       *importer.NightbotAPI
	StreamElementsAPI *importer.StreamElementsAPI

	// WorkflowWebhooks creates workflows' webhooks and receives their
	// deliveries (workflow_webhooks.go).
	WorkflowWebhooks *workflow.Webhooks

	TwitchBotLogin string // TWITCH_BOT_LOGIN: the account the bot account flow must sign in as
	DiscordAppID   string // DISCORD_APP_ID: the bot's install link; empty: Discord is off

	BaseURL           string // https:// turns on Secure, __Host- cookies
	SessionIdle       time.Duration
	SessionLifetime   time.Duration
	CORSOrigins       []string
	TrustedProxies    []netip.Prefix
	MetricsNetworks   []netip.Prefix
	APIRateLimits     map[string]int // per role, per minute; 0 = unlimited
	MinForgotResponse time.Duration  // floor on the "forgot password" answer time
	EventSubSecret    string         // TWITCH_EVENTSUB_SECRET; empty: /webhooks/twitch/eventsub answers 404
}

// Handler serves every HTTP route.
type Handler struct {
	cfg      Config
	auth     *auth.Service
	comm     *community.Service
	router   *router.Router
	settings *router.Settings
	sessions *scs.SessionManager
	logger   *slog.Logger
	metrics  *httpMetrics
}

// New builds the handler tree.
func New(cfg Config) http.Handler {
	sm := scs.New()
	sm.Store = cfg.Sessions
	sm.IdleTimeout = cfg.SessionIdle
	sm.Lifetime = cfg.SessionLifetime
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	sm.Cookie.Name = "waddle_session"
	if strings.HasPrefix(cfg.BaseURL, "https://") {
		sm.Cookie.Secure = true
		sm.Cookie.Name = "__Host-waddle_session" // Secure, Path=/, no Domain: cannot be set by a sibling host
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		cfg.Logger.ErrorContext(r.Context(), "session store", "err", err)
		http.Error(w, "Something went wrong on our side. Try again in a moment.", http.StatusInternalServerError)
	}
	if cfg.MinForgotResponse == 0 {
		cfg.MinForgotResponse = 300 * time.Millisecond
	}
	h := &Handler{cfg: cfg, auth: cfg.Auth, comm: cfg.Communities, router: cfg.Router, settings: cfg.Settings, sessions: sm, logger: cfg.Logger,
		metrics: newHTTPMetrics(cfg.Registry)}
	return h.routes()
}

// render writes a component with status, rendering into a buffer first so an
// error gives a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(views.WithClock(r.Context(), clockOf(r)), &buf); err != nil { // times in the person's zone (account_time_zone.go)
		h.logger.ErrorContext(r.Context(), "render", "err", err, "route", routeOf(r))
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// status maps an error to its HTTP status; internal errors are 500.
func status(err error) int {
	p := problem.As(err)
	if p == nil {
		if errors.Is(err, context.Canceled) {
			return 499
		}
		return http.StatusInternalServerError
	}
	switch p.Code {
	case problem.Invalid:
		return http.StatusBadRequest
	case problem.Unauthorized:
		return http.StatusUnauthorized
	case problem.Forbidden:
		return http.StatusForbidden
	case problem.NotFound:
		return http.StatusNotFound
	case problem.Conflict:
		return http.StatusConflict
	case problem.TooMany:
		return http.StatusTooManyRequests
	case problem.PaymentRequired:
		return http.StatusPaymentRequired
	}
	return http.StatusInternalServerError
}

// message is what a user may read about err.
func message(err error) string {
	if p := problem.As(err); p != nil {
		return p.Message
	}
	return "Something went wrong on our side. Try again in a moment; if it keeps happening, tell your admin."
}

// fail answers a hub request with an error page (or, for HTMX, a bare message),
// logging internal errors only.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := status(err)
	if st == http.StatusInternalServerError {
		h.logger.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "route", routeOf(r))
	}
	if st == 499 {
		return
	}
	if p := problem.As(err); p != nil && p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.RetryAfter.Seconds())+1))
	}
	if isHTMX(r) {
		w.Header().Set("HX-Reswap", "none")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(st)
		w.Write([]byte(message(err)))
		return
	}
	titles := map[int]string{400: "That did not work", 401: "Sign in needed", 403: "Not allowed", 404: "Not found", 409: "That did not work", 429: "Slow down"}
	title, ok := titles[st]
	if !ok {
		title = "Something went wrong"
	}
	h.render(w, r, st, views.ErrorPage(st, title, message(err)))
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// seeOther redirects after a successful POST.
func seeOther(w http.ResponseWriter, r *http.Request, url string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", url)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// removed answers a successful removal: HTMX gets an empty body, so the row
// disappears; a plain form gets the flash message and a redirect.
func (h *Handler) removed(w http.ResponseWriter, r *http.Request, flash, url string) {
	if isHTMX(r) {
		w.WriteHeader(http.StatusOK)
		return
	}
	h.sessions.Put(r.Context(), sessFlash, flash)
	seeOther(w, r, url)
}

// maxFormBytes bounds every hub form body.
const maxFormBytes = 64 << 10

// parseForm reads a size-limited urlencoded form.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.New(problem.Invalid, "The form is too large (at most 64 KiB).")
		}
		return problem.New(problem.Invalid, "The form could not be read.")
	}
	return nil
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chiURLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.New(problem.NotFound, "Not found.")
	}
	return id, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
