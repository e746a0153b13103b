package router

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// De-duplication: each accepted event id (per community) is processed once,
// whether its deliveries come one after another, at the same moment to two
// instances, or again after a crash.
//
// Before an event is handled, its instance claims the id: it inserts the
// id's row in processed_events with no answer and its own instance id. A
// delivery that finds a row with an answer returns that answer; one that
// finds a claim waits until the answer is stored, polling (or, on the same
// instance, waiting in memory). The transaction of the event's effects
// stores the answer (effects.go); the events of a batch (Handle's event is a
// batch of one) whose only effect is the points they earn have their awards
// and answers written together, in one transaction of two statements. A
// failed event gives its claim up. A running instance holds a session advisory lock of its id on a
// connection of its own; PostgreSQL drops it when the process dies, and a
// retry then takes the dead instance's claims over. No connection is held
// while events run.

// claimKey is an event id within its community.
type claimKey struct {
	cid int64
	id  string
}

// claimItem is one event to handle with de-duplication, and where its outcome goes.
type claimItem struct {
	s   *snapshot
	ev  Event
	out *BatchItem
}

func (it claimItem) key() claimKey { return claimKey{it.s.communityID, it.ev.ID} }

// claimWait bounds how long a delivery waits for another's answer.
const claimWait = 30 * time.Second

// ErrStillHandling answers a delivery whose id another delivery has been
// handling for longer than claimWait.
var ErrStillHandling = problem.New(problem.Conflict, "This event is still being handled; send it again in a moment.")

// newOwner is a random positive instance id.
func newOwner() int64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := int64(binary.BigEndian.Uint64(b[:]) >> 1); id != 0 {
			return id
		}
	}
}

// flights are the ids this instance is claiming or handling; a second
// delivery here waits for the channel to close.
type flights struct {
	mu sync.Mutex
	m  map[claimKey]chan struct{}
}

// enter registers k, or returns the channel of the delivery already in flight.
func (f *flights) enter(k claimKey) (<-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.m[k]; ok {
		return ch, false
	}
	if f.m == nil {
		f.m = map[claimKey]chan struct{}{}
	}
	f.m[k] = make(chan struct{})
	return nil, true
}

func (f *flights) leave(k claimKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.m[k]; ok {
		close(ch)
		delete(f.m, k)
	}
}

// handleClaimed handles events of distinct ids with de-duplication, at most
// slots at once, and writes each outcome.
func (r *Router) handleClaimed(ctx context.Context, items []claimItem, slots int) {
	deadline := time.Now().Add(claimWait)
	pause := 2 * time.Millisecond
	for todo := items; len(todo) > 0; {
		var mine, again []claimItem
		var local []<-chan struct{}
		for _, it := range todo {
			if ch, ok := r.flights.enter(it.key()); !ok {
				again, local = append(again, it), append(local, ch)
				continue
			}
			mine = append(mine, it)
		}
		if len(mine) > 0 {
			again = append(again, r.claimRound(ctx, mine, slots)...)
		}
		if len(again) == 0 {
			return
		}
		if err := waitRetry(ctx, local, pause, deadline); err != nil {
			for _, it := range again {
				*it.out = BatchItem{Result: Result{EventID: it.ev.ID}, Err: err}
			}
			return
		}
		pause = min(pause*2, 100*time.Millisecond)
		todo = again
	}
}

