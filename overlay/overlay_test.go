package overlay_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/problem"
)

// wait bounds every wait on a channel; nothing in these tests should come near it.
const wait = 10 * time.Second

// startService builds a Service, runs it until the test ends and waits until
// it receives updates from other instances.
func startService(t testing.TB, pool *pgxpool.Pool, rdb *redis.Client, prefix string) *overlay.Service {
	t.Helper()
	svc := overlay.New(overlay.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-svc.Ready():
	case <-time.After(wait):
		t.Fatal("service not ready")
	}
	return svc
}

// backends are the two ways updates reach pages: in process, or through Redis.
var backends = []struct {
	name  string
	redis bool
}{
	{"memory", false},
	{"redis", true},
}

// newServices returns n Services on one fresh database; with Redis they
// share a prefix, as instances of one deployment do.
func newServices(t testing.TB, withRedis bool, n int) (*pgxpool.Pool, []*overlay.Service) {
	t.Helper()
	pool := dbtest.Pool(t)
	var rdb *redis.Client
	var prefix string
	if withRedis {
		rdb, prefix = dbtest.Redis(t)
	}
	svcs := make([]*overlay.Service, n)
	for i := range svcs {
		svcs[i] = startService(t, pool, rdb, prefix)
	}
	return pool, svcs
}

func mustCreateCommunity(ctx context.Context, t testing.TB, pool *pgxpool.Pool, slug string) int64 {
	t.Helper()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		t.Fatalf("create community %s: %v", slug, err)
	}
	return c.ID
}

func mustCreateSource(ctx context.Context, t testing.TB, svc *overlay.Service, communityID int64, kind, name string) (overlay.Source, string) {
	t.Helper()
	src, token, err := svc.Create(ctx, audit.Actor{}, communityID, kind, name)
	if err != nil {
		t.Fatalf("create %s source: %v", kind, err)
	}
	return src, token
}

func mustPublish(ctx context.Context, t testing.TB, svc *overlay.Service, sourceID int64, u overlay.Update) overlay.Update {
	t.Helper()
	got, err := svc.Publish(ctx, sourceID, u)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if got.ID == 0 {
		t.Fatal("publish returned no update id")
	}
	return got
}

// recv returns the next update, failing if the channel closes or nothing comes.
func recv(t testing.TB, ch <-chan overlay.Update) overlay.Update {
	t.Helper()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed, want an update")
		}
		return u
	case <-time.After(wait):
		t.Fatal("no update received")
	}
	return overlay.Update{}
}

// recvUntil collects updates up to and including the first with the marker's ID.
func recvUntil(t testing.TB, ch <-chan overlay.Update, marker int64) []overlay.Update {
	t.Helper()
	var got []overlay.Update
	for {
		u := recv(t, ch)
		got = append(got, u)
		if u.ID == marker {
			return got
		}
	}
}

// drainClosed reads until the channel closes and returns how many updates it
// still held; it fails if the channel stays open.
func drainClosed(t testing.TB, ch <-chan overlay.Update) int {
	t.Helper()
	timeout := time.After(wait)
	n := 0
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
			n++
		case <-timeout:
			t.Fatalf("subscription still open after %d updates", n)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svcs := newServices(t, false, 1)
	svc := svcs[0]
	cid := mustCreateCommunity(ctx, t, pool, "ducks")
	src, token := mustCreateSource(ctx, t, svc, cid, overlay.Alerts, "Alerts")

	if len(token) != 43 {
		t.Fatalf("token %q has %d characters, want 43", token, len(token))
	}
	got, err := svc.ByToken(ctx, token)
	if err != nil {
		t.Fatalf("ByToken: %v", err)
	}
	if got.ID != src.ID || got.CommunityID != cid || got.Kind != overlay.Alerts {
		t.Errorf("ByToken = %+v, want source %d of community %d", got, src.ID, cid)
	}

	// Only the hash is stored: nothing in the row contains the token.
	row, err := db.New(pool).OverlaySourceGet(ctx, db.OverlaySourceGetParams{CommunityID: cid, ID: src.ID})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	if !cmp.Equal(row.TokenHash, sum[:]) {
		t.Errorf("token_hash = %x, want sha256 of the token %x", row.TokenHash, sum)
	}
	var asText string
	if err := pool.QueryRow(ctx, "SELECT row_to_json(s)::text FROM overlay_sources s WHERE id = $1", src.ID).Scan(&asText); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(asText, token) || strings.Contains(asText, fmt.Sprintf("%x", token)) {
		t.Errorf("overlay_sources row holds the token: %s", asText)
	}

	for _, tc := range []struct{ name, token string }{
		{"empty", ""},
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"too short", token[:42]},
		{"too long", token + "A"},
		{"not base64", strings.Repeat("!", 43)},
		{"with spaces", " " + token[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := svc.ByToken(ctx, tc.token); !errors.Is(err, overlay.ErrNotFound) {
				t.Errorf("ByToken(%q) error = %v, want ErrNotFound", tc.token, err)
			}
		})
	}

	newToken, err := svc.Regenerate(ctx, audit.Actor{}, cid, src.ID)
	if err != nil {
		t.Fatalf("Regenerate: %v", err)
	}
	if len(newToken) != 43 || newToken == token {
		t.Errorf("Regenerate token = %q, want a new 43-character token", newToken)
	}
	if _, err := svc.ByToken(ctx, token); !errors.Is(err, overlay.ErrNotFound) {
		t.Errorf("old token after Regenerate: error = %v, want ErrNotFound", err)
	}
	if got, err := svc.ByToken(ctx, newToken); err != nil || got.ID != src.ID {
		t.Errorf("new token after Regenerate = %d, %v; want source %d", got.ID, err, src.ID)
	}

	if err := svc.Delete(ctx, audit.Actor{}, cid, src.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := svc.ByToken(ctx, newToken); !errors.Is(err, overlay.ErrNotFound) {
		t.Errorf("token after Delete: error = %v, want ErrNotFound", err)
	}
	if _, err := svc.Get(ctx, cid, src.ID); !errors.Is(err, overlay.ErrNotFound) {
		t.Errorf("Get after Delete: error = %v, want ErrNotFound", err)
	}
	for name, err := range map[string]error{
		"Regenerate": func() error { _, err := svc.Regenerate(ctx, audit.Actor{}, cid, src.ID); return err }(),
		"Delete":     svc.Delete(ctx, audit.Actor{}, cid, src.ID),
	} {
		if !errors.Is(err, overlay.ErrNotFound) {
			t.Errorf("%s of a deleted source: error = %v, want ErrNotFound", name, err)
		}
	}
}

