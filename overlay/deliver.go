package overlay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/runes"
)

// Ready is closed once the service receives updates published on other instances.
func (s *Service) Ready() <-chan struct{} { return s.broker.ready }

// sourceCache keeps each community's sources by kind for a few seconds, so
// chat traffic does not query them per message.
type sourceCache struct {
	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	community int64
	kind      string
}

type cacheEntry struct {
	sources []Source
	at      time.Time
}

const sourceCacheTTL = 5 * time.Second

// forget drops a community's cached sources after a change on this instance;
// other instances see it within sourceCacheTTL.
func (c *sourceCache) forget(communityID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if k.community == communityID {
			delete(c.entries, k)
		}
	}
}

func (s *Service) sourcesOf(ctx context.Context, communityID int64, kind string) ([]Source, error) {
	k := cacheKey{communityID, kind}
	s.cache.mu.Lock()
	e, ok := s.cache.entries[k]
	s.cache.mu.Unlock()
	if ok && time.Since(e.at) < sourceCacheTTL {
		return e.sources, nil
	}
	rows, err := db.New(s.pool).OverlaySourceListByKind(ctx, db.OverlaySourceListByKindParams{CommunityID: communityID, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("list overlay sources: %w", err)
	}
	list := make([]Source, 0, len(rows))
	for _, r := range rows {
		list = append(list, toSource(r))
	}
	s.cache.mu.Lock()
	if s.cache.entries == nil || len(s.cache.entries) > 10000 {
		s.cache.entries = map[cacheKey]cacheEntry{}
	}
	s.cache.entries[k] = cacheEntry{sources: list, at: time.Now()}
	s.cache.mu.Unlock()
	return list, nil
}

// Deliver turns an overlay update from the router (an alert for a platform
// event, a shout-out, a chat line, a text change) into updates of the
// community's sources of the matching kind.
func (s *Service) Deliver(ctx context.Context, communityID int64, kind string, data map[string]any) error {
	// Texts are cut to what an update may carry: a long chat line must not fail its event.
	str := func(k string) string {
		v, _ := data[k].(string)
		if k == "html" {
			return v
		}
		return runes.Truncate(v, 500, "")
	}
	num := func(k string) int64 {
		switch v := data[k].(type) {
		case float64:
			return int64(v)
		case int64:
			return v
		case int:
			return int64(v)
		}
		return 0
	}
	var target string
	var build func(Source) Update
	switch kind {
	case "alert", "shoutout":
		target = Alerts
		event := str("event")
		if kind == "shoutout" {
			event = "shoutout"
		}
		build = func(src Source) Update {
			style, ok := src.Settings.Alerts[event]
			if !ok {
				style = DefaultAlerts[event]
			}
			if style.Template == "" {
				style.Template = "{user}"
			}
			msg := runes.Truncate(strings.NewReplacer("{user}", str("user"), "{amount}", fmt.Sprint(num("amount"))).Replace(style.Template), 500, "")
			return Update{Type: "alert", Message: msg, User: str("user"), Image: style.Image, Sound: style.Sound, Seconds: max(style.Seconds, 1),
				Preset: src.Settings.PresetOf(), Volume: src.Settings.VolumeOf()}
		}
	case "chat":
		target = Chat
		build = func(Source) Update { return Update{Type: "chat", User: str("user"), Message: str("message")} }
	case "text":
		target = Text
		build = func(Source) Update { return Update{Type: "text", HTML: str("html")} }
	case "ticker":
		target = Ticker
		build = func(Source) Update { return Update{Type: "ticker", Message: str("message")} }
	case "leaderboard":
		return s.refreshLeaderboards(ctx, communityID)
	default:
		return nil
	}
	sources, err := s.sourcesOf(ctx, communityID, target)
	if err != nil {
		return err
	}
	for _, src := range sources {
		u, err := s.Clean(build(src))
		if err != nil {
			return err
		}
		if _, err := s.Publish(ctx, src.ID, u); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // deleted since the list was cached
			}
			return err
		}
	}
	return nil
}

// refreshLeaderboards sends the current top N to each leaderboard source,
// after points changed.
func (s *Service) refreshLeaderboards(ctx context.Context, communityID int64) error {
	sources, err := s.sourcesOf(ctx, communityID, Leaderboard)
	if err != nil || len(sources) == 0 {
		return err
	}
	for _, src := range sources {
		u, _, err := s.Current(ctx, src)
		if err != nil {
			return err
		}
		if _, err := s.Publish(ctx, src.ID, u); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}
