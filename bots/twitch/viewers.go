package twitch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// Viewer tracking (router/watch.go): for each channel this instance holds
// the lease of, whose community has viewer tracking on, once per period of
// the community's setting while the stream is live (Helix Get Streams), the
// viewers in chat (Helix Get Chatters, paged) earn the period's points and
// watch time, written by the router in one transaction that also records
// the period, so no period is awarded twice.

// ChattersScope is the scope Get Chatters needs, granted by the bot account
// where it moderates, or else by the broadcaster.
const ChattersScope = "moderator:read:chatters"

// chattersPerPage is the most Get Chatters answers at once.
const chattersPerPage = 1000

// maxChatterPages bounds one look at a chat: 100,000 viewers.
const maxChatterPages = 100

// warnEvery is how often the same viewer tracking problem of a channel is logged.
const warnEvery = time.Hour

// viewerTracker is the state of the bot's viewersLoop.
type viewerTracker struct {
	b      *Bot
	done   map[string]time.Time // channel → end of the last period awarded there
	warned map[string]time.Time // channel + problem → when it was last logged
}

func newViewerTracker(b *Bot) *viewerTracker {
	return &viewerTracker{b: b, done: map[string]time.Time{}, warned: map[string]time.Time{}}
}

// viewersLoop looks at the held channels every ViewersEvery, and at once
// when this instance gains a channel (as after a restart or a lease hand-over),
// until ctx ends. A negative ViewersEvery turns it off.
func (b *Bot) viewersLoop(ctx context.Context) {
	if b.cfg.ViewersEvery < 0 {
		return
	}
	vt := newViewerTracker(b)
	t := time.NewTicker(b.cfg.SyncEvery)
	defer t.Stop()
	seen := map[string]bool{}
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		gained := false
		b.mu.Lock()
		for ch := range b.holdSet {
			gained = gained || !seen[ch]
		}
		seen = maps.Clone(b.holdSet)
		b.mu.Unlock()
		if gained || time.Since(last) >= b.cfg.ViewersEvery {
			last = time.Now()
			vt.tick(ctx, last)
		}
	}
}

// tick awards the period now falls in, in each held channel that tracks
// viewers and is live, unless that period was awarded already.
func (vt *viewerTracker) tick(ctx context.Context, now time.Time) {
	b := vt.b
	b.mu.Lock()
	held := slices.Clone(b.held)
	b.mu.Unlock()
	for ch := range vt.done {
		if !slices.Contains(held, ch) {
			delete(vt.done, ch) // another instance serves it now; the database refuses a second award
		}
	}
	if len(held) == 0 {
		return
	}
	chans, err := b.cfg.Router.WatchChannels(ctx, Platform, held)
	if err != nil {
		if ctx.Err() == nil {
			b.log.WarnContext(ctx, "viewer tracking: cannot read which channels track viewers", "err", err)
		}
		return
	}
	var due []router.WatchChannel
	for _, c := range chans {
		if _, end := router.WatchPeriod(now, c.Every); vt.done[c.Server].Before(end) {
			due = append(due, c)
		}
	}
	if len(due) == 0 {
		return
	}
	live, err := b.liveChannels(ctx, due)
	if err != nil {
		if ctx.Err() == nil {
			b.log.WarnContext(ctx, "viewer tracking: cannot tell which channels are live", "err", err)
		}
		return
	}
	for _, c := range due {
		if ctx.Err() != nil {
			return
		}
		if !live[c.Server] {
			continue
		}
		if err := vt.award(ctx, c, now); err != nil && ctx.Err() == nil {
			vt.warn(ctx, c.Server, err, now)
		}
	}
}

// award hands the channel's chatters for now's period to the router.
func (vt *viewerTracker) award(ctx context.Context, c router.WatchChannel, now time.Time) error {
	b := vt.b
	start, end := router.WatchPeriod(now, c.Every)
	viewers, err := b.chatters(ctx, c.Server)
	if err != nil {
		return err
	}
	award, err := b.cfg.Router.AwardWatch(ctx, router.WatchTick{
		CommunityID: c.CommunityID, Platform: Platform, Server: c.Server,
		Lease: leasePrefix + c.Server, Holder: b.cfg.Leases.Holder(),
		Start: start, Every: c.Every, Viewers: viewers,
	})
	if err != nil {
		return err
	}
	vt.done[c.Server] = end
	if award.Awarded {
		b.log.InfoContext(ctx, "viewer tracking: awarded watch time", "channel", c.Server, "viewers", award.Viewers,
			"points", award.Points, "period", start)
	} else {
		b.log.InfoContext(ctx, "viewer tracking: the period was awarded already", "channel", c.Server, "period", start)
	}
	return nil
}

// warn logs a channel's problem, the same one at most once per warnEvery.
func (vt *viewerTracker) warn(ctx context.Context, channel string, err error, now time.Time) {
	key := channel + "\x00" + err.Error()
	if t, ok := vt.warned[key]; ok && now.Sub(t) < warnEvery {
		return
	}
	if len(vt.warned) > 10_000 {
		clear(vt.warned)
	}
	vt.warned[key] = now
	vt.b.log.WarnContext(ctx, "viewer tracking: no watch time awarded", "channel", channel, "err", err)
}

