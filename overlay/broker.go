package overlay

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// message travels between instances: an update, or word that a source's URL
// was revoked (its pages must disconnect).
type message struct {
	Source  int64   `json:"source"`
	Update  *Update `json:"update,omitempty"`
	Revoked bool    `json:"revoked,omitempty"`
}

// subscriberBuffer is how many updates wait for a page that reads slowly.
// When it is full the oldest waiting update is dropped for the newest: the
// page's Feed sees the gap in the numbers and reads what it missed from
// PostgreSQL, so a burst costs a query, not a reconnect.
const subscriberBuffer = 32

type subscriber struct {
	ch     chan Update
	closed bool
}

// broker fans updates out to the pages connected to this instance. With
// Redis, every publish goes through a Redis channel so that pages on any
// instance receive it; without, delivery is in process.
type broker struct {
	rdb     *redis.Client
	channel string
	logger  *slog.Logger

	mu    sync.Mutex
	subs  map[int64]map[*subscriber]struct{}
	ready chan struct{} // closed once updates from other instances are received
}

func newBroker(rdb *redis.Client, channel string, logger *slog.Logger) *broker {
	return &broker{rdb: rdb, channel: channel, logger: logger, subs: map[int64]map[*subscriber]struct{}{}, ready: make(chan struct{})}
}

func (b *broker) subscribe(source int64) (<-chan Update, func()) {
	s := &subscriber{ch: make(chan Update, subscriberBuffer)}
	b.mu.Lock()
	if b.subs[source] == nil {
		b.subs[source] = map[*subscriber]struct{}{}
	}
	b.subs[source][s] = struct{}{}
	b.mu.Unlock()
	return s.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.remove(source, s)
	}
}

// remove drops a subscriber and closes its channel; b.mu is held.
func (b *broker) remove(source int64, s *subscriber) {
	if set := b.subs[source]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(b.subs, source)
		}
	}
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

func (b *broker) publish(ctx context.Context, source int64, m message) {
	m.Source = source
	if b.rdb != nil {
		raw, _ := json.Marshal(m)
		err := b.rdb.Publish(ctx, b.channel+":"+strconv.FormatInt(source, 10), raw).Err()
		if err == nil {
			return // delivered here too, through the subscription in run
		}
		b.logger.WarnContext(ctx, "redis unreachable: overlay update delivered on this instance only", "err", err)
	}
	b.deliver(m)
}

func (b *broker) deliver(m message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[m.Source] {
		if m.Revoked {
			b.remove(m.Source, s)
			continue
		}
		select {
		case s.ch <- *m.Update:
		default:
			// Full: drop the oldest waiting update. Only the broker sends,
			// under b.mu, so the newest then fits.
			select {
			case <-s.ch:
			default:
			}
			select {
			case s.ch <- *m.Update:
			default:
			}
		}
	}
}

// run receives updates published on any instance, until ctx ends; then it
// ends every page's stream, so a shutdown does not wait on open connections
// (the pages reconnect to another instance and replay what they missed).
func (b *broker) run(ctx context.Context) error {
	defer b.closeAll()
	if b.rdb == nil {
		close(b.ready)
		<-ctx.Done()
		return nil
	}
	ps := b.rdb.PSubscribe(ctx, b.channel+":*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil && ctx.Err() == nil {
		b.logger.WarnContext(ctx, "redis unreachable: overlay updates from other instances will not arrive", "err", err)
	}
	close(b.ready)
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-ch:
			if !ok {
				return nil
			}
			var m message
			if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil || !strings.HasPrefix(msg.Channel, b.channel+":") {
				continue
			}
			if m.Update == nil && !m.Revoked {
				continue
			}
			b.deliver(m)
		}
	}
}

func (b *broker) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for source, set := range b.subs {
		for s := range set {
			b.remove(source, s)
		}
	}
}
