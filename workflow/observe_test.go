package workflow_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/workflow"
)

// lateObserver lets the router be built before the trigger index.
type lateObserver struct{ t *workflow.Triggers }

func (o *lateObserver) Observed(ctx context.Context, h router.Handled) { o.t.Observed(ctx, h) }
func (o *lateObserver) Wants(cid int64, k router.Kind, c []router.CommandRun) bool {
	return o.t.Wants(cid, k, c)
}
func (o *lateObserver) ObservedTx(ctx context.Context, tx pgx.Tx, h router.Handled) error {
	return o.t.ObservedTx(ctx, tx, h)
}

// triggerHarness is a harness with a router whose observer is the trigger
// index, and a linked Twitch channel.
type triggerHarness struct {
	*harness
	rt       *router.Router
	settings *router.Settings
	triggers *workflow.Triggers
}

func newTriggerHarness(t *testing.T) *triggerHarness {
	t.Helper()
	h := newHarness(t, nil)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	obs := &lateObserver{}
	rt := router.New(router.Config{Modules: modules.All(), Pool: h.pool, Redis: rdb, RedisPrefix: prefix,
		Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger, Observer: obs})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	settings := router.NewSettings(rt)
	obs.t = workflow.NewTriggers(workflow.TriggersConfig{Service: h.svc, Commands: settings})
	if err := obs.t.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := settings.LinkEntity(context.Background(), audit.Actor{}, h.cid, router.Twitch, "duckchan", "Duck channel"); err != nil {
		t.Fatal(err)
	}
	return &triggerHarness{harness: h, rt: rt, settings: settings, triggers: obs.t}
}

func (h *triggerHarness) handle(t *testing.T, ev router.Event) router.Result {
	t.Helper()
	if ev.Platform == "" {
		ev.Platform, ev.Server, ev.Channel = router.Twitch, "duckchan", "c1"
	}
	res, err := h.rt.Handle(context.Background(), ev, router.Options{Dedup: ev.ID != ""})
	if err != nil {
		t.Fatalf("handle %s: %v", ev.ID, err)
	}
	return res
}

