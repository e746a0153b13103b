package workflow

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// Triggers starts the runs of published workflows from the router's events
// and commands: it is the router's Observer (router.TxObserver), over an
// index in memory of each community's trigger_event and trigger_command
// nodes.
//
// The index is loaded whole when Run starts, reloaded for a community as
// soon as its published workflows change on this instance (the Service's
// publish state), and reloaded whole every ReloadEvery (10 s) for changes
// made on other instances: a workflow published elsewhere starts taking
// events here within that time. A command needs no wait: the router's
// commands table says which workflow a command belongs to, and a workflow
// the index does not know yet is looked up in the event's transaction.
//
// Runs start inside the event's transaction (ObservedTx): the run and its
// job are stored with the event's effects, or neither is. Each run's dedup
// key is "event:<event id>:<node>" or "command:<event id>:<node>", so an
// event delivered twice starts each workflow once.
type Triggers struct {
	s      *Service
	every  time.Duration
	logger *slog.Logger

	mu     sync.RWMutex
	byComm map[int64]*communityIndex
	fresh  map[int64]time.Time // when each community was last reloaded alone
}

// communityIndex is one community's published triggers.
type communityIndex struct {
	events    []eventTrigger
	kinds     map[router.Kind]bool
	workflows map[int64]*published // by id
}

// published is a published workflow version as the index keeps it.
type published struct {
	w        *Workflow           // Definition is the published version's
	commands map[string][]string // command name → trigger_command node ids
}

type eventTrigger struct {
	p    *published
	node string
	cfg  *EventConfig
}

// TriggersConfig builds Triggers.
type TriggersConfig struct {
	Service *Service
	// Commands stores published workflows' commands with the router's
	// (router.Settings); nil: trigger_command nodes make no command.
	Commands CommandSetter
	// ReloadEvery is how often the whole index is reloaded, to see what
	// other instances published; default 10 s.
	ReloadEvery time.Duration
	Logger      *slog.Logger
}

