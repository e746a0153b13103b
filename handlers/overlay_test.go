package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/overlay"
)

// mustOverlay creates a source and returns it with its token.
func (e *env) mustOverlay(t *testing.T, cid int64, kind, name string) (overlay.Source, string) {
	t.Helper()
	src, token, err := e.ov.Create(t.Context(), audit.Actor{}, cid, kind, name)
	if err != nil {
		t.Fatalf("create overlay %s: %v", name, err)
	}
	return src, token
}

// sseEvent is one event read from a stream.
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
func (e *env) publish(t *testing.T, id int64, u overlay.Update) overlay.Update {
	t.Helper()
	u, err := e.ov.Publish(t.Context(), id, u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOverlayPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	_, token := e.mustOverlay(t, c.ID, overlay.Chat, "Chat box")
	anon := e.client()

	res := anon.get("/overlay/"+token, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.body)
	}
	wantHeaders := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src http: https: data:; media-src http: https:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "SAMEORIGIN",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range wantHeaders {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Error("the overlay page sets a cookie")
	}
	doc := res.doc(t)
	if doc.Find(`script[src="/static/overlay.js"]`).Length() != 1 || doc.Find(`link[rel=stylesheet][href="/static/overlay.css"]`).Length() != 1 {
		t.Error("the page does not load overlay.js and overlay.css")
	}
	// No inline script: the only other script is the JSON settings block.
	if n := doc.Find(`script:not([src])`).Length(); n != 1 || doc.Find(`script:not([src])`).AttrOr("type", "") != "application/json" {
		t.Errorf("%d inline scripts; want only the JSON settings block", n)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(doc.Find(`#overlay-config`).Text()), &cfg); err != nil {
		t.Fatalf("settings block: %v", err)
	}
	if cfg["kind"] != "chat" || cfg["lines"] != float64(10) {
		t.Errorf("settings %v, want kind chat and 10 lines", cfg)
	}
	if doc.Find(`[data-testid=overlay]`).AttrOr("data-kind", "") != "chat" {
		t.Error("the page does not carry its kind")
	}
	for _, f := range []string{"overlay.js", "overlay.css", "hub.js"} {
		if res := anon.get("/static/"+f, nil); res.StatusCode != 200 || len(res.body) < 100 {
			t.Errorf("/static/%s: %d", f, res.StatusCode)
		}
	}
}

func TestOverlayTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "ducks", nil)
	src, token := e.mustOverlay(t, c.ID, overlay.Alerts, "Alerts")
	del, delToken := e.mustOverlay(t, c.ID, overlay.Ticker, "Ticker")
	anon := e.client()
	if res := anon.get("/overlay/"+token, nil); res.StatusCode != 200 {
		t.Fatalf("the fresh URL: %d", res.StatusCode)
	}
	notFound := anon.get("/overlay/"+strings.Repeat("A", 43), nil)
	if notFound.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown token: %d", notFound.StatusCode)
	}

	newToken, err := e.ov.Regenerate(t.Context(), audit.Actor{}, c.ID, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ov.Delete(t.Context(), audit.Actor{}, c.ID, del.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path string }{
		{"unknown", "/overlay/" + strings.Repeat("A", 43)},
		{"malformed short", "/overlay/abc"},
		{"malformed long", "/overlay/" + token + "x"},
		{"with a slash", "/overlay/" + token[:20] + "/" + token[20:]},
		{"empty", "/overlay/"},
		{"escaped", "/overlay/%3Cscript%3E"},
		{"revoked by regenerate", "/overlay/" + token},
		{"deleted", "/overlay/" + delToken},
		{"events of unknown", "/overlay/" + strings.Repeat("A", 43) + "/events"},
		{"events of revoked", "/overlay/" + token + "/events"},
		{"events of deleted", "/overlay/" + delToken + "/events"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := anon.get(tc.path, nil)
			if res.StatusCode != http.StatusNotFound || res.body != notFound.body || res.Header.Get("Content-Type") != notFound.Header.Get("Content-Type") {
				t.Errorf("status %d, body %q; want 404 with %q", res.StatusCode, res.body, notFound.body)
			}
		})
	}
	if strings.Contains(strings.ToLower(notFound.body), "revoked") || strings.Contains(notFound.body, "<") {
		t.Errorf("the 404 says more than not found: %q", notFound.body)
	}
	if res := anon.get("/overlay/"+newToken, nil); res.StatusCode != 200 {
		t.Errorf("the regenerated URL: %d", res.StatusCode)
	}
}

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
type overlayAPIEnv struct {
	*env
	c, other            community.Community
	root, owner, member auth.User
	alien               auth.User
	text, media, alerts overlay.Source
	otherSrc            overlay.Source
	textToken           string
}