// waitRetry waits for the deliveries in flight on this instance to end, or
// for a pause while another instance handles an id.
func waitRetry(ctx context.Context, local []<-chan struct{}, pause time.Duration, deadline time.Time) error {
	until := time.NewTimer(time.Until(deadline))
	defer until.Stop()
	for _, ch := range local {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-until.C:
			return ErrStillHandling
		}
	}
	if time.Now().After(deadline) {
		return ErrStillHandling
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// claimRound claims the ids of items (registered in flights, and left here),
// answers those answered already, handles those claimed, and returns those
// to try again: claimed by a live instance, or given up meanwhile.
func (r *Router) claimRound(ctx context.Context, items []claimItem, slots int) (again []claimItem) {
	defer func() {
		for _, it := range items {
			r.flights.leave(it.key())
		}
	}()
	fail := func(its []claimItem, err error) {
		for _, it := range its {
			*it.out = BatchItem{Result: Result{EventID: it.ev.ID}, Err: err}
		}
	}
	slices.SortFunc(items, func(a, b claimItem) int {
		return cmp.Or(cmp.Compare(a.s.communityID, b.s.communityID), cmp.Compare(a.ev.ID, b.ev.ID))
	})
	cids, ids := claimArgs(items)
	q := db.New(r.pool)
	rows, err := q.ProcessedEventClaim(ctx, db.ProcessedEventClaimParams{CommunityIds: cids, EventIds: ids, Owner: r.owner})
	if err != nil {
		fail(items, fmt.Errorf("claim events: %w", err))
		return nil
	}
	claimed := make(map[claimKey]bool, len(rows))
	for _, row := range rows {
		claimed[claimKey{row.CommunityID, row.EventID}] = true
	}
	var run, others []claimItem
	for _, it := range items {
		if claimed[it.key()] {
			run = append(run, it)
		} else {
			others = append(others, it)
		}
	}
	if len(others) > 0 {
		taken, retry, err := r.resolveTaken(ctx, q, others)
		if err != nil {
			fail(others, err)
		}
		run, again = append(run, taken...), retry
	}
	r.runClaimed(ctx, run, slots)
	return again
}

func claimArgs(items []claimItem) ([]int64, []string) {
	cids := make([]int64, len(items))
	ids := make([]string, len(items))
	for i, it := range items {
		cids[i], ids[i] = it.s.communityID, it.ev.ID
	}
	return cids, ids
}

// resolveTaken looks at ids another delivery claimed: answered ones are
// answered again; those of a dead instance, or left by this one, are taken
// over; the rest are tried again.
func (r *Router) resolveTaken(ctx context.Context, q *db.Queries, items []claimItem) (taken, retry []claimItem, err error) {
	cids, ids := claimArgs(items)
	states, err := q.ProcessedEventState(ctx, db.ProcessedEventStateParams{CommunityIds: cids, EventIds: ids})
	if err != nil {
		return nil, nil, fmt.Errorf("look up events: %w", err)
	}
	byKey := make(map[claimKey]db.ProcessedEventStateRow, len(states))
	for _, st := range states {
		byKey[claimKey{st.CommunityID, st.EventID}] = st
	}
	for _, it := range items {
		st, ok := byKey[it.key()]
		switch {
		case !ok: // given up since: claim it again
			retry = append(retry, it)
		case st.Result != nil:
			res, err := storedAnswer(it.ev.ID, st.Result)
			*it.out = BatchItem{Result: res, Err: err}
		case st.ClaimedBy == r.owner || !st.Alive:
			// This instance's own claim with no delivery in flight (left by a
			// failed release), or a dead instance's.
			n, err := q.ProcessedEventTakeOver(ctx, db.ProcessedEventTakeOverParams{CommunityID: it.s.communityID, EventID: it.ev.ID,
				Owner: r.owner, Previous: st.ClaimedBy})
			if err != nil {
				*it.out = BatchItem{Result: Result{EventID: it.ev.ID}, Err: fmt.Errorf("take over event %q: %w", it.ev.ID, err)}
				continue
			}
			if n == 1 {
				taken = append(taken, it)
			} else {
				retry = append(retry, it)
			}
		default:
			retry = append(retry, it)
		}
	}
	return taken, retry, nil
}

// storedAnswer decodes the first answer of an event, marked Duplicate.
func storedAnswer(id string, raw []byte) (Result, error) {
	var res Result
	if err := json.Unmarshal(raw, &res); err != nil {
		return Result{EventID: id}, fmt.Errorf("decode the stored answer of event %q: %w", id, err)
	}
	res.Duplicate = true
	return res, nil
}

// runClaimed handles claimed events concurrently; events with effects store
// their answers as they commit, the others' answers are stored here in one
// statement. Failed events give their claims up.
func (r *Router) runClaimed(ctx context.Context, items []claimItem, slots int) {
	if len(items) == 0 {
		return
	}
	hs := make([]*handling, len(items))
	sem := make(chan struct{}, max(slots, 1))
	var wg sync.WaitGroup
	for i, it := range items {
		h := r.newHandling(ctx, it.s, it.ev, false)
		h.claimed = true
		hs[i] = h
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer h.rollback(ctx)
			ectx, span := r.startSpan(ctx, "router.event", it.ev)
			res, err := h.finish(ectx, time.Now())
			endSpan(span, err)
			*it.out = BatchItem{Result: res, Err: err}
		}()
	}
	wg.Wait()

	var batched []int
	for i, h := range hs {
		if items[i].out.Err == nil && h.batched {
			batched = append(batched, i)
		}
	}
	if err := r.answerBatched(ctx, items, hs, batched); err != nil {
		for _, i := range batched {
			*items[i].out = BatchItem{Result: Result{EventID: hs[i].ev.ID}, Err: err}
			hs[i].failed(ctx)
		}
	}
	var failed []claimItem
	for _, it := range items {
		if it.out.Err != nil {
			failed = append(failed, it)
		}
	}
	if len(failed) > 0 {
		cids, ids := claimArgs(failed)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := db.New(r.pool).ProcessedEventRelease(rctx, db.ProcessedEventReleaseParams{CommunityIds: cids, EventIds: ids, Owner: r.owner}); err != nil {
			r.logger.WarnContext(ctx, "could not give up the claims of failed events; a retry on this instance takes them over", "err", err, "events", len(failed))
		}
	}
}

