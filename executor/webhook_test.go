package executor

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/problem"
)

func TestWebhookInvoke(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tg := webhookTarget("")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Method != http.MethodPost:
			http.Error(w, `{"error":"method"}`, http.StatusMethodNotAllowed)
		case r.Header.Get("Content-Type") != "application/json":
			http.Error(w, `{"error":"content type"}`, http.StatusUnsupportedMediaType)
		case r.Header.Get(HeaderTimestamp) != strconv.FormatInt(now.Unix(), 10):
			http.Error(w, `{"error":"timestamp"}`, http.StatusBadRequest)
		case VerifySignature(tg.Secret, r.Header, body, now, 0) != nil:
			http.Error(w, `{"error":"signature"}`, http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"reply":`+string(body)+`}`)
		}
	})
	tg.URL = srv.URL + "/hook?token=abc"
	c := newClient(t, Config{Now: func() time.Time { return now }})

	got := mustInvoke(t, c, tg, `{"text":"!hello"}`)
	if want := `{"reply":{"text":"!hello"}}`; got != want {
		t.Errorf("answer = %s, want %s", got, want)
	}

	// The same call under another secret is refused by the receiver, and
	// Invoke reports the status.
	wrong := tg
	wrong.Secret = "another-secret"
	_, err := c.Invoke(context.Background(), wrong, []byte(`{}`))
	if se, ok := errors.AsType[*StatusError](err); !ok || se.Code != http.StatusUnauthorized {
		t.Errorf("wrong secret: err = %v, want StatusError 401", err)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	const secret = "shared-secret"
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"event":"message"}`)
	signed := func(ts time.Time) http.Header {
		h := http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, Sign(secret, ts, body))
		return h
	}
	cases := []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		window time.Duration
		want   error
	}{
		{name: "good", secret: secret, header: signed(now), body: body},
		{name: "good at edge of window", secret: secret, header: signed(now.Add(-5 * time.Minute)), body: body},
		{name: "wrong secret", secret: "other", header: signed(now), body: body, want: ErrInvalidSignature},
		{name: "tampered body", secret: secret, header: signed(now), body: []byte(`{"event":"other"}`), want: ErrInvalidSignature},
		{name: "stale", secret: secret, header: signed(now.Add(-6 * time.Minute)), body: body, want: ErrStaleSignature},
		{name: "future", secret: secret, header: signed(now.Add(6 * time.Minute)), body: body, want: ErrStaleSignature},
		{name: "custom window", secret: secret, header: signed(now.Add(-2 * time.Minute)), body: body, window: time.Minute, want: ErrStaleSignature},
		{name: "no headers", secret: secret, header: http.Header{}, body: body, want: ErrInvalidSignature},
		{name: "no secret", secret: "", header: signed(now), body: body, want: ErrInvalidSignature},
		{name: "timestamp changed", secret: secret, header: func() http.Header {
			h := signed(now)
			h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return h
		}(), body: body, want: ErrInvalidSignature},
		{name: "not hex", secret: secret, header: func() http.Header {
			h := signed(now)
			h.Set(HeaderSignature, "sha256=zz")
			return h
		}(), body: body, want: ErrInvalidSignature},
		{name: "other scheme", secret: secret, header: func() http.Header {
			h := signed(now)
			h.Set(HeaderSignature, strings.Replace(h.Get(HeaderSignature), "sha256=", "sha1=", 1))
			return h
		}(), body: body, want: ErrInvalidSignature},
		{name: "extreme timestamp", secret: secret, header: func() http.Header {
			h := http.Header{}
			h.Set(HeaderTimestamp, "-9223372036854775808")
			h.Set(HeaderSignature, sign(secret, "-9223372036854775808", body))
			return h
		}(), body: body, want: ErrStaleSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := VerifySignature(tc.secret, tc.header, tc.body, now, tc.window)
			if tc.want == nil && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWebhookBadAnswers(t *testing.T) {
	t.Parallel()
	big := `{"pad":"` + strings.Repeat("x", 2048) + `"}`
	redirected := newServer(t, jsonHandler(http.StatusOK, `{}`))
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		wantErr    error
		wantStatus int
	}{
		{name: "not JSON", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>parked domain</html>")
		}, wantErr: ErrBadResponse},
		{name: "empty 204", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, wantErr: ErrBadResponse},
		{name: "too large with length", handler: jsonHandler(http.StatusOK, big), wantErr: ErrResponseTooLarge},
		{name: "too large streamed", handler: func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush() // no Content-Length: chunked
			for range 8 {
				io.WriteString(w, strings.Repeat(" ", 512))
				w.(http.Flusher).Flush()
			}
		}, wantErr: ErrResponseTooLarge},
		{name: "client error", handler: jsonHandler(http.StatusBadRequest, `{"error":"unknown command"}`), wantStatus: http.StatusBadRequest},
		{name: "redirect not followed", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirected.URL, http.StatusFound)
		}, wantStatus: http.StatusFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.handler)
			c := newClient(t, Config{MaxResponseBytes: 1024})
			out, err := c.Invoke(context.Background(), webhookTarget(srv.URL), []byte(`{}`))
			if out != nil {
				t.Errorf("answer = %q, want none", out)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantStatus != 0 {
				if se, ok := errors.AsType[*StatusError](err); !ok || se.Code != tc.wantStatus {
					t.Errorf("err = %v, want StatusError %d", err, tc.wantStatus)
				}
			}
			if n := srv.hits.Load(); n != 1 {
				t.Errorf("server got %d requests, want 1", n)
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if n := redirected.hits.Load(); n != 0 {
			t.Errorf("redirect target got %d requests, want 0", n)
		}
	})
}

