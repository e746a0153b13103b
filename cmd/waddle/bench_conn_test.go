package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoadConnKeepsAlive checks that a worker's requests reach a real
// net/http server whole (method, path, headers, body) on one connection.
func TestLoadConnKeepsAlive(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.RequestURI() != "/hook/x?a=1" || r.Header.Get("X-Sig") != "s1" || string(body) != benchBody || r.Host == "" {
			http.Error(w, "bad request: "+r.Method+" "+r.URL.RequestURI()+" "+string(body), http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("a") == "1" && r.ContentLength == int64(len(benchBody)) {
			w.Write([]byte(strings.Repeat("x", 5000))) // over net/http's buffer: chunked
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	lc := loadConn{timeout: 5 * time.Second}
	defer lc.close()
	for i := range 50 {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/hook/x?a=1", strings.NewReader(benchBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Sig", "s1")
		code, err := lc.do(t.Context(), req)
		if err != nil || code != http.StatusOK {
			t.Fatalf("request %d: %d, %v; want 200", i, code, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 50 requests, want 1", n)
	}
}

// fakeAnswers serves each connection's requests with the next canned
// answer, then closes it when close is set.
func fakeAnswers(t *testing.T, answers []string, closeAfter bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var next atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					i := int(next.Add(1)-1) % len(answers)
					if _, err := io.WriteString(c, answers[i]); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestLoadConnAnswers(t *testing.T) {
	cases := []struct {
		name     string
		answer   string
		close    bool // the server closes after answering
		wantCode int
		wantKeep bool
		wantErr  error
	}{
		{"length", "HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhello", false, 202, true, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n", false, 200, true, nil},
		{"interim answer first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\nno", false, 429, true, nil},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, true, nil},
		{"connection close", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", true, 500, false, nil},
		{"body until close", "HTTP/1.0 200 OK\r\n\r\nall of it", true, 200, false, nil},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", true, 0, false, errLoadAnswer},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", true, 0, false, errLoadAnswer},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n", true, 200, false, errLoadAnswer},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true, 200, false, errLoadAnswer},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", true, 200, false, errLoadAnswer},
		{"cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, 200, false, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := fakeAnswers(t, []string{tc.answer}, tc.close)
			lc := loadConn{timeout: 5 * time.Second}
			defer lc.close()
			for i := range 2 { // the second request: on the same connection, or a new one
				req, _ := http.NewRequest(http.MethodPost, u+"/x", strings.NewReader("{}"))
				code, err := lc.do(t.Context(), req)
				if code != tc.wantCode || !errors.Is(err, tc.wantErr) {
					t.Fatalf("request %d: %d, %v; want %d, %v", i+1, code, err, tc.wantCode, tc.wantErr)
				}
				if kept := lc.conn != nil; kept != tc.wantKeep {
					t.Fatalf("request %d: connection kept %v, want %v", i+1, kept, tc.wantKeep)
				}
			}
		})
	}
}

// TestLoadConnCancelled checks that the load's end unblocks a request
// whose server does not answer.
func TestLoadConnCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c) // reads, never answers
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	lc := loadConn{timeout: time.Minute}
	defer lc.close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", strings.NewReader("{}"))
	start := time.Now()
	if _, err := lc.do(ctx, req); err == nil || time.Since(start) > 30*time.Second {
		t.Errorf("err %v after %s, want a failure once the context ends", err, time.Since(start))
	}
}
