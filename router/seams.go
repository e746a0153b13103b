package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/runes"
)

// Observer is told of every event the engine handled and the commands it
// ran, once its effects are committed; a dry run and a duplicate delivery
// tell nothing. Workflows start runs from it. Observed runs on the event's
// path: it must return quickly (enqueue, don't work).
type Observer interface {
	Observed(ctx context.Context, h Handled)
}

// TxObserver is an Observer that can also be told inside the event's
// transaction, so that what it stores (a workflow run and its job) commits
// with the event's effects or not at all: a crash between the two loses
// nothing. The router asks Wants first, cheaply, for every event; an event
// it wants that had no transaction gets one. An event told through
// ObservedTx is not told again through Observed.
type TxObserver interface {
	Observer
	// Wants reports whether the observer has anything to do for an event of
	// a kind in a community, or for one that ran any of the commands.
	Wants(communityID int64, kind Kind, commands []CommandRun) bool
	// ObservedTx stores what the event starts in tx; an error fails the event.
	ObservedTx(ctx context.Context, tx pgx.Tx, h Handled) error
}

// Handled is one handled event as an Observer sees it.
type Handled struct {
	CommunityID int64
	Event       Event
	Result      Result
	Commands    []CommandRun // in the order they ran
	IdentityID  int64        // the speaking account's identity; 0: unknown
}

// CommandRun is one command an event ran, as the execution log records it.
type CommandRun struct {
	Command string // its name, without prefix
	Args    string
	Outcome string // one of Outcomes
	// Workflow is the published workflow whose command this is; 0 for
	// any other command.
	Workflow int64
}

// Sender sends a message to a linked channel on any platform without an
// incoming event (a scheduled workflow message, a code by whisper or DM).
// The bots implement it over their send queues.
type Sender interface {
	Send(ctx context.Context, communityID int64, m Message) error
}

// Message is a message to send to a linked server's channel, or privately
// to one of its users.
type Message struct {
	Platform string // twitch, discord, slack
	Server   string // the linked channel login, guild id or team id
	Channel  string // where to post; empty with User
	User     string // a user id: a whisper or DM instead of a channel message
	Text     string
	// Wait asks the bot to wait for the platform's answer instead of
	// returning once the message is queued, so that a refusal (DMs closed,
	// whisper refused, a budget spent, a full queue) comes back as the error.
	Wait bool
}

// Send sends m through the Sender to a server the community linked. In a dry
// run nothing is sent: the answer lists the message as a change.
func (r *Router) Send(ctx context.Context, communityID int64, m Message, opts Options) (Result, error) {
	m.Text = strings.TrimSpace(m.Text)
	switch {
	case m.Text == "" || !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > MaxTextLen:
		return Result{}, problem.Invalidf("text", "A message has 1 to %d characters of UTF-8 text.", MaxTextLen)
	case m.Channel == "" && m.User == "":
		return Result{}, problem.Invalidf("channel", "Give the channel to post in, or the user to write to.")
	case len(m.Channel) > 100 || len(m.User) > 100:
		return Result{}, problem.Invalidf("channel", "A channel or user id has at most 100 characters.")
	}
	if m.Platform == Twitch {
		m.Server = strings.ToLower(m.Server)
	}
	s, err := r.community(ctx, m.Platform, m.Server)
	if err != nil {
		return Result{}, err
	}
	if s.communityID != communityID {
		return Result{}, ErrNotLinked // another community's server: the same answer as none
	}
	res := Result{Responses: []Response{}, Changes: []string{sendChange(m, opts.DryRun)}}
	if opts.DryRun {
		return res, nil
	}
	if r.sender == nil {
		return Result{}, problem.New(problem.Conflict, "Sending messages is not enabled on this server.")
	}
	if err := r.sender.Send(ctx, communityID, m); err != nil {
		return Result{}, fmt.Errorf("send to %s %s: %w", m.Platform, m.Server, err)
	}
	return res, nil
}

// sendChange describes a message sent, or that would be sent in a dry run.
func sendChange(m Message, dry bool) string {
	to := m.Platform + " " + m.Server + " channel " + m.Channel
	if m.User != "" {
		to = m.Platform + " " + m.Server + " user " + m.User
	}
	verb := "sent"
	if dry {
		verb = "would send"
	}
	return fmt.Sprintf("%s %q to %s", verb, runes.Truncate(m.Text, 80, "…"), to)
}

// observeTx tells a TxObserver that wants the event of it, in the event's
// transaction (begun here if the event had none).
func (h *handling) observeTx(ctx context.Context) error {
	o, ok := h.r.observer.(TxObserver)
	if h.dry || !ok || h.byWorkflow() || !o.Wants(h.s.communityID, h.ev.Kind, h.ran) {
		return nil
	}
	tx, err := h.begin(ctx)
	if err != nil {
		return err
	}
	if h.earned != nil { // the batch would have written it: now the event has a transaction
		pc := *h.earned
		h.earned = nil
		bal, err := addPoints(ctx, db.New(tx), h.s.communityID, h.ev.Platform, h.ev.User.ID, pc.User, pc.Delta, pc.Reason)
		if err != nil && !errors.Is(err, ErrBalanceLimit) {
			return err
		}
		pc.Balance = bal
		h.awarded(pc, err == nil)
	}
	if err := o.ObservedTx(ctx, tx, h.handled()); err != nil {
		return fmt.Errorf("start what the event triggers: %w", err)
	}
	h.toldTx = true
	return nil
}

func (h *handling) handled() Handled {
	return Handled{CommunityID: h.s.communityID, Event: h.ev, Result: h.res, Commands: h.ran, IdentityID: h.identity}
}

// byWorkflow reports whether a workflow made the event (RunModule): it
// starts no workflow, so that none starts itself.
func (h *handling) byWorkflow() bool { return strings.HasPrefix(h.ev.ID, WorkflowEventPrefix) }

// observe tells the Observer of a handled event, unless a workflow made it
// or the TxObserver was told already.
func (h *handling) observe(ctx context.Context) {
	if h.dry || h.r.observer == nil || h.toldTx || h.byWorkflow() {
		return
	}
	h.r.observer.Observed(ctx, h.handled())
}

// Instance is this instance's id: while the router runs, it holds the
// session advisory lock of this id, which tells other instances it is alive
// (waddle_instance_alive in SQL). Workflows mark the runs they run with it.
func (r *Router) Instance() int64 { return r.owner }
