package identity

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/waddle/waddle/db"
)

// seenBuffer holds the sightings not written yet, one per account and
// community: the router records them without waiting, and Run writes them
// in batches.
type seenBuffer struct {
	mu      sync.Mutex
	m       map[seenKey]sighting
	dropped uint64 // sightings refused while the buffer was full
	full    chan struct{}
}

type seenKey struct {
	community         int64
	platform, account string
}

type sighting struct {
	name        string
	first, last time.Time
}

// Bounds of the sightings buffer and of one write.
const (
	maxSeenBuffered = 200_000
	seenBatch       = 1000
)

func newSeenBuffer() *seenBuffer {
	return &seenBuffer{m: map[seenKey]sighting{}, full: make(chan struct{}, 1)}
}

// Seen records that an account spoke in a community at at, for the next
// write; it never blocks on the database. It implements router.Seen.
func (s *Service) Seen(communityID int64, platform, accountID, name string, at time.Time) {
	b := s.seen
	k := seenKey{communityID, platform, accountID}
	b.mu.Lock()
	defer b.mu.Unlock()
	sg, ok := b.m[k]
	if !ok {
		if len(b.m) >= maxSeenBuffered {
			b.dropped++
			return
		}
		sg = sighting{first: at, last: at}
	}
	if at.Before(sg.first) {
		sg.first = at
	}
	if !at.Before(sg.last) {
		sg.last = at
		if name != "" {
			sg.name = name
		}
	}
	if sg.name == "" {
		sg.name = name
	}
	b.m[k] = sg
	if len(b.m) >= maxSeenBuffered/2 {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
}

// take empties the buffer and returns what it held.
func (b *seenBuffer) take() map[seenKey]sighting {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.m
	b.m = map[seenKey]sighting{}
	return m
}

// putBack returns sightings a failed write could not store, so that the next
// write tries them again (merged with newer ones).
func (b *seenBuffer) putBack(m map[seenKey]sighting) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, old := range m {
		cur, ok := b.m[k]
		if !ok {
			if len(b.m) >= maxSeenBuffered {
				b.dropped++
				continue
			}
			b.m[k] = old
			continue
		}
		if old.first.Before(cur.first) {
			cur.first = old.first
		}
		b.m[k] = cur
	}
}

// flushLoop writes sightings every flushEvery, and at once when the buffer
// fills up, until ctx ends; then it writes what is left.
func (s *Service) flushLoop(ctx context.Context) {
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.FlushSeen(final); err != nil {
				s.logger.WarnContext(final, "shutdown: sightings not written", "err", err)
			}
			return
		case <-t.C:
		case <-s.seen.full:
		}
		if err := s.FlushSeen(ctx); err != nil {
			s.logger.WarnContext(ctx, "sightings not written; trying again", "err", err)
		}
	}
}

// FlushSeen writes the sightings recorded so far: each account's name, and
// each community's first and last sight of the person.
func (s *Service) FlushSeen(ctx context.Context) error {
	m := s.seen.take()
	if len(m) == 0 {
		return nil
	}
	keys := make([]seenKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b seenKey) int {
		return cmp.Or(cmp.Compare(a.platform, b.platform), cmp.Compare(a.account, b.account), cmp.Compare(a.community, b.community))
	})
	q := db.New(s.pool)
	for start := 0; start < len(keys); start += seenBatch {
		part := keys[start:min(start+seenBatch, len(keys))]
		p := db.IdentitySeenFlushParams{}
		for _, k := range part {
			sg := m[k]
			p.CommunityIds = append(p.CommunityIds, k.community)
			p.Platforms = append(p.Platforms, k.platform)
			p.AccountIds = append(p.AccountIds, k.account)
			p.UserNames = append(p.UserNames, sg.name)
			p.Firsts = append(p.Firsts, sg.first)
			p.Lasts = append(p.Lasts, sg.last)
		}
		if err := q.IdentitySeenFlush(ctx, p); err != nil {
			rest := map[seenKey]sighting{}
			for _, k := range keys[start:] {
				rest[k] = m[k]
			}
			s.seen.putBack(rest)
			return err
		}
		s.told(ctx, part, m)
	}
	return nil
}

// told tells OnSeen of the accounts of a written batch; a failure is
// logged (the next sighting of the account tells it again).
func (s *Service) told(ctx context.Context, keys []seenKey, m map[seenKey]sighting) {
	if s.onSeen == nil {
		return
	}
	out := make([]Sighting, len(keys))
	for i, k := range keys {
		out[i] = Sighting{CommunityID: k.community, Platform: k.platform, AccountID: k.account, Name: m[k].name}
	}
	if err := s.onSeen(ctx, out); err != nil {
		s.logger.WarnContext(ctx, "sightings not passed on", "err", err)
	}
}
