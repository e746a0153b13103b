package mailtest

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/mail"
)

// Outbox sends the mail jobs a test's actions queued, the way the job worker
// does (composing each message, and minting its link, when it runs), to a
// sender that keeps them. Tests that run no job workers read their mail here.
type Outbox struct {
	jobs   *river.Client[pgx.Tx]
	worker *mail.SendWorker

	mu   sync.Mutex
	ran  map[int64]bool
	sent []mail.Message
}

// NewOutbox returns an Outbox for the jobs of client, composed by compose.
func NewOutbox(client *river.Client[pgx.Tx], compose mail.Composers) *Outbox {
	o := &Outbox{jobs: client, ran: map[int64]bool{}}
	o.worker = &mail.SendWorker{Sender: keep{o}, Compose: compose, Logger: slog.New(slog.DiscardHandler)}
	return o
}

type keep struct{ o *Outbox }

func (k keep) Send(_ context.Context, m mail.Message) error {
	k.o.sent = append(k.o.sent, m) // under o.mu, held by Deliver
	return nil
}

// Deliver runs each queued mail job once, oldest first, and returns every
// message sent so far, oldest first. A job whose mail is no longer due sends nothing.
func (o *Outbox) Deliver(ctx context.Context, t testing.TB) []mail.Message {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	res, err := o.jobs.JobList(ctx, river.NewJobListParams().Kinds(mail.SendArgs{}.Kind()).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(10_000))
	if err != nil {
		t.Fatalf("list mail jobs: %v", err)
	}
	for _, j := range res.Jobs {
		if o.ran[j.ID] {
			continue
		}
		o.ran[j.ID] = true
		var a mail.SendArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatalf("mail job %d: %v", j.ID, err)
		}
		job := &river.Job[mail.SendArgs]{JobRow: &rivertype.JobRow{ID: j.ID, Attempt: 1, MaxAttempts: j.MaxAttempts, Kind: j.Kind}, Args: a}
		if err := o.worker.Work(ctx, job); err != nil {
			t.Fatalf("mail job %d (%s %d): %v", j.ID, a.Mail, a.ID, err)
		}
	}
	return append([]mail.Message(nil), o.sent...)
}
