package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/workflow"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(s string) *clock {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &clock{t: t}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) add(d time.Duration) { c.set(c.Now().Add(d)) }

func scheduleFlow(config string) string {
	return `{"nodes": [
 {"id": "tick", "type": "trigger_schedule", "config": ` + config + `},
 {"id": "end", "type": "flow_noop"}],
 "connections": [{"from": "tick", "from_port": "out", "to": "end", "to_port": "in"}]}`
}

// schedRow is a schedule row as the tests read it back.
type schedRow struct {
	ID       int64
	Enabled  bool
	Next     *time.Time
	Fired    int64
	Skipped  int64
	Override bool
}

func (h *harness) schedule(t *testing.T, wid int64) (schedRow, bool) {
	t.Helper()
	var r schedRow
	err := h.pool.QueryRow(context.Background(), `SELECT id, enabled, next_fire_at, fired_count, skipped_count, overridden
		FROM workflow_schedules WHERE workflow_id = $1 AND node_id = 'tick'`, wid).Scan(&r.ID, &r.Enabled, &r.Next, &r.Fired, &r.Skipped, &r.Override)
	if err != nil {
		if err.Error() == "no rows in result set" {
			return r, false
		}
		t.Fatal(err)
	}
	return r, true
}

// ticks returns a schedule's ticks by outcome, each a list of fire times.
func (h *harness) ticks(t *testing.T, sid int64) map[string][]time.Time {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT outcome, fire_at FROM workflow_schedule_ticks WHERE schedule_id = $1 ORDER BY fire_at`, sid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var o string
		var at time.Time
		if err := rows.Scan(&o, &at); err != nil {
			t.Fatal(err)
		}
		out[o] = append(out[o], at.UTC())
	}
	return out
}

// scheduledRuns returns the trigger payloads of a workflow's schedule runs.
func (h *harness) scheduledRuns(t *testing.T, wid int64) []map[string]any {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT trigger FROM workflow_runs WHERE workflow_id = $1 AND trigger_kind = 'schedule' ORDER BY trigger->>'scheduled_for', id`, wid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func fire(t *testing.T, s *workflow.Scheduler) int {
	t.Helper()
	n, err := s.Fire(context.Background())
	if err != nil {
		t.Fatalf("fire: %v", err)
	}
	return n
}

// Two instances (two services with their schedulers on one database) run at
// once; every minute's tick starts exactly one run.
func TestScheduleTwoInstancesFireOncePerTick(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:30Z")
	one := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now, Poll: 2 * time.Millisecond})
	inserter, err := river.NewClient(riverpgxv5.New(h.pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc2 := workflow.NewService(workflow.ServiceConfig{Pool: h.pool, Jobs: inserter, Instance: 43})
	two := workflow.NewScheduler(workflow.SchedulerConfig{Service: svc2, Now: clk.Now, Poll: 2 * time.Millisecond})
	w := h.publish(t, "every minute", def(t, scheduleFlow(`{"kind": "cron", "cron": "* * * * *", "timezone": "UTC", "grace_seconds": 900, "max_concurrent": 100}`)))
	sr, ok := h.schedule(t, w.ID)
	if !ok || !sr.Enabled || sr.Next == nil || !sr.Next.Equal(mustTime("2026-01-05T10:01:00Z")) {
		t.Fatalf("after publishing: %+v (found %v)", sr, ok)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*workflow.Scheduler{one, two} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
	}
	// and a burst of passes from both at each tick, on top of their loops
	const minutes = 8
	for i := 1; i <= minutes; i++ {
		clk.add(time.Minute)
		var burst sync.WaitGroup
		for range 4 {
			for _, s := range []*workflow.Scheduler{one, two} {
				burst.Add(1)
				go func() {
					defer burst.Done()
					if _, err := s.Fire(ctx); err != nil {
						t.Errorf("fire: %v", err)
					}
				}()
			}
		}
		burst.Wait()
		deadline := time.Now().Add(5 * time.Second)
		for len(h.ticks(t, sr.ID)[workflow.TickStarted]) < i {
			if time.Now().After(deadline) {
				t.Fatalf("minute %d: ticks %v", i, h.ticks(t, sr.ID))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(50 * time.Millisecond) // room for a duplicate to show
	cancel()
	wg.Wait()

	ticks := h.ticks(t, sr.ID)
	if len(ticks) != 1 || len(ticks[workflow.TickStarted]) != minutes {
		t.Fatalf("ticks: %v", ticks)
	}
	runs := h.scheduledRuns(t, w.ID)
	if len(runs) != minutes {
		t.Fatalf("%d runs for %d ticks", len(runs), minutes)
	}
	seen := map[string]bool{}
	for i, r := range runs {
		at, _ := r["scheduled_for"].(string)
		if seen[at] {
			t.Errorf("two runs for %s", at)
		}
		seen[at] = true
		if want := mustTime("2026-01-05T10:01:00Z").Add(time.Duration(i) * time.Minute).Format(time.RFC3339); at != want {
			t.Errorf("run %d is for %s, want %s", i, at, want)
		}
	}
	if sr, _ = h.schedule(t, w.ID); sr.Fired != minutes || !sr.Next.Equal(mustTime("2026-01-05T10:09:00Z")) {
		t.Errorf("after %d minutes: %+v", minutes, sr)
	}
}

// Down for ten minutes with a grace of fifteen: one run on recovery, for
// the latest tick; the others are coalesced into it.
func TestScheduleRecoveryWithinGrace(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:30Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "every five", def(t, scheduleFlow(`{"kind": "cron", "cron": "*/5 * * * *", "grace_seconds": 900, "max_concurrent": 1}`)))
	sr, _ := h.schedule(t, w.ID)
	clk.set(sr.Next.Add(10 * time.Minute)) // 10:15
	if n := fire(t, s); n != 1 {
		t.Fatalf("started %d runs, want 1", n)
	}
	ticks := h.ticks(t, sr.ID)
	want := map[string][]time.Time{
		workflow.TickCoalesced: {mustTime("2026-01-05T10:05:00Z"), mustTime("2026-01-05T10:10:00Z")},
		workflow.TickStarted:   {mustTime("2026-01-05T10:15:00Z")},
	}
	if fmt.Sprint(ticks) != fmt.Sprint(want) {
		t.Fatalf("ticks %v, want %v", ticks, want)
	}
	runs := h.scheduledRuns(t, w.ID)
	if len(runs) != 1 || runs[0]["scheduled_for"] != "2026-01-05T10:15:00Z" || runs[0]["coalesced"] != float64(2) ||
		runs[0]["schedule_id"] != float64(sr.ID) || runs[0]["fired_count"] != float64(1) {
		t.Fatalf("runs: %v", runs)
	}
	if sr, _ = h.schedule(t, w.ID); !sr.Next.Equal(mustTime("2026-01-05T10:20:00Z")) || sr.Skipped != 0 {
		t.Errorf("after recovery: %+v", sr)
	}
	if n := fire(t, s); n != 0 {
		t.Errorf("a second pass started %d runs", n)
	}
}

// Down for two hours: the ticks older than the grace period are recorded as
// skipped; those within it make one run.
func TestScheduleRecoverySkipsLateTicks(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:30Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "every five", def(t, scheduleFlow(`{"kind": "cron", "cron": "*/5 * * * *", "grace_seconds": 900, "max_concurrent": 1}`)))
	sr, _ := h.schedule(t, w.ID)
	clk.set(sr.Next.Add(2 * time.Hour)) // 12:05; the grace period starts at 11:50
	if n := fire(t, s); n != 1 {
		t.Fatalf("started %d runs, want 1", n)
	}
	ticks := h.ticks(t, sr.ID)
	late := ticks[workflow.TickSkippedLate]
	if len(late) != 21 || !late[0].Equal(mustTime("2026-01-05T10:05:00Z")) || !late[20].Equal(mustTime("2026-01-05T11:45:00Z")) {
		t.Errorf("skipped late: %v", late)
	}
	if c := ticks[workflow.TickCoalesced]; len(c) != 3 || !c[0].Equal(mustTime("2026-01-05T11:50:00Z")) {
		t.Errorf("coalesced: %v", c)
	}
	if st := ticks[workflow.TickStarted]; len(st) != 1 || !st[0].Equal(mustTime("2026-01-05T12:05:00Z")) {
		t.Errorf("started: %v", st)
	}
	if sr, _ = h.schedule(t, w.ID); sr.Skipped != 21 || sr.Fired != 1 || !sr.Next.Equal(mustTime("2026-01-05T12:10:00Z")) {
		t.Errorf("after recovery: %+v", sr)
	}
	if runs := h.scheduledRuns(t, w.ID); len(runs) != 1 {
		t.Errorf("%d runs, want 1", len(runs))
	}
}

// A fast interval down for a day records its latest late ticks one by one
// and counts them all.
func TestScheduleRecoveryCapsRecordedTicks(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:00Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "every ten seconds", def(t, scheduleFlow(`{"kind": "interval", "every_seconds": 10, "grace_seconds": 60, "max_concurrent": 1}`)))
	sr, _ := h.schedule(t, w.ID)
	clk.set(sr.Next.Add(24 * time.Hour))
	if n := fire(t, s); n != 1 {
		t.Fatalf("started %d runs, want 1", n)
	}
	ticks := h.ticks(t, sr.ID)
	if len(ticks[workflow.TickSkippedLate]) != 100 || len(ticks[workflow.TickCoalesced]) != 6 || len(ticks[workflow.TickStarted]) != 1 {
		t.Fatalf("ticks: %d late, %d coalesced, %d started", len(ticks[workflow.TickSkippedLate]), len(ticks[workflow.TickCoalesced]), len(ticks[workflow.TickStarted]))
	}
	if last := ticks[workflow.TickSkippedLate][99]; !last.Equal(clk.Now().Add(-70 * time.Second)) {
		t.Errorf("the last late tick is %v", last)
	}
	if sr, _ = h.schedule(t, w.ID); sr.Skipped != 8634 || !sr.Next.Equal(clk.Now().Add(10*time.Second)) {
		t.Errorf("after recovery: %+v", sr)
	}
}

// A tick that finds the workflow at its maximum of runs is skipped and
// recorded.
func TestScheduleSkipsWhenBusy(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:30Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "busy", def(t, scheduleFlow(`{"kind": "cron", "cron": "*/5 * * * *", "grace_seconds": 900, "max_concurrent": 1}`)))
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO workflow_runs (community_id, workflow_id, version, status, trigger_kind)
		VALUES ($1, $2, 1, 'waiting', 'manual')`, h.cid, w.ID); err != nil {
		t.Fatal(err)
	}
	sr, _ := h.schedule(t, w.ID)
	clk.set(*sr.Next)
	if n := fire(t, s); n != 0 {
		t.Fatalf("started %d runs while busy", n)
	}
	ticks := h.ticks(t, sr.ID)
	if len(ticks) != 1 || len(ticks[workflow.TickSkippedBusy]) != 1 || !ticks[workflow.TickSkippedBusy][0].Equal(*sr.Next) {
		t.Fatalf("ticks: %v", ticks)
	}
	if runs := h.scheduledRuns(t, w.ID); len(runs) != 0 {
		t.Errorf("runs: %v", runs)
	}
	if after, _ := h.schedule(t, w.ID); after.Skipped != 1 || after.Fired != 0 || !after.Next.Equal(sr.Next.Add(5*time.Minute)) {
		t.Errorf("after the busy tick: %+v", after)
	}
	// once the run ends, the next tick starts one
	if _, err := h.pool.Exec(context.Background(), `UPDATE workflow_runs SET status = 'succeeded' WHERE workflow_id = $1`, w.ID); err != nil {
		t.Fatal(err)
	}
	clk.add(5 * time.Minute)
	if n := fire(t, s); n != 1 {
		t.Errorf("started %d runs once free", n)
	}
}

// An interval with a maximum count stops after it.
func TestScheduleIntervalMaxCount(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:00Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "twice", def(t, scheduleFlow(`{"kind": "interval", "every_seconds": 10, "max_count": 2, "grace_seconds": 900, "max_concurrent": 100}`)))
	sr, _ := h.schedule(t, w.ID)
	if !sr.Next.Equal(mustTime("2026-01-05T10:00:10Z")) {
		t.Fatalf("first fire at %v", sr.Next)
	}
	var got []int
	for range 4 {
		clk.add(10 * time.Second)
		got = append(got, fire(t, s))
	}
	if fmt.Sprint(got) != "[1 1 0 0]" {
		t.Errorf("runs started per tick: %v", got)
	}
	if sr, _ = h.schedule(t, w.ID); sr.Enabled || sr.Next != nil || sr.Fired != 2 {
		t.Errorf("after its count: %+v", sr)
	}
}

// A one-time schedule fires once, then turns off.
func TestScheduleOnceFiresOnce(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:00Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "once", def(t, scheduleFlow(`{"kind": "once", "at": "2026-01-05T12:00:00+01:00", "grace_seconds": 900, "max_concurrent": 1}`)))
	sr, _ := h.schedule(t, w.ID)
	if !sr.Enabled || !sr.Next.Equal(mustTime("2026-01-05T11:00:00Z")) {
		t.Fatalf("after publishing: %+v", sr)
	}
	clk.set(mustTime("2026-01-05T10:59:59Z"))
	if n := fire(t, s); n != 0 {
		t.Fatalf("fired %d runs early", n)
	}
	clk.set(mustTime("2026-01-05T11:00:05Z"))
	if n := fire(t, s); n != 1 {
		t.Fatalf("started %d runs, want 1", n)
	}
	clk.add(24 * time.Hour)
	if n := fire(t, s); n != 0 {
		t.Errorf("fired again: %d", n)
	}
	if sr, _ = h.schedule(t, w.ID); sr.Enabled || sr.Next != nil || sr.Fired != 1 {
		t.Errorf("after firing: %+v", sr)
	}
	if runs := h.scheduledRuns(t, w.ID); len(runs) != 1 || runs[0]["scheduled_for"] != "2026-01-05T11:00:00Z" {
		t.Errorf("runs: %v", runs)
	}
}

// A cron schedule reads its expression in its time zone: noon in Paris is
// 11:00 UTC in winter and 10:00 UTC in summer.
func TestScheduleTimeZone(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-10T08:00:00Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "noon in Paris", def(t, scheduleFlow(`{"kind": "cron", "cron": "0 12 * * *", "timezone": "Europe/Paris", "grace_seconds": 900, "max_concurrent": 1}`)))
	sr, _ := h.schedule(t, w.ID)
	if !sr.Next.Equal(mustTime("2026-01-10T11:00:00Z")) {
		t.Fatalf("next fire at %v, want 11:00 UTC", sr.Next)
	}
	clk.set(mustTime("2026-01-10T10:59:59Z"))
	if n := fire(t, s); n != 0 {
		t.Fatalf("fired at 10:59:59 UTC")
	}
	clk.set(mustTime("2026-01-10T11:00:00Z"))
	if n := fire(t, s); n != 1 {
		t.Fatalf("started %d runs at 11:00 UTC", n)
	}
	if sr, _ = h.schedule(t, w.ID); !sr.Next.Equal(mustTime("2026-01-11T11:00:00Z")) {
		t.Errorf("then next at %v", sr.Next)
	}
	// in July
	clk.set(mustTime("2026-07-10T08:00:00Z"))
	if _, err := h.svc.SetStatus(context.Background(), h.cid, w.ID, h.by, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.Publish(context.Background(), h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if sr, _ = h.schedule(t, w.ID); !sr.Next.Equal(mustTime("2026-07-10T10:00:00Z")) {
		t.Errorf("in summer next at %v, want 10:00 UTC", sr.Next)
	}
}
