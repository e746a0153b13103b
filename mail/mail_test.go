package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	gomail "github.com/wneessen/go-mail"

	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/mailtest"
)

const from = "Waddle <waddle@example.com>"

// received is the part of a mailtest.Message the tests compare.
type received struct {
	MailFrom, From, FromName, Subject, Text, HTML string
	RcptTo, To                                    []string
}

func project(m mailtest.Message) received {
	return received{MailFrom: m.MailFrom, From: m.From, FromName: m.FromName, Subject: m.Subject,
		Text: m.Text, HTML: m.HTML, RcptTo: m.RcptTo, To: m.To}
}

func mustNewSMTP(t *testing.T, url string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(url, from)
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", url, err)
	}
	return s
}

func TestSMTPSendsTextAndHTML(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s := mustNewSMTP(t, srv.URL())

	// A long line (soft line breaks in quoted-printable), non-ASCII text, a
	// line that starts with a dot (dot-stuffing) and "=" (escaped in quoted-printable).
	text := "Hello Ann,\n\n" + strings.Repeat("a long line of words ", 8) + "end\n.a line with a leading dot\n1 + 1 = 2, café ✓\n"
	html := `<p>Hello <b>Ann</b>, <a href="https://hub.example.com/x?a=1&amp;b=2">open</a> café ✓</p>`
	msg := mail.Message{To: "ann@example.com", Subject: "Grüße from Waddle", Text: text, HTML: html}
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	want := received{
		MailFrom: "waddle@example.com", RcptTo: []string{"ann@example.com"},
		From: "waddle@example.com", FromName: "Waddle", To: []string{"ann@example.com"},
		Subject: msg.Subject, Text: text, HTML: html,
	}
	if diff := cmp.Diff(want, project(got[0])); diff != "" {
		t.Errorf("received message (-want +got):\n%s", diff)
	}
	if ct := got[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
}

func TestSMTPSendsTextOnly(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s := mustNewSMTP(t, srv.URL())
	if err := s.Send(t.Context(), mail.Message{To: "bob@example.com", Subject: "Plain", Text: "Just text.\n"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Wait(t, func(m mailtest.Message) bool { return m.Subject == "Plain" }, time.Second)
	if m.Text != "Just text.\n" || m.HTML != "" {
		t.Errorf("got text %q and HTML %q, want only the text", m.Text, m.HTML)
	}
}

func TestSMTPSendFailsOnBadRecipient(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	s := mustNewSMTP(t, srv.URL())
	err := s.Send(t.Context(), mail.Message{To: "Not An Address", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "to address") {
		t.Errorf("Send to a bad address: error %v, want one about the to address", err)
	}
	// go-mail's error quotes the address; the error, which is logged, does not.
	if err != nil && (!strings.Contains(errors.Unwrap(err).Error(), "Not An Address") || strings.Contains(strings.ToLower(err.Error()), "not an address")) {
		t.Errorf("Send to a bad address: error %q, want go-mail's error (%q) without the address", err, errors.Unwrap(err))
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages, want none", n)
	}
}

func TestNewSMTPChecksURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		url     string
		wantErr string // "" for success
	}{
		{"starttls by default", "smtp://mail.example.com:587", ""},
		{"implicit tls", "smtps://mail.example.com", ""},
		{"credentials with starttls", "smtp://user:secret@127.0.0.1:2525?tls=starttls", ""},
		{"credentials in the clear", "smtp://user:secret@127.0.0.1:2525?tls=none", "in the clear"},
		{"not a URL", "smtp://mail.example.com:25/%zz", "not a URL"},
		{"wrong scheme", "http://mail.example.com", `scheme "http"`},
		{"no scheme", "mail.example.com:25", "scheme"},
		{"no host", "smtp://:25?tls=none", "no host"},
		{"no host at all", "smtp:///", "no host"},
		{"bad tls", "smtp://mail.example.com?tls=maybe", `tls="maybe"`},
		{"port too large", "smtp://mail.example.com:70000", `port "70000"`},
		{"port zero", "smtp://mail.example.com:0", `port "0"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := mail.NewSMTP(tc.url, from)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("NewSMTP(%q): %v, want success", tc.url, err)
			case tc.wantErr == "" && s == nil:
				t.Errorf("NewSMTP(%q) returned a nil sender", tc.url)
			case tc.wantErr != "" && err == nil:
				t.Errorf("NewSMTP(%q) succeeded, want an error about %s", tc.url, tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("NewSMTP(%q): %q, want it to mention %s", tc.url, err, tc.wantErr)
			}
		})
	}
}

// mintingComposer composes a mail to ann whose link changes on every call,
// as a reset's does: each attempt mints a new token.
type mintingComposer struct{ calls int }

func (c *mintingComposer) compose(_ context.Context, a mail.SendArgs) (mail.Message, error) {
	c.calls++
	link := fmt.Sprintf("https://hub.example.com/reset-password/token-%d-of-%d", c.calls, a.ID)
	return mail.Message{To: "ann@example.com", Subject: "Retry me", Text: link + "\n", HTML: "<p>" + link + "</p>"}, nil
}

func sendJob(a mail.SendArgs, attempt int) *river.Job[mail.SendArgs] {
	return &river.Job[mail.SendArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt, MaxAttempts: mail.SendArgs{}.InsertOpts().MaxAttempts, Kind: mail.SendArgs{}.Kind()},
		Args:   a,
	}
}

// A temporary SMTP failure fails the job, so River retries it (any error but
// a JobCancel does), and the retry composes the mail afresh and delivers it.
// Neither the error (kept in the job table) nor the log names the recipient.
func TestSendWorkerRetriesTemporaryFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := mailtest.Start(t)
	var logs bytes.Buffer
	c := &mintingComposer{}
	worker := &mail.SendWorker{Sender: mustNewSMTP(t, srv.URL()), Compose: mail.Composers{"reset": c.compose},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	job := sendJob(mail.SendArgs{Mail: "reset", ID: 7}, 1)

	srv.FailNext(1)
	err := worker.Work(ctx, job)
	if err == nil {
		t.Fatal("first attempt: Work succeeded, want the 451 error")
	}
	var se *gomail.SendError
	if !errors.As(err, &se) || !se.IsTemp() || se.ErrorCode() != 451 {
		t.Errorf("first attempt: error %v, want a temporary SMTP error 451", err)
	}
	var cancel *rivertype.JobCancelError
	if errors.As(err, &cancel) {
		t.Errorf("first attempt: error %v cancels the job; River would not retry it", err)
	}
	if srv.Rejected() != 1 || len(srv.Messages()) != 0 {
		t.Fatalf("after the first attempt the server rejected %d and accepted %d messages, want 1 and 0", srv.Rejected(), len(srv.Messages()))
	}
	if strings.Contains(err.Error(), "ann@example.com") {
		t.Errorf("first attempt: error %q names the recipient", err)
	}

	job.Attempt = 2
	if err := worker.Work(ctx, job); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	m := srv.Wait(t, func(m mailtest.Message) bool { return m.Subject == "Retry me" }, time.Second)
	const link = "https://hub.example.com/reset-password/token-2-of-7"
	if m.Text != link+"\n" || m.HTML != "<p>"+link+"</p>" || len(m.To) != 1 || m.To[0] != "ann@example.com" {
		t.Errorf("delivered %+v, want the message composed by the second attempt", project(m))
	}
	if n := len(srv.Messages()); n != 1 || c.calls != 2 {
		t.Errorf("server accepted %d messages composed %d times, want 1 message, composed once per attempt (2)", n, c.calls)
	}
	if l := logs.String(); strings.Contains(l, "ann@example.com") || strings.Contains(l, "token-") || !strings.Contains(l, "mail=reset id=7") {
		t.Errorf("the worker's log names the recipient or the link, or not the mail and its row:\n%s", l)
	}
}

// A mail that is no longer due (its reset used, its invitation withdrawn)
// ends the job without sending anything.
func TestSendWorkerNothingToSend(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	worker := &mail.SendWorker{Sender: mustNewSMTP(t, srv.URL()), Logger: slog.New(slog.DiscardHandler),
		Compose: mail.Composers{"reset": func(context.Context, mail.SendArgs) (mail.Message, error) {
			return mail.Message{}, fmt.Errorf("reset 7: %w", mail.ErrNothingToSend)
		}}}
	if err := worker.Work(t.Context(), sendJob(mail.SendArgs{Mail: "reset", ID: 7}, 1)); err != nil {
		t.Errorf("Work: %v, want the job done", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages, want none", n)
	}
}

// A job naming a mail nobody composes cannot succeed: it is cancelled, not retried.
func TestSendWorkerUnknownMail(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	worker := &mail.SendWorker{Sender: mustNewSMTP(t, srv.URL()), Logger: slog.New(slog.DiscardHandler), Compose: mail.Composers{}}
	err := worker.Work(t.Context(), sendJob(mail.SendArgs{Mail: "birthday", ID: 1}, 1))
	var cancel *rivertype.JobCancelError
	if !errors.As(err, &cancel) || !strings.Contains(err.Error(), `"birthday"`) {
		t.Errorf("Work: %v, want the job cancelled, naming the mail", err)
	}
}

// The job's arguments, which the job table keeps after the job ends, are the
// mail's name and row ids: no address, no text, no link.
func TestSendArgsCarryOnlyIDs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args mail.SendArgs
		want string
	}{
		{mail.SendArgs{Mail: "password_reset", ID: 7}, `{"mail":"password_reset","id":7}`},
		{mail.SendArgs{Mail: "member_added", ID: 3, CommunityID: 2, ActorID: 1}, `{"mail":"member_added","id":3,"community_id":2,"actor_id":1}`},
	} {
		b, err := json.Marshal(tc.args)
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v encodes as %s (%v), want %s", tc.args, b, err, tc.want)
		}
	}
}

func TestPasswordResetCarriesLink(t *testing.T) {
	t.Parallel()
	const base = "https://hub.example.com"
	link := base + "/reset-password/tok3n?a=1&b=<2>"
	m, err := mail.PasswordReset("ann@example.com", base, link)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "ann@example.com" || m.Subject != "Reset your Waddle password" {
		t.Errorf("To %q, Subject %q", m.To, m.Subject)
	}
	if !strings.Contains(m.Text, "\n"+link+"\n") {
		t.Errorf("text body does not carry the link on a line of its own:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+base+`/reset-password/tok3n?a=1&amp;b=%3c2%3e"`) || strings.Contains(m.HTML, "a=1&b") {
		t.Errorf("HTML body does not carry the escaped link:\n%s", m.HTML)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(m.HTML))
	if err != nil {
		t.Fatal(err)
	}
	href, _ := doc.Find("a").First().Attr("href")
	if want := base + "/reset-password/tok3n?a=1&b=%3c2%3e"; href != want {
		t.Errorf("the HTML link opens %q, want %q", href, want)
	}
	if !strings.Contains(doc.Text(), base) {
		t.Errorf("HTML body does not name the hub %s", base)
	}
}

func TestInvitationEscapesNames(t *testing.T) {
	t.Parallel()
	m, err := mail.Invitation("new@example.com", "https://hub.example.com", "https://hub.example.com/invite/t",
		`Ann <script>alert(1)</script>`, "Owls & Co", "member")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "Owls &amp; Co") {
		t.Errorf("HTML body does not escape names:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "Ann <script>alert(1)</script> invited you to join Owls & Co on Waddle as member.") {
		t.Errorf("text body:\n%s", m.Text)
	}
}

// Without SMTP_URL the log is the mailbox of a local install: a mail is
// written there whole, recipient and link included, so its owner can follow
// the link. (With SMTP_URL the log gets neither; see cmd/waddle's
// TestNoUsableSecretAtRest.)
func TestLogSenderWritesTheMail(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	l := mail.Log{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	m, err := mail.PasswordReset("ann@example.com", "http://localhost:8080", "http://localhost:8080/reset-password/tok3n")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	var rec struct{ Level, To, Subject, Body string }
	if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if rec.Level != "INFO" || rec.To != "ann@example.com" || rec.Subject != m.Subject || !strings.Contains(rec.Body, "http://localhost:8080/reset-password/tok3n") {
		t.Errorf("logged %+v, want the mail to ann with its link", rec)
	}
}