func TestStatusErrorKeepsStartOfBody(t *testing.T) {
	t.Parallel()
	srv := newServer(t, jsonHandler(http.StatusNotFound, `{"error":"`+strings.Repeat("é", 1000)+`"}`))
	c := newClient(t, Config{})
	_, err := c.Invoke(context.Background(), webhookTarget(srv.URL), []byte(`{}`))
	se, ok := errors.AsType[*StatusError](err)
	if !ok || se.Code != http.StatusNotFound {
		t.Fatalf("err = %v, want StatusError 404", err)
	}
	if len(se.Body) > maxErrorBody+len("…") || !strings.HasPrefix(se.Body, `{"error":"éé`) || strings.ContainsRune(se.Body, '\uFFFD') {
		t.Errorf("Body = %q (%d bytes), want the start of the body, whole runes, at most %d bytes", se.Body, len(se.Body), maxErrorBody)
	}
}

func TestInvokeRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	srv := newServer(t, jsonHandler(http.StatusOK, `{}`))
	c := newClient(t, Config{})
	cases := []struct {
		name      string
		target    Target
		body      []byte
		wantErr   error
		wantField string
	}{
		{name: "body over 256 KiB", target: webhookTarget(srv.URL),
			body: []byte(`"` + strings.Repeat("a", MaxRequestBytes) + `"`), wantErr: ErrRequestTooLarge},
		{name: "body not JSON", target: webhookTarget(srv.URL), body: []byte(`{"a":`), wantErr: ErrInvalidBody},
		{name: "invalid target", target: Target{Kind: Webhook, URL: "ftp://example.com", Secret: "k"}, body: []byte(`{}`), wantField: "URL"},
		{name: "lambda without keys", target: Target{Kind: Lambda, Function: "fn", Region: "us-east-1"}, body: []byte(`{}`), wantField: "AccessKeyID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Invoke(context.Background(), tc.target, tc.body)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantField != "" {
				if p := problem.As(err); p == nil || p.Field != tc.wantField || p.Code != problem.Invalid {
					t.Errorf("err = %v, want an invalid %s problem", err, tc.wantField)
				}
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if n := srv.hits.Load(); n != 0 {
			t.Errorf("server got %d requests, want 0", n)
		}
	})
}

func TestConcurrentInvokes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	})
	c := newClient(t, Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for j := range 4 {
				body := `{"n":` + strconv.Itoa(i*10+j) + `}`
				out, err := c.Invoke(context.Background(), webhookTarget(srv.URL), []byte(body))
				if err != nil || string(out) != body {
					errs <- errors.Join(err, errors.New("answer "+string(out)+" for "+body))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.hits.Load(); n != 64 {
		t.Errorf("server got %d requests, want 64", n)
	}
}