// TestTenancy checks that one community cannot change another's sources,
// and that a refused attempt leaves the source and its pages alone.
func TestTenancy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		do   func(ctx context.Context, svc *overlay.Service, communityID, id int64) error
	}{
		{"regenerate", func(ctx context.Context, svc *overlay.Service, cid, id int64) error {
			_, err := svc.Regenerate(ctx, audit.Actor{}, cid, id)
			return err
		}},
		{"delete", func(ctx context.Context, svc *overlay.Service, cid, id int64) error {
			return svc.Delete(ctx, audit.Actor{}, cid, id)
		}},
		{"update settings", func(ctx context.Context, svc *overlay.Service, cid, id int64) error {
			return svc.UpdateSettings(ctx, audit.Actor{}, cid, id, "Stolen", overlay.Settings{Text: "pwned"})
		}},
		{"get", func(ctx context.Context, svc *overlay.Service, cid, id int64) error {
			_, err := svc.Get(ctx, cid, id)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, svcs := newServices(t, false, 1)
			svc := svcs[0]
			owner := mustCreateCommunity(ctx, t, pool, "owner")
			other := mustCreateCommunity(ctx, t, pool, "other")
			src, token := mustCreateSource(ctx, t, svc, owner, overlay.Ticker, "Ticker")
			ch, cancel := svc.Subscribe(src.ID)
			defer cancel()

			if err := tc.do(ctx, svc, other, src.ID); !errors.Is(err, overlay.ErrNotFound) {
				t.Fatalf("error = %v, want ErrNotFound", err)
			}

			got, err := svc.ByToken(ctx, token)
			if err != nil {
				t.Fatalf("owner's token stopped working: %v", err)
			}
			if diff := cmp.Diff(src, got); diff != "" {
				t.Errorf("source changed (-before +after):\n%s", diff)
			}
			// The owner's page is still connected: the next update is the owner's.
			u := mustPublish(ctx, t, svc, src.ID, overlay.Update{Type: "ticker", Message: "still here"})
			if r := recv(t, ch); r.ID != u.ID {
				t.Errorf("page received update %d, want %d", r.ID, u.ID)
			}
		})
	}
}

// TestFanoutAcrossInstances publishes on one instance and checks that pages
// on both instances get the update once: not twice through the local path
// and Redis. A marker published afterwards on the other instance travels
// behind any duplicate, so everything before it is compared exactly.
func TestFanoutAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svcs := newServices(t, true, 2)
	a, b := svcs[0], svcs[1]
	cid := mustCreateCommunity(ctx, t, pool, "ducks")
	src, _ := mustCreateSource(ctx, t, a, cid, overlay.Ticker, "Ticker")
	other, _ := mustCreateSource(ctx, t, a, cid, overlay.Ticker, "Other")

	onA, cancelA := a.Subscribe(src.ID)
	defer cancelA()
	onB, cancelB := b.Subscribe(src.ID)
	defer cancelB()

	mustPublish(ctx, t, a, other.ID, overlay.Update{Type: "ticker", Message: "not for you"})
	first := mustPublish(ctx, t, a, src.ID, overlay.Update{Type: "ticker", Message: "hello"})
	second := mustPublish(ctx, t, a, src.ID, overlay.Update{Type: "ticker", Message: "again", Seconds: 3})
	marker := mustPublish(ctx, t, b, src.ID, overlay.Update{Type: "ticker", Message: "marker"})
	want := []overlay.Update{first, second, marker}

	for name, ch := range map[string]<-chan overlay.Update{"instance A (publisher)": onA, "instance B": onB} {
		if diff := cmp.Diff(want, recvUntil(t, ch, marker.ID)); diff != "" {
			t.Errorf("%s received (-want +got):\n%s", name, diff)
		}
	}
}