func newOverlayAPIEnv(t *testing.T) *overlayAPIEnv {
	t.Helper()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	o := &overlayAPIEnv{env: e, root: root, owner: e.user("owner@example.com", false), member: e.user("member@example.com", false),
		alien: e.user("alien@example.com", false)}
	o.c = e.community(root, "ducks", map[auth.User]community.Role{o.owner: community.Owner, o.member: community.Member})
	o.other = e.community(root, "geese", map[auth.User]community.Role{o.alien: community.Owner})
	o.text, o.textToken = e.mustOverlay(t, o.c.ID, overlay.Text, "Text")
	o.media, _ = e.mustOverlay(t, o.c.ID, overlay.Media, "Media")
	o.alerts, _ = e.mustOverlay(t, o.c.ID, overlay.Alerts, "Alerts")
	o.otherSrc, _ = e.mustOverlay(t, o.other.ID, overlay.Text, "Geese text")
	return o
}

func (o *overlayAPIEnv) updates(id int64) int {
	o.t.Helper()
	return o.count("SELECT count(*) FROM overlay_updates WHERE source_id = $1", id)
}

func TestOverlayAPIRoles(t *testing.T) {
	t.Parallel()
	o := newOverlayAPIEnv(t)
	path := func(cid, id int64) string { return fmt.Sprintf("/communities/%d/overlays/%d/events", cid, id) }
	body := `{"type":"text","html":"<b>hi</b>"}`
	ownerAction := o.communityKey(o.owner, auth.RoleAction, o.c.ID)
	// An admin's key stops working when they are made a plain member.
	demoted := o.user("demoted@example.com", false)
	boss := community.Actor{User: o.root, Role: community.Owner}
	if _, err := o.comm.Invite(t.Context(), boss, o.c, demoted.Email, community.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := o.comm.ChangeRole(t.Context(), boss, o.c.ID, demoted.ID, community.Admin); err != nil {
		t.Fatal(err)
	}
	demotedAction := o.communityKey(demoted, auth.RoleAction, o.c.ID)
	if _, err := o.comm.ChangeRole(t.Context(), boss, o.c.ID, demoted.ID, community.Member); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		key        string
		path       string
		body       string
		wantStatus int
	}{
		{"user key", o.apiKey(o.owner, auth.RoleUser), path(o.c.ID, o.text.ID), body, 403},
		{"trigger key", o.communityKey(o.owner, auth.RoleTrigger, o.c.ID), path(o.c.ID, o.text.ID), body, 403},
		{"action key of the owner", ownerAction, path(o.c.ID, o.text.ID), body, 200},
		{"core key of an owner (a global admin)", o.apiKey(o.root, auth.RoleCore), path(o.c.ID, o.text.ID), body, 200},
		{"admin key of the owner", o.apiKey(o.root, auth.RoleAdmin), path(o.c.ID, o.text.ID), body, 200},
		{"action key of an admin since made a plain member", demotedAction, path(o.c.ID, o.text.ID), body, 401},
		{"action key of another community's owner", o.communityKey(o.alien, auth.RoleAction, o.other.ID), path(o.c.ID, o.text.ID), body, 404},
		{"another community's source under one's own", o.communityKey(o.alien, auth.RoleAction, o.other.ID), path(o.other.ID, o.text.ID), body, 404},
		{"one's own community with another's source", ownerAction, path(o.c.ID, o.otherSrc.ID), body, 404},
		{"no such source", ownerAction, path(o.c.ID, 1<<40), body, 404},
		{"bad source id", ownerAction, fmt.Sprintf("/communities/%d/overlays/x/events", o.c.ID), body, 404},
		{"no key", "", path(o.c.ID, o.text.ID), body, 401},
		{"wrong type for the source", ownerAction, path(o.c.ID, o.text.ID), `{"type":"chat","message":"x"}`, 400},
		{"not JSON", ownerAction, path(o.c.ID, o.text.ID), `<b>`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := o.updates(o.text.ID)
			st, out := o.api(tc.key, "POST", tc.path, tc.body)
			if st != tc.wantStatus {
				t.Errorf("status %d, want %d: %v", st, tc.wantStatus, out)
			}
			want := before
			if tc.wantStatus == 200 {
				want++
			}
			if got := o.updates(o.text.ID); got != want {
				t.Errorf("%d updates stored, want %d", got, want)
			}
		})
	}
	if n := o.updates(o.otherSrc.ID); n != 0 {
		t.Errorf("the other community's source got %d updates", n)
	}
}

