package slackbot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/waddle/waddle/router"
)

// User returns the names and badges of a workspace member (workspace
// owners are broadcasters, admins moderators), from users.info, cached for
// ten minutes. Set it as a Worker's Responder.User.
func (b *Bot) User(ctx context.Context, team, user string) (router.User, error) {
	key := team + "/" + user
	if u, ok := b.users.get(key, time.Now()); ok {
		return u, nil
	}
	api, err := b.client(ctx, team)
	if err != nil {
		return router.User{}, err
	}
	info, err := api.GetUserInfoContext(ctx, user)
	if err != nil {
		return router.User{}, fmt.Errorf("slack users.info %s: %w", user, err)
	}
	u := router.User{ID: user, Name: info.Name, DisplayName: info.Profile.DisplayName}
	if u.DisplayName == "" {
		u.DisplayName = info.RealName
	}
	if info.IsOwner || info.IsPrimaryOwner {
		u.Roles = append(u.Roles, router.BadgeBroadcaster)
	}
	if info.IsAdmin {
		u.Roles = append(u.Roles, router.BadgeModerator)
	}
	b.users.put(key, u, time.Now())
	return u, nil
}

// CachedUser returns a member User looked up in the last ten minutes,
// without asking Slack. Set it as a Worker's Responder.CachedUser.
func (b *Bot) CachedUser(team, user string) (router.User, bool) {
	return b.users.get(team+"/"+user, time.Now())
}

// userCache is a bounded map of looked-up users with a time to live.
type userCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]userEntry
}

type userEntry struct {
	user router.User
	at   time.Time
}

func newUserCache(ttl time.Duration, max int) *userCache {
	return &userCache{ttl: ttl, max: max, entries: map[string]userEntry{}}
}

func (c *userCache) get(key string, now time.Time) (router.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) >= c.ttl {
		return router.User{}, false
	}
	return e.user, true
}

// put stores u; when full it drops the expired entries, then, if still
// full, the oldest.
func (c *userCache) put(key string, u router.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		oldest, oldestAt := "", now
		for k, e := range c.entries {
			if now.Sub(e.at) >= c.ttl {
				delete(c.entries, k)
			} else if e.at.Before(oldestAt) {
				oldest, oldestAt = k, e.at
			}
		}
		if len(c.entries) >= c.max {
			delete(c.entries, oldest)
		}
	}
	c.entries[key] = userEntry{user: u, at: now}
}
