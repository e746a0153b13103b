package handlers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/problem"
)

type ctxKey int

const (
	ctxIP ctxKey = iota
	ctxUser
	ctxMembership
	ctxKeyIdentity
)

// Session keys.
const (
	sessUserID  = "uid"
	sessVersion = "sv"
	sessFlash   = "flash"
)

func chiURLParam(r *http.Request, name string) string { return chi.URLParam(r, name) }

// clientIP resolves the client's address: the connection's peer, or the
// right-most untrusted X-Forwarded-For entry when the peer is a trusted proxy.
func (h *Handler) clientIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := peerIP(r.RemoteAddr)
		if ip.IsValid() && h.trusted(ip) {
			parts := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
			for i := len(parts) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
				if err != nil {
					break
				}
				ip = a.Unmap()
				if !h.trusted(ip) {
					break
				}
			}
		}
		s := ""
		if ip.IsValid() {
			s = ip.String()
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxIP, s)))
	})
}

func peerIP(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func (h *Handler) trusted(ip netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func ipOf(r *http.Request) string {
	s, _ := r.Context().Value(ctxIP).(string)
	return s
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged 500.
func (h *Handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.logger.ErrorContext(r.Context(), "panic", "err", fmt.Sprint(v), "route", routeOf(r))
				if strings.HasPrefix(r.URL.Path, "/api/") {
					apiError(w, r, http.StatusInternalServerError, "Something went wrong on our side.")
					return
				}
				http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	overlays prometheus.Gauge // overlay SSE streams open (overlay_stream.go)
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waddle_http_requests_total", Help: "HTTP requests by route and status."}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waddle_http_request_duration_seconds", Help: "HTTP request duration by route.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
		overlays: prometheus.NewGauge(prometheus.GaugeOpts{Name: "waddle_overlay_streams_open", Help: "Overlay update streams (Server-Sent Events to OBS browser sources) open on this instance."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.overlays)
	}
	return m
}

// routeOf is how logs name a request's address: its route pattern, such as
// /reset-password/{token}, never the path, which may hold a token.
func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		return rc.RoutePattern()
	}
	return "unmatched"
}

// observe records metrics and logs each request.
func (h *Handler) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		st := ww.Status()
		if st == 0 {
			st = http.StatusOK
		}
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() { // tracing on: name the span by its route
			span.SetName(r.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		h.metrics.requests.WithLabelValues(r.Method, route, fmt.Sprint(st)).Inc()
		h.metrics.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
		h.logger.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", st, "duration", time.Since(start))
	})
}

// loadUser puts the signed-in user, if any, in the context. A session whose
// version no longer matches the account's (password reset or change elsewhere)
// is ended.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uid := h.sessions.GetInt64(r.Context(), sessUserID)
		if uid == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := h.auth.User(r.Context(), uid)
		if problem.Is(err, problem.NotFound) || (err == nil && int32(h.sessions.GetInt(r.Context(), sessVersion)) != u.SessionVersion) {
			if err := h.sessions.Destroy(r.Context()); err != nil {
				h.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxUser, u)))
	})
}

func userOf(r *http.Request) (auth.User, bool) {
	u, ok := r.Context().Value(ctxUser).(auth.User)
	return u, ok
}

// requireUser sends visitors who are not signed in to the sign-in page.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := userOf(r); !ok {
			target := "/signin"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			if isHTMX(r) {
				w.Header().Set("HX-Redirect", target)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin allows global admins only (404 for others: the page is not theirs to know of).
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := userOf(r); !u.IsAdmin {
			h.fail(w, r, problem.New(problem.NotFound, "Not found."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// communityAccess loads {cid} and the user's role in it; non-members get 404.
func (h *Handler) communityAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cid, err := pathID(r, "cid")
		if err != nil {
			h.fail(w, r, community.ErrNotFound)
			return
		}
		u, _ := userOf(r)
		m, err := h.comm.Access(r.Context(), u, cid)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxMembership, m)))
	})
}

// requireManager allows community owners and admins only, with a second
// factor when the community requires it.
func (h *Handler) requireManager(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !membershipOf(r).Role.CanManage() {
			h.fail(w, r, community.ErrNotAllowed)
			return
		}
		if !h.requireTwoFactorFor(w, r, membershipOf(r)) { // the community's two-factor rule (twofactor.go)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func membershipOf(r *http.Request) community.Membership {
	m, _ := r.Context().Value(ctxMembership).(community.Membership)
	return m
}

// auditActor is the signed-in user and address, for the audit log.
func auditActor(r *http.Request) audit.Actor {
	u, _ := userOf(r)
	return audit.Actor{UserID: u.ID, Email: u.Email, IP: ipOf(r)}
}

func actorOf(r *http.Request) community.Actor {
	u, _ := userOf(r)
	return community.Actor{User: u, Role: membershipOf(r).Role, IP: ipOf(r)}
}

// metricsGuard serves /metrics only to the configured networks.
func (h *Handler) metricsGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := peerIP(r.RemoteAddr)
		for _, p := range h.cfg.MetricsNetworks {
			if ip.IsValid() && p.Contains(ip) {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	})
}
