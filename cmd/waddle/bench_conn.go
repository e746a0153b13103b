package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// loadConn is one load worker's HTTP/1.1 connection, kept alive between
// requests, that writes each request and reads its answer itself: a load
// tool on the same machine as the servers it measures takes CPU from them,
// and net/http's client costs several times what this does (goroutines and
// channels per connection, a Response, header maps). https targets go
// through net/http instead (loadTest).
type loadConn struct {
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
	out     []byte       // the request being written
	body    bytes.Buffer // its body, read from the request
	stop    func() bool  // ends the connection's tie to the load's context
}

// errLoadAnswer is an answer that is not HTTP/1.x as this reads it.
var errLoadAnswer = errors.New("malformed HTTP answer")

// do sends req and reads its answer to the end, returning its status. A
// failed request closes the connection; the next one dials again.
func (lc *loadConn) do(ctx context.Context, req *http.Request) (int, error) {
	if lc.conn == nil {
		if err := lc.dial(ctx, req.URL.Host); err != nil {
			return 0, err
		}
	}
	if err := lc.write(req); err != nil {
		lc.close()
		return 0, err
	}
	code, keep, err := lc.read()
	if err != nil || !keep {
		lc.close()
	}
	return code, err
}

func (lc *loadConn) dial(ctx context.Context, host string) error {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "80")
	}
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	lc.conn = c
	if lc.br == nil {
		lc.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		lc.br.Reset(c)
	}
	// The load's end (or a builder's failure) unblocks a request in flight.
	lc.stop = context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return nil
}

func (lc *loadConn) close() {
	if lc.conn != nil {
		lc.stop()
		lc.conn.Close()
		lc.conn = nil
	}
}

// write sends the request line, the Host, the request's headers, its
// length and its body, in one write.
func (lc *loadConn) write(req *http.Request) error {
	lc.body.Reset()
	if req.Body != nil {
		if _, err := lc.body.ReadFrom(req.Body); err != nil {
			return fmt.Errorf("read the request body: %w", err)
		}
		req.Body.Close()
	}
	b := append(lc.out[:0], req.Method...)
	b = append(b, ' ')
	b = append(b, req.URL.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if req.Host != "" {
		b = append(b, req.Host...)
	} else {
		b = append(b, req.URL.Host...)
	}
	b = append(b, "\r\n"...)
	for k, vs := range req.Header {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if lc.body.Len() > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(lc.body.Len()), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, lc.body.Bytes()...)
	lc.out = b
	lc.conn.SetDeadline(time.Now().Add(lc.timeout))
	_, err := lc.conn.Write(b)
	return err
}

// read reads an answer's status line and headers and discards its body
// (Content-Length, chunked, or until the connection closes). keep says
// whether the connection may carry the next request.
func (lc *loadConn) read() (code int, keep bool, err error) {
	line, err := lc.line()
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("%w: status line %q", errLoadAnswer, truncateBytes(line, 40))
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 {
		return 0, false, fmt.Errorf("%w: status line %q", errLoadAnswer, truncateBytes(line, 40))
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		line, err := lc.line()
		if err != nil {
			return code, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return code, false, fmt.Errorf("%w: header %q", errLoadAnswer, truncateBytes(line, 40))
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return code, false, fmt.Errorf("%w: Content-Length %q", errLoadAnswer, truncateBytes(value, 40))
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	switch {
	case code < 200 || code == http.StatusNoContent || code == http.StatusNotModified:
		if code < 200 { // an interim answer: the real one follows
			return lc.read()
		}
	case chunked:
		err = lc.discardChunks()
	case length >= 0:
		_, err = lc.br.Discard(int(length))
	default: // the body runs until the server closes
		_, err = io.Copy(io.Discard, lc.br)
		keep = false
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return code, keep && err == nil, err
}

// line reads one line without its CRLF.
func (lc *loadConn) line() ([]byte, error) {
	line, err := lc.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: a header line over %d bytes", errLoadAnswer, lc.br.Size())
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (lc *loadConn) discardChunks() error {
	for {
		line, err := lc.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errLoadAnswer, truncateBytes(line, 40))
		}
		if n == 0 { // trailers, then the end
			for {
				line, err := lc.line()
				if err != nil || len(line) == 0 {
					return err
				}
			}
		}
		if _, err := lc.br.Discard(int(n)); err != nil {
			return err
		}
		if line, err := lc.line(); err != nil || len(line) != 0 {
			if err == nil {
				err = fmt.Errorf("%w: no CRLF after a chunk", errLoadAnswer)
			}
			return err
		}
	}
}

func truncateBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
