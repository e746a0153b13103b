package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bwmarrin/discordgo"
)

// rewrite points discordgo's REST calls at another API base (a local server
// in tests) and answers its gateway lookup with a preset URL, leaving the
// library's global Endpoint* variables alone.
type rewrite struct {
	api     string // replaces discordgo.EndpointAPI; "" = Discord
	gateway string // "" = ask the API
	shards  int
	base    http.RoundTripper
}

func newRewrite(api, gateway string, shards int) (*rewrite, error) {
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
	return &rewrite{api: api, gateway: gateway, shards: shards, base: http.DefaultTransport}, nil
}

func (t *rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	full := r.URL.String()
	if t.gateway != "" && r.Method == http.MethodGet && (full == discordgo.EndpointGateway || full == discordgo.EndpointGatewayBot) {
		body, _ := json.Marshal(map[string]any{"url": t.gateway, "shards": t.shards})
		return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Request: r}, nil
	}
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
			l.Log(context.Background(), lvl, strings.TrimSpace(fmt.Sprintf(format, a...)))
		}
	})
}
