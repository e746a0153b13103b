package discord

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

const (
	botID = discordtest.BotID
	appID = "2000"
	guild = "3000"
)

type env struct {
	t        *testing.T
	pool     *pgxpool.Pool
	rt       *router.Router
	settings *router.Settings
	links    *platform.Links
	cid      int64
	rest     *discordtest.REST
	gw       *discordtest.Gateway
	bot      *Bot
	stop     func()
	base     Config
	clock    *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newEnv starts a router with a community linked to guild, the fake
// Discord, and the bot connected to it with the guild created.
func newEnv(t *testing.T, redisOn bool, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := slog.New(slog.DiscardHandler)
	k := make([]byte, 32)
	rand.Read(k)
	box, err := secret.New(base64.StdEncoding.EncodeToString(k))
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger,
		Executor: executor.New(executor.Config{AllowPrivate: true, Logger: logger}), Secrets: box})
	settings := router.NewSettings(rt)
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan error, 1)
	go func() { rdone <- rt.Run(rctx) }()
	t.Cleanup(func() { rcancel(); <-rdone })
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Discord, guild, "Duck pond"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, rt: rt, settings: settings, links: platform.NewLinks(pool), cid: c.ID, rest: discordtest.StartREST(t), gw: discordtest.StartGateway(t),
		clock: &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	e.rest.UseGateway(e.gw)
	e.gw.SetWindow(testWindow)
	e.base = Config{Router: rt, Settings: settings, Links: e.links,
		Token: "secret-token", AppID: appID, APIURL: e.rest.URL(),
		GatewayURL: e.gw.URL(), Logger: logger, LeaseEvery: 100 * time.Millisecond, LinkEvery: 100 * time.Millisecond,
		ComponentBudget: 5 * time.Second, Workers: 1, Now: e.clock.Now, IdentifyWindow: testWindow}
	if redisOn {
		e.base.Redis, e.base.RedisPrefix = rdb, prefix
	}
	for _, o := range opts {
		o(&e.base)
	}
	e.bot, e.stop = e.start("instance-a")
	eventually(t, "the gateway connection", e.gw.Connected)
	e.gw.Dispatch("GUILD_CREATE", map[string]any{"id": guild, "name": "Duck pond", "owner_id": "1", "roles": []any{
		map[string]any{"id": guild, "name": "@everyone", "permissions": "0"},
		map[string]any{"id": "77", "name": "mods", "permissions": "8192"}}})
	eventually(t, "the guild", func() bool {
		e.bot.mu.Lock()
		defer e.bot.mu.Unlock()
		return e.bot.guilds[guild] != nil
	})
	return e
}

// start runs a bot instance until the returned stop is called (or the test ends).
func (e *env) start(holder string) (*Bot, func()) {
	e.t.Helper()
	return e.startWith(platform.NewLeases(e.pool, holder, e.base.LeaseTTL))
}

