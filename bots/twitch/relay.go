package twitch

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	irc "github.com/gempir/go-twitch-irc/v4"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/runes"
)

// maxLine bounds one IRC line from the server (Twitch's are under 8 KiB
// with tags); longer lines are dropped.
const maxLine = 32 << 10

// helloTimeout bounds the wait for a local connection's first line.
const helloTimeout = 5 * time.Second

// relay sits between the IRC library and Twitch on a loopback port. The
// library panics on some malformed lines (a badge without a version, a
// PRIVMSG without a channel) on the goroutine that would take the process
// down, so every line from the server is parsed here first, under recover,
// and dropped when it would panic. The relay also tells the bot when the
// connection is lost, which the library does not, backs off while Twitch
// cannot be reached (the library redials at once), and ends the session on
// shutdown, which the library's Disconnect cannot do before the welcome.
//
// At shutdown the bot says a line to the relay's flush channel, which the
// relay does not pass on: once it arrives, everything the client was asked
// to send before it went out to Twitch.
//
// Only the bot's client may use the relay: a connection must start with the
// relay's secret hello line (the client's SetupCmd), and serves one session
// at a time; a new one ends the previous one. Any other local connection is
// closed without reaching Twitch or touching the session.
type relay struct {
	target   ircTarget
	log      *slog.Logger
	ln       net.Listener
	hello    string        // the first line the bot's client sends
	flushTo  string        // the channel of the flush line
	accepted func(seq int) // session seq starts: not up until its welcome
	lost     func(seq int) // session seq's connection ended
	// dialFailed, when set, hears why Twitch chat could not be reached and
	// when the next try is; set before serve.
	dialFailed func(addr string, err error, wait time.Duration)

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	current net.Conn      // the local end of the session being served
	flushed chan struct{} // closed when the flush line arrives
	closed  bool
	wg      sync.WaitGroup
	fails   int
	seq     int
}

func newRelay(target ircTarget, log *slog.Logger, accepted, lost func(seq int)) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the IRC relay: %w", err)
	}
	return &relay{target: target, log: log, ln: ln, hello: "WADDLE-RELAY " + rand.Text(), flushTo: "waddle-flush-" + strings.ToLower(rand.Text()),
		accepted: accepted, lost: lost, conns: map[net.Conn]struct{}{}}, nil
}

// expectFlush returns a channel closed when the next flush line arrives.
func (r *relay) expectFlush() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.flushed == nil {
		r.flushed = make(chan struct{})
	}
	return r.flushed
}

func (r *relay) addr() string { return r.ln.Addr().String() }

// serve accepts the library's connections until ctx ends or close.
func (r *relay) serve(ctx context.Context) {
	defer r.wg.Wait()
	for {
		local, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(local) {
			local.Close()
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.untrack(local)
			br := bufio.NewReaderSize(local, 4096)
			if !r.greeted(local, br) {
				r.log.WarnContext(ctx, "refused a local connection to the IRC relay that is not the bot's", "remote", local.RemoteAddr().String())
				return
			}
			seq, ok := r.admit(local)
			if !ok {
				return
			}
			r.accepted(seq)
			r.pipe(ctx, local, br, seq)
		}()
	}
}

// greeted reads the connection's first line and reports whether it is the
// relay's hello.
func (r *relay) greeted(local net.Conn, br *bufio.Reader) bool {
	local.SetReadDeadline(time.Now().Add(helloTimeout))
	line, err := readLine(br, len(r.hello))
	if err != nil || subtle.ConstantTimeCompare([]byte(line), []byte(r.hello)) != 1 {
		return false
	}
	return local.SetReadDeadline(time.Time{}) == nil
}

// admit makes local the session being served, ending the previous one.
func (r *relay) admit(local net.Conn) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, false
	}
	if r.current != nil {
		r.current.Close()
	}
	r.current = local
	r.seq++
	return r.seq, true
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *relay) untrack(c net.Conn) {
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	if r.current == c {
		r.current = nil
	}
	r.mu.Unlock()
}