func TestOverlaySanitising(t *testing.T) {
	t.Parallel()
	o := newOverlayAPIEnv(t)
	key := o.communityKey(o.owner, auth.RoleAction, o.c.ID)
	s := o.openStream(t, "/overlay/"+o.textToken+"/events", "")
	s.next("retry")

	evil := `<p class="big" onclick="steal()">Hi <script>alert(1)</script><img src="https://example.com/a.png" onerror="alert(2)">` +
		`<a href="javascript:alert(3)">click</a><a href="https://example.com/">ok</a><iframe src="https://evil.example.com/"></iframe>` +
		`<svg onload="alert(4)"></svg><style>body{display:none}</style></p>`
	raw, _ := json.Marshal(map[string]string{"type": "text", "html": evil})
	st, out := o.api(key, "POST", fmt.Sprintf("/communities/%d/overlays/%d/events", o.c.ID, o.text.ID), string(raw))
	if st != 200 {
		t.Fatalf("publish: %d %v", st, out)
	}
	_, got := s.update("the sanitised update")
	bad := regexp.MustCompile(`(?i)<script|onerror|onclick|onload|javascript:|<iframe|<style|alert\(`)
	if bad.MatchString(got.HTML) {
		t.Errorf("the page received unsafe HTML: %s", got.HTML)
	}
	for _, keep := range []string{"Hi ", `<a href="https://example.com/"`, `<img src="https://example.com/a.png"`, `class="big"`} {
		if !strings.Contains(got.HTML, keep) {
			t.Errorf("the sanitised HTML lost %q: %s", keep, got.HTML)
		}
	}
	if data, _ := out["data"].(map[string]any); data["html"] != got.HTML {
		t.Errorf("the API answered %v, the page got %q", data["html"], got.HTML)
	}

	media := fmt.Sprintf("/communities/%d/overlays/%d/events", o.c.ID, o.media.ID)
	cases := []struct {
		name, body string
		wantStatus int
	}{
		{"javascript: image", `{"type":"media","image":"javascript:alert(1)","seconds":5}`, 400},
		{"data: image", `{"type":"media","image":"data:image/svg+xml;base64,PHN2Zy8+","seconds":5}`, 400},
		{"javascript: video", `{"type":"media","video":"JavaScript:alert(1)"}`, 400},
		{"relative video", `{"type":"media","video":"/static/x.mp4"}`, 400},
		{"too long", `{"type":"media","image":"https://example.com/a.png","seconds":301}`, 400},
		{"https image", `{"type":"media","image":"https://example.com/a.gif","seconds":5}`, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := o.updates(o.media.ID)
			st, out := o.api(key, "POST", media, tc.body)
			if st != tc.wantStatus {
				t.Errorf("status %d, want %d: %v", st, tc.wantStatus, out)
			}
			if st == 400 && !strings.Contains(fmt.Sprint(out["message"]), "http(s)") && !strings.Contains(fmt.Sprint(out["message"]), "seconds") {
				t.Errorf("message %v does not name the problem", out["message"])
			}
			if got, want := o.updates(o.media.ID)-before, map[bool]int{true: 1}[tc.wantStatus == 200]; got != want {
				t.Errorf("%d updates stored, want %d", got, want)
			}
		})
	}

	// A chat line with markup reaches the page as the text typed: overlay.js sets it with textContent.
	_, chatToken := o.mustOverlay(t, o.c.ID, overlay.Chat, "Chat")
	cs := o.openStream(t, "/overlay/"+chatToken+"/events", "")
	cs.next("retry")
	if err := o.ov.Deliver(t.Context(), o.c.ID, "chat", map[string]any{"user": "eve", "message": `<img src=x onerror=alert(1)>`}); err != nil {
		t.Fatal(err)
	}
	if _, got := cs.update("a chat line"); got.Message != `<img src=x onerror=alert(1)>` || got.HTML != "" {
		t.Errorf("chat line %+v", got)
	}
}

