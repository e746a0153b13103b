// Package mailtest is an SMTP server for tests. It speaks enough SMTP for the
// mail package's client (EHLO, AUTH PLAIN and LOGIN accepting any credentials,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS), keeps every message it accepts,
// decoded into its text and HTML bodies, and can refuse deliveries with a
// temporary error to exercise retries. Outbox, for tests that run no job
// workers, sends queued mail jobs to a sender that keeps them.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one accepted message: the envelope, the parsed headers and the
// decoded bodies.
type Message struct {
	MailFrom string   // envelope sender (MAIL FROM)
	RcptTo   []string // envelope recipients (RCPT TO)
	From     string   // address of the From header, without the name
	FromName string   // display name of the From header
	To       []string // addresses of the To header
	Subject  string   // decoded Subject header
	Text     string   // the text/plain body, decoded
	HTML     string   // the text/html body, decoded
	Header   mail.Header
	Raw      []byte // the message as received, dot-unstuffed, with LF line ends
}

// Server is a running test SMTP server. Its methods are safe for concurrent use.
type Server struct {
	ln net.Listener
	wg sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	msgs     []Message
	changed  chan struct{} // closed and replaced when msgs grows
	failNext int
	rejected int
	errs     []error // messages that could not be parsed, and protocol errors
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{ln: ln, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is an SMTP_URL for the server: smtp://127.0.0.1:PORT?tls=none.
func (s *Server) URL() string { return "smtp://" + s.Addr() + "?tls=none" }

// FailNext makes the next n deliveries fail: the server reads each message and
// answers its end of data with "451 4.3.0", a temporary error.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Rejected is the number of deliveries refused because of FailNext.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first accepted message, already received or yet to come,
// for which match reports true. It fails the test if none arrives within
// timeout. Call it from the test's goroutine.
func (s *Server) Wait(t testing.TB, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		s.mu.Lock()
		msgs, changed := s.msgs[seen:], s.changed
		s.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		seen += len(msgs)
		select {
		case <-changed:
		case <-deadline.C:
			s.mu.Lock()
			defer s.mu.Unlock()
			var got []string
			for _, m := range s.msgs {
				got = append(got, fmt.Sprintf("%q to %v", m.Subject, m.To))
			}
			t.Fatalf("mailtest: no matching message within %v; received %d: %s; rejected %d; errors: %v",
				timeout, len(got), strings.Join(got, ", "), s.rejected, errors.Join(s.errs...))
			return Message{}
		}
	}
}

// Close stops the server and waits for its connections to end. Start calls it
// when the test ends.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// session is the state of one SMTP connection.
type session struct {
	s      *Server
	tp     *textproto.Conn
	hello  bool
	from   string
	inMail bool
	rcpts  []string
}

func (s *Server) serve(c net.Conn) {
	ss := &session{s: s, tp: textproto.NewConn(c)}
	ss.reply(220, "127.0.0.1 mailtest ESMTP ready")
	for {
		c.SetDeadline(time.Now().Add(time.Minute))
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !ss.handle(strings.ToUpper(verb), strings.TrimSpace(arg)) {
			return
		}
	}
}

// reply writes a reply; lines after the first become a multi-line reply.
func (ss *session) reply(code int, lines ...string) {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		ss.tp.PrintfLine("%d%s%s", code, sep, l)
	}
}

func (ss *session) reset() {
	ss.from, ss.inMail, ss.rcpts = "", false, nil
}

// handle runs one command and reports whether the connection stays open.
func (ss *session) handle(verb, arg string) bool {
	switch verb {
	case "EHLO":
		ss.hello = true
		ss.reset()
		ss.reply(250, "127.0.0.1 greets "+arg, "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN", "SIZE 10485760")
	case "HELO":
		ss.hello = true
		ss.reset()
		ss.reply(250, "127.0.0.1 greets "+arg)
	case "AUTH":
		return ss.auth(arg)
	case "MAIL":
		if !ss.hello {
			ss.reply(503, "5.5.1 Send EHLO first")
			return true
		}
		addr, ok := pathArg(arg, "FROM:")
		if !ok {
			ss.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
			return true
		}
		ss.reset()
		ss.from, ss.inMail = addr, true
		ss.reply(250, "2.1.0 OK")
	case "RCPT":
		if !ss.inMail {
			ss.reply(503, "5.5.1 Send MAIL first")
			return true
		}
		addr, ok := pathArg(arg, "TO:")
		if !ok || addr == "" {
			ss.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
			return true
		}
		ss.rcpts = append(ss.rcpts, addr)
		ss.reply(250, "2.1.5 OK")
	case "DATA":
		if len(ss.rcpts) == 0 {
			ss.reply(503, "5.5.1 Send RCPT first")
			return true
		}
		ss.reply(354, "End data with <CR><LF>.<CR><LF>")
		raw, err := ss.tp.ReadDotBytes()
		if err != nil {
			return false
		}
		ss.data(raw)
		ss.reset()
	case "RSET":
		ss.reset()
		ss.reply(250, "2.0.0 OK")
	case "NOOP":
		ss.reply(250, "2.0.0 OK")
	case "QUIT":
		ss.reply(221, "2.0.0 Bye")
		return false
	default:
		ss.reply(502, "5.5.2 Command not implemented")
	}
	return true
}

