package mail

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// SendArgs is the job that sends one message. It is inserted in the same
// transaction as whatever the mail reports, so a committed change always gets
// its mail, and River retries a failed send with backoff.
type SendArgs struct {
	Message Message `json:"message"`
}

// Kind names the job in the queue.
func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts limits retries to about forty minutes: reset links live an hour.
func (SendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 6} }

// SendWorker delivers SendArgs jobs.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	Sender Sender
	Logger *slog.Logger
}

// Timeout bounds one delivery attempt.
func (w *SendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return 45 * time.Second }

// Work sends the message; an error makes River retry it later.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	if err := w.Sender.Send(ctx, job.Args.Message); err != nil {
		w.Logger.WarnContext(ctx, "mail send failed; will retry", "err", err,
			"subject", job.Args.Message.Subject, "attempt", job.Attempt, "max_attempts", job.MaxAttempts)
		return fmt.Errorf("send mail: %w", err)
	}
	w.Logger.InfoContext(ctx, "mail sent", "subject", job.Args.Message.Subject, "attempt", job.Attempt)
	return nil
}

// Enqueue queues m inside tx.
func Enqueue(ctx context.Context, jobs *river.Client[pgx.Tx], tx pgx.Tx, m Message) error {
	if _, err := jobs.InsertTx(ctx, tx, SendArgs{Message: m}, nil); err != nil {
		return fmt.Errorf("queue mail %q: %w", m.Subject, err)
	}
	return nil
}