// The hub tests use newBotEnv: ann manages the community, mo is a member.
func TestOverlayHubCreateRegenerateDelete(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	anon := b.client()

	res := b.admin.post(b.path("/overlays"), url.Values{"kind": {"alerts"}, "name": {"Stream alerts"}}, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %q", res.StatusCode, formError(t, res))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the URL is cacheable: %q", cc)
	}
	doc := res.doc(t)
	u := doc.Find(`[data-testid=overlay-url]`).AttrOr("value", "")
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(b.srv.URL) + `/overlay/([A-Za-z0-9_-]{43})$`)
	m := re.FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("shown URL %q", u)
	}
	if doc.Find(`[data-testid=overlay-preview]`).AttrOr("src", "") != u || doc.Find(`[data-testid=overlay-copy]`).AttrOr("data-copy", "") == "" {
		t.Error("no preview or copy button for the new URL")
	}
	if doc.Find(`script[src="/static/hub.js"]`).Length() != 1 {
		t.Error("the page does not load hub.js for the copy button")
	}
	if doc.Find(`[data-testid=community-nav] a[aria-current=page]`).Text() != "Overlays" {
		t.Error("the nav does not mark Overlays")
	}
	var srcID int64
	if err := b.pool.QueryRow(t.Context(), "SELECT id FROM overlay_sources WHERE community_id = $1 AND name = 'Stream alerts' AND kind = 'alerts'", b.c.ID).Scan(&srcID); err != nil {
		t.Fatal(err)
	}
	if n := b.count("SELECT count(*) FROM overlay_sources WHERE token_hash::text LIKE '%' || $1 || '%'", m[1]); n != 0 {
		t.Error("the token is stored in the clear")
	}
	if res := anon.get("/overlay/"+m[1], nil); res.StatusCode != 200 {
		t.Errorf("the new URL: %d", res.StatusCode)
	}
	// Afterwards the list does not show it again.
	page := b.admin.get(b.path("/overlays"), nil)
	if strings.Contains(page.body, m[1]) || page.doc(t).Find(`[data-testid=overlay-url]`).Length() != 0 {
		t.Error("the list shows the URL after its creation")
	}
	row := page.doc(t).Find(fmt.Sprintf(`#overlay-%d`, srcID))
	if row.Find(`[data-testid=overlay-row-name]`).Text() != "Stream alerts" || row.Find(`[data-testid=overlay-row-kind]`).Text() != "alerts" ||
		row.Find(`[data-testid=overlay-alert-follow] input[name="template.follow"]`).AttrOr("value", "") != "{user} just followed!" {
		t.Errorf("row: %q", row.Text())
	}

	// Send test, through HTMX: a test alert reaches the page.
	s := b.openStream(t, "/overlay/"+m[1]+"/events", "")
	s.next("retry")
	res = b.admin.post(b.path("/overlays/%d/test", srcID), nil, htmx)
	if res.StatusCode != 200 || !strings.Contains(res.body, "Test sent to Stream alerts.") {
		t.Errorf("HTMX test: %d %q", res.StatusCode, res.body)
	}
	if _, got := s.update("the test alert"); got.Type != "alert" || !got.Test || got.Message != "TestDuck just followed!" || got.Seconds != 5 {
		t.Errorf("test update %+v", got)
	}
	// And without JavaScript.
	res = b.admin.post(b.path("/overlays/%d/test", srcID), nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != b.path("/overlays") {
		t.Errorf("plain test: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	s.update("the second test alert")

	// Regenerate: the old URL and its stream stop at once, the new one works.
	res = b.admin.post(b.path("/overlays/%d/regenerate", srcID), nil, nil)
	nu := res.doc(t).Find(`[data-testid=overlay-url]`).AttrOr("value", "")
	m2 := re.FindStringSubmatch(nu)
	if res.StatusCode != 200 || m2 == nil || m2[1] == m[1] {
		t.Fatalf("regenerate: %d, URL %q", res.StatusCode, nu)
	}
	if !s.ended() {
		t.Error("the old URL's stream did not end")
	}
	if res := anon.get("/overlay/"+m[1], nil); res.StatusCode != 404 {
		t.Errorf("the old URL: %d, want 404", res.StatusCode)
	}
	if res := anon.get("/overlay/"+m2[1], nil); res.StatusCode != 200 {
		t.Errorf("the new URL: %d", res.StatusCode)
	}

	// Delete, through HTMX (the card goes) and plainly.
	other, otherToken := b.mustOverlay(t, b.c.ID, overlay.Ticker, "Ticker")
	res = b.admin.post(b.path("/overlays/%d/delete", srcID), nil, htmx)
	if res.StatusCode != 200 || res.body != "" {
		t.Errorf("HTMX delete: %d %q", res.StatusCode, res.body)
	}
	res = b.admin.post(b.path("/overlays/%d/delete", other.ID), nil, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("plain delete: %d", res.StatusCode)
	}
	if f := b.admin.get(b.path("/overlays"), nil).doc(t).Find(`[data-testid=flash]`).Text(); !strings.Contains(f, "Source Ticker deleted") {
		t.Errorf("flash %q", f)
	}
	if n := b.count("SELECT count(*) FROM overlay_sources"); n != 0 {
		t.Errorf("%d sources left", n)
	}
	for _, tok := range []string{m2[1], otherToken} {
		if res := anon.get("/overlay/"+tok, nil); res.StatusCode != 404 {
			t.Errorf("a deleted source's URL: %d", res.StatusCode)
		}
	}
	if res := b.admin.post(b.path("/overlays/%d/delete", srcID), nil, nil); res.StatusCode != 404 {
		t.Errorf("deleting again: %d", res.StatusCode)
	}
	if res := b.admin.post(b.path("/overlays"), url.Values{"kind": {"fireworks"}, "name": {"x"}}, nil); res.StatusCode != 400 ||
		!strings.Contains(formError(t, res), "Choose a kind") {
		t.Errorf("unknown kind: %d %q", res.StatusCode, formError(t, res))
	}
}

func TestOverlayHubSettingsAndContent(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	alerts, _ := b.mustOverlay(t, b.c.ID, overlay.Alerts, "Alerts")
	text, textToken := b.mustOverlay(t, b.c.ID, overlay.Text, "Text")
	ticker, tickerToken := b.mustOverlay(t, b.c.ID, overlay.Ticker, "Ticker")

	form := url.Values{"name": {"Main alerts"}}
	for _, ev := range []string{"follow", "subscribe", "gift_subscription", "cheer", "raid", "shoutout"} {
		form.Set("template."+ev, "{user} did "+ev)
		form.Set("seconds."+ev, "3")
	}
	form.Set("image.follow", "https://example.com/duck.gif")
	form.Set("sound.follow", "https://example.com/quack.mp3")
	res := b.admin.post(b.path("/overlays/%d", alerts.ID), form, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %q", res.StatusCode, res.doc(t).Find(`[data-testid=overlay-row-error]`).Text())
	}
	got, err := b.ov.Get(t.Context(), b.c.ID, alerts.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Main alerts" || cmp.Diff(overlay.AlertStyle{Template: "{user} did follow", Seconds: 3, Image: "https://example.com/duck.gif", Sound: "https://example.com/quack.mp3"}, got.Settings.Alerts["follow"]) != "" ||
		got.Settings.Alerts["raid"].Template != "{user} did raid" {
		t.Errorf("saved %+v", got)
	}
	form.Set("image.cheer", "javascript:alert(1)")
	res = b.admin.post(b.path("/overlays/%d", alerts.ID), form, nil)
	if msg := res.doc(t).Find(fmt.Sprintf(`#overlay-%d [data-testid=overlay-row-error]`, alerts.ID)).Text(); res.StatusCode != 400 ||
		!strings.Contains(msg, "cheer") || !strings.Contains(msg, "http(s)") {
		t.Errorf("javascript: image: %d %q", res.StatusCode, msg)
	}
	if got, _ := b.ov.Get(t.Context(), b.c.ID, alerts.ID); got.Settings.Alerts["cheer"].Image != "" {
		t.Error("the javascript: image was stored")
	}

	// A text source's HTML is sanitised, stored for pages that open later, and sent to those open now.
	s := b.openStream(t, "/overlay/"+textToken+"/events", "")
	s.next("retry")
	res = b.admin.post(b.path("/overlays/%d/content", text.ID), url.Values{"text": {`<h2>Now</h2><script>alert(1)</script><img src="x" onerror="alert(2)">`}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("content: %d", res.StatusCode)
	}
	_, u := s.update("the text update")
	if u.HTML != `<h2>Now</h2><img src="x">` {
		t.Errorf("sent %q", u.HTML)
	}
	page := b.client().get("/overlay/"+textToken, nil)
	var cfg struct{ HTML string }
	if err := json.Unmarshal([]byte(page.doc(t).Find(`#overlay-config`).Text()), &cfg); err != nil || cfg.HTML != u.HTML {
		t.Errorf("a page opened later starts with %q (%v), want %q", cfg.HTML, err, u.HTML)
	}
	if strings.Contains(page.body, "<script>alert") {
		t.Error("the page carries the script")
	}

	// A ticker's text is text: "&" and "<" show as typed.
	res = b.admin.post(b.path("/overlays/%d/content", ticker.ID), url.Values{"text": {"Ducks & geese <3"}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ticker: %d", res.StatusCode)
	}
	page = b.client().get("/overlay/"+tickerToken, nil)
	var tcfg struct{ Text string }
	if err := json.Unmarshal([]byte(page.doc(t).Find(`#overlay-config`).Text()), &tcfg); err != nil {
		t.Fatal(err)
	}
	if tcfg.Text != "Ducks & geese <3" && tcfg.Text != "Ducks & geese " {
		t.Errorf("ticker text %q", tcfg.Text)
	}
	if res := b.admin.post(b.path("/overlays/%d/content", alerts.ID), url.Values{"text": {"x"}}, nil); res.StatusCode != 404 {
		t.Errorf("content of an alerts source: %d", res.StatusCode)
	}
}

func TestOverlayHubMemberMayNotChange(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	src, token := b.mustOverlay(t, b.c.ID, overlay.Alerts, "Alerts")
	page := b.member.get(b.path("/overlays"), nil)
	doc := page.doc(t)
	if page.StatusCode != 200 || doc.Find(`[data-testid=overlay-row-name]`).Text() != "Alerts" {
		t.Fatalf("member page: %d", page.StatusCode)
	}
	for _, sel := range []string{"overlay-create", "overlay-test", "overlay-regenerate", "overlay-delete", "overlay-settings", "overlay-url"} {
		if doc.Find(`[data-testid=`+sel+`]`).Length() != 0 {
			t.Errorf("a member sees %s", sel)
		}
	}
	writes := []struct {
		path string
		form url.Values
	}{
		{b.path("/overlays"), url.Values{"kind": {"chat"}, "name": {"Mine"}}},
		{b.path("/overlays/%d", src.ID), url.Values{"name": {"Hijacked"}}},
		{b.path("/overlays/%d/content", src.ID), url.Values{"text": {"x"}}},
		{b.path("/overlays/%d/test", src.ID), nil},
		{b.path("/overlays/%d/regenerate", src.ID), nil},
		{b.path("/overlays/%d/delete", src.ID), nil},
	}
	for _, w := range writes {
		for _, hdr := range []http.Header{nil, htmx} {
			if res := b.member.post(w.path, w.form, hdr); res.StatusCode != http.StatusForbidden {
				t.Errorf("member POST %s (HTMX %v): %d, want 403", w.path, hdr != nil, res.StatusCode)
			}
		}
	}
	if n := b.count("SELECT count(*) FROM overlay_sources WHERE name = 'Alerts'"); n != 1 || b.count("SELECT count(*) FROM overlay_sources") != 1 ||
		b.count("SELECT count(*) FROM overlay_updates") != 0 {
		t.Error("a member changed the sources")
	}
	if res := b.client().get("/overlay/"+token, nil); res.StatusCode != 200 {
		t.Error("the URL stopped working")
	}
}