// runs lists the community's runs, newest first.
func (h *triggerHarness) runs(t *testing.T, wid int64) []workflow.Run {
	t.Helper()
	rs, err := h.svc.ListRuns(context.Background(), h.cid, workflow.RunFilter{WorkflowID: wid, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const raidFlow = `{"nodes": [
 {"id": "raid", "type": "trigger_event", "config": {"platforms": ["twitch"], "kinds": ["raid"]}},
 {"id": "thank", "type": "flow_noop"}
], "connections": [{"from": "raid", "from_port": "out", "to": "thank", "to_port": "in"}]}`

// TestEventTriggerStartsRunWithTheEvent: a raid starts the published
// workflow once, stored in the event's transaction, with the event as its
// payload; a redelivery starts nothing more; another kind or platform
// starts nothing; a workflow taken back to draft stops starting.
func TestEventTriggerStartsRunWithTheEvent(t *testing.T) {
	h := newTriggerHarness(t)
	w := h.publish(t, "Thank raiders", def(t, raidFlow))
	raid := router.Event{ID: "raid-1", Kind: router.Raid, User: router.User{ID: "7", Name: "raider", DisplayName: "Raider"},
		Data: map[string]any{"viewers": 25}}
	h.handle(t, raid)
	h.handle(t, raid) // redelivered
	h.handle(t, router.Event{ID: "follow-1", Kind: router.Follow, User: router.User{ID: "8", Name: "fan"}})
	rs := h.runs(t, w.ID)
	if len(rs) != 1 {
		t.Fatalf("%d runs, want 1 for the raid", len(rs))
	}
	run := h.waitRun(t, rs[0].ID)
	if run.Status != workflow.RunSucceeded || run.TriggerKind != workflow.TriggerEvent || run.TriggerNode != "raid" || run.Version != w.Version {
		t.Errorf("run %+v, want a succeeded event run from node raid of version %d", run, w.Version)
	}
	p, _ := run.Trigger.(map[string]any)
	user, _ := p["user"].(map[string]any)
	if p["platform"] != "twitch" || p["kind"] != "raid" || p["server"] != "duckchan" || p["channel"] != "c1" || p["viewers"] != float64(25) ||
		user["display_name"] != "Raider" || p["user_id"] != "7" {
		t.Errorf("trigger payload %s, want the raid's fields, user and viewers", asJSON(p))
	}

	if _, err := h.svc.SetStatus(context.Background(), h.cid, w.ID, h.by, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	if h.triggers.Wants(h.cid, router.Raid, nil) {
		t.Error("the index still wants raids once the workflow is a draft")
	}
	h.handle(t, router.Event{ID: "raid-2", Kind: router.Raid, User: router.User{ID: "9", Name: "other"}})
	if n := len(h.runs(t, w.ID)); n != 1 {
		t.Errorf("%d runs after a raid on a draft workflow, want still 1", n)
	}
}

// TestEventTriggerOnAnotherInstance: an index that did not see the publish
// (another instance) starts runs once it reloads.
func TestEventTriggerOnAnotherInstance(t *testing.T) {
	h := newTriggerHarness(t)
	other := workflow.NewTriggers(workflow.TriggersConfig{Service: h.svc}) // replaces h.triggers' publish hook: fine for this test
	if err := other.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.publish(t, "Thank raiders", def(t, raidFlow))
	if h.triggers.Wants(h.cid, router.Raid, nil) {
		t.Fatal("the first index heard of the publish; this test needs one that did not")
	}
	if err := h.triggers.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !h.triggers.Wants(h.cid, router.Raid, nil) || h.triggers.Wants(h.cid, router.Follow, nil) || h.triggers.Wants(h.cid+1, router.Raid, nil) {
		t.Error("after a reload the index must want this community's raids, and nothing else")
	}
}

const shoutFlow = `{"nodes": [
 {"id": "cmd", "type": "trigger_command", "config": {"command": "!Shout", "platforms": ["twitch"], "permission": "everyone", "user_cooldown_seconds": 0, "global_cooldown_seconds": 0}},
 {"id": "next", "type": "flow_noop"}
], "connections": [{"from": "cmd", "from_port": "out", "to": "next", "to_port": "in"}]}`

// TestCommandTriggerIsACommand: publishing makes the command, which runs
// the workflow with the command's payload and answers nothing itself;
// drafting and deleting the workflow remove it.
func TestCommandTriggerIsACommand(t *testing.T) {
	h := newTriggerHarness(t)
	ctx := context.Background()
	w := h.publish(t, "Shout", def(t, shoutFlow))
	cmd, err := h.settings.CommandByName(ctx, h.cid, "shout")
	if err != nil || cmd.WorkflowID != w.ID || cmd.Permission != router.Everyone || strings.Join(cmd.Platforms, ",") != "twitch" {
		t.Fatalf("the command after publishing: %+v, %v", cmd, err)
	}
	res := h.handle(t, router.Event{ID: "m1", Kind: router.ChatMessage, User: router.User{ID: "5", Name: "alice"}, Text: "!shout hello there"})
	if len(res.Responses) != 0 {
		t.Errorf("the command answered %+v itself", res.Responses)
	}
	rs := h.runs(t, w.ID)
	if len(rs) != 1 {
		t.Fatalf("%d runs, want 1", len(rs))
	}
	run := h.waitRun(t, rs[0].ID)
	p, _ := run.Trigger.(map[string]any)
	if run.TriggerKind != workflow.TriggerCommand || p["command"] != "shout" || p["args"] != "hello there" ||
		asJSON(p["arg_list"]) != `["hello","there"]` || p["user_name"] != "alice" || p["channel"] != "c1" || p["text"] != "!shout hello there" {
		t.Errorf("run %s with payload %s", run.TriggerKind, asJSON(p))
	}
	if got := h.handle(t, router.Event{ID: "m2", Kind: router.ChatMessage, User: router.User{ID: "6", Name: "bob"}, Text: "!help"}); !strings.Contains(got.Responses[0].Reply, "!shout") {
		t.Errorf("!help answered %q, want !shout listed", got.Responses[0].Reply)
	}

	if _, err := h.svc.SetStatus(ctx, h.cid, w.ID, h.by, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	if _, err := h.settings.CommandByName(ctx, h.cid, "shout"); err != router.ErrCommandNotFound {
		t.Errorf("the command of a draft workflow: %v, want not found", err)
	}
	h.handle(t, router.Event{ID: "m3", Kind: router.ChatMessage, User: router.User{ID: "5", Name: "alice"}, Text: "!shout again"})
	if n := len(h.runs(t, w.ID)); n != 1 {
		t.Errorf("%d runs after the command of a draft workflow, want still 1", n)
	}
	if _, _, err := h.svc.Publish(ctx, h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Delete(ctx, h.cid, w.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if _, err := h.settings.CommandByName(ctx, h.cid, "shout"); err != router.ErrCommandNotFound {
		t.Errorf("the command of a deleted workflow: %v, want not found", err)
	}
}

// TestCommandTriggerClashRefusesPublish: a trigger whose command is taken
// is refused at publish, naming the command and what holds it; the
// workflow stays a draft.
func TestCommandTriggerClashRefusesPublish(t *testing.T) {
	h := newTriggerHarness(t)
	ctx := context.Background()
	if _, err := h.settings.CreateCommand(ctx, audit.Actor{}, h.cid, router.CommandInput{Name: "shout", Response: "HEY", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	w, _, err := h.svc.Create(ctx, h.cid, h.by, workflow.Input{Name: "Shout", Definition: def(t, shoutFlow)})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = h.svc.Publish(ctx, h.cid, w.ID, h.by)
	if p := problem.As(err); p == nil || p.Code != problem.Invalid || !strings.Contains(p.Message, "!shout is already a command") {
		t.Fatalf("publish: %v, want invalid naming !shout and the command", err)
	}
	got, err := h.svc.Get(ctx, h.cid, w.ID)
	if err != nil || got.Status != workflow.StatusDraft {
		t.Errorf("after a refused publish: %+v, %v; want a draft", got, err)
	}
	if cmd, _ := h.settings.CommandByName(ctx, h.cid, "shout"); cmd == nil || cmd.WorkflowID != 0 || cmd.Response != "HEY" {
		t.Errorf("the existing command became %+v", cmd)
	}
}

// TestWouldListsWorkflowsWithDryRuns: Would names the workflows a simulated
// event or command would start, with each one's trace, storing nothing.
func TestWouldListsWorkflowsWithDryRuns(t *testing.T) {
	h := newTriggerHarness(t)
	ctx := context.Background()
	raid := h.publish(t, "Thank raiders", def(t, raidFlow))
	shout := h.publish(t, "Shout", def(t, shoutFlow))
	ms := h.triggers.Would(ctx, h.cid, router.Event{Platform: router.Twitch, Kind: router.Raid, Server: "simulator", Data: map[string]any{"viewers": 3}}, nil)
	if len(ms) != 1 || ms[0].WorkflowID != raid.ID || ms[0].Name != "Thank raiders" || ms[0].Node != "raid" || ms[0].Outcome.Status != workflow.RunSucceeded {
		t.Fatalf("Would for a raid: %+v", ms)
	}
	var nodes []string
	for _, tr := range ms[0].Outcome.Traces {
		nodes = append(nodes, tr.Node+":"+tr.Status)
	}
	if strings.Join(nodes, ",") != "raid:succeeded,thank:succeeded" {
		t.Errorf("dry-run trace %v", nodes)
	}
	res, err := h.rt.Simulate(ctx, h.by, h.cid, router.Event{ID: "sim-1", Platform: router.Twitch, Kind: router.ChatMessage, User: router.User{Name: "sim"}, Text: "!shout yo"}, true)
	if err != nil {
		t.Fatal(err)
	}
	ms = h.triggers.Would(ctx, h.cid, router.Event{Platform: router.Twitch, Kind: router.ChatMessage, Text: "!shout yo"}, res.Commands)
	if len(ms) != 1 || ms[0].WorkflowID != shout.ID || ms[0].Trigger != workflow.TriggerCommand {
		t.Errorf("Would for !shout: %+v (commands %+v)", ms, res.Commands)
	}
	if n := len(h.runs(t, 0)); n != 0 {
		t.Errorf("%d runs stored by dry runs, want none", n)
	}
}

// TestEventTriggerFilters: a trigger_event's rules over the payload decide
// which events start runs: a raid with more than 20 viewers does, a smaller
// one does not.
func TestEventTriggerFilters(t *testing.T) {
	h := newTriggerHarness(t)
	w := h.publish(t, "Big raids", def(t, `{"nodes": [
 {"id": "raid", "type": "trigger_event", "config": {"platforms": ["twitch"], "kinds": ["raid"],
  "rules": [{"left": "{{ trigger.viewers }}", "op": "greater_than", "right": "20"}, {"left": "{{ trigger.user.name }}", "op": "not_equals", "right": "spammer"}]}},
 {"id": "thank", "type": "flow_noop"}
], "connections": [{"from": "raid", "from_port": "out", "to": "thank", "to_port": "in"}]}`))
	for i, c := range []struct {
		user    string
		viewers int
	}{{"small", 10}, {"big", 21}, {"spammer", 500}, {"edge", 20}} {
		h.handle(t, router.Event{ID: fmt.Sprintf("raid-%d", i), Kind: router.Raid, User: router.User{ID: c.user, Name: c.user},
			Data: map[string]any{"viewers": c.viewers}})
	}
	rs := h.runs(t, w.ID)
	if len(rs) != 1 {
		t.Fatalf("%d runs, want 1: only the raid of 21 viewers by a user who is not spammer", len(rs))
	}
	if p, _ := h.waitRun(t, rs[0].ID).Trigger.(map[string]any); p["user_name"] != "big" {
		t.Errorf("the run started for %v, want big's raid", p["user_name"])
	}
	ms := h.triggers.Would(context.Background(), h.cid, router.Event{Platform: router.Twitch, Kind: router.Raid, Data: map[string]any{"viewers": 5}}, nil)
	if len(ms) != 0 {
		t.Errorf("Would for a raid of 5: %+v, want none", ms)
	}
}

// TestEventPayload: the event's own fields win over data keys of the same
// name, which stay under data; other data keys also appear at the top.
func TestEventPayload(t *testing.T) {
	ev := router.Event{ID: "e1", Platform: router.Twitch, Kind: router.Cheer, Server: "duckchan", Channel: "duckchan",
		User: router.User{ID: "7", Name: "fan", Roles: []string{"vip"}}, Text: "cheer100",
		Data: map[string]any{"bits": 100, "user_id": "forged", "data": "nested?"}}
	p := workflow.EventPayload(ev)
	data, _ := p["data"].(map[string]any)
	if p["user_id"] != "7" || p["bits"] != 100 || data["user_id"] != "forged" || data["data"] != "nested?" || p["kind"] != "cheer" {
		t.Errorf("payload %s", asJSON(p))
	}
	if got := asJSON(p["user"]); got != `{"display_name":"fan","id":"7","name":"fan","roles":["vip"]}` {
		t.Errorf("user %s", got)
	}
	c := workflow.CommandPayload(ev, router.CommandRun{Command: "so", Args: "  @bob   now "})
	if c["command"] != "so" || asJSON(c["arg_list"]) != `["@bob","now"]` || c["bits"] != nil || c["data"] != nil {
		t.Errorf("command payload %s", asJSON(c))
	}
}
