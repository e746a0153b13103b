// Package invalidation carries "this changed" news between instances over
// Redis pub/sub, for the per-instance caches (router snapshots, identity
// lookups, label searches) that must not serve what another instance
// changed.
package invalidation

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Follow subscribes to channel and, until ctx ends or the subscription is
// closed, calls drop with each message's payload. It calls dropAll on every
// (re)subscription, the first included: news published while this instance
// was not listening (Redis down, a dropped connection) never reaches it, so
// whatever it cached before may be stale.
func Follow(ctx context.Context, rdb redis.UniversalClient, channel string, dropAll func(), drop func(payload string)) {
	sub := rdb.Subscribe(ctx, channel)
	defer sub.Close()
	ch := sub.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			switch m := msg.(type) {
			case *redis.Subscription:
				dropAll()
			case *redis.Message:
				drop(m.Payload)
			}
		}
	}
}
