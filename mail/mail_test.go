package mail_test

import (
	"errors"
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
	err := s.Send(t.Context(), mail.Message{To: "not an address", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "to address") {
		t.Errorf("Send to a bad address: error %v, want one about the to address", err)
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

// A temporary SMTP failure fails the job, so River retries it (any error but
// a JobCancel does), and the retry delivers.
func TestSendWorkerRetriesTemporaryFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := mailtest.Start(t)
	worker := &mail.SendWorker{Sender: mustNewSMTP(t, srv.URL()), Logger: slog.New(slog.DiscardHandler)}
	job := &river.Job[mail.SendArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: mail.SendArgs{}.InsertOpts().MaxAttempts, Kind: mail.SendArgs{}.Kind()},
		Args:   mail.SendArgs{Message: mail.Message{To: "ann@example.com", Subject: "Retry me", Text: "Hello.\n", HTML: "<p>Hello.</p>"}},
	}

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

	job.Attempt = 2
	if err := worker.Work(ctx, job); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	m := srv.Wait(t, func(m mailtest.Message) bool { return m.Subject == "Retry me" }, time.Second)
	if m.Text != "Hello.\n" || m.HTML != "<p>Hello.</p>" || len(m.To) != 1 || m.To[0] != "ann@example.com" {
		t.Errorf("delivered %+v, want the job's message", project(m))
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("server accepted %d messages, want exactly 1", n)
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
