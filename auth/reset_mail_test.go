package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/mail"
)

// recorder is a mail sender that keeps what it is given and answers with err.
type recorder struct {
	got []mail.Message
	err error
}

func (r *recorder) Send(_ context.Context, m mail.Message) error {
	r.got = append(r.got, m)
	return r.err
}

// mailJobs returns the queued mail jobs, oldest first.
func (e testEnv) mailJobs(ctx context.Context, t *testing.T) []*rivertype.JobRow {
	t.Helper()
	res, err := e.jobs.JobList(ctx, river.NewJobListParams().Kinds(mail.SendArgs{}.Kind()).OrderBy(river.JobListOrderByID, river.SortOrderAsc))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// runResetRequest runs the last queued reset-request job as the worker would.
func (e testEnv) runResetRequest(ctx context.Context, t *testing.T) {
	t.Helper()
	queued := jobArgs[auth.ResetRequestArgs](ctx, t, e.jobs, auth.ResetRequestArgs{}.Kind())
	if err := (&auth.ResetRequestWorker{Service: e.s}).Work(ctx, &river.Job[auth.ResetRequestArgs]{Args: queued[len(queued)-1]}); err != nil {
		t.Fatalf("reset job: %v", err)
	}
}

// sendMailJob runs the mail job row through a SendWorker that sends to r.
func (e testEnv) sendMailJob(ctx context.Context, t *testing.T, row *rivertype.JobRow, attempt int, r *recorder) error {
	t.Helper()
	var a mail.SendArgs
	if err := json.Unmarshal(row.EncodedArgs, &a); err != nil {
		t.Fatal(err)
	}
	w := &mail.SendWorker{Sender: r, Compose: e.s.MailComposers(), Logger: slog.New(slog.DiscardHandler)}
	return w.Work(ctx, &river.Job[mail.SendArgs]{JobRow: &rivertype.JobRow{ID: row.ID, Attempt: attempt, MaxAttempts: row.MaxAttempts, Kind: row.Kind}, Args: a})
}

// normJSON is a JSON object with its keys sorted and no spaces.
func normJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tokenIn(t *testing.T, m mail.Message) string {
	t.Helper()
	match := resetLinkRe.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no reset link in mail %q:\n%s", m.Subject, m.Text)
	}
	return match[1]
}

// The reset's mail job names the reset and nothing else, and no token exists
// until the mail is sent: the job table, which keeps finished jobs, holds no link.
func TestResetMailJobCarriesNoLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	if err := e.s.RequestPasswordReset(ctx, "ann@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	e.runResetRequest(ctx, t)

	jobs := e.mailJobs(ctx, t)
	var resetID int64
	var hashed bool
	if err := e.pool.QueryRow(ctx, "SELECT id, token_hash IS NOT NULL FROM password_resets").Scan(&resetID, &hashed); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"id":%d,"mail":"password_reset"}`, resetID); len(jobs) != 1 || normJSON(t, jobs[0].EncodedArgs) != want {
		t.Fatalf("queued mail jobs %d, args %s; want one with %s", len(jobs), jobs[0].EncodedArgs, want)
	}
	if hashed {
		t.Error("the reset has a token before its mail is sent")
	}
	r := &recorder{}
	if err := e.sendMailJob(ctx, t, jobs[0], 1, r); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 || r.got[0].To != "ann@example.com" {
		t.Fatalf("sent %+v, want one mail to ann", r.got)
	}
	if err := e.s.CheckResetToken(ctx, tokenIn(t, r.got[0])); err != nil {
		t.Errorf("the mailed link: %v, want it to work", err)
	}
	if row := e.mailJobs(ctx, t)[0]; string(row.EncodedArgs) != string(jobs[0].EncodedArgs) {
		t.Errorf("sending changed the job's args to %s", row.EncodedArgs)
	}
}

// A send that fails after the link was minted (the SMTP server may have
// delivered it anyway) is retried with a new link, and the first stops working:
// however many attempts, one working link.
func TestResetMailRetryVoidsEarlierLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	if err := e.s.RequestPasswordReset(ctx, "ann@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	e.runResetRequest(ctx, t)
	job := e.mailJobs(ctx, t)[0]

	failing := &recorder{err: errors.New("451 try again later")}
	if err := e.sendMailJob(ctx, t, job, 1, failing); err == nil {
		t.Fatal("a failed send: Work succeeded, want an error so River retries")
	}
	first := tokenIn(t, failing.got[0])
	if err := e.s.CheckResetToken(ctx, first); err != nil {
		t.Fatalf("the first attempt's link before the retry: %v", err)
	}
	ok := &recorder{}
	if err := e.sendMailJob(ctx, t, job, 2, ok); err != nil {
		t.Fatal(err)
	}
	second := tokenIn(t, ok.got[0])
	if second == first {
		t.Fatal("the retry mailed the same link")
	}
	if err := e.s.CheckResetToken(ctx, first); !errors.Is(err, auth.ErrBadResetToken) {
		t.Errorf("the first attempt's link after the retry: %v, want ErrBadResetToken", err)
	}
	if _, err := e.s.ResetPassword(ctx, second, "a brand new password", "192.0.2.1"); err != nil {
		t.Errorf("the retry's link: %v", err)
	}
}

// A mail job that runs after its reset was used (or voided by another one)
// sends nothing: there is no link left to give.
func TestResetMailNotSentOnceUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	mustCreateUser(ctx, t, e.s, "ann@example.com", "", false)
	for range 2 {
		if err := e.s.RequestPasswordReset(ctx, "ann@example.com", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		e.runResetRequest(ctx, t)
	}
	jobs := e.mailJobs(ctx, t)
	r := &recorder{}
	if err := e.sendMailJob(ctx, t, jobs[0], 1, r); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ResetPassword(ctx, tokenIn(t, r.got[0]), "a brand new password", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := e.sendMailJob(ctx, t, jobs[1], 1, r); err != nil {
		t.Fatalf("the second reset's mail job: %v, want it done", err)
	}
	if len(r.got) != 1 {
		t.Errorf("%d mails sent, want only the first reset's", len(r.got))
	}
}
