package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/waddle/waddle/health"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"

	"github.com/waddle/waddle/views"
)

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	notes, err := h.cfg.Health.Ready(r.Context())
	if err != nil {
		h.logger.WarnContext(r.Context(), "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	w.Write([]byte("ready\n" + strings.Join(append(notes, ""), "\n")))
}

func (h *Handler) healthPage(w http.ResponseWriter, r *http.Request) {
	p := views.HealthPage{Chrome: h.chrome(r, "Service health", "health")}
	if b := h.cfg.Health.Breaker; b != nil {
		if st := b.State(); !st.Since.IsZero() {
			p.Redis = &views.RedisNotice{Down: st.Down, Since: st.Since, For: st.DownFor.Round(time.Second).String(),
				ProbeEvery: b.ProbeEvery().String(), Fallbacks: health.RedisFallbacks}
			if st.Down {
				p.Redis.For = time.Since(st.Since).Round(time.Second).String()
			}
		}
	}
	for _, c := range h.cfg.Health.All(r.Context()) {
		p.Checks = append(p.Checks, views.HealthCheck{Name: c.Name, State: c.State, Detail: c.Detail})
	}
	if u, _ := userOf(r); u.IsAdmin { // it names every community's channels
		if c, ok := h.cfg.Health.TwitchTokens(r.Context()); ok {
			p.Checks = append(p.Checks, views.HealthCheck{Name: c.Name, State: c.State, Detail: c.Detail})
		}
	}
	migs, err := h.cfg.Health.Migrations(r.Context())
	if err != nil {
		p.Checks = append(p.Checks, views.HealthCheck{Name: "Schema migrations", State: "down", Detail: "could not be read"})
		h.logger.ErrorContext(r.Context(), "read migrations", "err", err)
	}
	pending := 0
	for _, m := range migs {
		p.Migrations = append(p.Migrations, views.MigrationRow{Source: m.Source, Name: m.Name, Version: m.Version, Applied: m.Applied})
		if !m.Applied {
			pending++
		}
	}
	if err == nil {
		state, detail := "ok", "all applied"
		if pending > 0 {
			state, detail = "down", "pending migrations: run waddle migrate up"
		}
		p.Checks = append(p.Checks, views.HealthCheck{Name: "Schema migrations", State: state, Detail: detail})
	}
	for _, b := range h.cfg.Health.BotChecks(time.Now()) {
		st := b.Status
		row := views.BotRow{Platform: st.Platform, State: st.State, Health: b.State, Detail: b.Detail, Servers: st.Servers, Depth: st.Queue.Depth,
			Sent: st.Queue.Sent, Dropped: st.Queue.Dropped, Failed: st.Queue.Failed, RateLimited: st.Queue.RateLimited}
		if st.State != platform.StateOff {
			row.Since = st.Since
		}
		for _, c := range st.Channels {
			row.Channels = append(row.Channels, views.BotChannel{Name: c.Name, Transport: c.Transport, Note: c.Note})
		}
		p.Bots = append(p.Bots, row)
		if b.Problem {
			p.Problems = append(p.Problems, views.HealthProblem{Name: b.Name, Anchor: "bot-" + st.Platform})
		}
	}
	for _, c := range p.Checks {
		if health.IsProblem(c.State) {
			p.Problems = append(p.Problems, views.HealthProblem{Name: c.Name, Anchor: views.HealthAnchor(c.Name)})
		}
	}
	if u, _ := userOf(r); u.IsAdmin && h.cfg.TwitchOAuth != nil && h.cfg.Tokens != nil {
		p.TwitchBot = &views.TwitchBotAccount{Login: h.cfg.TwitchBotLogin}
		tok, err := h.cfg.Tokens.Get(r.Context(), router.Twitch, platform.BotSubject)
		switch {
		case err == nil:
			p.TwitchBot.Connected = tok.AccountLogin
			p.TwitchBot.NeedsReconnect = tok.NeedsReconnect
		case errors.Is(err, platform.ErrNoToken):
		default:
			h.logger.ErrorContext(r.Context(), "read the twitch bot token", "err", err)
			p.TwitchBot.Error = "The stored bot token cannot be read (was TOKEN_ENCRYPTION_KEY changed?). Connect the account again."
		}
	}
	if l := h.cfg.Health.Leases; l != nil {
		p.Instance = l.Holder()
	}
	if u, _ := userOf(r); u.IsAdmin {
		holders, err := h.cfg.Health.LeaseHolders(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, l := range holders {
			p.Leases = append(p.Leases, views.LeaseRow{Platform: l.Platform, Name: l.Name, Holder: l.Holder,
				Until: l.Expires, Here: l.Holder == p.Instance})
		}
		p.ShowRevoked = true
		revs, err := h.cfg.Health.Revocations(r.Context(), 20)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, rv := range revs {
			p.Revocations = append(p.Revocations, views.RevocationRow{At: rv.At, Platform: rv.Platform,
				Server: rv.Server, Kind: rv.Kind, Reason: rv.Reason})
		}
	}
	h.render(w, r, http.StatusOK, views.Health(p))
}
