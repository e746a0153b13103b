package timers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/router"
)

// Lines counts chat lines per channel and follows streams going live and
// offline, from the router's handled events, in memory; Run writes them
// every few seconds in one statement each. The counts are added to the
// timers' (several instances add theirs), so nothing is lost between
// instances; what was counted since the last flush is lost if the process
// dies, a few seconds of chat at most.
type Lines struct {
	pool   *pgxpool.Pool
	every  time.Duration
	logger *slog.Logger

	mu      sync.Mutex
	counts  map[channelKey]int64
	streams map[streamKey]streamChange
}

// LinesConfig builds Lines.
type LinesConfig struct {
	Pool   *pgxpool.Pool
	Every  time.Duration // how often Run flushes; zero: 3 seconds
	Logger *slog.Logger
}

type channelKey struct {
	communityID               int64
	platform, server, channel string
}

type streamKey struct {
	communityID      int64
	platform, server string
}

type streamChange struct {
	live bool
	at   time.Time
}

// maxKeys bounds the channels (and streams) held between two flushes; lines
// of further channels wait for the next flush's room.
const maxKeys = 100_000

// NewLines returns Lines.
func NewLines(cfg LinesConfig) *Lines {
	if cfg.Every <= 0 {
		cfg.Every = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lines{pool: cfg.Pool, every: cfg.Every, logger: cfg.Logger,
		counts: map[channelKey]int64{}, streams: map[streamKey]streamChange{}}
}

// Observed counts a chat message, or notes a stream going live or offline.
// It only touches memory, so it returns at once (router.Observer).
func (l *Lines) Observed(_ context.Context, h router.Handled) {
	ev := h.Event
	server := ev.Server
	if ev.Platform == router.Twitch {
		server = strings.ToLower(server)
	}
	switch ev.Kind {
	case router.ChatMessage:
		k := channelKey{communityID: h.CommunityID, platform: ev.Platform, server: server, channel: ev.Channel}
		l.mu.Lock()
		if _, ok := l.counts[k]; ok || len(l.counts) < maxKeys {
			l.counts[k]++
		}
		l.mu.Unlock()
	case router.StreamOnline, router.StreamOffline:
		at := ev.Time
		if at.IsZero() {
			at = time.Now()
		}
		k := streamKey{communityID: h.CommunityID, platform: ev.Platform, server: server}
		l.mu.Lock()
		if old, ok := l.streams[k]; (ok && !at.Before(old.at)) || (!ok && len(l.streams) < maxKeys) {
			l.streams[k] = streamChange{live: ev.Kind == router.StreamOnline, at: at}
		}
		l.mu.Unlock()
	}
}

// Run flushes every few seconds until ctx ends, then once more.
func (l *Lines) Run(ctx context.Context) error {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := l.Flush(fctx); err != nil {
				l.logger.WarnContext(fctx, "flush chat lines on stop", "err", err)
			}
			return nil
		case <-t.C:
			if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
				l.logger.WarnContext(ctx, "flush chat lines", "err", err)
			}
		}
	}
}

// Flush writes the lines counted and the stream changes seen since the last
// flush. What cannot be written is kept for the next one.
func (l *Lines) Flush(ctx context.Context) error {
	l.mu.Lock()
	counts, streams := l.counts, l.streams
	l.counts, l.streams = map[channelKey]int64{}, map[streamKey]streamChange{}
	l.mu.Unlock()

	var errs []error
	if len(streams) > 0 {
		var p db.StreamStatusSetParams
		for k, c := range streams {
			p.CommunityIds, p.Platforms, p.Servers = append(p.CommunityIds, k.communityID), append(p.Platforms, k.platform), append(p.Servers, k.server)
			p.Lives, p.ChangedAts = append(p.Lives, c.live), append(p.ChangedAts, c.at)
		}
		if err := db.New(l.pool).StreamStatusSet(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("stream status: %w", err))
			l.mu.Lock()
			for k, c := range streams {
				if now, ok := l.streams[k]; !ok || now.at.Before(c.at) {
					l.streams[k] = c
				}
			}
			l.mu.Unlock()
		}
	}
	if len(counts) > 0 {
		var p db.TimerLinesAddParams
		for k, n := range counts {
			p.CommunityIds, p.Platforms, p.Servers = append(p.CommunityIds, k.communityID), append(p.Platforms, k.platform), append(p.Servers, k.server)
			p.Channels, p.Counts = append(p.Channels, k.channel), append(p.Counts, n)
		}
		if _, err := db.New(l.pool).TimerLinesAdd(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("chat lines: %w", err))
			l.mu.Lock()
			for k, n := range counts {
				l.counts[k] += n
			}
			l.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}
