package router

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// DefaultPoints are the points each event earns unless a community changes
// them, keyed "platform.kind". Cheers earn per 100 bits, voice time per minute.
var DefaultPoints = map[string]int64{
	"twitch.follow": 10, "twitch.subscribe": 50, "twitch.cheer": 1, "twitch.raid": 30, "twitch.gift_subscription": 60, "twitch.ban": -10,
	"twitch.chat_message":  5,
	"discord.chat_message": 5, "discord.reaction": 2, "discord.member_join": 10, "discord.voice_join": 8, "discord.voice_minute": 1, "discord.boost": 100,
	"slack.chat_message": 5, "slack.file_share": 15, "slack.reaction": 3, "slack.member_join": 10, "slack.app_mention": 8,
}

// chatPointsEvery is how often repeated chat messages earn points.
const chatPointsEvery = time.Minute

// pointsFor is what the event earns in this community, and why.
func (h *handling) pointsFor() (int64, string) {
	key := h.ev.Platform + "." + string(h.ev.Kind)
	per, ok := h.s.points[key]
	if !ok {
		per = DefaultPoints[key]
	}
	switch {
	case h.ev.Platform == Twitch && h.ev.Kind == Cheer:
		return per * (h.ev.dataInt("bits") / 100), fmt.Sprintf("cheer of %d bits", h.ev.dataInt("bits"))
	case h.ev.Platform == Discord && h.ev.Kind == VoiceLeave:
		key = "discord.voice_minute"
		if v, ok := h.s.points[key]; ok {
			per = v
		} else {
			per = DefaultPoints[key]
		}
		return per * h.ev.dataInt("minutes"), fmt.Sprintf("%d minutes in voice", h.ev.dataInt("minutes"))
	}
	return per, string(h.ev.Kind)
}

// MaxBalance bounds a points balance either way: 2^53 − 1, the largest
// integer JavaScript (overlays, API clients) reads exactly. A change that
// would leave the range is refused, never wrapped.
const MaxBalance = 1<<53 - 1

// ErrBalanceLimit refuses a points change that would take a balance past MaxBalance.
var ErrBalanceLimit = problem.New(problem.Conflict, "that would take the balance past %d points; nothing was changed.", int64(MaxBalance))

// award gives the event's points to its user.
func (h *handling) award(ctx context.Context) error {
	delta, reason := h.pointsFor()
	if delta == 0 {
		return nil
	}
	if h.ev.Kind == ChatMessage && !h.dry {
		// One person earns chat points once a minute, whichever of their
		// linked accounts speaks; an account whose identity is unknown
		// counts alone.
		key := "pts:msg:" + strconv.FormatInt(h.s.communityID, 10) + ":" + h.ev.Platform + ":" + h.ev.User.ID
		if h.identity != 0 {
			key = "pts:msg:" + strconv.FormatInt(h.s.communityID, 10) + ":i:" + strconv.FormatInt(h.identity, 10)
		}
		// This instance remembers whom it paid in the last minute, so a chatty
		// user costs no round trip; Redis settles it across instances.
		if h.r.paid.recently(key, time.Now()) || !h.r.limiter.Take(ctx, key, 1, chatPointsEvery).Allowed {
			return nil
		}
		h.r.paid.mark(key, time.Now())
		h.paidKey = key
	}
	if h.dry {
		bal, err := balance(ctx, h.read(), h.s.communityID, h.ev.Platform, h.ev.User.ID)
		if err != nil {
			return err
		}
		pc := PointsChange{User: h.ev.User.Shown(), Delta: delta, Reason: reason, Balance: bal + delta}
		h.addPoints(pc)
		h.changed("%s", pc.Change())
		return nil
	}
	if h.claimed && h.tx == nil {
		// The event has no other effect: its batch writes the award with the
		// answers, in one statement for all its events (claim.go).
		h.earned = &PointsChange{User: h.ev.User.Shown(), Delta: delta, Reason: reason}
		return nil
	}
	q, err := h.writer(ctx)
	if err != nil {
		return err
	}
	bal, err := addPoints(ctx, q, h.s.communityID, h.ev.Platform, h.ev.User.ID, h.ev.User.Shown(), delta, reason)
	if err != nil && !errors.Is(err, ErrBalanceLimit) {
		return err
	}
	h.awarded(PointsChange{User: h.ev.User.Shown(), Delta: delta, Reason: reason, Balance: bal}, err == nil)
	return nil
}

// awarded puts the event's award in its answer, or, when the balance is at
// its limit, that none was made.
func (h *handling) awarded(pc PointsChange, ok bool) {
	if !ok {
		h.changed("points of %s not changed (%s): %s", pc.User, pc.Reason, ErrBalanceLimit.Message)
		if h.res.HandledBy == "" {
			h.res.HandledBy = "points (not awarded: the balance is at its limit)"
		}
		return
	}
	if h.res.HandledBy == "" {
		h.res.HandledBy = "points"
	}
	h.addPoints(pc)
	h.changed("%s", pc.Change())
}

// addPoints changes a balance and records it in the ledger.
func addPoints(ctx context.Context, q *db.Queries, communityID int64, platform, userID, userName string, delta int64, reason string) (int64, error) {
	bal, err := q.PointsAdd(ctx, db.PointsAddParams{CommunityID: communityID, Platform: platform, UserID: userID, UserName: userName, Delta: delta, Reason: reason})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrBalanceLimit
	}
	if err != nil {
		return 0, fmt.Errorf("add %d points: %w", delta, err)
	}
	return bal, nil
}

// balance is a user's points (0 when they have none yet).
func balance(ctx context.Context, q *db.Queries, communityID int64, platform, userID string) (int64, error) {
	n, err := q.PointsBalanceGet(ctx, db.PointsBalanceGetParams{CommunityID: communityID, Platform: platform, UserID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return n, nil
}

// Standing is one leaderboard line.
type Standing struct {
	Platform string
	UserID   string
	Name     string
	Points   int64
	Watched  time.Duration // time seen watching (viewer tracking); set when ranking by it
}

func leaderboard(ctx context.Context, q *db.Queries, communityID int64, n int) ([]Standing, error) {
	rows, err := q.PointsLeaderboard(ctx, db.PointsLeaderboardParams{CommunityID: communityID, Limit: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	out := make([]Standing, 0, len(rows))
	for _, r := range rows {
		out = append(out, Standing{Platform: r.Platform, UserID: r.UserID, Name: r.UserName, Points: r.Balance})
	}
	return out, nil
}

// paidSet remembers chat points paid in the last chatPointsEvery.
type paidSet struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (p *paidSet) recently(key string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.seen[key]
	return ok && now.Sub(t) < chatPointsEvery
}

func (p *paidSet) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.seen, key)
}

func (p *paidSet) mark(key string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]time.Time{}
	}
	if len(p.seen) > 200_000 {
		for k, t := range p.seen {
			if now.Sub(t) >= chatPointsEvery {
				delete(p.seen, k)
			}
		}
	}
	p.seen[key] = now
}
