package workflow

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// BrowserSource is action_browser_source's configuration.
type BrowserSource struct {
	Source string            `json:"source"` // the overlay source's id or name
	Kind   string            `json:"kind"`   // the update: alert, ticker, text, media, chat or leaderboard
	Data   map[string]string `json:"data,omitempty"`
}

// Limits of action_browser_source.
const (
	MaxBrowserSourceKeys = 20
)

// updateKinds are the updates a browser source shows.
var updateKinds = []string{"alert", "ticker", "text", "media", "chat", "leaderboard"}

// updateFields are the data keys an update takes.
var updateFields = map[string]bool{"message": true, "user": true, "html": true, "image": true, "sound": true, "video": true,
	"seconds": true, "preset": true, "volume": true, "event": true, "amount": true}

// Check names the field at fault.
func (cfg *BrowserSource) Check(c *Checker) {
	if strings.TrimSpace(cfg.Source) == "" || len(cfg.Source) > 100 {
		c.Errorf("source", "Choose the browser source (its id or name, at most 100 characters).")
	}
	known := false
	for _, k := range updateKinds {
		known = known || k == cfg.Kind
	}
	if !known {
		c.Errorf("kind", "Choose the update: %s.", strings.Join(updateKinds, ", "))
	}
	if len(cfg.Data) > MaxBrowserSourceKeys {
		c.Errorf("data", "At most %d fields.", MaxBrowserSourceKeys)
		return
	}
	keys := make([]string, 0, len(cfg.Data))
	for k := range cfg.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !updateFields[k] {
			c.Errorf("data."+k, "Unknown field %q: an update takes message, user, html, image, sound, video, seconds, preset, volume, event and amount.", k)
			continue
		}
		limit := 2000
		if k == "html" {
			limit = 10000
		}
		c.Template("data."+k, cfg.Data[k], limit)
	}
}

func init() {
	register(&Kind{
		Type:     "action_browser_source",
		Category: CategoryAction,
		Title:    "Browser source",
		Summary:  "Shows an update (an alert, ticker text, HTML, media) on one of the community's overlays.",
		New:      func() Config { return &BrowserSource{Kind: "alert"} },
		Effect:   true,
		Run:      runBrowserSource,
	})
}

func runBrowserSource(ctx context.Context, x *Exec, c Config) (Result, error) {
	cfg := c.(*BrowserSource)
	data := make(map[string]any, len(cfg.Data))
	for k, v := range cfg.Data {
		data[k] = x.Render(v)
	}
	out := map[string]any{"source": cfg.Source, "kind": cfg.Kind, "data": data, "sent": !x.Run.DryRun}
	if x.Run.DryRun {
		out["change"] = fmt.Sprintf("would show a %s update on browser source %q", cfg.Kind, cfg.Source)
		return Result{Output: out}, nil
	}
	if x.Env.Overlays == nil {
		return Result{}, fmt.Errorf("source: browser sources are not available on this server")
	}
	if err := x.Env.Overlays.SendUpdate(ctx, x.Run.CommunityID, cfg.Source, cfg.Kind, data); err != nil {
		return Result{}, fmt.Errorf("browser source %q: %w", cfg.Source, err)
	}
	return Result{Output: out}, nil
}
