package overlay

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
)

// Feed is what one page receives from a source: every update once, in the
// order of their numbers, whatever order they arrive in. Updates published
// at the same moment on several instances reach Redis, and so each page, out
// of order; a page that reads slowly loses updates from its buffer. Both
// show as a gap in the numbers, and since a source's numbers commit in order
// (see Publish), everything before an update that arrived can be read back
// from PostgreSQL.
type Feed struct {
	svc    *Service
	source int64
	live   <-chan Update
	cancel func()
	last   int64 // every update numbered up to last was handed out, or predates the page
}

// Follow subscribes a page to a source and returns what it missed: the
// updates after last, its Last-Event-ID (0 for a new page, which gets only
// what comes next). A last the source never handed out counts as 0. Read
// Live and pass each update through Order; Close the feed when the page goes.
func (s *Service) Follow(ctx context.Context, sourceID, last int64) (*Feed, []Update, error) {
	// Subscribe first: an update numbered after the head read below is
	// published after the read, so it reaches this subscription.
	live, cancel := s.broker.subscribe(sourceID)
	f := &Feed{svc: s, source: sourceID, live: live, cancel: cancel}
	head, err := db.New(s.pool).OverlaySourceSeq(ctx, sourceID)
	if errors.Is(err, pgx.ErrNoRows) {
		cancel()
		return nil, nil, ErrNotFound
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("overlay source %d: %w", sourceID, err)
	}
	if last <= 0 || last >= head {
		f.last = head
		return f, nil, nil
	}
	f.last = last
	missed, err := f.readUpTo(ctx, head)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return f, missed, nil
}

// Live delivers the source's updates as they arrive, to be passed through
// Order. It closes when the source is revoked or deleted, or the service stops.
func (f *Feed) Live() <-chan Update { return f.live }

// Last is the number of the last update handed out.
func (f *Feed) Last() int64 { return f.last }

// Close ends the subscription; calling it again is harmless.
func (f *Feed) Close() { f.cancel() }

// Order returns what the page is to be sent, in order, for an update that
// arrived on Live: nothing if it was already handed out, else the updates
// before it that have not arrived (read from PostgreSQL) and then it.
func (f *Feed) Order(ctx context.Context, u Update) ([]Update, error) {
	switch {
	case u.ID <= f.last:
		return nil, nil
	case u.ID == f.last+1:
		f.last = u.ID
		return []Update{u}, nil
	}
	out, err := f.readUpTo(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if f.last < u.ID {
		// Not in the table: removed after an hour, or the source deleted since.
		out = append(out, u)
		f.last = u.ID
	}
	return out, nil
}

// readUpTo reads the updates after f.last from PostgreSQL until it has the
// one numbered until (or the table has no more), and moves f.last on.
func (f *Feed) readUpTo(ctx context.Context, until int64) ([]Update, error) {
	var out []Update
	for f.last < until {
		batch, err := f.svc.Since(ctx, f.source, f.last)
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		out = append(out, batch...)
		f.last = batch[len(batch)-1].ID
	}
	return out, nil
}