// TestPublishWithoutRedis checks in-process delivery with Config.Redis nil.
func TestPublishWithoutRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svcs := newServices(t, false, 1)
	svc := svcs[0]
	cid := mustCreateCommunity(ctx, t, pool, "ducks")
	src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Leaderboard, "Top")
	other, _ := mustCreateSource(ctx, t, svc, cid, overlay.Leaderboard, "Other")
	ch1, cancel1 := svc.Subscribe(src.ID)
	defer cancel1()
	ch2, cancel2 := svc.Subscribe(src.ID)
	defer cancel2()

	mustPublish(ctx, t, svc, other.ID, overlay.Update{Type: "leaderboard"})
	u := mustPublish(ctx, t, svc, src.ID, overlay.Update{Type: "leaderboard", Entries: []overlay.Entry{{Name: "Ann", Points: 3}}})
	marker := mustPublish(ctx, t, svc, src.ID, overlay.Update{Type: "leaderboard"})
	for i, ch := range []<-chan overlay.Update{ch1, ch2} {
		if diff := cmp.Diff([]overlay.Update{u, marker}, recvUntil(t, ch, marker.ID)); diff != "" {
			t.Errorf("subscriber %d received (-want +got):\n%s", i, diff)
		}
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svcs := newServices(t, false, 1)
	svc := svcs[0]
	cid := mustCreateCommunity(ctx, t, pool, "ducks")
	src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Chat, "Chat")
	other, _ := mustCreateSource(ctx, t, svc, cid, overlay.Chat, "Other")

	var published []overlay.Update
	for i, user := range []string{"Ann", "Bob", "Cat"} {
		published = append(published, mustPublish(ctx, t, svc, src.ID, overlay.Update{Type: "chat", User: user, Message: fmt.Sprint("line ", i)}))
		mustPublish(ctx, t, svc, other.ID, overlay.Update{Type: "chat", User: "Zed", Message: "elsewhere"})
	}

	cases := []struct {
		name   string
		source int64
		lastID int64
		want   []overlay.Update
	}{
		{"after the first", src.ID, published[0].ID, published[1:]},
		{"from the start", src.ID, 0, published},
		{"after the last", src.ID, published[2].ID, []overlay.Update{}},
		{"unknown source", other.ID + 1000, 0, []overlay.Update{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.Since(ctx, tc.source, tc.lastID)
			if err != nil {
				t.Fatalf("Since: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Since(%d, %d) (-want +got):\n%s", tc.source, tc.lastID, diff)
			}
		})
	}
}

// TestRevocation checks that pages are disconnected, on every instance, when
// their source's URL is regenerated or the source deleted.
func TestRevocation(t *testing.T) {
	t.Parallel()
	actions := []struct {
		name string
		do   func(ctx context.Context, svc *overlay.Service, communityID, id int64) error
	}{
		{"regenerate", func(ctx context.Context, svc *overlay.Service, cid, id int64) error {
			_, err := svc.Regenerate(ctx, audit.Actor{}, cid, id)
			return err
		}},
		{"delete", func(ctx context.Context, svc *overlay.Service, cid, id int64) error {
			return svc.Delete(ctx, audit.Actor{}, cid, id)
		}},
	}
	for _, be := range backends {
		for _, act := range actions {
			t.Run(be.name+"/"+act.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				n := 1
				if be.redis {
					n = 2
				}
				pool, svcs := newServices(t, be.redis, n)
				cid := mustCreateCommunity(ctx, t, pool, "ducks")
				src, _ := mustCreateSource(ctx, t, svcs[0], cid, overlay.Media, "Media")
				kept, _ := mustCreateSource(ctx, t, svcs[0], cid, overlay.Media, "Kept")

				var revoked []<-chan overlay.Update
				for _, svc := range svcs {
					ch, cancel := svc.Subscribe(src.ID)
					defer cancel()
					revoked = append(revoked, ch)
				}
				keptCh, cancelKept := svcs[n-1].Subscribe(kept.ID)
				defer cancelKept()

				if err := act.do(ctx, svcs[0], cid, src.ID); err != nil {
					t.Fatal(err)
				}
				for i, ch := range revoked {
					if left := drainClosed(t, ch); left != 0 {
						t.Errorf("instance %d: %d updates before the close, want none", i, left)
					}
				}
				// Another source's page stays connected.
				u := mustPublish(ctx, t, svcs[0], kept.ID, overlay.Update{Type: "media", Video: "https://example.com/v.mp4"})
				if got := recv(t, keptCh); got.ID != u.ID {
					t.Errorf("other source's page received %d, want %d", got.ID, u.ID)
				}
			})
		}
	}
}

