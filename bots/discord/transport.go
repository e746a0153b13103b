package discord

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bwmarrin/discordgo"
)

// rewrite points discordgo's REST calls at another API base (a local server
// in tests), leaving the library's global Endpoint* variables alone. The
// gateway URL is chosen per shard (gatewayAnswer).
type rewrite struct {
	api  string // replaces discordgo.EndpointAPI; "" = Discord
	base http.RoundTripper
}

func newRewrite(api, gateway string) (*rewrite, error) {
	if api != "" {
		u, err := url.Parse(api)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("discord: DISCORD_API_URL %q is not an http(s) URL", api)
		}
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
	}
	if gateway != "" {
		u, err := url.Parse(gateway)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, fmt.Errorf("discord: DISCORD_GATEWAY_URL %q is not a ws(s) URL", gateway)
		}
	}
	return &rewrite{api: api, base: http.DefaultTransport}, nil
}

func (t *rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	full := r.URL.String()
	if t.api != "" && strings.HasPrefix(full, discordgo.EndpointAPI) {
		u, err := url.Parse(t.api + strings.TrimPrefix(full, discordgo.EndpointAPI))
		if err != nil {
			return nil, fmt.Errorf("rewrite %s: %w", full, err)
		}
		r = r.Clone(r.Context())
		r.URL, r.Host = u, ""
	}
	return t.base.RoundTrip(r)
}

// discordgo logs through one package-wide function variable. It is set once
// per process, and sends to the logger of the most recently built bot.
var (
	libLogOnce sync.Once
	libLogger  atomic.Pointer[slog.Logger]
)

func routeLibraryLogs(log *slog.Logger) {
	libLogger.Store(log.With("library", "discordgo"))
	libLogOnce.Do(func() {
		discordgo.Logger = func(level, _ int, format string, a ...any) {
			l := libLogger.Load()
			lvl := slog.LevelDebug
			switch level {
			case discordgo.LogError:
				lvl = slog.LevelError
			case discordgo.LogWarning:
				lvl = slog.LevelWarn
			}
			msg := strings.TrimSpace(fmt.Sprintf(format, a...))
			if lvl == slog.LevelError && strings.Contains(msg, "unknown component type") {
				// discordgo v0.29 cannot decode components newer than it
				// (a Label, type 18, in a modal submit); the bot reads those
				// submits from the raw event (modal.go), so this is noise.
				lvl = slog.LevelDebug
			}
			l.Log(context.Background(), lvl, msg)
		}
	})
}