// liveChannels returns which of the channels stream now, asking Get Streams
// about up to 100 at a time.
func (b *Bot) liveChannels(ctx context.Context, chans []router.WatchChannel) (map[string]bool, error) {
	byID := map[string]string{}
	var ids []string
	for _, c := range chans {
		id, err := b.broadcasterID(ctx, c.Server)
		if err != nil {
			b.log.WarnContext(ctx, "viewer tracking: cannot look up the channel", "channel", c.Server, "err", err)
			continue
		}
		byID[id] = c.Server
		ids = append(ids, id)
	}
	live := map[string]bool{}
	for batch := range slices.Chunk(ids, 100) {
		var out struct {
			Data []struct {
				UserID string `json:"user_id"`
				Type   string `json:"type"`
			} `json:"data"`
		}
		q := url.Values{"user_id": batch, "type": {"live"}, "first": {"100"}}
		if err := b.helix.call(ctx, http.MethodGet, "/streams", q, nil, "", &out); err != nil {
			return nil, fmt.Errorf("get streams: %w", err)
		}
		for _, s := range out.Data {
			if ch, ok := byID[s.UserID]; ok && s.Type == "live" {
				live[ch] = true
			}
		}
	}
	return live, nil
}

// errNoChattersScope says which grant viewer tracking lacks.
var errNoChattersScope = errors.New("the token that reads the chatters lacks the " + ChattersScope +
	" scope: connect the channel again on the linked servers page (or the bot account, where it is a moderator)")

// chatters returns the users in channel's chat but the bot, read with the
// token of the bot where it moderates, else of the broadcaster.
func (b *Bot) chatters(ctx context.Context, channel string) ([]router.User, error) {
	casterID, err := b.broadcasterID(ctx, channel)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	via := b.transportOf(channel)
	b.mu.Unlock()
	subject, modID, err := b.moderator(ctx, channel, via)
	if err != nil {
		return nil, err
	}
	users, err := b.chattersAs(ctx, casterID, subject, modID)
	var he *HelixError
	if subject == platform.BotSubject && (errors.Is(err, errNoChattersScope) || errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden)) {
		// The bot's grant may predate the scope: the broadcaster's own may do.
		if tok, terr := b.cfg.Tokens.Get(ctx, Platform, channel); terr == nil && tok.AccountID != "" {
			users, err = b.chattersAs(ctx, casterID, channel, tok.AccountID)
		}
	}
	if errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden) {
		return nil, fmt.Errorf("twitch refused the chatters list (%w): the account needs the %s scope and must moderate the channel; connect the channel again on the linked servers page", err, ChattersScope)
	}
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	botID, login := b.botID, b.login
	b.mu.Unlock()
	return slices.DeleteFunc(users, func(u router.User) bool { return (botID != "" && u.ID == botID) || (login != "" && u.Name == login) }), nil
}

// chattersAs reads every page of Get Chatters with subject's token, whose
// user is moderatorID.
func (b *Bot) chattersAs(ctx context.Context, casterID, subject, moderatorID string) ([]router.User, error) {
	if tok, err := b.cfg.Tokens.Get(ctx, Platform, subject); err == nil && len(tok.Scopes) > 0 && !slices.Contains(tok.Scopes, ChattersScope) {
		return nil, errNoChattersScope // known without asking; a 401 would cost a refresh each time
	}
	q := url.Values{"broadcaster_id": {casterID}, "moderator_id": {moderatorID}, "first": {strconv.Itoa(chattersPerPage)}}
	var users []router.User
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxChatterPages {
			b.log.WarnContext(ctx, "viewer tracking: the chat has more viewers than one look reads", "broadcaster_id", casterID, "read", len(users))
			break
		}
		var out struct {
			Data []struct {
				UserID    string `json:"user_id"`
				UserLogin string `json:"user_login"`
				UserName  string `json:"user_name"`
			} `json:"data"`
			Pagination struct {
				Cursor string `json:"cursor"`
			} `json:"pagination"`
		}
		if err := b.helix.call(ctx, http.MethodGet, "/chat/chatters", q, nil, subject, &out); err != nil {
			return nil, fmt.Errorf("get chatters: %w", err)
		}
		if users == nil {
			users = make([]router.User, 0, len(out.Data))
		}
		for _, c := range out.Data {
			if !validUserID(c.UserID) || !validLogin(c.UserLogin) || seen[c.UserID] {
				continue // the list moves while it is read: a user may be on two pages
			}
			seen[c.UserID] = true
			users = append(users, router.User{ID: c.UserID, Name: c.UserLogin, DisplayName: clean(c.UserName, 100)})
		}
		if out.Pagination.Cursor == "" || len(out.Data) == 0 {
			break
		}
		q.Set("after", out.Pagination.Cursor)
	}
	return users, nil
}

// validUserID accepts a Twitch user id: digits.
func validUserID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
