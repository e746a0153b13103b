package twitch

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// apiCall is one request the local Twitch API received.
type apiCall struct {
	Method, Path, Auth, ClientID string
	Query                        map[string]string
	Body                         map[string]any
}

// fakeTwitch is a local id.twitch.tv (under /oauth2) and Helix (under /helix).
type fakeTwitch struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []apiCall
	valid    map[string]bool           // access tokens Helix accepts
	users    map[string][2]string      // access token → user id, login (for /validate)
	refresh  map[string][2]string      // refresh token → new access, new refresh
	subs     map[string]map[string]any // EventSub subscriptions by id
	nextSub  int
	limitOne bool // answer the next moderation call with 429
}

func newFakeTwitch(t *testing.T) *fakeTwitch {
	t.Helper()
	f := &fakeTwitch{
		valid:   map[string]bool{"bot-1": true, "caster-1": true, "app-1": true},
		users:   map[string][2]string{"bot-1": {"100", "duckbot"}, "bot-2": {"100", "duckbot"}, "caster-1": {"200", "duckchan"}},
		refresh: map[string][2]string{"bot-r1": {"bot-2", "bot-r2"}},
		subs:    map[string]map[string]any{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwitch) oauth() *platform.TwitchOAuth {
	return &platform.TwitchOAuth{ClientID: "cid", ClientSecret: "csecret", AuthURL: f.srv.URL + "/oauth2", APIURL: f.srv.URL + "/helix"}
}

func (f *fakeTwitch) setValid(token string, ok bool) {
	f.mu.Lock()
	f.valid[token] = ok
	f.mu.Unlock()
}

func (f *fakeTwitch) addSub(typ, version, status string, cond map[string]string, callback string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextSub++
	id := fmt.Sprintf("sub-%d", f.nextSub)
	c := map[string]any{}
	for k, v := range cond {
		c[k] = v
	}
	f.subs[id] = map[string]any{"id": id, "type": typ, "version": version, "status": status, "condition": c,
		"transport": map[string]any{"method": "webhook", "callback": callback}}
	return id
}

// find returns the calls to method path.
func (f *fakeTwitch) find(method, path string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeTwitch) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	call := apiCall{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), ClientID: r.Header.Get("Client-Id"), Query: map[string]string{}}
	for k := range r.URL.Query() {
		call.Query[k] = r.URL.Query().Get(k)
	}
	json.Unmarshal(body, &call.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, v any) {
		w.WriteHeader(status)
		if v != nil {
			json.NewEncoder(w).Encode(v)
		}
	}
	switch call.Path {
	case "/oauth2/token":
		switch form.Get("grant_type") {
		case "client_credentials":
			reply(200, map[string]any{"access_token": "app-1", "expires_in": 3600, "token_type": "bearer"})
		case "refresh_token":
			next, ok := f.refresh[form.Get("refresh_token")]
			if !ok {
				reply(400, map[string]any{"status": 400, "message": "Invalid refresh token"})
				return
			}
			f.valid[next[0]] = true
			reply(200, map[string]any{"access_token": next[0], "refresh_token": next[1], "expires_in": 14000, "scope": []string{"chat:read"}})
		default:
			reply(400, map[string]any{"status": 400, "message": "bad grant"})
		}
		return
	case "/oauth2/validate":
		u, ok := f.users[strings.TrimPrefix(call.Auth, "OAuth ")]
		if !ok {
			reply(401, map[string]any{"status": 401, "message": "invalid access token"})
			return
		}
		reply(200, map[string]any{"client_id": "cid", "user_id": u[0], "login": u[1], "scopes": []string{"chat:read"}, "expires_in": 14000})
		return
	}
	if !strings.HasPrefix(call.Path, "/helix/") {
		reply(404, nil)
		return
	}
	if call.ClientID != "cid" || !f.valid[strings.TrimPrefix(call.Auth, "Bearer ")] {
		reply(401, map[string]any{"status": 401, "message": "Invalid OAuth token"})
		return
	}
	switch call.Method + " " + strings.TrimPrefix(call.Path, "/helix") {
	case "DELETE /moderation/chat", "POST /moderation/bans":
		if f.limitOne {
			f.limitOne = false
			w.Header().Set("Ratelimit-Reset", fmt.Sprint(time.Now().Add(time.Second).Unix()))
			reply(429, map[string]any{"status": 429, "message": "Too Many Requests"})
			return
		}
		if call.Method == "DELETE" {
			reply(204, nil)
		} else {
			reply(200, map[string]any{"data": []any{}})
		}
	case "POST /whispers":
		reply(204, nil)
	case "GET /users":
		reply(200, map[string]any{"data": []any{map[string]any{"id": "200", "login": call.Query["login"]}}})
	case "GET /eventsub/subscriptions":
		var data []any
		for _, s := range f.subs {
			if c, _ := s["condition"].(map[string]any); c["broadcaster_user_id"] == call.Query["user_id"] || c["to_broadcaster_user_id"] == call.Query["user_id"] {
				data = append(data, s)
			}
		}
		reply(200, map[string]any{"data": data, "pagination": map[string]any{}})
	case "POST /eventsub/subscriptions":
		f.nextSub++
		id := fmt.Sprintf("sub-%d", f.nextSub)
		s := map[string]any{"id": id, "status": "webhook_callback_verification_pending", "type": call.Body["type"], "version": call.Body["version"],
			"condition": call.Body["condition"], "transport": call.Body["transport"]}
		f.subs[id] = s
		reply(202, map[string]any{"data": []any{s}})
	case "DELETE /eventsub/subscriptions":
		delete(f.subs, call.Query["id"])
		reply(204, nil)
	default:
		reply(404, map[string]any{"status": 404, "message": "not found"})
	}
}

