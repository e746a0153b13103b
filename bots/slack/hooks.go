package slackbot

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Slack's rules for a response URL: it takes five posts within thirty
// minutes of the command or click that issued it.
const (
	responseURLPosts = 5
	responseURLLife  = 30*time.Minute - time.Minute // a minute to spare for clocks and transit
)

// responseURLs counts, per response URL, the posts made to it on this
// instance, so that the bot uses each within Slack's limits and answers
// through the Web API after. URLs are kept only as hashes: a response URL
// lets whoever holds it post into the channel.
type responseURLs struct {
	max int

	mu sync.Mutex
	m  map[[32]byte]*responseURL
}

type responseURL struct {
	since time.Time // when it was issued, or first used
	posts int
	dead  bool // Slack answered that it expired or was used up
}

func newResponseURLs(max int) *responseURLs {
	return &responseURLs{max: max, m: map[[32]byte]*responseURL{}}
}

// take counts one post to raw, issued at issued (zero: unknown, counted from
// its first use), and reports whether it may be made: false once raw had
// its five posts, is thirty minutes old, or Slack refused it.
func (r *responseURLs) take(raw string, issued, now time.Time) bool {
	if !issued.IsZero() && now.Sub(issued) >= responseURLLife {
		return false
	}
	k := sha256.Sum256([]byte(raw))
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.m[k]
	if u == nil {
		if len(r.m) >= r.max {
			r.sweep(now)
		}
		u = &responseURL{since: now}
		if !issued.IsZero() {
			u.since = issued
		}
		r.m[k] = u
	}
	if u.dead || u.posts >= responseURLPosts || now.Sub(u.since) >= responseURLLife {
		return false
	}
	u.posts++
	return true
}

// kill records that Slack refused raw as expired or used up (by another
// instance, or after a restart): no further post is tried.
func (r *responseURLs) kill(raw string) {
	k := sha256.Sum256([]byte(raw))
	r.mu.Lock()
	defer r.mu.Unlock()
	if u := r.m[k]; u != nil {
		u.dead = true
	}
}

// sweep forgets the URLs past their life, then, if still full, all: a
// forgotten URL is refused by Slack at worst, and then answered through
// the Web API. r.mu is held.
func (r *responseURLs) sweep(now time.Time) {
	for k, u := range r.m {
		if now.Sub(u.since) >= responseURLLife {
			delete(r.m, k)
		}
	}
	if len(r.m) >= r.max {
		clear(r.m)
	}
}

// deadURL reports whether err is Slack's answer to a post to a response URL
// that can take no more: 404 (expired_url, used_url) or 410.
func deadURL(err error) bool {
	var sc slack.StatusCodeError
	return errors.As(err, &sc) && (sc.Code == http.StatusNotFound || sc.Code == http.StatusGone)
}
