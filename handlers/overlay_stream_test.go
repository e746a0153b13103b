package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/overlay"
)

type sseEvent struct {
	ID, Event, Data, Retry string
	Comment                string
}

// sseStream reads a Server-Sent Events response as a page would.
type sseStream struct {
	t      *testing.T
	res    *http.Response
	cancel context.CancelFunc
	events chan sseEvent
	done   chan struct{} // closed when the server ends the stream
}

// openStream connects to path with an optional Last-Event-ID.
func (e *env) openStream(t *testing.T, path, lastID string) *sseStream {
	t.Helper()
	return openStreamAt(t, e.srv.URL, path, lastID)
}

// openStreamAt connects to path on the instance at base.
func openStreamAt(t *testing.T, base, path, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseStream{t: t, res: res, cancel: cancel, events: make(chan sseEvent, 100), done: make(chan struct{})}
	t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.done)
		br := bufio.NewReader(res.Body)
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				s.events <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			case strings.HasPrefix(line, "retry: "):
				ev.Retry = line[7:]
			}
		}
	}()
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next waits for the next event.
func (s *sseStream) next(what string) sseEvent {
	s.t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.done:
		s.t.Fatalf("%s: the stream ended", what)
	case <-time.After(5 * time.Second):
		s.t.Fatalf("%s: nothing within 5s", what)
	}
	return sseEvent{}
}

// update waits for the next update event and decodes it.
func (s *sseStream) update(what string) (string, overlay.Update) {
	s.t.Helper()
	ev := s.next(what)
	if ev.Event != "update" || ev.ID == "" {
		s.t.Fatalf("%s: got %+v, want an update event with an id", what, ev)
	}
	var u overlay.Update
	if err := json.Unmarshal([]byte(ev.Data), &u); err != nil {
		s.t.Fatalf("%s: data %q: %v", what, ev.Data, err)
	}
	if strconv.FormatInt(u.ID, 10) != ev.ID {
		s.t.Errorf("%s: event id %s, update id %d", what, ev.ID, u.ID)
	}
	return ev.ID, u
}

// ended reports whether the server ends the stream within a few seconds.
func (s *sseStream) ended() bool {
	select {
	case <-s.done:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// publish sends an update to a source through the service, as the router and hub do.
func TestOverlayStreamAndReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	src, token := e.mustOverlay(t, c.ID, overlay.Chat, "Chat")
	other, _ := e.mustOverlay(t, c.ID, overlay.Chat, "Other chat")
	path := "/overlay/" + token + "/events"

	s := e.openStream(t, path, "")
	if s.res.StatusCode != 200 {
		t.Fatalf("status %d", s.res.StatusCode)
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"} {
		if got := s.res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if cc := s.res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("Cache-Control %q", cc)
	}
	if ev := s.next("the first event"); ev.Retry != "2000" {
		t.Fatalf("first event %+v, want retry: 2000", ev)
	}

	first := e.publish(t, src.ID, overlay.Update{Type: "chat", User: "alice", Message: "hello"})
	e.publish(t, other.ID, overlay.Update{Type: "chat", User: "eve", Message: "not for this source"})
	id, got := s.update("a live update")
	if id != fmt.Sprint(first.ID) || got.User != "alice" || got.Message != "hello" || got.Type != "chat" {
		t.Errorf("got %s %+v, want update %d from alice", id, got, first.ID)
	}
	s.close()

	// While the page is away, two more; on reconnect with Last-Event-ID it gets them, in order.
	missed := []overlay.Update{
		e.publish(t, src.ID, overlay.Update{Type: "chat", User: "bob", Message: "one"}),
		e.publish(t, src.ID, overlay.Update{Type: "chat", User: "bob", Message: "two"}),
	}
	s = e.openStream(t, path, id)
	if ev := s.next("retry"); ev.Retry != "2000" {
		t.Fatalf("first event %+v", ev)
	}
	for _, want := range missed {
		_, got := s.update("a replayed update")
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("replayed update (-want +got):\n%s", d)
		}
	}
	// And then live ones again, without a repeat.
	live := e.publish(t, src.ID, overlay.Update{Type: "chat", User: "carol", Message: "three"})
	if _, got := s.update("live after replay"); got.ID != live.ID {
		t.Errorf("after the replay got update %d, want %d", got.ID, live.ID)
	}

	// Regenerating the URL ends the stream at once; reconnecting gets 404.
	if _, err := e.ov.Regenerate(t.Context(), audit.Actor{}, c.ID, src.ID); err != nil {
		t.Fatal(err)
	}
	if !s.ended() {
		t.Error("the stream of a regenerated URL did not end")
	}
	if s := e.openStream(t, path, fmt.Sprint(live.ID)); s.res.StatusCode != http.StatusNotFound {
		t.Errorf("reconnect after regenerate: %d, want 404", s.res.StatusCode)
	}
}

func TestOverlayStreamEndsOnDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	src, token := e.mustOverlay(t, c.ID, overlay.Alerts, "Alerts")
	s := e.openStream(t, "/overlay/"+token+"/events", "")
	s.next("retry")
	if err := e.ov.Delete(t.Context(), audit.Actor{}, c.ID, src.ID); err != nil {
		t.Fatal(err)
	}
	if !s.ended() {
		t.Error("the stream of a deleted source did not end")
	}
}

// sibling starts a second instance of the hub on e's database and Redis, as
// a second `waddle serve` behind a load balancer: its own overlay service
// and HTTP server. It returns the service and the server's URL.
func (e *env) sibling(t *testing.T) (*overlay.Service, string) {
	t.Helper()
	ov := overlay.New(overlay.Config{Pool: e.pool, Redis: e.rdb, RedisPrefix: e.prefix, Logger: slog.New(slog.DiscardHandler)})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ov.Run(ctx) }()
	select {
	case <-ov.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the second overlay service did not subscribe to Redis within 10s")
	}
	cfg := e.cfg
	cfg.Overlays = ov
	cfg.Registry = prometheus.NewRegistry()
	srv := httptest.NewServer(handlers.New(cfg))
	t.Cleanup(func() {
		srv.Close()
		stop()
		if err := <-done; err != nil {
			t.Errorf("second overlay service: %v", err)
		}
	})
	return ov, srv.URL
}

// updates reads n update events and returns their ids and users.
func (s *sseStream) updates(what string, n int) []string {
	s.t.Helper()
	var got []string
	for len(got) < n {
		id, u := s.update(fmt.Sprintf("%s, update %d", what, len(got)+1))
		got = append(got, id+" "+u.User)
	}
	return got
}