// TestSlowSubscriber checks that a page that stops reading holds no more
// than the buffer (the newest updates, its channel still open), that once it
// reads again its Feed hands it every update once and in order (what fell
// out of the buffer is read back from PostgreSQL), and that a reading page
// gets everything meanwhile.
func TestSlowSubscriber(t *testing.T) {
	t.Parallel()
	const buffer, total = 32, 100 // buffer: overlay.subscriberBuffer
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, svcs := newServices(t, be.redis, 1)
			svc := svcs[0]
			cid := mustCreateCommunity(ctx, t, pool, "ducks")
			src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Ticker, "Ticker")

			slow, cancelSlow := svc.Subscribe(src.ID)
			defer cancelSlow()
			slowFeed, missed, err := svc.Follow(ctx, src.ID, 0)
			if err != nil || len(missed) != 0 {
				t.Fatalf("Follow = %v, %v; want nothing missed", missed, err)
			}
			defer slowFeed.Close()
			fast, cancelFast := svc.Subscribe(src.ID)
			defer cancelFast()

			var received []overlay.Update
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				for u := range fast {
					received = append(received, u)
					if len(received) == total {
						return
					}
				}
			}()

			var want []overlay.Update
			for i := range total {
				want = append(want, mustPublish(ctx, t, svc, src.ID, overlay.Update{Type: "ticker", Message: fmt.Sprint(i)}))
			}
			select {
			case <-readerDone:
			case <-time.After(wait):
				t.Fatal("reading subscriber did not get every update")
			}
			if diff := cmp.Diff(want, received); diff != "" {
				t.Errorf("reading subscriber (-want +got):\n%s", diff)
			}
			// The broker delivered the last update to every subscriber before the reader got it.
			var held []overlay.Update
		drain:
			for {
				select {
				case u, ok := <-slow:
					if !ok {
						t.Fatal("the slow subscriber was disconnected")
					}
					held = append(held, u)
				default:
					break drain
				}
			}
			if diff := cmp.Diff(want[total-buffer:], held); diff != "" {
				t.Errorf("slow subscriber held (-want the newest %d +got):\n%s", buffer, diff)
			}

			var got []overlay.Update
			for len(got) < total {
				u := recv(t, slowFeed.Live())
				us, err := slowFeed.Order(ctx, u)
				if err != nil {
					t.Fatalf("Order: %v", err)
				}
				got = append(got, us...)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("slow page's feed (-want +got):\n%s", diff)
			}
			if slowFeed.Last() != int64(total) {
				t.Errorf("Last = %d, want %d", slowFeed.Last(), total)
			}
		})
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	svc := overlay.New(overlay.Config{Logger: slog.New(slog.DiscardHandler)})

	t.Run("html", func(t *testing.T) {
		in := `<b>bold</b> plain words <script>alert(1)</script><img src="https://example.com/a.png" onerror="alert(2)">` +
			`<a href="javascript:alert(3)">link</a><iframe src="https://evil.example"></iframe><p onclick="alert(4)">para</p>`
		got, err := svc.Clean(overlay.Update{Type: "text", HTML: in})
		if err != nil {
			t.Fatalf("Clean: %v", err)
		}
		for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "javascript:", "<iframe", "evil.example"} {
			if strings.Contains(strings.ToLower(got.HTML), bad) {
				t.Errorf("cleaned HTML contains %q: %s", bad, got.HTML)
			}
		}
		for _, keep := range []string{"<b>bold</b>", "plain words", "para", "link"} {
			if !strings.Contains(got.HTML, keep) {
				t.Errorf("cleaned HTML lost %q: %s", keep, got.HTML)
			}
		}
	})

	long := func(n int) string { return strings.Repeat("é", n) }
	cases := []struct {
		name      string
		in        overlay.Update
		wantField string // "" when the update is accepted
	}{
		{"plain alert", overlay.Update{Type: "alert", Message: "hi", Seconds: 5}, ""},
		{"https media", overlay.Update{Type: "media", Image: "https://example.com/a.png", Sound: "https://example.com/a.mp3", Video: "https://example.com/a.mp4"}, ""},
		{"http media", overlay.Update{Type: "media", Image: "http://example.com/a.png"}, ""},
		{"longest message", overlay.Update{Type: "chat", Message: long(500), User: long(100)}, ""},
		{"300 seconds", overlay.Update{Type: "alert", Seconds: 300}, ""},
		{"unknown type", overlay.Update{Type: "banner"}, "type"},
		{"empty type", overlay.Update{}, "type"},
		{"message too long", overlay.Update{Type: "chat", Message: long(501)}, "message"},
		{"user too long", overlay.Update{Type: "chat", User: long(101)}, "message"},
		{"html too long", overlay.Update{Type: "text", HTML: strings.Repeat("a", 10001)}, "message"},
		{"too many entries", overlay.Update{Type: "leaderboard", Entries: make([]overlay.Entry, 51)}, "message"},
		{"preset alert", overlay.Update{Type: "alert", Message: "hi", Preset: "minimal", Volume: 100}, ""},
		{"unknown preset", overlay.Update{Type: "alert", Message: "hi", Preset: "fireworks"}, "preset"},
		{"preset with markup", overlay.Update{Type: "alert", Message: "hi", Preset: `pop" onload="x`}, "preset"},
		{"volume too loud", overlay.Update{Type: "alert", Volume: 101}, "volume"},
		{"negative seconds", overlay.Update{Type: "alert", Seconds: -1}, "seconds"},
		{"too many seconds", overlay.Update{Type: "alert", Seconds: 301}, "seconds"},
	}
	for _, field := range []string{"image", "sound", "video"} {
		for _, bad := range []string{"javascript:alert(1)", "data:image/png;base64,AAAA", "ftp://example.com/a.png", "https://", "/local/a.png", "//example.com/a.png", "https://example.com/" + strings.Repeat("a", 2000)} {
			u := overlay.Update{Type: "media"}
			switch field {
			case "image":
				u.Image = bad
			case "sound":
				u.Sound = bad
			case "video":
				u.Video = bad
			}
			cases = append(cases, struct {
				name      string
				in        overlay.Update
				wantField string
			}{field + " " + bad[:min(len(bad), 30)], u, field})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.Clean(tc.in)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Clean: %v", err)
				}
				if diff := cmp.Diff(tc.in, got); diff != "" {
					t.Errorf("Clean changed a clean update (-in +out):\n%s", diff)
				}
				return
			}
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != tc.wantField {
				t.Errorf("Clean error = %#v, want invalid %q", err, tc.wantField)
			}
		})
	}
}

func TestUpdateSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svcs := newServices(t, false, 1)
	svc := svcs[0]
	cid := mustCreateCommunity(ctx, t, pool, "ducks")

	t.Run("text is sanitised", func(t *testing.T) {
		src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Text, "Text")
		err := svc.UpdateSettings(ctx, audit.Actor{}, cid, src.ID, "  Renamed  ", overlay.Settings{Text: `<b>Hi</b><script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">x</a>`})
		if err != nil {
			t.Fatalf("UpdateSettings: %v", err)
		}
		got, err := svc.Get(ctx, cid, src.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Renamed" {
			t.Errorf("name = %q, want %q", got.Name, "Renamed")
		}
		if !strings.Contains(got.Settings.Text, "<b>Hi</b>") {
			t.Errorf("text lost <b>: %q", got.Settings.Text)
		}
		for _, bad := range []string{"<script", "onerror", "javascript:", "alert("} {
			if strings.Contains(got.Settings.Text, bad) {
				t.Errorf("stored text contains %q: %q", bad, got.Settings.Text)
			}
		}
	})

	good := overlay.AlertStyle{Template: "{user} followed!", Seconds: 5, Image: "https://example.com/a.gif", Sound: "https://example.com/a.mp3"}
	with := func(f func(*overlay.AlertStyle)) overlay.Settings {
		a := good
		f(&a)
		return overlay.Settings{Alerts: map[string]overlay.AlertStyle{"follow": a}}
	}
	cases := []struct {
		name      string
		name2     string
		st        overlay.Settings
		wantField string
	}{
		{"good alert", "Alerts", with(func(*overlay.AlertStyle) {}), ""},
		{"longest template", "Alerts", with(func(a *overlay.AlertStyle) { a.Template = strings.Repeat("é", 200) }), ""},
		{"template too long", "Alerts", with(func(a *overlay.AlertStyle) { a.Template = strings.Repeat("é", 201) }), "alerts.follow"},
		{"zero seconds", "Alerts", with(func(a *overlay.AlertStyle) { a.Seconds = 0 }), "alerts.follow"},
		{"61 seconds", "Alerts", with(func(a *overlay.AlertStyle) { a.Seconds = 61 }), "alerts.follow"},
		{"javascript image", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "javascript:alert(1)" }), "alerts.follow"},
		{"data sound", "Alerts", with(func(a *overlay.AlertStyle) { a.Sound = "data:audio/mp3;base64,AAAA" }), "alerts.follow"},
		{"hostless image", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "https:///a.png" }), "alerts.follow"},
		{"http image", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "http://example.com/a.gif" }), "alerts.follow"},
		{"http sound", "Alerts", with(func(a *overlay.AlertStyle) { a.Sound = "http://example.com/a.mp3" }), "alerts.follow"},
		{"javascript sound", "Alerts", with(func(a *overlay.AlertStyle) { a.Sound = "JavaScript:alert(1)" }), "alerts.follow"},
		{"image with credentials", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "https://user:pw@example.com/a.gif" }), "alerts.follow"},
		{"image with a space", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "https://example.com/a b.gif" }), "alerts.follow"},
		{"longest image URL", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "https://example.com/" + strings.Repeat("a", 2000-20) }), ""},
		{"image URL too long", "Alerts", with(func(a *overlay.AlertStyle) { a.Image = "https://example.com/" + strings.Repeat("a", 2000-19) }), "alerts.follow"},
		{"each preset", "Alerts", overlay.Settings{Preset: "slide", Volume: 100}, ""},
		{"minimal preset, quiet", "Alerts", overlay.Settings{Preset: "minimal", Volume: 1}, ""},
		{"unknown preset", "Alerts", overlay.Settings{Preset: "fireworks"}, "preset"},
		{"preset in another case", "Alerts", overlay.Settings{Preset: "Pop"}, "preset"},
		{"volume too loud", "Alerts", overlay.Settings{Volume: 101}, "volume"},
		{"negative volume", "Alerts", overlay.Settings{Volume: -1}, "volume"},
		{"empty name", " ", overlay.Settings{}, "name"},
		{"name too long", strings.Repeat("n", 101), overlay.Settings{}, "name"},
		{"text too long", "Alerts", overlay.Settings{Text: strings.Repeat("a", 10001)}, "text"},
		{"top too big", "Alerts", overlay.Settings{Top: 51}, "top"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Alerts, "Alerts")
			err := svc.UpdateSettings(ctx, audit.Actor{}, cid, src.ID, tc.name2, tc.st)
			got, gerr := svc.Get(ctx, cid, src.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("UpdateSettings: %v", err)
				}
				if diff := cmp.Diff(tc.st, got.Settings); diff != "" {
					t.Errorf("stored settings (-want +got):\n%s", diff)
				}
				return
			}
			if p := problem.As(err); p == nil || p.Code != problem.Invalid || p.Field != tc.wantField {
				t.Errorf("UpdateSettings error = %#v, want invalid %q", err, tc.wantField)
			}
			if diff := cmp.Diff(src, got); diff != "" {
				t.Errorf("a refused update changed the source (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svcs := newServices(t, false, 1)
	svc := svcs[0]
	cid := mustCreateCommunity(ctx, t, pool, "ducks")
	otherCid := mustCreateCommunity(ctx, t, pool, "geese")
	emptyCid := mustCreateCommunity(ctx, t, pool, "empty")

	alerts, _ := mustCreateSource(ctx, t, svc, cid, overlay.Alerts, "Alerts")
	st := overlay.Settings{Alerts: map[string]overlay.AlertStyle{
		"follow":   {Template: "{user} followed!", Seconds: 7, Image: "https://example.com/f.gif"},
		"cheer":    {Template: "{user} cheered {amount}", Seconds: 4},
		"shoutout": {Template: "Shout to {user}", Seconds: 9},
	}, Preset: "slide", Volume: 40}
	if err := svc.UpdateSettings(ctx, audit.Actor{}, cid, alerts.ID, "Alerts", st); err != nil {
		t.Fatal(err)
	}
	chat, _ := mustCreateSource(ctx, t, svc, cid, overlay.Chat, "Chat")
	ticker, _ := mustCreateSource(ctx, t, svc, cid, overlay.Ticker, "Ticker")
	foreign, _ := mustCreateSource(ctx, t, svc, otherCid, overlay.Alerts, "Their alerts")

	subs := map[string]<-chan overlay.Update{}
	for name, id := range map[string]int64{"alerts": alerts.ID, "chat": chat.ID, "ticker": ticker.ID, "foreign": foreign.ID} {
		ch, cancel := svc.Subscribe(id)
		defer cancel()
		subs[name] = ch
	}

	cases := []struct {
		name string
		kind string
		data map[string]any
		to   string // the subscriber that receives it; "" for none
		want overlay.Update
	}{
		{"follow", "alert", map[string]any{"event": "follow", "user": "Ann"}, "alerts",
			overlay.Update{Type: "alert", Message: "Ann followed!", User: "Ann", Seconds: 7, Image: "https://example.com/f.gif", Preset: "slide", Volume: 40}},
		{"cheer with amount", "alert", map[string]any{"event": "cheer", "user": "Bob", "amount": float64(100)}, "alerts",
			overlay.Update{Type: "alert", Message: "Bob cheered 100", User: "Bob", Seconds: 4, Preset: "slide", Volume: 40}},
		{"default template", "alert", map[string]any{"event": "raid", "user": "Cat", "amount": 12}, "alerts",
			overlay.Update{Type: "alert", Message: "Cat is raiding with 12 viewers!", User: "Cat", Seconds: 8, Preset: "slide", Volume: 40}},
		{"shoutout", "shoutout", map[string]any{"event": "follow", "user": "Dan"}, "alerts",
			overlay.Update{Type: "alert", Message: "Shout to Dan", User: "Dan", Seconds: 9, Preset: "slide", Volume: 40}},
		{"chat", "chat", map[string]any{"user": "Eve", "message": "hello"}, "chat",
			overlay.Update{Type: "chat", User: "Eve", Message: "hello"}},
		{"ticker", "ticker", map[string]any{"message": "news"}, "ticker",
			overlay.Update{Type: "ticker", Message: "news"}},
		{"text without a text source", "text", map[string]any{"html": "<b>x</b>"}, "", overlay.Update{}},
		{"unknown kind", "confetti", map[string]any{"user": "Fay"}, "", overlay.Update{}},
	}
	for _, tc := range cases {
		if err := svc.Deliver(ctx, cid, tc.kind, tc.data); err != nil {
			t.Fatalf("%s: Deliver: %v", tc.name, err)
		}
		// A marker on every source: whatever a source received before it was delivered by this case.
		got := map[string][]overlay.Update{}
		for name, ch := range subs {
			id := map[string]int64{"alerts": alerts.ID, "chat": chat.ID, "ticker": ticker.ID, "foreign": foreign.ID}[name]
			marker := mustPublish(ctx, t, svc, id, overlay.Update{Type: "ticker", Message: "marker"})
			us := recvUntil(t, ch, marker.ID)
			got[name] = us[:len(us)-1]
		}
		for name, us := range got {
			var want []overlay.Update
			if name == tc.to {
				want = []overlay.Update{tc.want}
			}
			if diff := cmp.Diff(want, us, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(overlay.Update{}, "ID")); diff != "" {
				t.Errorf("%s: %s source received (-want +got):\n%s", tc.name, name, diff)
			}
		}
	}

	for _, kind := range []string{"alert", "shoutout", "chat", "text", "ticker", "confetti"} {
		if err := svc.Deliver(ctx, emptyCid, kind, map[string]any{"event": "follow", "user": "Ann"}); err != nil {
			t.Errorf("Deliver %s to a community without sources: %v", kind, err)
		}
	}
}

// TestDeliverAfterDelete checks that deleting one of a community's sources,
// on this instance or another, does not break delivery to the others.
func TestDeliverAfterDelete(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		deleter int // index of the instance that deletes; 0 delivers
	}{
		{"same instance", 0},
		{"other instance", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, svcs := newServices(t, false, 2)
			svc := svcs[0]
			cid := mustCreateCommunity(ctx, t, pool, "ducks")
			gone, _ := mustCreateSource(ctx, t, svc, cid, overlay.Chat, "Gone")
			kept, _ := mustCreateSource(ctx, t, svc, cid, overlay.Chat, "Kept")
			ch, cancel := svc.Subscribe(kept.ID)
			defer cancel()

			if err := svc.Deliver(ctx, cid, "chat", map[string]any{"user": "Ann", "message": "one"}); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if u := recv(t, ch); u.Message != "one" {
				t.Fatalf("received %+v, want message one", u)
			}
			if err := svcs[tc.deleter].Delete(ctx, audit.Actor{}, cid, gone.ID); err != nil {
				t.Fatal(err)
			}
			if err := svc.Deliver(ctx, cid, "chat", map[string]any{"user": "Ann", "message": "two"}); err != nil {
				t.Errorf("Deliver after deleting a source: %v", err)
			}
			marker := mustPublish(ctx, t, svc, kept.ID, overlay.Update{Type: "chat", Message: "marker"})
			var got []string
			for _, u := range recvUntil(t, ch, marker.ID) {
				got = append(got, u.Message)
			}
			if diff := cmp.Diff([]string{"two", "marker"}, got); diff != "" {
				t.Errorf("kept source received (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentPublishSubscribe runs publishers against pages that come and
// go; -race checks the broker's locking, and every page must see each update
// at most once and only updates that were published.
func TestConcurrentPublishSubscribe(t *testing.T) {
	t.Parallel()
	const publishers, perPublisher, subscribers, rounds = 20, 5, 20, 5
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, svcs := newServices(t, be.redis, 1)
			svc := svcs[0]
			cid := mustCreateCommunity(ctx, t, pool, "ducks")
			src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Chat, "Chat")

			// One page stays for the whole run and must receive everything.
			steady, cancelSteady := svc.Subscribe(src.ID)
			defer cancelSteady()
			steadyGot := make(chan map[int64]int, 1)
			go func() {
				seen := map[int64]int{}
				for len(seen) < publishers*perPublisher {
					u, ok := <-steady
					if !ok {
						break
					}
					seen[u.ID]++
				}
				steadyGot <- seen
			}()

			var wg sync.WaitGroup
			published := make(chan int64, publishers*perPublisher)
			errs := make(chan error, publishers+subscribers)
			stop := make(chan struct{})
			for p := range publishers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perPublisher {
						u, err := svc.Publish(ctx, src.ID, overlay.Update{Type: "chat", Message: fmt.Sprint(p, "-", i)})
						if err != nil {
							errs <- err
							return
						}
						published <- u.ID
					}
				}()
			}
			var subWG sync.WaitGroup
			received := make(chan []int64, subscribers*rounds)
			for range subscribers {
				subWG.Add(1)
				go func() {
					defer subWG.Done()
					for range rounds {
						ch, cancel := svc.Subscribe(src.ID)
						var got []int64
					read:
						for len(got) < 3 {
							select {
							case u, ok := <-ch:
								if !ok {
									break read
								}
								got = append(got, u.ID)
							case <-stop:
								break read
							}
						}
						cancel()
						cancel() // a second cancel is harmless
						for u := range ch {
							got = append(got, u.ID)
						}
						received <- got
					}
				}()
			}
			wg.Wait()
			close(stop)
			subWG.Wait()
			close(published)
			close(received)
			close(errs)
			for err := range errs {
				t.Errorf("publish: %v", err)
			}

			all := map[int64]bool{}
			for id := range published {
				all[id] = true
			}
			if len(all) != publishers*perPublisher {
				t.Fatalf("%d distinct update ids, want %d", len(all), publishers*perPublisher)
			}
			for got := range received {
				seen := map[int64]bool{}
				for _, id := range got {
					if !all[id] {
						t.Errorf("a page received update %d, which was not published", id)
					}
					if seen[id] {
						t.Errorf("a page received update %d twice", id)
					}
					seen[id] = true
				}
			}
			select {
			case seen := <-steadyGot:
				for id := range all {
					if seen[id] != 1 {
						t.Errorf("steady page received update %d %d times, want once", id, seen[id])
					}
				}
			case <-time.After(wait):
				t.Fatal("steady page did not receive every update")
			}
			stored, err := svc.Since(ctx, src.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != len(all) {
				t.Errorf("Since(0) returned %d updates, want %d", len(stored), len(all))
			}
		})
	}
}

