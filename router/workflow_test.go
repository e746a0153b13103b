package router_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// txObserver is a test TxObserver: it wants the kinds it is given and any
// workflow command, and stores each event it is told of in the event's
// transaction (in a table the test makes), or fails it.
type txObserver struct {
	observerLog
	kinds map[router.Kind]bool
	fail  error

	mu   sync.Mutex
	told []router.Handled
}

func (o *txObserver) Wants(_ int64, kind router.Kind, cmds []router.CommandRun) bool {
	for _, c := range cmds {
		if c.Workflow != 0 {
			return true
		}
	}
	return o.kinds[kind]
}

func (o *txObserver) ObservedTx(ctx context.Context, tx pgx.Tx, h router.Handled) error {
	o.mu.Lock()
	o.told = append(o.told, h)
	o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	_, err := tx.Exec(ctx, "INSERT INTO observed (event_id) VALUES ($1)", h.Event.ID)
	return err
}

func (o *txObserver) toldTx() []router.Handled {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]router.Handled(nil), o.told...)
}

func newTxEnv(t *testing.T, o *txObserver) *env {
	t.Helper()
	e := newSeamEnv(t, o, nil)
	if _, err := e.pool.Exec(context.Background(), "CREATE TABLE observed (event_id text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) observedRows(id string) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM observed WHERE event_id = $1", id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) balance(user string) int64 {
	e.t.Helper()
	n, err := db.New(e.pool).PointsBalanceGet(context.Background(), db.PointsBalanceGetParams{CommunityID: e.cid, Platform: router.Twitch, UserID: user})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestTxObserverStoresWithTheEvent: an event the TxObserver wants is told
// inside its transaction, with or without de-duplication and even when it
// had no other effect than its batched points, which are still awarded
// once; it is then not told again through Observed. An event it does not
// want goes to Observed alone.
func TestTxObserverStoresWithTheEvent(t *testing.T) {
	t.Parallel()
	o := &txObserver{kinds: map[router.Kind]bool{router.Raid: true, router.Follow: true}}
	e := newTxEnv(t, o)
	ctx := context.Background()

	raid := router.Event{ID: "raid-1", Kind: router.Raid, Platform: router.Twitch, Server: "duckchan", User: router.User{ID: "r1", Name: "raider"},
		Data: map[string]any{"viewers": 30}}
	e.event(raid)
	follow := e.event(router.Event{ID: "follow-1", Kind: router.Follow, User: router.User{ID: "f1", Name: "fan"}})
	if _, err := e.r.Handle(ctx, router.Event{ID: "follow-2", Kind: router.Follow, Platform: router.Twitch, Server: "duckchan",
		User: router.User{ID: "f2", Name: "fan2"}}, router.Options{}); err != nil {
		t.Fatal(err)
	}
	e.say("chatty", nil, "hello") // not wanted

	for _, id := range []string{"raid-1", "follow-1", "follow-2"} {
		if n := e.observedRows(id); n != 1 {
			t.Errorf("event %s stored %d times by the TxObserver, want 1", id, n)
		}
	}
	if len(follow.Points) != 1 || follow.Points[0].Delta == 0 || e.balance("f1") != follow.Points[0].Delta {
		t.Errorf("a wanted follow's points %+v, balance %d: the award must still be made once", follow.Points, e.balance("f1"))
	}
	var kinds []string
	for _, h := range o.all() {
		kinds = append(kinds, string(h.Event.Kind))
	}
	if strings.Join(kinds, ",") != "chat_message" {
		t.Errorf("Observed heard %v, want only the unwanted chat message", kinds)
	}
	told := o.toldTx()
	if len(told) != 3 || told[0].Event.Data["viewers"] != 30 || told[0].CommunityID != e.cid {
		t.Errorf("ObservedTx told %+v, want the raid with its data first, then the follows", told)
	}

	// A duplicate delivery tells nothing again.
	e.event(raid)
	if n := e.observedRows("raid-1"); n != 1 || len(o.toldTx()) != 3 {
		t.Errorf("a duplicate delivery stored %d rows and was told %d times", n, len(o.toldTx()))
	}
}

// TestTxObserverFailureFailsTheEvent: when the TxObserver cannot store what
// the event starts, the event fails whole: its points are rolled back and a
// retry is handled again.
func TestTxObserverFailureFailsTheEvent(t *testing.T) {
	t.Parallel()
	o := &txObserver{kinds: map[router.Kind]bool{router.Follow: true}, fail: errors.New("database gone")}
	e := newTxEnv(t, o)
	ev := router.Event{ID: "f-1", Kind: router.Follow, Platform: router.Twitch, Server: "duckchan", User: router.User{ID: "f1", Name: "fan"}}
	if _, err := e.r.Handle(context.Background(), ev, router.Options{Dedup: true}); err == nil || !strings.Contains(err.Error(), "database gone") {
		t.Fatalf("Handle: %v, want the observer's error", err)
	}
	if b := e.balance("f1"); b != 0 {
		t.Errorf("balance %d after a failed event, want 0", b)
	}
	o.mu.Lock()
	o.fail = nil
	o.mu.Unlock()
	res := e.event(ev)
	if res.Duplicate || e.observedRows("f-1") != 1 || e.balance("f1") == 0 {
		t.Errorf("the retry: duplicate %v, %d rows, balance %d; want handled afresh", res.Duplicate, e.observedRows("f-1"), e.balance("f1"))
	}
}

// newWorkflowRow stores a workflow for a command to belong to.
func (e *env) newWorkflowRow(name string) int64 {
	e.t.Helper()
	w, err := db.New(e.pool).WorkflowInsert(context.Background(), db.WorkflowInsertParams{CommunityID: e.cid, Name: name, Draft: []byte(`{}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	return w.ID
}

func (e *env) setWorkflowCommands(id int64, cmds ...router.WorkflowCommand) error {
	e.t.Helper()
	err := pgx.BeginFunc(context.Background(), e.pool, func(tx pgx.Tx) error {
		return e.s.SetWorkflowCommands(context.Background(), tx, e.cid, id, cmds)
	})
	if err == nil {
		e.s.Invalidate(context.Background(), e.cid)
	}
	return err
}

// TestWorkflowCommands: a workflow's command answers nothing itself, is
// told to the TxObserver with its workflow, shows in !help, keeps its
// permission and cannot be changed or deleted by hand; removing the
// workflow's commands removes it.
func TestWorkflowCommands(t *testing.T) {
	t.Parallel()
	o := &txObserver{}
	e := newTxEnv(t, o)
	ctx := context.Background()
	wid := e.newWorkflowRow("Shout out")
	if err := e.setWorkflowCommands(wid, router.WorkflowCommand{Name: "!Shout", Permission: router.Everyone},
		router.WorkflowCommand{Name: "modonly", Permission: router.Moderator, Platforms: []string{router.Twitch}}); err != nil {
		t.Fatal(err)
	}

	res := e.say("alice", nil, "!shout loud and clear")
	if len(res.Responses) != 0 {
		t.Errorf("a workflow's command answered %q itself", replies(res))
	}
	told := o.toldTx()
	if len(told) != 1 || len(told[0].Commands) != 1 {
		t.Fatalf("told %+v, want one event with its command", told)
	}
	if c := told[0].Commands[0]; c.Command != "shout" || c.Args != "loud and clear" || c.Outcome != "ok" || c.Workflow != wid {
		t.Errorf("the command as told: %+v, want shout with its args, ok, workflow %d", c, wid)
	}
	e.say("bob", nil, "!modonly")
	if told := o.toldTx(); len(told) != 2 || told[1].Commands[0].Outcome != "denied" {
		t.Errorf("a denied workflow command told as %+v, want outcome denied", told[len(told)-1].Commands)
	}
	if got := replies(e.say("carol", nil, "!help")); !strings.Contains(got, "!shout") || strings.Contains(got, "!modonly") {
		t.Errorf("!help for a viewer: %q, want !shout and not the moderators' !modonly", got)
	}

	cmd, err := e.s.CommandByName(ctx, e.cid, "shout")
	if err != nil || cmd.WorkflowID != wid {
		t.Fatalf("CommandByName: %+v, %v; want the workflow's command", cmd, err)
	}
	_, err = e.s.UpdateCommand(ctx, audit.Actor{}, e.cid, cmd.ID, router.CommandInput{Name: "shout", Response: "hi", Permission: router.Everyone, Enabled: true})
	if p := problem.As(err); p == nil || p.Code != problem.Conflict || !strings.Contains(p.Message, `workflow "Shout out"`) {
		t.Errorf("UpdateCommand of a workflow's command: %v, want a conflict naming the workflow", err)
	}
	if err := e.s.DeleteCommand(ctx, audit.Actor{}, e.cid, cmd.ID); problem.As(err) == nil || problem.As(err).Code != problem.Conflict {
		t.Errorf("DeleteCommand of a workflow's command: %v, want a conflict", err)
	}

	// Publishing again with one command left removes the other.
	if err := e.setWorkflowCommands(wid, router.WorkflowCommand{Name: "shout", Permission: router.VIP}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CommandByName(ctx, e.cid, "modonly"); !errors.Is(err, router.ErrCommandNotFound) {
		t.Errorf("modonly after it left the workflow: %v, want not found", err)
	}
	if got := replies(e.say("dave", nil, "!help")); strings.Contains(got, "!shout") {
		t.Errorf("!help for a viewer once !shout needs VIP: %q", got)
	}
	if err := e.setWorkflowCommands(wid); err != nil {
		t.Fatal(err)
	}
	if cmds, _ := e.s.Commands(ctx, e.cid); len(cmds) != 0 {
		t.Errorf("%d commands left once the workflow has none", len(cmds))
	}
}

// TestWorkflowCommandClashes: a workflow's command name held by anything
// else is refused, naming the command and what holds it, and nothing is
// stored.
func TestWorkflowCommandClashes(t *testing.T) {
	t.Parallel()
	e := newTxEnv(t, &txObserver{})
	ctx := context.Background()
	e.command(router.CommandInput{Name: "discord", Response: "join us"})
	if err := e.s.AddAlias(ctx, audit.Actor{}, e.cid, "dc", "discord"); err != nil {
		t.Fatal(err)
	}
	other := e.newWorkflowRow("Raid thanks")
	if err := e.setWorkflowCommands(other, router.WorkflowCommand{Name: "thanks", Permission: router.Everyone}); err != nil {
		t.Fatal(err)
	}
	wid := e.newWorkflowRow("Mine")
	cases := []struct {
		name  string
		cmds  []router.WorkflowCommand
		field string
		want  string
	}{
		{"a command", []router.WorkflowCommand{{Name: "discord", Permission: router.Everyone}}, "command", "!discord is already a command"},
		{"an alias", []router.WorkflowCommand{{Name: "dc", Permission: router.Everyone}}, "command", "!dc is already an alias of the command !discord"},
		{"another workflow", []router.WorkflowCommand{{Name: "thanks", Permission: router.Everyone}}, "command", `workflow "Raid thanks"`},
		{"a built-in", []router.WorkflowCommand{{Name: "help", Permission: router.Everyone}}, "command", "!help is a built-in command"},
		{"a reserved name", []router.WorkflowCommand{{Name: "ban", Permission: router.Everyone}}, "command", "platforms keep"},
		{"twice", []router.WorkflowCommand{{Name: "a", Permission: router.Everyone}, {Name: "a", Permission: router.Everyone}}, "command", "two triggers for !a"},
		{"a bad name", []router.WorkflowCommand{{Name: "no spaces", Permission: router.Everyone}}, "command", "1 to 32"},
		{"a bad permission", []router.WorkflowCommand{{Name: "ok", Permission: "king"}}, "permission", "Choose who"},
		{"a bad cooldown", []router.WorkflowCommand{{Name: "ok", Permission: router.Everyone, UserCooldown: -1}}, "cooldown", "0 to 86400"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.setWorkflowCommands(wid, append([]router.WorkflowCommand{{Name: "fine", Permission: router.Everyone}}, c.cmds...)...)
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != c.field || !strings.Contains(p.Message, c.want) {
				t.Fatalf("err %v, want invalid %s saying %q", err, c.field, c.want)
			}
			if _, err := e.s.CommandByName(ctx, e.cid, "fine"); !errors.Is(err, router.ErrCommandNotFound) {
				t.Errorf("a refused set stored !fine: %v", err)
			}
		})
	}
	// A user cannot take a workflow's name either.
	_, err := e.s.CreateCommand(ctx, audit.Actor{}, e.cid, router.CommandInput{Name: "thanks", Response: "x", Permission: router.Everyone, Enabled: true})
	if p := problem.As(err); p == nil || p.Field != "name" {
		t.Errorf("CreateCommand with a workflow's name: %v, want invalid name", err)
	}
}