// NewTriggers returns the trigger index of a Service, told by the Service
// whenever this instance changes what is published. Call Run to load it.
func NewTriggers(cfg TriggersConfig) *Triggers {
	if cfg.ReloadEvery <= 0 {
		cfg.ReloadEvery = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Triggers{s: cfg.Service, every: cfg.ReloadEvery, logger: cfg.Logger, byComm: map[int64]*communityIndex{}, fresh: map[int64]time.Time{}}
	set := cfg.Commands
	if set != nil {
		cfg.Service.OnPublish(commandHook(set))
	}
	cfg.Service.onPublished = func(ctx context.Context, cid int64) {
		if set != nil {
			set.Invalidate(ctx, cid)
		}
		if err := t.reload(ctx, db.New(t.s.pool), cid); err != nil {
			t.logger.WarnContext(ctx, "reload the community's workflow triggers; the next full reload picks them up", "err", err, "community", cid)
		}
	}
	return t
}

// Run loads the index, then reloads it every ReloadEvery until ctx ends.
func (t *Triggers) Run(ctx context.Context) error {
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	for {
		if err := t.Load(ctx); err != nil && ctx.Err() == nil {
			t.logger.WarnContext(ctx, "load the workflow triggers", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Load reads every published workflow's triggers.
func (t *Triggers) Load(ctx context.Context) error {
	started := time.Now()
	rows, err := db.New(t.s.read).WorkflowPublishedAll(ctx)
	if err != nil {
		return errorf("load published workflows: %w", err)
	}
	m := map[int64]*communityIndex{}
	for _, r := range rows {
		addPublished(m, t.logger, r.CommunityID, r.ID, r.Name, r.Version, r.Definition)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for cid, at := range t.fresh { // reloaded alone since this load began: newer than what it read
		if at.After(started) {
			if ci := t.byComm[cid]; ci != nil {
				m[cid] = ci
			} else {
				delete(m, cid)
			}
		}
	}
	t.byComm, t.fresh = m, map[int64]time.Time{}
	return nil
}

// reload reads one community's published workflows.
func (t *Triggers) reload(ctx context.Context, q *db.Queries, cid int64) error {
	rows, err := q.WorkflowPublishedByCommunity(ctx, cid)
	if err != nil {
		return errorf("load published workflows of community %d: %w", cid, err)
	}
	m := map[int64]*communityIndex{}
	for _, r := range rows {
		addPublished(m, t.logger, r.CommunityID, r.ID, r.Name, r.Version, r.Definition)
	}
	t.mu.Lock()
	t.fresh[cid] = time.Now()
	if ci := m[cid]; ci != nil {
		t.byComm[cid] = ci
	} else {
		delete(t.byComm, cid)
	}
	t.mu.Unlock()
	return nil
}

// addPublished indexes one published version's enabled triggers.
func addPublished(m map[int64]*communityIndex, logger *slog.Logger, cid, id int64, name string, version int32, raw []byte) {
	var def Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		logger.Warn("a published workflow does not decode; its triggers are off", "err", err, "workflow", id)
		return
	}
	p := &published{w: &Workflow{ID: id, CommunityID: cid, Name: name, Status: StatusPublished, Version: version, Definition: def},
		commands: map[string][]string{}}
	ci := m[cid]
	if ci == nil {
		ci = &communityIndex{kinds: map[router.Kind]bool{}, workflows: map[int64]*published{}}
		m[cid] = ci
	}
	ci.workflows[id] = p
	for i := range def.Nodes {
		n := &def.Nodes[i]
		if n.Disabled {
			continue
		}
		switch n.Type {
		case "trigger_event":
			k, _ := KindOf(n.Type)
			cfg, err := DecodeConfig(k, n.Config)
			if err != nil {
				continue
			}
			ec := cfg.(*EventConfig)
			ci.events = append(ci.events, eventTrigger{p: p, node: n.ID, cfg: ec})
			for _, kind := range ec.Kinds {
				ci.kinds[router.Kind(kind)] = true
			}
		case "trigger_command":
			if c := commandConfig(n); c != nil {
				p.commands[c.Command] = append(p.commands[c.Command], n.ID)
			}
		}
	}
}

func (t *Triggers) community(cid int64) *communityIndex {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byComm[cid]
}

// Wants reports, from memory, whether an event of the kind in the community,
// or one that ran the commands, starts any workflow.
func (t *Triggers) Wants(cid int64, kind router.Kind, commands []router.CommandRun) bool {
	for _, c := range commands {
		if c.Workflow != 0 && c.Outcome == "ok" {
			return true
		}
	}
	ci := t.community(cid)
	return ci != nil && ci.kinds[kind]
}

// ObservedTx starts, in the event's transaction, the runs the event starts.
func (t *Triggers) ObservedTx(ctx context.Context, tx pgx.Tx, h router.Handled) error {
	reqs := t.requests(ctx, db.New(tx), h.CommunityID, h.Event, h.Commands, false)
	if len(reqs) == 0 {
		return nil
	}
	_, err := t.s.StartTx(ctx, tx, reqs)
	return err
}

// Observed starts the runs of an event the router did not tell in its
// transaction (the index changed between Wants and now), through the
// Service's batched start: one shared commit, not one per event.
func (t *Triggers) Observed(ctx context.Context, h router.Handled) {
	reqs := t.requests(ctx, db.New(t.s.read), h.CommunityID, h.Event, h.Commands, false)
	if len(reqs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, r := range reqs {
		if _, err := t.s.Start(ctx, r); err != nil {
			t.logger.WarnContext(ctx, "start a workflow run", "err", err, "workflow", r.WorkflowID, "dedup", r.DedupKey)
		}
	}
}

// Match is a workflow a simulated event would start, with its dry run.
type Match struct {
	WorkflowID int64
	Name       string
	Version    int32
	Node       string // the trigger node
	Trigger    string // event or command
	Outcome    Outcome
	Err        string // the dry run could not run
}

// Would lists the published workflows an event (and the commands it ran)
// would start, each with a dry run of its published version: nothing sent,
// nothing stored. The index is reloaded for the community first, so what
// was just published shows.
func (t *Triggers) Would(ctx context.Context, cid int64, ev router.Event, commands []router.CommandRun) []Match {
	if err := t.reload(ctx, db.New(t.s.read), cid); err != nil {
		t.logger.WarnContext(ctx, "reload the community's workflow triggers", "err", err, "community", cid)
	}
	var out []Match
	for _, r := range t.requests(ctx, nil, cid, ev, commands, true) {
		p := t.workflow(cid, r.WorkflowID)
		if p == nil {
			continue
		}
		m := Match{WorkflowID: p.w.ID, Name: p.w.Name, Version: p.w.Version, Node: r.Node, Trigger: r.Kind}
		o, err := t.s.DryRun(ctx, cid, p.w, &p.w.Definition, r.Node, r.Payload)
		if err != nil {
			m.Err = err.Error()
		}
		m.Outcome = o
		out = append(out, m)
	}
	return out
}

// requests lists the runs an event starts; q reads a workflow the index
// does not know yet (published on another instance a moment ago).
func (t *Triggers) requests(ctx context.Context, q *db.Queries, cid int64, ev router.Event, commands []router.CommandRun, dry bool) []StartRequest {
	ci := t.community(cid)
	var reqs []StartRequest
	var payload map[string]any
	if ci != nil && ci.kinds[ev.Kind] {
		payload = EventPayload(ev)
		for _, et := range ci.events {
			if !et.cfg.Matches(ev) || !rulesHold(et, payload) {
				continue
			}
			reqs = append(reqs, StartRequest{CommunityID: cid, WorkflowID: et.p.w.ID, Version: et.p.w.Version, Kind: TriggerEvent,
				Node: et.node, Payload: payload, DedupKey: dedupKey("event", ev.ID, et.node)})
		}
	}
	for _, c := range commands {
		if c.Workflow == 0 || c.Outcome != "ok" {
			continue
		}
		p := t.workflow(cid, c.Workflow)
		if p == nil && !dry {
			if err := t.reload(ctx, q, cid); err != nil {
				t.logger.WarnContext(ctx, "load the workflow of a command", "err", err, "workflow", c.Workflow)
			}
			p = t.workflow(cid, c.Workflow)
		}
		if p == nil {
			continue // no longer published
		}
		for _, node := range p.commands[c.Command] {
			reqs = append(reqs, StartRequest{CommunityID: cid, WorkflowID: p.w.ID, Version: p.w.Version, Kind: TriggerCommand,
				Node: node, Payload: CommandPayload(ev, c), DedupKey: dedupKey("command", ev.ID, node)})
		}
	}
	return reqs
}

func (t *Triggers) workflow(cid, id int64) *published {
	ci := t.community(cid)
	if ci == nil {
		return nil
	}
	return ci.workflows[id]
}

// dedupKey is a run's dedup key for an event; none for an event without id.
func dedupKey(kind, eventID, node string) string {
	if eventID == "" {
		return ""
	}
	return kind + ":" + eventID + ":" + node
}

// rulesHold evaluates a trigger_event's filters over the event's payload.
func rulesHold(et eventTrigger, payload map[string]any) bool {
	if len(et.cfg.Rules) == 0 {
		return true
	}
	x := &Exec{Run: RunInfo{CommunityID: et.p.w.CommunityID, WorkflowID: et.p.w.ID, Version: et.p.w.Version, DryRun: true},
		Scope: map[string]any{"trigger": payload, "input": payload, "vars": map[string]any{}, "nodes": map[string]any{},
			"workflow":  map[string]any{"id": et.p.w.ID, "name": et.p.w.Name, "version": et.p.w.Version},
			"community": map[string]any{"id": et.p.w.CommunityID}}}
	return evalRules(x, et.cfg.Rules)
}

// EventPayload is a platform event as a trigger_event's run reads it
// ({{ trigger.… }}): id, platform, kind, server, channel, user {id, name,
// display_name, roles} (also flat as user_id, user_name, user_display_name,
// user_roles), text and data {viewers, bits, …}, whose keys also appear at
// the top level where no other field has the name ({{ trigger.viewers }}).
func EventPayload(ev router.Event) map[string]any {
	p := basePayload(ev)
	data := make(map[string]any, len(ev.Data))
	for k, v := range ev.Data {
		data[k] = v
	}
	for k, v := range data {
		if _, taken := p[k]; !taken && k != "data" {
			p[k] = v
		}
	}
	p["data"] = data
	return p
}

// CommandPayload is a chat command as a trigger_command's run reads it:
// the event's id, platform, server, channel, user and text (as in
// EventPayload), the command's name, its arguments (args, the text after
// the name, and arg_list, its words).
func CommandPayload(ev router.Event, c router.CommandRun) map[string]any {
	p := basePayload(ev)
	words := make([]any, 0)
	for _, w := range strings.Fields(c.Args) {
		words = append(words, w)
	}
	p["command"], p["args"], p["arg_list"] = c.Command, c.Args, words
	return p
}

func basePayload(ev router.Event) map[string]any {
	roles := make([]any, len(ev.User.Roles))
	for i, r := range ev.User.Roles {
		roles[i] = r
	}
	return map[string]any{"id": ev.ID, "platform": ev.Platform, "kind": string(ev.Kind), "server": ev.Server, "channel": ev.Channel,
		"user":    map[string]any{"id": ev.User.ID, "name": ev.User.Name, "display_name": ev.User.Shown(), "roles": roles},
		"user_id": ev.User.ID, "user_name": ev.User.Name, "user_display_name": ev.User.Shown(), "user_roles": roles,
		"text": ev.Text}
}

// Would is Triggers.Would over the community's published workflows as they
// are stored now, for callers without the index (the simulator, waddle chat).
func (s *Service) Would(ctx context.Context, cid int64, ev router.Event, commands []router.CommandRun) []Match {
	t := &Triggers{s: s, logger: s.logger, byComm: map[int64]*communityIndex{}, fresh: map[int64]time.Time{}}
	return t.Would(ctx, cid, ev, commands)
}

// Summary is a short line for a trace's output or error, for the simulator
// and waddle chat.
func (tr Trace) Summary(max int) string {
	if tr.Error != "" {
		return runes.Truncate(tr.Error, max, "…")
	}
	if tr.Output == nil {
		return ""
	}
	raw, err := json.Marshal(tr.Output)
	if err != nil {
		return ""
	}
	return runes.Truncate(string(raw), max, "…")
}
