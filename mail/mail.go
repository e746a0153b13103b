// Package mail sends Waddle's email: through SMTP when SMTP_URL is set, or to
// the log otherwise, always from the job queue so a failed send is retried.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email with a plain-text body and an HTML alternative.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Sender delivers a message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends mail through an SMTP server.
type SMTP struct {
	client *gomail.Client
	from   string
}

// NewSMTP builds an SMTP sender from a URL such as
// smtp://user:pass@mail.example.com:587?tls=starttls (tls: starttls, the
// default, requires STARTTLS; tls uses implicit TLS; none sends in the clear).
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, fmt.Errorf("scheme %q: want smtp or smtps", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host")
	}
	opts := []gomail.Option{gomail.WithTimeout(20 * time.Second)}
	tlsMode := u.Query().Get("tls")
	if u.Scheme == "smtps" {
		tlsMode = "tls"
	}
	switch tlsMode {
	case "", "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("tls=%q: want starttls, tls or none", tlsMode)
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("port %q is not a port number", p)
		}
		opts = append(opts, gomail.WithPort(port))
	}
	if u.User != nil {
		if tlsMode == "none" {
			return nil, errors.New("a user name and password need tls=starttls or tls: they would cross the network in the clear")
		}
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, err
	}
	return &SMTP{client: c, from: from}, nil
}

// Send delivers m over one SMTP session.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return &redactedError{prefix: "to address", err: err, to: m.To}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return &redactedError{prefix: "smtp send", err: err, to: m.To}
	}
	return nil
}

// redactedError is a send error without the recipient's address, which
// go-mail's errors and SMTP servers' replies name: the error is logged and
// kept in the job table, where people are named by id only.
type redactedError struct {
	prefix string
	err    error
	to     string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	if e.to != "" {
		msg = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(e.to)).ReplaceAllLiteralString(msg, "(the recipient)")
	}
	return e.prefix + ": " + msg
}

func (e *redactedError) Unwrap() error { return e.err }

// Log "sends" mail by writing it to the log, so a local install without SMTP
// can still follow reset and invite links. There the log is the mailbox: it
// holds the recipient and the working links, as a mailbox would. With SMTP_URL
// set nothing writes a link or an address to the log.
type Log struct {
	Logger *slog.Logger
}

// Send writes the message's recipient, subject and text body to the log.
func (l Log) Send(ctx context.Context, m Message) error {
	l.Logger.InfoContext(ctx, "mail (SMTP_URL not set, so written here instead of sent)",
		"to", m.To, "subject", m.Subject, "body", m.Text)
	return nil
}