// startWith is start with the given leases.
func (e *env) startWith(leases *platform.Leases) (*Bot, func()) {
	e.t.Helper()
	cfg := e.base
	cfg.Leases = leases
	cfg.Status = platform.NewStatus(router.Discord)
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
			if err := <-done; err != nil {
				e.t.Errorf("run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return b, stop
}

func (e *env) command(name, response string) {
	e.t.Helper()
	if _, err := e.settings.CreateCommand(context.Background(), audit.Actor{}, e.cid, router.CommandInput{Name: name, Response: response,
		Permission: router.Everyone, Enabled: true}); err != nil {
		e.t.Fatal(err)
	}
}

func message(id, author, content string) map[string]any {
	return map[string]any{"id": id, "channel_id": "50", "guild_id": guild, "content": content, "type": 0,
		"timestamp": "2026-01-02T03:04:05Z", "author": map[string]any{"id": author, "username": "user" + author},
		"member": map[string]any{"roles": []string{}}}
}

// waitBody waits for a request to method path whose body contains want.
func (e *env) waitBody(method, path, want string) discordtest.Request {
	e.t.Helper()
	return e.rest.WaitBody(e.t, method, path, want, 10*time.Second)
}

// eventually polls cond until it holds or 10 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChatCommandRepliesAndIgnoresItself(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Quack to you!")
	e.gw.Dispatch("MESSAGE_CREATE", message("600", botID, "!hello"))      // the bot itself
	e.gw.Dispatch("MESSAGE_CREATE", message("601", "42", "!hello there")) // a member
	r := e.waitBody("POST", "/channels/50/messages", "Quack to you!")
	var body struct {
		Content string `json:"content"`
		Ref     struct {
			MessageID string `json:"message_id"`
		} `json:"message_reference"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Ref.MessageID != "601" {
		t.Errorf("reply references message %q, want 601", body.Ref.MessageID)
	}
	// One worker handles events in order: the bot's own message came first and was ignored.
	if n := len(e.rest.Find("POST", "/channels/50/messages")); n != 1 {
		t.Errorf("%d replies, want 1 (the bot answered itself?)", n)
	}
	if s := e.bot.cfg.Status.Snapshot(); s.State != platform.StateConnected || !strings.Contains(s.Detail, "1 guilds") {
		t.Errorf("status %s %q, want connected with 1 guild", s.State, s.Detail)
	}
}

func ixPayload(id string, typ int, data any) map[string]any {
	return map[string]any{"id": id, "application_id": appID, "type": typ, "token": "tok-" + id, "guild_id": guild, "channel_id": "50",
		"member": map[string]any{"user": map[string]any{"id": "42", "username": "alice"}, "roles": []string{}, "permissions": "0"},
		"data":   data}
}

func TestSlashCommandDefersThenEdits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.command("hello", "Quack, slashed!")
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("700", 2, map[string]any{"id": "1", "name": "hello", "type": 1,
		"options": []any{map[string]any{"name": "args", "type": 3, "value": "now"}}}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-700/messages/@original", "Quack, slashed!")
	cb := e.rest.Find("POST", "/interactions/700/tok-700/callback")
	if len(cb) != 1 || !strings.Contains(cb[0].Body, `"type":5`) {
		t.Fatalf("callbacks %v, want one deferred (type 5)", cb)
	}
	if e.rest.Index("POST", "/interactions/700/tok-700/callback") > e.rest.Index("PATCH", "/webhooks/"+appID+"/tok-700/messages/@original") {
		t.Error("the reply was edited in before the interaction was deferred")
	}
}

func TestSlashCommandsRegisteredAndUpdated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Quack!")
	path := "/applications/" + appID + "/guilds/" + guild + "/commands"
	first := e.waitBody("PUT", path, `"name":"hello"`)
	for _, want := range []string{`"name":"help"`, `"name":"points"`, `"name":"args"`} {
		if !strings.Contains(first.Body, want) {
			t.Errorf("registered commands lack %s: %s", want, first.Body)
		}
	}
	e.command("wave", "👋")
	e.waitBody("PUT", path, `"name":"wave"`)
	// Unchanged lists are not sent again.
	n := len(e.rest.Find("PUT", path))
	e.command("zzz", "z")
	e.waitBody("PUT", path, `"name":"zzz"`)
	if got := len(e.rest.Find("PUT", path)); got != n+1 {
		t.Errorf("%d registrations after one change, want %d", got, n+1)
	}
	// An alias is a slash command too, and runs its command.
	if err := e.settings.AddAlias(context.Background(), audit.Actor{}, e.cid, "hi", "hello"); err != nil {
		t.Fatal(err)
	}
	e.waitBody("PUT", path, `"name":"hi","description":"Same as /hello"`)
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("720", 2, map[string]any{"id": "c1", "name": "hi", "type": 1}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-720/messages/@original", "Quack!")
}

// menuModule is a remote module answering with buttons, a form, and replies.
func menuModule(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req router.RemoteRequest
		json.Unmarshal(body, &req)
		var ans router.RemoteAnswer
		switch strings.Join(req.Args, " ") {
		case "":
			ans.Responses = []router.Response{{Reply: "Choose:", Buttons: []router.Button{{ID: "#menu pick", Label: "Pick"}, {ID: "#menu form", Label: "Form"}}}}
		case "pick":
			ans.Reply = "picked by " + req.Event.User.Name
		case "form":
			ans.Responses = []router.Response{{Form: &router.Form{ID: "#menu sent", Title: "Tell us", Fields: []router.FormField{{ID: "color", Label: "Colour"}}}}}
		case "sent":
			ans.Reply = fmt.Sprintf("colour is %v", req.Event.Data["color"])
		case "secret":
			ans.Responses = []router.Response{{Reply: "psst", Private: true}}
		case "mixed":
			ans.Responses = []router.Response{{Reply: "psst", Private: true}, {Reply: "hello all"}}
		}
		json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestButtonsAndModalRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("MESSAGE_CREATE", message("601", "42", "#menu"))
	r := e.waitBody("POST", "/channels/50/messages", "Choose:")
	for _, want := range []string{`"custom_id":"#menu pick"`, `"custom_id":"#menu form"`, `"type":1`, `"type":2`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("message lacks %s: %s", want, r.Body)
		}
	}

	// A click runs the button's command.
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("701", 3, map[string]any{"custom_id": "#menu pick", "component_type": 2}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-701/messages/@original", "picked by alice")

	// A click answered with a form opens a modal.
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("702", 3, map[string]any{"custom_id": "#menu form", "component_type": 2}))
	cb := e.waitBody("POST", "/interactions/702/tok-702/callback", `"type":9`)
	for _, want := range []string{`"custom_id":"#menu sent"`, `"custom_id":"color"`, `"title":"Tell us"`} {
		if !strings.Contains(cb.Body, want) {
			t.Errorf("modal lacks %s: %s", want, cb.Body)
		}
	}

	// Submitting it runs the form's command with the fields.
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("703", 5, map[string]any{"custom_id": "#menu sent", "components": []any{
		map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": "color", "value": "blue"}}}}}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-703/messages/@original", "colour is blue")
	if cb := e.rest.Find("POST", "/interactions/703/tok-703/callback"); len(cb) != 1 || !strings.Contains(cb[0].Body, `"type":5`) {
		t.Errorf("modal submit callbacks %v, want one deferred", cb)
	}
}

func TestVoiceMinutesEarnPoints(t *testing.T) {
	for _, redisOn := range []bool{true, false} {
		t.Run(fmt.Sprintf("redis=%v", redisOn), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, redisOn)
			member := map[string]any{"user": map[string]any{"id": "43", "username": "bob"}, "roles": []string{}}
			e.gw.Dispatch("VOICE_STATE_UPDATE", map[string]any{"guild_id": guild, "channel_id": "80", "user_id": "43", "session_id": "s", "member": member})
			balance := func() int64 {
				top, err := e.settings.Leaderboard(context.Background(), e.cid, 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range top {
					if s.UserID == "43" {
						return s.Points
					}
				}
				return 0
			}
			join := router.DefaultPoints["discord.voice_join"]
			eventually(t, "points for joining voice", func() bool { return balance() == join })
			e.clock.add(7*time.Minute + 30*time.Second)
			// Moving to another channel is not a leave.
			e.gw.Dispatch("VOICE_STATE_UPDATE", map[string]any{"guild_id": guild, "channel_id": "81", "user_id": "43", "session_id": "s", "member": member})
			e.gw.Dispatch("VOICE_STATE_UPDATE", map[string]any{"guild_id": guild, "channel_id": nil, "user_id": "43", "session_id": "s", "member": member})
			want := join + 7*router.DefaultPoints["discord.voice_minute"]
			eventually(t, fmt.Sprintf("%d points after 7 minutes in voice", want), func() bool { return balance() == want })
		})
	}
}

func TestGuildsOfferedForLinking(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	available := func() bool {
		l, err := e.links.Available(context.Background(), router.Discord)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range l {
			if x.Server == "4000" && x.Name == "Goose pond" {
				return true
			}
		}
		return false
	}
	e.gw.Dispatch("GUILD_CREATE", map[string]any{"id": "4000", "name": "Goose pond", "owner_id": "1"})
	eventually(t, "the new guild offered for linking", available)
	// An outage is not a removal.
	e.gw.Dispatch("GUILD_DELETE", map[string]any{"id": "4000", "unavailable": true})
	e.gw.Dispatch("GUILD_DELETE", map[string]any{"id": "4000"})
	eventually(t, "the guild gone", func() bool { return !available() })
	// Events from the unlinked guild are ignored quietly.
	e.command("hello", "Quack!")
	m := message("610", "42", "!hello")
	m["guild_id"] = "4000"
	e.gw.Dispatch("MESSAGE_CREATE", m)
	e.gw.Dispatch("MESSAGE_CREATE", message("611", "42", "!hello"))
	e.waitBody("POST", "/channels/50/messages", `"message_id":"611"`)
	if r := e.rest.Find("POST", "/channels/50/messages"); len(r) != 1 {
		t.Errorf("%d replies, want only the linked guild's", len(r))
	}
}

func TestRateLimitedMessageArrivesAfterRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Quack later!")
	var once sync.Once
	e.rest.SetOverride(func(w http.ResponseWriter, r discordtest.Request) bool {
		hit := false
		if r.Method == "POST" && r.Path == "/channels/50/messages" {
			once.Do(func() {
				hit = true
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"message":"You are being rate limited.","retry_after":0.4,"global":false}`)
			})
		}
		return hit
	})
	e.gw.Dispatch("MESSAGE_CREATE", message("620", "42", "!hello"))
	eventually(t, "the message sent after the wait", func() bool { return len(e.rest.Find("POST", "/channels/50/messages")) == 2 })
	// The server has the message a moment before the send queue counts it sent.
	eventually(t, "1 rate limited and 1 sent", func() bool {
		st := e.bot.queue.Stats()
		return st.RateLimited == 1 && st.Sent == 1
	})
	if st := e.bot.queue.Stats(); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("send queue stats %+v, want nothing failed or dropped", st)
	}
}

