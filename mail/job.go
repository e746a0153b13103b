package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// SendArgs is the job that sends one mail. It names what the mail is about —
// which mail, and the ids of the rows it reports on — and never carries its
// text: the message, and any link in it, is composed when the job runs (see
// ComposeFunc). The job table keeps finished jobs for a while, so it must hold
// nothing a link could be read from.
//
// The job is inserted in the same transaction as whatever the mail reports,
// so a committed change always gets its mail, and River retries a failed send
// with backoff.
type SendArgs struct {
	Mail        string `json:"mail"`                   // which mail: a key of the worker's Composers
	ID          int64  `json:"id"`                     // the row the mail is about (a reset, an invitation, an account)
	CommunityID int64  `json:"community_id,omitempty"` // for mails about a membership
	ActorID     int64  `json:"actor_id,omitempty"`     // the account that caused the mail, when it names them
	AuditID     int64  `json:"audit_id,omitempty"`     // the audit entry the mail reports: what changed, when, from where
}

// Kind names the job in the queue.
func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts limits retries to about forty minutes: reset links live an hour.
func (SendArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 6} }

// ComposeFunc writes the message of a SendArgs job, each time the job runs. A
// mail that carries a link mints the link's token here, storing only its hash
// and replacing the token of any earlier attempt, so however often a send is
// retried, only the link in the last mail works.
//
// It returns ErrNothingToSend when the mail has lost its reason to go (the
// reset was used or expired, the invitation was withdrawn): the job then ends
// without sending.
type ComposeFunc func(ctx context.Context, args SendArgs) (Message, error)

// Composers maps SendArgs.Mail to the func that composes that mail.
type Composers map[string]ComposeFunc

// ErrNothingToSend is returned by a ComposeFunc whose mail is no longer due.
var ErrNothingToSend = errors.New("nothing to send any more")

// SendWorker delivers SendArgs jobs.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	Sender  Sender
	Compose Composers
	Logger  *slog.Logger
}

// Timeout bounds one delivery attempt.
func (w *SendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return 45 * time.Second }

// Work composes the message and sends it; an error makes River retry it later.
// Logs name the mail and its row, never the recipient or the text.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	a := job.Args
	compose := w.Compose[a.Mail]
	if compose == nil {
		w.Logger.ErrorContext(ctx, "mail job of an unknown kind; dropped", "mail", a.Mail, "id", a.ID)
		return river.JobCancel(fmt.Errorf("no composer for mail %q", a.Mail))
	}
	m, err := compose(ctx, a)
	if errors.Is(err, ErrNothingToSend) {
		w.Logger.InfoContext(ctx, "mail not sent: it is no longer due", "mail", a.Mail, "id", a.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("compose mail %s %d: %w", a.Mail, a.ID, err)
	}
	if err := w.Sender.Send(ctx, m); err != nil {
		w.Logger.WarnContext(ctx, "mail send failed; will retry", "err", err,
			"mail", a.Mail, "id", a.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts)
		return fmt.Errorf("send mail %s %d: %w", a.Mail, a.ID, err)
	}
	w.Logger.InfoContext(ctx, "mail sent", "mail", a.Mail, "id", a.ID, "attempt", job.Attempt)
	return nil
}

// Enqueue queues the mail a inside tx.
func Enqueue(ctx context.Context, jobs *river.Client[pgx.Tx], tx pgx.Tx, a SendArgs) error {
	if _, err := jobs.InsertTx(ctx, tx, a, nil); err != nil {
		return fmt.Errorf("queue mail %s %d: %w", a.Mail, a.ID, err)
	}
	return nil
}
