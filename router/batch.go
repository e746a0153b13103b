package router

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/waddle/waddle/db"
)

// BatchItem is the outcome of one event of a batch.
type BatchItem struct {
	Result Result
	Err    error
}

// HandleBatch handles valid events concurrently (at most slots at once) with
// de-duplication: ids seen in the last 24 hours are answered with their first
// answer, looked up and stored for the whole batch in one query each.
func (r *Router) HandleBatch(ctx context.Context, evs []Event, slots int) []BatchItem {
	out := make([]BatchItem, len(evs))
	cids := make([]int64, len(evs))
	type key struct {
		cid int64
		id  string
	}
	first := map[key]int{}
	var lookCIDs []int64
	var lookIDs []string
	for i, ev := range evs {
		s, err := r.community(ctx, ev.Platform, ev.Server)
		if err != nil {
			out[i].Err = err
			continue
		}
		cids[i] = s.communityID
		k := key{s.communityID, ev.ID}
		if _, dup := first[k]; !dup {
			first[k] = i
			lookCIDs = append(lookCIDs, s.communityID)
			lookIDs = append(lookIDs, ev.ID)
		}
	}
	seen := map[key][]byte{}
	if len(lookIDs) > 0 {
		rows, err := db.New(r.pool).ProcessedEventGetMany(ctx, db.ProcessedEventGetManyParams{CommunityIds: lookCIDs, EventIds: lookIDs})
		if err != nil {
			err = fmt.Errorf("look up events: %w", err)
			for i := range out {
				if out[i].Err == nil {
					out[i].Err = err
				}
			}
			return out
		}
		for _, row := range rows {
			seen[key{row.CommunityID, row.EventID}] = row.Result
		}
	}
	sem := make(chan struct{}, max(slots, 1))
	var wg sync.WaitGroup
	for i, ev := range evs {
		if out[i].Err != nil {
			continue
		}
		k := key{cids[i], ev.ID}
		if raw, ok := seen[k]; ok {
			var res Result
			if err := json.Unmarshal(raw, &res); err != nil {
				out[i].Err = fmt.Errorf("decode stored answer of event %q: %w", ev.ID, err)
				continue
			}
			res.Duplicate = true
			out[i].Result = res
			continue
		}
		if first[k] != i {
			continue // the same id earlier in this batch: answered below
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].Result, out[i].Err = r.Handle(ctx, ev, Options{})
		}()
	}
	wg.Wait()
	// Repeats within the batch get the first one's answer; then store the new answers.
	var saveCIDs []int64
	var saveIDs []string
	var saveResults [][]byte
	for i, ev := range evs {
		k := key{cids[i], ev.ID}
		if out[i].Err != nil || cids[i] == 0 {
			continue
		}
		if _, ok := seen[k]; ok {
			continue
		}
		if f := first[k]; f != i {
			out[i] = out[f]
			out[i].Result.Duplicate = true
			continue
		}
		raw, err := json.Marshal(out[i].Result)
		if err != nil {
			out[i].Err = err
			continue
		}
		saveCIDs, saveIDs, saveResults = append(saveCIDs, k.cid), append(saveIDs, k.id), append(saveResults, raw)
	}
	if len(saveIDs) > 0 {
		if err := db.New(r.pool).ProcessedEventInsertMany(ctx, db.ProcessedEventInsertManyParams{CommunityIds: saveCIDs, EventIds: saveIDs, Results: saveResults}); err != nil {
			err = fmt.Errorf("store events: %w", err)
			for i := range out {
				if out[i].Err == nil && !out[i].Result.Duplicate {
					out[i].Err = err
				}
			}
		}
	}
	return out
}
