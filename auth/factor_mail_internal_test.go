package auth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/mailtest"
)

// mailJobRows returns the queued mail jobs, oldest first.
func mailJobRows(ctx context.Context, t *testing.T, s *Service) []*rivertype.JobRow {
	t.Helper()
	res, err := s.jobs.JobList(ctx, river.NewJobListParams().Kinds(mail.SendArgs{}.Kind()).OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// Each change to an account's second factors queues exactly one mail job,
// naming only the account and the audit entry, and the mail sent from it says
// what changed, when, from where, and what to do if it was not the holder.
func TestEachFactorChangeMailsItsHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	outbox := mailtest.NewOutbox(s.jobs, s.MailComposers())
	u := secondFactorUser(ctx, t, s, "may@example.com")
	key := newSoftAuthenticator(t)

	var appSecret string // the authenticator app's secret, once set up
	var secrets []string // every secret the changes produced: none may reach a job
	var passkeyID int64  // the passkey, once registered
	const other = "198.51.100.7"
	steps := []struct {
		name       string
		do         func() error
		wantMail   bool
		subject    string
		want       []string // in the text body
		notWant    []string
		wantFrom   string
		byOperator bool
	}{{
		name: "authenticator app confirmed",
		do: func() error {
			sec, codes := enrolTOTP(ctx, t, s, u)
			appSecret = sec
			secrets = append(append(secrets, sec), codes...)
			return nil
		},
		wantMail: true, subject: "An authenticator app was added to your Waddle account", wantFrom: "192.0.2.1",
		want: []string{"An authenticator app was set up as a second factor"},
	}, {
		name: "passkey registered",
		do: func() error {
			registerPasskey(ctx, t, s, u, key, "Desk <key>")
			f, err := s.Factors(ctx, u.ID)
			if err == nil {
				passkeyID = f.Passkeys[0].ID
			}
			return err
		},
		wantMail: true, subject: "A passkey was added to your Waddle account", wantFrom: "192.0.2.1",
		want: []string{`A passkey named "Desk <key>" was added`},
	}, {
		name: "recovery codes regenerated",
		do: func() error {
			codes, err := s.RegenerateRecoveryCodes(ctx, u, twoFactorPassword, other)
			secrets = append(secrets, codes...)
			return err
		},
		wantMail: true, subject: "New recovery codes for your Waddle account", wantFrom: other,
		want: []string{"The earlier ones no longer work."},
	}, {
		name:     "a removal refused for a wrong password",
		do:       func() error { _ = s.RemoveTOTP(ctx, u, "not the password", other); return nil },
		wantMail: false,
	}, {
		name:     "passkey removed, the app left",
		do:       func() error { return s.RemovePasskey(ctx, u, passkeyID, twoFactorPassword, other) },
		wantMail: true, subject: "A passkey was removed from your Waddle account", wantFrom: other,
		want: []string{`The passkey named "Desk <key>" was removed`}, notWant: []string{"no second factor left"},
	}, {
		name:     "authenticator app removed, nothing left",
		do:       func() error { return s.RemoveTOTP(ctx, u, twoFactorPassword, other) },
		wantMail: true, subject: "The authenticator app was removed from your Waddle account", wantFrom: other,
		want: []string{"its codes no longer sign in.", "Your account has no second factor left"},
	}, {
		name: "app set up again",
		do: func() error {
			sec, codes := enrolTOTP(ctx, t, s, u)
			secrets = append(append(secrets, sec), codes...)
			return nil
		},
		wantMail: true, subject: "An authenticator app was added to your Waddle account", wantFrom: "192.0.2.1",
		want: []string{"An authenticator app was set up as a second factor"},
	}, {
		name: "cleared by an operator",
		do: func() error {
			_, err := s.ClearSecondFactors(ctx, u.Email, audit.Actor{Email: "command line"})
			return err
		},
		wantMail: true, subject: "The second factors of your Waddle account were removed", wantFrom: "the hub's command line, by an operator",
		byOperator: true, want: []string{"An operator of the hub removed every second factor", "If you did not ask the hub's operator for this"},
		notWant: []string{"Then check the second factors"},
	}}

	sent := len(outbox.Deliver(ctx, t))
	jobsBefore := len(mailJobRows(ctx, t, s))
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		rows := mailJobRows(ctx, t, s)
		newJobs := rows[jobsBefore:]
		jobsBefore = len(rows)
		if !st.wantMail {
			if len(newJobs) != 0 {
				t.Errorf("%s: %d mail jobs queued, want none", st.name, len(newJobs))
			}
			continue
		}
		if len(newJobs) != 1 {
			t.Fatalf("%s: %d mail jobs queued, want exactly one", st.name, len(newJobs))
		}
		args := string(newJobs[0].EncodedArgs)
		var a map[string]any
		if err := json.Unmarshal(newJobs[0].EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"audit_id", "id", "mail"}) || a["mail"] != MailSignInChanged || a["id"] != float64(u.ID) {
			t.Errorf("%s: job args %s, want only the mail, the account and the audit entry", st.name, args)
		}
		for _, sec := range append(secrets, twoFactorPassword, u.Email, appSecret) {
			if sec != "" && strings.Contains(args, sec) {
				t.Errorf("%s: job args %s hold a secret or an address (%q)", st.name, args, sec)
			}
		}
		entry, err := audit.Get(ctx, pool, int64(a["audit_id"].(float64)))
		if err != nil {
			t.Fatal(err)
		}

		msgs := outbox.Deliver(ctx, t)
		if len(msgs) != sent+1 {
			t.Fatalf("%s: %d mails sent, want one more than %d", st.name, len(msgs), sent)
		}
		sent = len(msgs)
		m := msgs[len(msgs)-1]
		if m.To != u.Email || m.Subject != st.subject {
			t.Errorf("%s: mail to %q, subject %q; want to %q, subject %q", st.name, m.To, m.Subject, u.Email, st.subject)
		}
		want := append([]string{
			"When: " + entry.At.UTC().Format("Monday 2 January 2006, 15:04 MST") + "\n",
			"From: " + st.wantFrom + "\n",
			"http://hub.test/forgot-password",
		}, st.want...)
		if !st.byOperator {
			want = append(want, "If this was not you", "http://hub.test/account")
		}
		for _, w := range want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s: the mail lacks %q:\n%s", st.name, w, m.Text)
			}
		}
		for _, w := range st.notWant {
			if strings.Contains(m.Text, w) {
				t.Errorf("%s: the mail says %q:\n%s", st.name, w, m.Text)
			}
		}
		if strings.Contains(m.HTML, "<key>") || !strings.Contains(m.HTML, `href="http://hub.test/forgot-password"`) {
			t.Errorf("%s: HTML body unescaped or without the reset link:\n%s", st.name, m.HTML)
		}
		for _, sec := range secrets {
			if strings.Contains(m.Text, sec) || strings.Contains(m.HTML, sec) {
				t.Errorf("%s: the mail holds a secret", st.name)
			}
		}
	}
}