// TestLeaderboardRefresh: after points change, a leaderboard source gets the current top N.
func TestLeaderboardRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	svc := overlay.New(overlay.Config{Pool: pool, Logger: slog.New(slog.DiscardHandler)})
	cid := mustCreateCommunity(ctx, t, pool, "board")
	src, _ := mustCreateSource(ctx, t, svc, cid, overlay.Leaderboard, "Top")
	for i, name := range []string{"ann", "bob", "cat"} {
		if _, err := db.New(pool).PointsBalanceAdd(ctx, db.PointsBalanceAddParams{CommunityID: cid, Platform: "twitch", UserID: name, UserName: name, Balance: int64(10 * (i + 1))}); err != nil {
			t.Fatal(err)
		}
	}
	ch, cancel := svc.Subscribe(src.ID)
	defer cancel()
	if err := svc.Deliver(ctx, cid, "leaderboard", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-ch:
		if u.Type != "leaderboard" || len(u.Entries) != 3 || u.Entries[0].Name != "cat" || u.Entries[0].Points != 30 {
			t.Errorf("leaderboard update %+v", u)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no leaderboard update")
	}
}

// follow reads a feed as the SSE stream does until it has handed out the
// update numbered until, and returns what it handed out.
func follow(ctx context.Context, t testing.TB, f *overlay.Feed, until int64) ([]overlay.Update, error) {
	var got []overlay.Update
	timeout := time.After(wait)
	for f.Last() < until {
		select {
		case u, ok := <-f.Live():
			if !ok {
				return got, errors.New("the feed closed")
			}
			us, err := f.Order(ctx, u)
			if err != nil {
				return got, err
			}
			got = append(got, us...)
		case <-timeout:
			return got, fmt.Errorf("only %d updates, the last numbered %d", len(got), f.Last())
		}
	}
	return got, nil
}