// close stops accepting and ends every session.
func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.ln.Close()
}

// pipe connects one library connection to Twitch and copies lines both ways.
func (r *relay) pipe(ctx context.Context, local net.Conn, br *bufio.Reader, seq int) {
	up, err := r.dial(ctx)
	if err != nil {
		r.mu.Lock()
		n := r.fails
		r.fails++
		r.mu.Unlock()
		wait := platform.Backoff(n)
		r.log.WarnContext(ctx, "cannot reach Twitch chat: retrying", "addr", r.target.addr, "err", err, "wait", wait)
		if r.dialFailed != nil && ctx.Err() == nil {
			r.dialFailed(r.target.addr, err, wait)
		}
		r.lost(seq)
		// The library waits on this connection meanwhile, unless it gives
		// up on it (no answer to its pings) or a new session replaces it.
		gone := make(chan struct{})
		go func() {
			defer close(gone)
			io.Copy(io.Discard, br)
		}()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-gone:
		}
		local.Close()
		<-gone
		return
	}
	r.mu.Lock()
	r.fails = 0
	if r.closed {
		r.mu.Unlock()
		up.Close()
		return
	}
	r.conns[up] = struct{}{}
	r.mu.Unlock()
	defer r.untrack(up)
	defer r.lost(seq)

	done := make(chan struct{})
	go func() {
		defer close(done)
		r.toServer(ctx, br, up)
		up.Close()
	}()
	r.fromServer(ctx, up, local)
	local.Close()
	up.Close()
	<-done
}

func (r *relay) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	d := &net.Dialer{KeepAlive: 10 * time.Second}
	if !r.target.tls {
		return d.DialContext(ctx, "tcp", r.target.addr)
	}
	host, _, _ := net.SplitHostPort(r.target.addr)
	td := &tls.Dialer{NetDialer: d, Config: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}}
	return td.DialContext(ctx, "tcp", r.target.addr)
}

// toServer forwards the library's lines as they are, but for the flush line.
func (r *relay) toServer(ctx context.Context, br *bufio.Reader, up net.Conn) {
	flush := "PRIVMSG #" + r.flushTo + " :"
	w := bufio.NewWriter(up)
	for {
		line, err := readLine(br, maxLine)
		if errors.Is(err, errLineTooLong) {
			r.log.WarnContext(ctx, "dropped a chat line longer than the limit", "limit", maxLine)
			continue
		}
		if err != nil {
			return
		}
		if line == flush {
			if err := w.Flush(); err != nil {
				return
			}
			r.mu.Lock()
			if r.flushed != nil {
				close(r.flushed)
				r.flushed = nil
			}
			r.mu.Unlock()
			continue
		}
		w.WriteString(line)
		w.WriteString("\r\n")
		if br.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// fromServer forwards the server's lines that the library can parse.
func (r *relay) fromServer(ctx context.Context, up, local net.Conn) {
	br := bufio.NewReaderSize(up, 4096)
	w := bufio.NewWriter(local)
	for {
		line, err := readLine(br, maxLine)
		if errors.Is(err, errLineTooLong) {
			r.log.WarnContext(ctx, "dropped an IRC line longer than the limit", "limit", maxLine)
			continue
		}
		if err != nil {
			return
		}
		if len(line) == 0 {
			continue
		}
		if !parses(line) {
			r.log.WarnContext(ctx, "dropped a malformed IRC line", "line", runes.Truncate(line, 200, ""))
			continue
		}
		w.WriteString(line)
		w.WriteString("\r\n")
		if br.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its CR LF; a line longer than max is
// skipped to its end and reported as errLineTooLong.
func readLine(br *bufio.Reader, max int) (string, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+2 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return "", err
		}
		if tooLong {
			return "", errLineTooLong
		}
		n := len(buf) - 1
		if n > 0 && buf[n-1] == '\r' {
			n--
		}
		return string(buf[:n]), nil
	}
}

// parses reports whether the library parses line without panicking.
func parses(line string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	irc.ParseMessage(line)
	return true
}
