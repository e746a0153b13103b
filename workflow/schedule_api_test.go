package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/workflow"
)

const webhookFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "async", "timeout_seconds": 5}},
 {"id": "end", "type": "flow_noop"}],
 "connections": [{"from": "hook", "from_port": "out", "to": "end", "to_port": "in"}]}`

// Publishing makes the row; going back to draft turns it off (a tick then
// starts nothing); publishing again turns it on, keeping its next fire time
// when the timing is unchanged; a version without the node drops it.
func TestSchedulePublishAndDraft(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	clk := newClock("2026-01-05T10:00:30Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "daily", def(t, scheduleFlow(`{"kind": "cron", "cron": "0 12 * * *", "timezone": "UTC", "grace_seconds": 900, "max_concurrent": 1}`)))
	sr, ok := h.schedule(t, w.ID)
	if !ok || !sr.Enabled || !sr.Next.Equal(mustTime("2026-01-05T12:00:00Z")) {
		t.Fatalf("after publishing: %+v (found %v)", sr, ok)
	}
	if _, err := h.svc.SetStatus(ctx, h.cid, w.ID, h.by, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	if sr, _ = h.schedule(t, w.ID); sr.Enabled {
		t.Fatalf("a draft's schedule is on: %+v", sr)
	}
	clk.set(mustTime("2026-01-05T12:00:00Z"))
	if n := fire(t, s); n != 0 {
		t.Fatalf("a draft's schedule started %d runs", n)
	}
	clk.set(mustTime("2026-01-05T11:00:00Z"))
	if _, _, err := h.svc.Publish(ctx, h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	again, _ := h.schedule(t, w.ID)
	if !again.Enabled || again.ID != sr.ID || !again.Next.Equal(mustTime("2026-01-05T12:00:00Z")) {
		t.Fatalf("published again: %+v", again)
	}
	// published again while on, with the same timing: the next fire time stays
	clk.set(mustTime("2026-01-05T13:30:00Z"))
	if _, _, err := h.svc.Publish(ctx, h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if kept, _ := h.schedule(t, w.ID); !kept.Next.Equal(mustTime("2026-01-05T12:00:00Z")) {
		t.Errorf("republishing moved the next fire time: %+v", kept)
	}
	// a version without the node drops its row
	if _, _, err := h.svc.Update(ctx, h.cid, w.ID, h.by, workflow.Input{Name: "daily", Definition: def(t, webhookFlow)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.Publish(ctx, h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.schedule(t, w.ID); ok {
		t.Error("the row of a removed node is still there")
	}
}

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }

// The API's operations: a node's row made again after a delete, changed
// (overriding the node until the next publish) and listed with its ticks.
func TestScheduleAPIOperations(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	clk := newClock("2026-01-05T10:00:30Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "api", def(t, scheduleFlow(`{"kind": "cron", "cron": "0 12 * * *", "grace_seconds": 900, "max_concurrent": 1}`)))
	sr, _ := h.schedule(t, w.ID)

	in := workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60}}
	if _, err := s.CreateSchedule(ctx, h.cid, h.by, in); !problem.Is(err, problem.Conflict) {
		t.Fatalf("a second schedule for the node: %v", err)
	}
	if err := s.DeleteSchedule(ctx, h.cid, sr.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSchedule(ctx, h.cid, sr.ID, h.by); err != workflow.ErrScheduleNotFound {
		t.Fatalf("deleting twice: %v", err)
	}
	made, err := s.CreateSchedule(ctx, h.cid, h.by, in)
	if err != nil {
		t.Fatal(err)
	}
	if made.NodeID != "tick" || made.GraceSeconds != 900 || made.MaxConcurrent != 1 || !made.Enabled || !made.Overridden ||
		!made.NextFireAt.Equal(mustTime("2026-01-05T10:01:30Z")) {
		t.Fatalf("made: %+v", made)
	}
	// another community sees none of it
	if _, err := s.GetSchedule(ctx, h.cid+1, made.ID); err != workflow.ErrScheduleNotFound {
		t.Errorf("another community's get: %v", err)
	}
	if list, err := s.ListSchedules(ctx, h.cid+1, w.ID); err != nil || len(list) != 0 {
		t.Errorf("another community's list: %v %v", list, err)
	}
	if _, err := s.UpdateSchedule(ctx, h.cid+1, made.ID, h.by, in.ScheduleSettings); err != workflow.ErrScheduleNotFound {
		t.Errorf("another community's update: %v", err)
	}

	clk.set(mustTime("2026-01-05T10:01:30Z"))
	if n := fire(t, s); n != 1 {
		t.Fatalf("started %d", n)
	}
	up, err := s.UpdateSchedule(ctx, h.cid, made.ID, h.by, workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60, MaxConcurrent: intp(3), GraceSeconds: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	if up.MaxConcurrent != 3 || up.GraceSeconds != 0 || up.FiredCount != 1 || !up.NextFireAt.Equal(mustTime("2026-01-05T10:02:30Z")) {
		t.Errorf("same timing, other limits: %+v", up)
	}
	off, err := s.UpdateSchedule(ctx, h.cid, made.ID, h.by, workflow.ScheduleSettings{Kind: "cron", Cron: "30 * * * *", Enabled: boolp(false)})
	if err != nil {
		t.Fatal(err)
	}
	if off.Enabled || off.FiredCount != 0 || off.TimeZone != "UTC" {
		t.Errorf("turned off: %+v", off)
	}
	list, err := s.ListSchedules(ctx, h.cid, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || len(list[0].Ticks) != 1 || list[0].Ticks[0].Outcome != workflow.TickStarted || list[0].Ticks[0].RunID == 0 {
		t.Fatalf("list: %+v", list)
	}
	// publishing again puts the node's settings back
	if _, _, err := h.svc.Publish(ctx, h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	back, _ := h.schedule(t, w.ID)
	if !back.Enabled || back.Override || !back.Next.Equal(mustTime("2026-01-05T12:00:00Z")) {
		t.Errorf("after publishing again: %+v", back)
	}
	// a draft workflow's schedule cannot be turned on
	if _, err := h.svc.SetStatus(ctx, h.cid, w.ID, h.by, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateSchedule(ctx, h.cid, back.ID, h.by, in.ScheduleSettings); !problem.Is(err, problem.Conflict) {
		t.Errorf("turning on a draft's schedule: %v", err)
	}
}

// Bad settings are refused with the field at fault, named in the message.
func TestScheduleAPIValidation(t *testing.T) {
	h := newHarness(t, nil)
	clk := newClock("2026-01-05T10:00:30Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "validate", def(t, scheduleFlow(`{"kind": "cron", "cron": "0 12 * * *", "grace_seconds": 900, "max_concurrent": 1}`)))
	hook := h.publish(t, "no schedule node", def(t, webhookFlow))
	sr, _ := h.schedule(t, w.ID)
	if err := s.DeleteSchedule(context.Background(), h.cid, sr.ID, h.by); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		in    workflow.ScheduleInput
		field string
	}{
		{"no kind", workflow.ScheduleInput{WorkflowID: w.ID}, "kind"},
		{"unknown kind", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "hourly"}}, "kind"},
		{"bad cron", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "cron", Cron: "61 * * * *"}}, "cron"},
		{"bad zone", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "cron", Cron: "0 * * * *", TimeZone: "Mars/Olympus"}}, "timezone"},
		{"short interval", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 5}}, "every_seconds"},
		{"negative count", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60, MaxCount: -1}}, "max_count"},
		{"bad time", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "once", At: "tomorrow"}}, "at"},
		{"past time", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "once", At: "2026-01-05T09:00:00Z"}}, "at"},
		{"grace", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60, GraceSeconds: intp(-1)}}, "grace_seconds"},
		{"concurrency", workflow.ScheduleInput{WorkflowID: w.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60, MaxConcurrent: intp(0)}}, "max_concurrent"},
		{"unknown node", workflow.ScheduleInput{WorkflowID: w.ID, NodeID: "end", ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60}}, "node_id"},
		{"no schedule node", workflow.ScheduleInput{WorkflowID: hook.ID, ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60}}, "node_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.CreateSchedule(context.Background(), h.cid, h.by, c.in)
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != c.field || len(p.Message) < len(c.field) || p.Message[:len(c.field)] != c.field {
				t.Fatalf("got %v, want an error about %s", err, c.field)
			}
		})
	}
	if _, err := s.CreateSchedule(context.Background(), h.cid, h.by, workflow.ScheduleInput{WorkflowID: 1 << 40,
		ScheduleSettings: workflow.ScheduleSettings{Kind: "interval", EverySeconds: 60}}); err != workflow.ErrNotFound {
		t.Errorf("an unknown workflow: %v", err)
	}
	if list, _ := s.ListSchedules(context.Background(), h.cid, w.ID); len(list) != 0 {
		t.Errorf("refused input made schedules: %+v", list)
	}
}

// Publishing while schedules fire: neither waits on the other in a way
// that deadlocks, and every pass and publish succeeds.
func TestSchedulePublishWhileFiring(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	clk := newClock("2026-01-05T10:00:00Z")
	s := workflow.NewScheduler(workflow.SchedulerConfig{Service: h.svc, Now: clk.Now})
	w := h.publish(t, "busy publisher", def(t, scheduleFlow(`{"kind": "interval", "every_seconds": 10, "grace_seconds": 900, "max_concurrent": 100}`)))
	done := make(chan error, 1)
	go func() {
		for range 30 {
			if _, _, err := h.svc.Publish(ctx, h.cid, w.ID, h.by); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	started := 0
	for range 30 {
		clk.add(10 * time.Second)
		started += fire(t, s)
	}
	if err := <-done; err != nil {
		t.Fatalf("publish: %v", err)
	}
	if started == 0 {
		t.Error("no run started")
	}
	if runs := h.scheduledRuns(t, w.ID); len(runs) != started {
		t.Errorf("%d runs stored, %d started", len(runs), started)
	}
}
