package router

import (
	"context"
	"time"
)

// Identities answers which identity (one person across platforms) a
// platform account belongs to. The router asks it for the speaking account
// of every event, so it must answer from memory almost always; the identity
// package implements it with a bounded cache that every link and unlink
// invalidates on every instance.
type Identities interface {
	// IdentityOf returns the identity of the account, recording a new account
	// (with an identity of its own) the first time it is asked about it.
	IdentityOf(ctx context.Context, platform, accountID, name string) (int64, error)
}

// Seen records that an account spoke in a community: its latest name, and
// the community's first and last sight of the person. It must not block:
// the identity package keeps the sightings in memory and writes them in
// batches.
type Seen interface {
	Seen(communityID int64, platform, accountID, name string, at time.Time)
}

// person resolves the event's speaking account to its identity and records
// the sighting. A lookup that fails does not fail the event: the event is
// handled by account, as before identities.
func (h *handling) person(ctx context.Context) {
	u := h.ev.User
	if u.ID == "" || h.dry || len(u.ID) > maxNameLen {
		return
	}
	if h.r.seen != nil {
		at := h.ev.Time
		if at.IsZero() || time.Since(at) > time.Hour || time.Until(at) > time.Minute {
			at = time.Now()
		}
		h.r.seen.Seen(h.s.communityID, h.ev.Platform, u.ID, u.Shown(), at)
	}
	if h.r.identities == nil {
		return
	}
	id, err := h.r.identities.IdentityOf(ctx, h.ev.Platform, u.ID, u.Shown())
	if err != nil {
		h.r.logger.WarnContext(ctx, "identity lookup failed; the event is handled by account", "err", err, "platform", h.ev.Platform)
		return
	}
	h.identity = id
}

// Identity is the identity of the event's speaking account (one person
// across platforms); 0 when the router has no identity lookup or it failed,
// and in a dry run.
func (c *Call) Identity() int64 { return c.h.identity }
