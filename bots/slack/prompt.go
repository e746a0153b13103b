package slackbot

import (
	"context"
	"sync"
	"time"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// Slack gives a trigger id 3 seconds. A delivery that carries one (a slash
// command, a click, a submitted modal) is stored with its job like any
// other, but its job may wait: River's workers can all be busy answering
// in channels where replies go out a second apart. So the inbox also hands
// the delivery to the prompt lane, which routes it at once, apart from the
// job queue, and opens the forms it answers with. The job then does the
// rest: the router answers it with the same result (de-duplication), and
// the forms are not opened twice (the bot's flights on this instance; on
// another, the trigger is spent or expired and the form skipped).

// Prompt lane bounds.
const (
	promptBacklog = 256 // deliveries waiting for the lane; more are left to their jobs
	promptSlots   = 16  // deliveries routed at once
)

// Prompts carries the ids of stored deliveries that hold a trigger id from
// where they are stored (the HTTP receiver, Socket Mode) to
// Worker.RunPrompts. A nil *Prompts carries nothing.
type Prompts struct{ ch chan int64 }

// NewPrompts returns an empty prompt lane.
func NewPrompts() *Prompts { return &Prompts{ch: make(chan int64, promptBacklog)} }

// push offers a delivery to the lane without waiting; a full lane leaves
// it to its job.
func (p *Prompts) push(id int64) bool {
	if p == nil {
		return false
	}
	select {
	case p.ch <- id:
		return true
	default:
		return false
	}
}

// hasTrigger reports whether deliveries of kind carry a trigger id.
func hasTrigger(kind string) bool {
	return kind == KindCommand || kind == KindBlockActions || kind == KindViewSubmission
}

// RunPrompts opens, until ctx ends, the forms of the deliveries p carries,
// each within its trigger's 3 seconds; it waits for those it started.
func (w *Worker) RunPrompts(ctx context.Context, p *Prompts) error {
	slots := make(chan struct{}, promptSlots)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var id int64
		select {
		case <-ctx.Done():
			return nil
		case id = <-p.ch:
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			platform.Guard(ctx, w.logger, platform.EventTimeout, func(ctx context.Context) { w.prompt(ctx, id) })
		}()
	}
}

// prompt routes a stored delivery with a trigger id and opens the forms it
// answers with, if the trigger is still fresh. Anything that goes wrong is
// left to the delivery's job.
func (w *Worker) prompt(ctx context.Context, id int64) {
	if w.bot == nil {
		return
	}
	d, err := w.deliveries.Get(ctx, id)
	if err != nil || d.Processed {
		return
	}
	from, ok, err := slackOrigin(d.Kind, d.Payload)
	if err != nil || !ok || from.TriggerID == "" {
		return
	}
	from.At = d.ReceivedAt
	if time.Since(from.At) >= triggerLife {
		w.logger.InfoContext(ctx, "slack trigger expired before its delivery was routed; left to its job", "delivery", d.ID)
		return
	}
	from.Event, _ = w.withUser(ctx, from)
	res, err := w.router.Handle(ctx, from.Event, router.Options{Dedup: true})
	if err != nil {
		w.logger.InfoContext(ctx, "slack delivery with a trigger not routed at once; left to its job", "delivery", d.ID, "err", err)
		return
	}
	// Only the forms, at their places: a response's calls are named by
	// its index, so the job waits for these rather than making them again.
	forms := router.Result{EventID: res.EventID, Responses: make([]router.Response, len(res.Responses))}
	for i, r := range res.Responses {
		forms.Responses[i].Form = r.Form
	}
	tctx, cancel := context.WithDeadline(ctx, from.At.Add(triggerLife))
	defer cancel()
	if err := w.bot.Respond(tctx, from, forms); err != nil {
		w.logger.InfoContext(ctx, "slack form not opened at once", "delivery", d.ID, "err", err)
	}
}