func TestTooManyRefusalsPauseSending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.InvalidLimit = 3 })
	e.command("hello", "Quack!")
	e.rest.SetOverride(func(w http.ResponseWriter, r discordtest.Request) bool {
		if r.Method == "POST" && r.Path == "/channels/50/messages" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Missing Permissions","code":50013}`)
			return true
		}
		return false
	})
	for i := range 3 {
		e.gw.Dispatch("MESSAGE_CREATE", message(fmt.Sprint(630+i), fmt.Sprint(50+i), "!hello"))
	}
	eventually(t, "the degraded status", func() bool { return e.bot.cfg.Status.Snapshot().State == platform.StateDegraded })
	e.gw.Dispatch("MESSAGE_CREATE", message("640", "60", "!hello"))
	eventually(t, "the paused message counted", func() bool { return e.bot.queue.Stats().RateLimited >= 1 })
	if n := len(e.rest.Find("POST", "/channels/50/messages")); n != 3 {
		t.Errorf("%d sends reached Discord, want 3 (then paused)", n)
	}
}

func TestMalformedDispatchesNeverPanic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Still quacking!")
	bad := map[string][]string{
		"MESSAGE_CREATE":       {`"oops"`, `null`, `{"id":"1"}`, `{"id":"2","author":null,"guild_id":"3000"}`, `{"id":5,"content":[]}`, `{"id":"3","guild_id":"3000","channel_id":"50","author":{"id":"42"},"content":"` + strings.Repeat("!", 5000) + `"}`},
		"INTERACTION_CREATE":   {`"x"`, `null`, `{}`, `{"id":"9","token":"t","type":2,"data":"str"}`, `{"id":"9","token":"t","type":3,"guild_id":"3000","member":{"user":{"id":"1"}},"data":null}`, `{"id":"9","token":"t","type":5,"guild_id":"3000","member":{"user":{"id":"1"}},"data":{"custom_id":"x","components":"bad"}}`, `{"id":"9","token":"t","type":99,"guild_id":"3000","member":{"user":{"id":"1"}}}`},
		"MESSAGE_REACTION_ADD": {`[]`, `{}`, `{"user_id":"42","guild_id":"3000","emoji":"bad"}`},
		"GUILD_MEMBER_ADD":     {`{}`, `{"guild_id":"3000"}`, `7`},
		"GUILD_MEMBER_UPDATE":  {`{}`, `{"guild_id":"3000","user":{"id":"1"},"premium_since":"not a time"}`},
		"GUILD_DELETE":         {`{}`, `null`},
		// These crash discordgo v0.29.0 itself; filterConn swaps them out.
		"GUILD_CREATE":       {`"x"`, `{}`, `null`, `{"id":"5","channels":[null]}`, `{"id":"5","members":[null]}`, `{"id":"5","voice_states":[null]}`},
		"GUILD_UPDATE":       {`[]`, `{"id":"5","channels":[null]}`},
		"READY":              {`{"guilds":[null]}`},
		"VOICE_STATE_UPDATE": {`{}`, `null`, `"x"`, `{"guild_id":"3000","user_id":""}`, `{"guild_id":"3000","user_id":"42","channel_id":5}`},
		"GUILD_ROLE_UPDATE":  {`{}`, `{"guild_id":"3000"}`},
		"SOMETHING_NEW":      {`{"a":1}`},
	}
	for typ, payloads := range bad {
		for _, p := range payloads {
			e.gw.Dispatch(typ, json.RawMessage(p))
		}
	}
	e.gw.Raw(`{"op":42,"d":{}}`)
	e.gw.Raw(`not json at all`)
	e.gw.Raw(`null`)
	e.gw.Raw(` null `)
	// The bot is still up and answering.
	e.gw.Dispatch("MESSAGE_CREATE", message("650", "42", "!hello"))
	e.waitBody("POST", "/channels/50/messages", "Still quacking!")
}