// A mail job that pairs an account with another account's audit entry, or
// with an entry that is no change to second factors, sends nothing and is
// cancelled, not retried.
func TestSignInChangedMailRefusesAForeignEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool, _ := newTwoFactorService(t)
	u := secondFactorUser(ctx, t, s, "una@example.com")
	v := secondFactorUser(ctx, t, s, "vera@example.com")
	enrolTOTP(ctx, t, s, u)
	items, err := audit.Log{Pool: pool}.ListAll(ctx, audit.Filter{Action: audit.TwoFactorEnabled})
	if err != nil || len(items) != 1 {
		t.Fatalf("audit entries %+v, %v", items, err)
	}
	signIn, err := audit.RecordID(ctx, pool, actorOf(u, "192.0.2.1"), audit.Entry{Action: audit.SignIn, Target: "password"})
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]mail.SendArgs{
		"another account's change": {Mail: MailSignInChanged, ID: v.ID, AuditID: items[0].ID},
		"a sign-in, no change":     {Mail: MailSignInChanged, ID: u.ID, AuditID: signIn},
		"no such entry":            {Mail: MailSignInChanged, ID: u.ID, AuditID: signIn + 1000},
	} {
		var got []mail.Message
		w := &mail.SendWorker{Sender: senderFunc(func(m mail.Message) { got = append(got, m) }), Compose: s.MailComposers(), Logger: s.logger}
		err := w.Work(ctx, &river.Job[mail.SendArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 6}, Args: a})
		var cancel *rivertype.JobCancelError
		if !errors.As(err, &cancel) || len(got) != 0 {
			t.Errorf("%s: Work = %v, %d mails sent; want the job cancelled and none", name, err, len(got))
		}
	}
}

type senderFunc func(mail.Message)

func (f senderFunc) Send(_ context.Context, m mail.Message) error {
	f(m)
	return nil
}