// TestBurstAcrossInstances replays the raid train that lost 30 of 140
// alerts: 140 updates published at once by 14 goroutines, 7 on each of two
// instances sharing PostgreSQL and Redis, while pages follow the source on
// both. Every page gets every update once, in number order; a page that
// left mid-burst and comes back with the last number it got (on the other
// instance) replays exactly the rest.
func TestBurstAcrossInstances(t *testing.T) {
	t.Parallel()
	const perInstance, publishers, each = 3, 7, 10
	const total = 2 * publishers * each
	ctx := context.Background()
	pool, svcs := newServices(t, true, 2)
	cid := mustCreateCommunity(ctx, t, pool, "raid")
	src, _ := mustCreateSource(ctx, t, svcs[0], cid, overlay.Alerts, "Alerts")

	type result struct {
		page int
		got  []overlay.Update
		err  error
	}
	results := make(chan result, 2*perInstance)
	for i, svc := range svcs {
		for p := range perInstance {
			f, missed, err := svc.Follow(ctx, src.ID, 0)
			if err != nil || len(missed) != 0 {
				t.Fatalf("Follow = %v, %v", missed, err)
			}
			defer f.Close()
			go func() {
				got, err := follow(ctx, t, f, total)
				results <- result{i*perInstance + p, got, err}
			}()
		}
	}
	// This page leaves after 40 updates.
	leaver, _, err := svcs[1].Follow(ctx, src.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	leaverDone := make(chan []overlay.Update, 1)
	go func() {
		got, _ := follow(ctx, t, leaver, 40)
		leaver.Close()
		leaverDone <- got
	}()

	start := make(chan struct{})
	published := make(chan overlay.Update, total)
	errs := make(chan error, 2*publishers)
	var wg sync.WaitGroup
	for i, svc := range svcs {
		for p := range publishers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for n := range each {
					u, err := svc.Publish(ctx, src.ID, overlay.Update{Type: "alert", User: fmt.Sprintf("u%d-%d-%d", i, p, n), Message: "followed"})
					if err != nil {
						errs <- err
						return
					}
					published <- u
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(published)
	close(errs)
	for err := range errs {
		t.Fatalf("publish: %v", err)
	}
	want := make([]overlay.Update, total)
	for u := range published {
		if u.ID < 1 || u.ID > total || want[u.ID-1].ID != 0 {
			t.Fatalf("update numbered %d: want each of 1 to %d once", u.ID, total)
		}
		want[u.ID-1] = u
	}

	for range 2 * perInstance {
		r := <-results
		if r.err != nil {
			t.Errorf("page %d: %v", r.page, r.err)
		}
		if diff := cmp.Diff(want, r.got); diff != "" {
			t.Errorf("page %d on instance %d (-want +got):\n%s", r.page, r.page/perInstance, diff)
		}
	}

	before := <-leaverDone
	if diff := cmp.Diff(want[:len(before)], before); diff != "" || len(before) < 40 {
		t.Fatalf("the leaver got %d updates (-want +got):\n%s", len(before), diff)
	}
	back, missed, err := svcs[0].Follow(ctx, src.ID, before[len(before)-1].ID)
	if err != nil {
		t.Fatal(err)
	}
	back.Close()
	if diff := cmp.Diff(want[len(before):], missed); diff != "" {
		t.Errorf("the leaver's replay (-want +got):\n%s", diff)
	}
}