func TestModeratorAndOwnerBadges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	cases := []struct {
		name   string
		user   string
		member map[string]any
		want   []string
	}{
		{"owner", "1", map[string]any{"roles": []string{}}, []string{router.BadgeBroadcaster}},
		{"moderator role", "5", map[string]any{"roles": []string{"77"}}, []string{router.BadgeModerator}},
		{"member", "6", map[string]any{"roles": []string{}}, nil},
		{"booster", "7", map[string]any{"roles": []string{}, "premium_since": "2025-01-01T00:00:00Z"}, []string{router.BadgeSubscriber}},
	}
	for _, c := range cases {
		raw, _ := json.Marshal(c.member)
		var m discordgo.Member
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		u := e.bot.user(guild, &discordgo.User{ID: c.user, Username: "u" + c.user}, &m)
		if strings.Join(u.Roles, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: roles %v, want %v", c.name, u.Roles, c.want)
		}
	}
}

func TestPrivateRepliesGoToDMsAndEphemeralFollowups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("MESSAGE_CREATE", message("660", "42", "#menu secret"))
	e.waitBody("POST", "/users/@me/channels", `"recipient_id":"42"`)
	e.waitBody("POST", "/channels/dm-1/messages", "psst")
	if r := e.rest.Find("POST", "/channels/50/messages"); len(r) != 0 {
		t.Errorf("a private reply went to the channel: %v", r)
	}

	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("704", 3, map[string]any{"custom_id": "#menu secret", "component_type": 2}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-704/messages/@original", "psst")
	if cb := e.rest.Find("POST", "/interactions/704/tok-704/callback"); len(cb) != 1 || !strings.Contains(cb[0].Body, `"flags":64`) {
		t.Errorf("callbacks %v, want one ephemeral defer", cb)
	}
	assertViews(t, e.rest.Views("tok-704"), []discordtest.View{{Token: "tok-704", Message: "@original", Content: "psst", Private: true}})
}

func TestModerationActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	ctx := context.Background()
	rules := []router.RuleInput{
		{Match: router.MatchWord, Pattern: "badword", Action: router.ActionDelete},
		{Match: router.MatchWord, Pattern: "spam", Action: router.ActionTimeout, TimeoutSeconds: 60},
		{Match: router.MatchWord, Pattern: "evil", Action: router.ActionBan},
		{Match: router.MatchWord, Pattern: "rude", Action: router.ActionWarn, Response: "be nice"},
	}
	for _, r := range rules {
		if _, err := e.settings.CreateRule(ctx, audit.Actor{}, e.cid, r); err != nil {
			t.Fatal(err)
		}
	}
	e.gw.Dispatch("MESSAGE_CREATE", message("671", "42", "a badword here"))
	e.gw.Dispatch("MESSAGE_CREATE", message("672", "43", "spam spam"))
	e.gw.Dispatch("MESSAGE_CREATE", message("673", "44", "so evil"))
	e.gw.Dispatch("MESSAGE_CREATE", message("674", "45", "how rude"))
	eventually(t, "the message deleted", func() bool { return len(e.rest.Find("DELETE", "/channels/50/messages/671")) == 1 })
	e.waitBody("PATCH", "/guilds/"+guild+"/members/43", "communication_disabled_until")
	eventually(t, "the ban", func() bool { return len(e.rest.Find("PUT", "/guilds/"+guild+"/bans/44")) == 1 })
	e.waitBody("POST", "/channels/50/messages", `"content":"\u003c@45\u003e be nice"`)
	if n := len(e.rest.Find("POST", "/channels/50/messages")); n != 1 {
		t.Errorf("%d messages for one warning, want 1", n)
	}
}

func TestAutocompleteCommandNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.command("hello", "Quack!")
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("705", 4, map[string]any{"id": "1", "name": "help", "type": 1,
		"options": []any{map[string]any{"name": "args", "type": 3, "value": "he", "focused": true}}}))
	cb := e.waitBody("POST", "/interactions/705/tok-705/callback", `"type":8`)
	for _, want := range []string{`"value":"hello"`, `"value":"help"`} {
		if !strings.Contains(cb.Body, want) {
			t.Errorf("choices lack %s: %s", want, cb.Body)
		}
	}
	if strings.Contains(cb.Body, `"value":"points"`) {
		t.Errorf("choices do not start with the typed text: %s", cb.Body)
	}
}

func TestActivityPoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	e.command("hello", "Quack!")
	e.gw.Dispatch("GUILD_MEMBER_ADD", map[string]any{"guild_id": guild, "user": map[string]any{"id": "46", "username": "newbie"},
		"joined_at": "2026-01-02T03:04:05Z", "roles": []string{}})
	e.gw.Dispatch("MESSAGE_REACTION_ADD", map[string]any{"guild_id": guild, "channel_id": "50", "message_id": "1", "user_id": "47",
		"emoji": map[string]any{"name": "🦆"}, "member": map[string]any{"user": map[string]any{"id": "47", "username": "dora"}}})
	now := time.Now().UTC().Format(time.RFC3339)
	boost := message("680", "48", "")
	boost["type"], boost["timestamp"] = 8, now
	e.gw.Dispatch("MESSAGE_CREATE", boost)
	// The member update about the same boost is not a second one.
	e.gw.Dispatch("GUILD_MEMBER_UPDATE", map[string]any{"guild_id": guild, "user": map[string]any{"id": "48", "username": "booster"},
		"roles": []string{}, "premium_since": now})
	// One worker handles events in order: after this reply, all of the above are done.
	e.gw.Dispatch("MESSAGE_CREATE", message("681", "49", "!hello"))
	e.waitBody("POST", "/channels/50/messages", `"message_id":"681"`)
	top, err := e.settings.Leaderboard(context.Background(), e.cid, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range top {
		got[s.UserID] = s.Points
	}
	want := map[string]int64{"46": router.DefaultPoints["discord.member_join"], "47": router.DefaultPoints["discord.reaction"],
		"48": router.DefaultPoints["discord.boost"], "49": router.DefaultPoints["discord.chat_message"]}
	for u, p := range want {
		if got[u] != p {
			t.Errorf("user %s has %d points, want %d (all: %v)", u, got[u], p, got)
		}
	}
}

func TestShardsMoveToAnotherInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(c *Config) { c.ShardCount = 2 })
	shards := func() map[string]int {
		out := map[string]int{}
		for _, raw := range e.gw.Identifies() {
			var id struct {
				Shard   []int `json:"shard"`
				Intents int   `json:"intents"`
			}
			json.Unmarshal(raw, &id)
			if id.Intents != int(intents) {
				t.Errorf("identified with intents %d, want %d", id.Intents, intents)
			}
			out[fmt.Sprint(id.Shard)]++
		}
		return out
	}
	eventually(t, "both shards on the first instance", func() bool {
		s := shards()
		return s["[0 2]"] == 1 && s["[1 2]"] == 1
	})
	second, _ := e.start("instance-b")
	if st := second.cfg.Status.Snapshot(); st.State == platform.StateConnected {
		t.Errorf("second instance connected while the first holds every shard: %q", st.Detail)
	}
	e.stop() // releases its leases
	eventually(t, "both shards taken over", func() bool {
		s := shards()
		return s["[0 2]"] == 2 && s["[1 2]"] == 2
	})
	eventually(t, "the second instance connected", func() bool {
		st := second.cfg.Status.Snapshot()
		return st.State == platform.StateConnected && strings.Contains(st.Detail, "shards 0,1/2")
	})
}

