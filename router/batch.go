package router

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// BatchItem is the outcome of one event of a batch.
type BatchItem struct {
	Result Result
	Err    error
}

// HandleBatch handles valid events concurrently (at most slots at once) with
// de-duplication, as Handle with Dedup does for one. The ids of the batch are
// claimed in one statement, and the answers of the events without effects
// (most chat commands) are stored in one more. An id repeated within the
// batch is handled once, and its repeats get the same answer.
func (r *Router) HandleBatch(ctx context.Context, evs []Event, slots int) []BatchItem {
	if r.tracer != nil {
		var span trace.Span
		ctx, span = r.tracer.Start(ctx, "router.handle_batch", trace.WithAttributes(attribute.Int("waddle.events", len(evs))))
		defer span.End()
	}
	out := make([]BatchItem, len(evs))
	first := make([]int, len(evs))
	seen := map[claimKey]int{}
	var items []claimItem
	for i, ev := range evs {
		first[i] = -1
		s, err := r.community(ctx, ev.Platform, ev.Server)
		if err != nil {
			r.lookupFailed(err)
			out[i].Err = err
			continue
		}
		k := claimKey{s.communityID, ev.ID}
		if f, dup := seen[k]; dup {
			first[i] = f
			continue
		}
		seen[k] = i
		items = append(items, claimItem{s: s, ev: ev, out: &out[i]})
	}
	r.handleClaimed(ctx, items, slots)
	for i, f := range first {
		if f >= 0 {
			out[i] = out[f]
			out[i].Result.Duplicate = out[f].Err == nil
		}
	}
	return out
}