// answerBatched stores, in one transaction, the points the claimed events
// at idx earn (they had no other effects), then their answers with the
// execution-log rows of their commands; then they go to overlays. An event
// no longer claimed by this instance fails.
func (r *Router) answerBatched(ctx context.Context, items []claimItem, hs []*handling, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	var stored map[claimKey]bool
	store := func(q *db.Queries) error {
		if err := awardBatched(ctx, q, hs, idx); err != nil {
			return err
		}
		var err error
		stored, err = answerMany(ctx, q, r.owner, hs, idx)
		return err
	}
	awards := slices.ContainsFunc(idx, func(i int) bool { return hs[i].earned != nil })
	var err error
	if awards {
		err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if err := db.CustomPlans(ctx, tx); err != nil {
				return err
			}
			return store(db.New(tx))
		})
	} else {
		err = store(db.New(r.pool)) // one statement: no transaction needed
	}
	if err != nil {
		return fmt.Errorf("store the answers of %d events: %w", len(idx), err)
	}
	for _, i := range idx {
		h := hs[i]
		if !stored[claimKey{h.s.communityID, h.ev.ID}] {
			*items[i].out = BatchItem{Result: Result{EventID: h.ev.ID}, Err: errClaimLost}
			continue
		}
		items[i].out.Result = h.res
		h.executions = nil
		h.afterCommit(ctx)
	}
	return nil
}

// awardBatched writes the awards of the events at idx, each user at most
// once per statement, and puts them (with the new balances) in the answers.
func awardBatched(ctx context.Context, q *db.Queries, hs []*handling, idx []int) error {
	type userKey struct {
		cid              int64
		platform, userID string
	}
	var todo []int
	for _, i := range idx {
		if hs[i].earned != nil {
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		var p db.PointsAddManyParams
		var this, next []int
		in := map[userKey]bool{}
		for _, i := range todo {
			h := hs[i]
			k := userKey{h.s.communityID, h.ev.Platform, h.ev.User.ID}
			if in[k] {
				next = append(next, i)
				continue
			}
			in[k] = true
			this = append(this, i)
			p.CommunityIds = append(p.CommunityIds, k.cid)
			p.Platforms = append(p.Platforms, k.platform)
			p.UserIds = append(p.UserIds, k.userID)
			p.UserNames = append(p.UserNames, h.earned.User)
			p.Deltas = append(p.Deltas, h.earned.Delta)
			p.Reasons = append(p.Reasons, h.earned.Reason)
		}
		rows, err := q.PointsAddMany(ctx, p)
		if err != nil {
			return fmt.Errorf("add points: %w", err)
		}
		balances := make(map[userKey]int64, len(rows))
		for _, row := range rows {
			balances[userKey{row.CommunityID, row.Platform, row.UserID}] = row.Balance
		}
		for _, i := range this {
			h := hs[i]
			bal, ok := balances[userKey{h.s.communityID, h.ev.Platform, h.ev.User.ID}]
			pc := *h.earned
			pc.Balance = bal
			h.awarded(pc, ok)
		}
		todo = next
	}
	return nil
}

// answerMany stores the answers and executions of the events at idx, and
// returns those still claimed by owner.
func answerMany(ctx context.Context, q *db.Queries, owner int64, hs []*handling, idx []int) (map[claimKey]bool, error) {
	p := db.ProcessedEventAnswerManyParams{Owner: owner}
	execs := []execRow{}
	for _, i := range idx {
		h := hs[i]
		raw, err := json.Marshal(h.res)
		if err != nil {
			return nil, fmt.Errorf("encode the answer of event %q: %w", h.ev.ID, err)
		}
		p.CommunityIds = append(p.CommunityIds, h.s.communityID)
		p.EventIds = append(p.EventIds, h.ev.ID)
		p.Results = append(p.Results, raw)
		for _, e := range h.executions {
			execs = append(execs, toExecRow(e, h.ev.ID))
		}
	}
	var err error
	if p.Executions, err = json.Marshal(execs); err != nil {
		return nil, fmt.Errorf("encode executions: %w", err)
	}
	rows, err := q.ProcessedEventAnswerMany(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("store answers: %w", err)
	}
	stored := make(map[claimKey]bool, len(rows))
	for _, row := range rows {
		stored[claimKey{row.CommunityID, row.EventID}] = true
	}
	return stored, nil
}

// holdInstanceLock keeps, until ctx ends, the advisory lock that tells other
// instances this one is alive, on a connection outside the pool, opening a
// new one when it is lost.
func (r *Router) holdInstanceLock(ctx context.Context) {
	for ctx.Err() == nil {
		err := r.lockInstance(ctx)
		if ctx.Err() != nil {
			return
		}
		r.logger.WarnContext(ctx, "the instance lock connection is lost; until it is back, another instance may take over this one's events", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// lockInstance takes the instance lock and holds it until ctx ends or the connection fails.
func (r *Router) lockInstance(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx)) // the session ends, and its lock with it
	if err := db.New(conn).InstanceLock(ctx, r.owner); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := conn.Ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}