func TestSlowClickIsDeferredAndItsFormOpensFromAButton(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(c *Config) { c.ComponentBudget = time.Nanosecond })
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("706", 3, map[string]any{"custom_id": "#menu form", "component_type": 2}))
	edit := e.waitBody("PATCH", "/webhooks/"+appID+"/tok-706/messages/@original", formPrefix)
	if cb := e.rest.Find("POST", "/interactions/706/tok-706/callback"); len(cb) != 1 || !strings.Contains(cb[0].Body, `"type":5`) {
		t.Fatalf("callbacks %v, want one deferred", cb)
	}
	var body struct {
		Components []struct {
			Components []struct {
				CustomID string `json:"custom_id"`
				Label    string `json:"label"`
			} `json:"components"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(edit.Body), &body); err != nil || len(body.Components) != 1 || len(body.Components[0].Components) != 1 {
		t.Fatalf("edit %s: want one form button (%v)", edit.Body, err)
	}
	btn := body.Components[0].Components[0]
	if btn.Label != "Tell us" {
		t.Errorf("form button label %q, want the form's title", btn.Label)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("707", 3, map[string]any{"custom_id": btn.CustomID, "component_type": 2}))
	e.waitBody("POST", "/interactions/707/tok-707/callback", `"custom_id":"#menu sent"`)
	// A stale form button says so.
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("708", 3, map[string]any{"custom_id": formPrefix + "nope", "component_type": 2}))
	e.waitBody("POST", "/interactions/708/tok-708/callback", "expired")
}

func TestStatusSaysWhyNoShardIsOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	// A second instance, whose gateway cannot be reached, waits for the shard...
	e.base.GatewayURL = "ws://127.0.0.1:1"
	b, _ := e.start("instance-b")
	eventually(t, "b waiting for the shard", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateStarting && strings.Contains(s.Detail, "another instance holds them all")
	})
	// ...and once it holds it, says it cannot connect, not that it waits.
	e.stop()
	eventually(t, "b failing to connect", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateReconnecting && strings.Contains(s.Detail, "Cannot connect shard 0")
	})
}

// slowModule is a remote module that answers once release is called (or
// its 3-second executor timeout passes): "slow reply", or a form for the
// args "form". Each call is announced on started.
func slowModule(t *testing.T) (url string, started <-chan struct{}, release func()) {
	calls := make(chan struct{}, 16)
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req router.RemoteRequest
		json.Unmarshal(body, &req)
		select {
		case calls <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		ans := router.RemoteAnswer{Reply: "slow reply"}
		if strings.Join(req.Args, " ") == "form" {
			ans = router.RemoteAnswer{Responses: []router.Response{{Form: &router.Form{ID: "#slow sent", Title: "Later", Fields: []router.FormField{{ID: "color"}}}}}}
		}
		json.NewEncoder(w).Encode(ans)
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(srv.Close)
	t.Cleanup(release) // runs first: srv.Close waits for the handlers
	return srv.URL, calls, release
}

// waitStarted waits for a call to a slowModule.
func waitStarted(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the module was not called")
	}
}

// snowflake is an id Discord could have created at.
func snowflake(at time.Time) string {
	return fmt.Sprint((at.UnixMilli() - 1420070400000) << 22)
}

func TestInteractionsAnsweredWhileWorkersAreBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false) // one worker
	e.command("hello", "Quack, at last!")
	url, started, release := slowModule(t)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "slow", Kind: "webhook", URL: url, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("MESSAGE_CREATE", message("690", "42", "#slow"))
	e.gw.Dispatch("MESSAGE_CREATE", message("691", "43", "#slow"))
	waitStarted(t, started) // the worker is busy, and another event waits for it
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("709", 2, map[string]any{"id": "1", "name": "hello", "type": 1}))
	// Discord drops an interaction not answered within 3 seconds.
	e.rest.WaitBody(t, "POST", "/interactions/709/tok-709/callback", `"type":5`, 2*time.Second)
	if r := e.rest.Find("POST", "/channels/50/messages"); len(r) != 0 {
		t.Errorf("the slow events were answered before the interaction: %v", r)
	}
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-709/messages/@original", "Quack, at last!")
	release()
	e.waitBody("POST", "/channels/50/messages", "slow reply")
}

func TestClickBudgetCountsFromTheInteractionsCreation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true) // ComponentBudget 5s
	url, started, release := slowModule(t)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "slow", Kind: "webhook", URL: url, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	// Created 4.5 s ago (delivered late): half a second of the budget is left.
	id := snowflake(time.Now().Add(-4500 * time.Millisecond))
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload(id, 3, map[string]any{"custom_id": "#slow form", "component_type": 2}))
	waitStarted(t, started)
	e.rest.WaitBody(t, "POST", "/interactions/"+id+"/tok-"+id+"/callback", `"type":5`, 2500*time.Millisecond)
	release()
	// Deferred, the form comes as a button that opens it.
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-"+id+"/messages/@original", formPrefix)
	if cb := e.rest.Find("POST", "/interactions/"+id+"/tok-"+id+"/callback"); len(cb) != 1 {
		t.Errorf("callbacks %v, want one deferred", cb)
	}
}

func TestClickBudget(t *testing.T) {
	t.Parallel()
	b := &Bot{cfg: Config{ComponentBudget: 1500 * time.Millisecond}}
	arrived := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name    string
		id      string
		arrived time.Time
		now     time.Time
		want    time.Duration
	}{
		{"created at arrival", snowflake(arrived), arrived, arrived, 1500 * time.Millisecond},
		{"delivered a second late", snowflake(arrived.Add(-time.Second)), arrived, arrived.Add(100 * time.Millisecond), 400 * time.Millisecond},
		{"spent", snowflake(arrived.Add(-2 * time.Second)), arrived, arrived, 0},
		{"created after arrival (clocks apart)", snowflake(arrived.Add(time.Second)), arrived, arrived, 1500 * time.Millisecond},
		{"created long before (clocks apart)", snowflake(arrived.Add(-time.Hour)), arrived, arrived.Add(time.Second), 500 * time.Millisecond},
		{"not a snowflake", "x", arrived, arrived.Add(time.Second), 500 * time.Millisecond},
	}
	for _, c := range cases {
		if got := b.clickBudget(c.id, c.arrived, c.now); got != c.want {
			t.Errorf("%s: budget %v, want %v", c.name, got, c.want)
		}
	}
}

func TestShutdownFinishesADeferredInteraction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true, func(c *Config) { c.ComponentBudget = 50 * time.Millisecond })
	url, started, release := slowModule(t)
	if _, err := e.settings.CreateModule(context.Background(), audit.Actor{}, e.cid, router.ModuleInput{Name: "slow", Kind: "webhook", URL: url, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("712", 3, map[string]any{"custom_id": "#slow", "component_type": 2}))
	waitStarted(t, started)
	e.waitBody("POST", "/interactions/712/tok-712/callback", `"type":5`)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		e.stop()
	}()
	time.Sleep(300 * time.Millisecond) // shutting down, the interaction still being handled
	release()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	if r := e.rest.Find("PATCH", "/webhooks/"+appID+"/tok-712/messages/@original"); len(r) != 1 || !strings.Contains(r[0].Body, "slow reply") {
		t.Errorf("edits %v, want the reply edited in before Run returned", r)
	}
}

func TestShardsCloseWhenLeasesCannotBeRenewed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.LeaseTTL = 2 * time.Second })
	// Another instance whose database goes away.
	pool, err := pgxpool.NewWithConfig(context.Background(), e.pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e.stop()
	b, _ := e.startWith(platform.NewLeases(pool, "instance-b", e.base.LeaseTTL))
	eventually(t, "b connected", func() bool {
		return b.cfg.Status.Snapshot().State == platform.StateConnected && e.gw.Live() == 1
	})
	pool.Close()
	eventually(t, "the shard closed", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.shards) == 0 && e.gw.Live() == 0
	})
	eventually(t, "the status saying why", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateReconnecting && strings.Contains(s.Detail, "leases")
	})
}

func TestSilentGatewayDoesNotHoldTheBot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	silent := discordtest.StartGateway(t)
	silent.SetSilent(true)
	e.base.GatewayURL, e.base.OpenTimeout = silent.URL(), 300*time.Millisecond
	b, stop := e.start("instance-b")
	e.stop()
	eventually(t, "b giving up on the silent gateway", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateReconnecting && strings.Contains(s.Detail, "Cannot connect shard 0")
	})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		stop()
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if n := silent.Live(); n != 0 {
		t.Errorf("%d connections to the silent gateway left open", n)
	}
}

func TestRateLimitErrorsHideInteractionTokens(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newEnv(t, false, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	e.command("hello", "Quack!")
	e.rest.SetOverride(func(w http.ResponseWriter, r discordtest.Request) bool {
		if r.Path != "/interactions/713/tok-713/callback" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"message":"You are being rate limited.","retry_after":0.1,"global":false}`)
		return true
	})
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("713", 2, map[string]any{"id": "1", "name": "hello", "type": 1}))
	eventually(t, "the refused answer logged", func() bool { return strings.Contains(logs.String(), "answer interaction") })
	if out := logs.String(); strings.Contains(out, "tok-713") || !strings.Contains(out, "interactions/713/[token]/callback") {
		t.Errorf("the log shows the interaction token, or not the redacted URL:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMissedVoiceLeaveForgottenOnGuildCreate(t *testing.T) {
	for _, redisOn := range []bool{true, false} {
		t.Run(fmt.Sprintf("redis=%v", redisOn), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, redisOn)
			voice := func(user string, channel any) {
				e.gw.Dispatch("VOICE_STATE_UPDATE", map[string]any{"guild_id": guild, "channel_id": channel, "user_id": user, "session_id": "s",
					"member": map[string]any{"user": map[string]any{"id": user, "username": "u" + user}, "roles": []string{}}})
			}
			balance := func(user string) int64 {
				top, err := e.settings.Leaderboard(context.Background(), e.cid, 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range top {
					if s.UserID == user {
						return s.Points
					}
				}
				return 0
			}
			join, minute := router.DefaultPoints["discord.voice_join"], router.DefaultPoints["discord.voice_minute"]
			voice("43", "80")
			eventually(t, "points for joining voice", func() bool { return balance("43") == join })
			e.clock.add(time.Hour)
			// The shard reconnects: 43 left meanwhile, 44 is in voice.
			e.gw.Dispatch("GUILD_CREATE", map[string]any{"id": guild, "name": "Duck pond", "owner_id": "1", "roles": []any{
				map[string]any{"id": guild, "name": "@everyone", "permissions": "0"}},
				"voice_states": []any{map[string]any{"guild_id": guild, "channel_id": "80", "user_id": "44", "session_id": "t"}}})
			voice("43", "80") // a new session, not the old one
			eventually(t, "points for joining voice again", func() bool { return balance("43") == 2*join })
			e.clock.add(3 * time.Minute)
			voice("43", nil)
			voice("44", nil)
			eventually(t, "3 minutes each", func() bool { return balance("43") == 2*join+3*minute && balance("44") == 3*minute })
		})
	}
}