// env is a router on a fresh database with community "ducks" linked to
// #duckchan, the bot account's token stored, and local Twitch servers.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	rt     *router.Router
	cid    int64
	tokens *platform.Tokens
	links  *platform.Links
	irc    *ircServer
	api    *fakeTwitch
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := testLogger(t)
	rt := router.New(router.Config{Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- rt.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router run: %v", err)
		}
	})
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, rt: rt, cid: c.ID, tokens: platform.NewTokens(pool, box), links: platform.NewLinks(pool),
		irc: newIRCServer(t), api: newFakeTwitch(t)}
	e.link("duckchan")
	e.saveToken(platform.BotSubject, platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)})
	return e
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("TWITCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func (e *env) link(channel string) router.Entity {
	e.t.Helper()
	ent, err := e.rt.LinkEntity(context.Background(), e.cid, router.Twitch, channel, channel)
	if err != nil {
		e.t.Fatal(err)
	}
	return ent
}

func (e *env) saveToken(subject string, tok platform.Token) {
	e.t.Helper()
	if err := e.tokens.Save(context.Background(), Platform, subject, tok); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) command(name, response string) {
	e.t.Helper()
	if _, err := e.rt.CreateCommand(context.Background(), e.cid, router.CommandInput{Name: name, Response: response, Permission: router.Everyone, Enabled: true}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) rule(in router.RuleInput) {
	e.t.Helper()
	if _, err := e.rt.CreateRule(context.Background(), e.cid, in); err != nil {
		e.t.Fatal(err)
	}
}

// config is a bot configuration on the env's servers, with fast polling.
func (e *env) config(holder string) Config {
	return Config{
		Router: e.rt, Pool: e.pool, Tokens: e.tokens, Links: e.links, Leases: platform.NewLeases(e.pool, holder, 3*time.Second),
		Status: platform.NewStatus(Platform), OAuth: e.api.oauth(), BotLogin: "duckbot", IRCAddr: e.irc.addr(),
		Logger: testLogger(e.t), SyncEvery: 100 * time.Millisecond, DrainTimeout: time.Second,
	}
}

// running is a bot started by start.
type running struct {
	*Bot
	cfg  Config
	stop func() // cancels Run and waits for it
}

// start runs a bot until stop or the end of the test.
func (e *env) start(cfg Config) *running {
	e.t.Helper()
	b, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("bot run: %v", err)
				}
			case <-time.After(20 * time.Second):
				pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
				e.t.Errorf("bot did not stop within 20 s")
			}
		})
	}
	e.t.Cleanup(stop)
	return &running{Bot: b, cfg: cfg, stop: stop}
}