// TestOverlayStreamBurst replays, over HTTP, the raid train that lost 30 of
// 140 alerts on every page: 140 updates published at once by 14 goroutines,
// 7 on each of two instances sharing PostgreSQL and Redis, to pages
// connected to both. Every page gets each update once, in order (event ids
// 1 to 140); a page that left mid-burst and reconnects to the other instance
// with its Last-Event-ID gets exactly the rest; then live updates go on
// without a repeat.
func TestOverlayStreamBurst(t *testing.T) {
	t.Parallel()
	const publishers, each = 7, 10
	const total = 2 * publishers * each
	e := newEnv(t)
	ov2, base2 := e.sibling(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	src, token := e.mustOverlay(t, c.ID, overlay.Alerts, "Alerts")
	path := "/overlay/" + token + "/events"

	var pages []*sseStream
	for _, base := range []string{e.srv.URL, base2, e.srv.URL, base2, e.srv.URL, base2} {
		s := openStreamAt(t, base, path, "")
		if ev := s.next("retry"); ev.Retry != "2000" {
			t.Fatalf("first event %+v", ev)
		}
		pages = append(pages, s)
	}
	leaver := openStreamAt(t, base2, path, "")
	leaver.next("retry")
	left := make(chan []string, 1)
	go func() {
		var got []string
		for len(got) < 40 {
			ev := <-leaver.events
			var u overlay.Update
			json.Unmarshal([]byte(ev.Data), &u)
			got = append(got, ev.ID+" "+u.User)
		}
		leaver.close()
		left <- got
	}()

	start := make(chan struct{})
	users := make([]string, total+1) // by event id
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, svc := range []*overlay.Service{e.ov, ov2} {
		for p := range publishers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for n := range each {
					u, err := svc.Publish(context.Background(), src.ID, overlay.Update{Type: "alert", User: fmt.Sprintf("u%d-%d-%d", i, p, n), Message: "raid"})
					if err != nil || u.ID < 1 || u.ID > total {
						t.Errorf("publish: update %d, %v", u.ID, err)
						return
					}
					mu.Lock()
					users[u.ID] = u.User
					mu.Unlock()
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	var want []string
	for id := 1; id <= total; id++ {
		want = append(want, fmt.Sprintf("%d %s", id, users[id]))
	}

	for i, s := range pages {
		if diff := cmp.Diff(want, s.updates(fmt.Sprintf("page %d", i), total)); diff != "" {
			t.Errorf("page %d (-want +got):\n%s", i, diff)
		}
	}
	before := <-left
	if diff := cmp.Diff(want[:40], before); diff != "" {
		t.Fatalf("the leaving page before it left (-want +got):\n%s", diff)
	}
	back := e.openStream(t, path, "40")
	back.next("retry")
	if diff := cmp.Diff(want[40:], back.updates("the reconnected page", total-40)); diff != "" {
		t.Errorf("the reconnected page's replay (-want +got):\n%s", diff)
	}

	live := e.publish(t, src.ID, overlay.Update{Type: "alert", User: "last", Message: "raid"})
	for i, s := range append(pages, back) {
		if id, u := s.update("the next live update"); id != fmt.Sprint(total+1) || u.User != "last" {
			t.Errorf("page %d: after the burst got %s %q, want %d %q", i, id, u.User, live.ID, "last")
		}
	}
}

// TestOverlayStreamBadLastEventID: a Last-Event-ID that is not one of the
// source's update numbers replays nothing and does not hold back what
// comes next; one that is replays the rest.
func TestOverlayStreamBadLastEventID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	cases := []struct {
		name, lastID string
		want         []string // replayed, then the next live one
	}{
		{"none", "", nil},
		{"not a number", "abc", nil},
		{"negative", "-2", nil},
		{"zero", "0", nil},
		{"a fraction", "1.5", nil},
		{"beyond the newest", "999999", nil},
		{"past int64", "99999999999999999999", nil},
		{"the newest", "3", nil},
		{"an earlier one", "1", []string{"two", "three"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, token := e.mustOverlay(t, c.ID, overlay.Chat, tc.name)
			for _, m := range []string{"one", "two", "three"} {
				e.publish(t, src.ID, overlay.Update{Type: "chat", User: "ann", Message: m})
			}
			s := e.openStream(t, "/overlay/"+token+"/events", tc.lastID)
			if s.res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", s.res.StatusCode)
			}
			s.next("retry")
			var got []string
			for range tc.want {
				_, u := s.update("a replayed update")
				got = append(got, u.Message)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("replayed (-want +got):\n%s", diff)
			}
			live := e.publish(t, src.ID, overlay.Update{Type: "chat", User: "bob", Message: tc.name})
			if id, u := s.update("the next live update"); u.Message != tc.name || id != "4" || live.ID != 4 {
				t.Errorf("next update %s %q, want %d %q", id, u.Message, live.ID, tc.name)
			}
			s.close()
		})
	}
}

// overlayAPIEnv is a community with an owner, an admin and a member, an
// owner of another community, and a source of each kind.