// pathArg reads the address of "FROM:<a@b> PARAMS" or "TO:<a@b>".
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// auth accepts any credentials for PLAIN and LOGIN.
func (ss *session) auth(arg string) bool {
	mech, initial, _ := strings.Cut(arg, " ")
	read := func(prompt string) (string, bool) {
		ss.reply(334, prompt)
		l, err := ss.tp.ReadLine()
		if err != nil {
			return "", false
		}
		return l, true
	}
	var answers []string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if initial == "" {
			l, ok := read("")
			if !ok {
				return false
			}
			initial = l
		}
		answers = append(answers, initial)
	case "LOGIN":
		if initial == "" {
			l, ok := read(base64.StdEncoding.EncodeToString([]byte("Username:")))
			if !ok {
				return false
			}
			initial = l
		}
		l, ok := read(base64.StdEncoding.EncodeToString([]byte("Password:")))
		if !ok {
			return false
		}
		answers = append(answers, initial, l)
	default:
		ss.reply(504, "5.5.4 Unrecognized authentication type")
		return true
	}
	for _, a := range answers {
		if a == "*" {
			ss.reply(501, "5.7.0 Authentication cancelled")
			return true
		}
		if _, err := base64.StdEncoding.DecodeString(a); err != nil {
			ss.reply(501, "5.5.2 Cannot decode response")
			return true
		}
	}
	ss.reply(235, "2.7.0 Authentication successful")
	return true
}

// data answers the end of DATA: a temporary failure when FailNext asks for
// one, else the message is parsed and kept.
func (ss *session) data(raw []byte) {
	s := ss.s
	s.mu.Lock()
	if s.failNext > 0 {
		s.failNext--
		s.rejected++
		s.mu.Unlock()
		ss.reply(451, "4.3.0 Temporary failure, try again later (mailtest)")
		return
	}
	s.mu.Unlock()
	m, err := parse(raw)
	if err != nil {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		ss.reply(554, "5.6.0 mailtest cannot parse the message: "+strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	m.MailFrom, m.RcptTo = ss.from, append([]string(nil), ss.rcpts...)
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	n := len(s.msgs)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	ss.reply(250, fmt.Sprintf("2.0.0 OK: queued as %d", n))
}

// parse reads a message's headers and its text and HTML bodies.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, fmt.Errorf("read message: %w", err)
	}
	m := Message{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		return Message{}, fmt.Errorf("from header %q: want one address (%v)", msg.Header.Get("From"), err)
	}
	m.From, m.FromName = from[0].Address, from[0].Name
	to, err := msg.Header.AddressList("To")
	if err != nil {
		return Message{}, fmt.Errorf("to header %q: %w", msg.Header.Get("To"), err)
	}
	for _, a := range to {
		m.To = append(m.To, a.Address)
	}
	err = walk(textproto.MIMEHeader(msg.Header), msg.Body, func(mediaType string, body []byte) {
		switch {
		case mediaType == "text/plain" && m.Text == "":
			m.Text = string(body)
		case mediaType == "text/html" && m.HTML == "":
			m.HTML = string(body)
		}
	})
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

// walk calls leaf with the media type and decoded body of every non-multipart
// part, depth first.
func walk(h textproto.MIMEHeader, body io.Reader, leaf func(mediaType string, body []byte)) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // raw: the transfer encoding is decoded below, for every part alike
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s part: %w", mediaType, err)
			}
			if err := walk(p.Header, p, leaf); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); enc {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks itself
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("%s: unknown transfer encoding %q", mediaType, enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return fmt.Errorf("%s: charset %q is not supported by mailtest", mediaType, cs)
	}
	leaf(mediaType, bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
	return nil
}
