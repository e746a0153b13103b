package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// botWait bounds each wait for something a bot does.
const botWait = 20 * time.Second

// TestServeRunsAllThreeBots runs `waddle serve` with Twitch, Discord and
// Slack configured against local fakes, and a community linked to a channel,
// a guild and a workspace on them: every bot connects, shows as connected on
// the health page and in /metrics, answers !hello on its own platform, and
// stops with serve.
func TestServeRunsAllThreeBots(t *testing.T) {
	t.Parallel()
	irc, twitchAPI := twitchtest.StartIRC(t), twitchtest.StartAPI(t)
	rest, gw := discordtest.StartREST(t), discordtest.StartGateway(t)
	sl := slacktest.Start(t)
	sl.Join("C1") // the channel the Slack command runs in
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "SHUTDOWN_TIMEOUT", "10s",
		"WADDLE_ADMIN_PASSWORD", testAdminPassword, "TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_EVENTSUB_SECRET", "a-secret-of-20-chars", "TWITCH_IRC_ADDR", irc.Addr(),
		"TWITCH_API_URL", twitchAPI.HelixURL(), "TWITCH_AUTH_URL", twitchAPI.AuthURL(),
		"DISCORD_BOT_TOKEN", "secret-token", "DISCORD_APP_ID", "2000", "DISCORD_PUBLIC_KEY", strings.Repeat("ab", 32),
		"DISCORD_API_URL", rest.URL(), "DISCORD_GATEWAY_URL", gw.URL(),
		"SLACK_SIGNING_SECRET", "slack-signing-secret", "SLACK_BOT_TOKEN", "xoxb-T1", "SLACK_APP_TOKEN", "xapp-1",
		"SLACK_API_URL", sl.APIURL())

	// The data, written as the hub would: an admin, a community linked on
	// every platform with a text command, and the Twitch bot account's token
	// sealed with TOKEN_ENCRYPTION_KEY.
	mustRunWaddle(t, vars, "admin", "create", "--email", "admin@example.com", "--admin")
	a := openTestApp(t, vars)
	ctx := t.Context()
	c, err := db.New(a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	settings := router.NewSettings(rt)
	for _, l := range []struct{ platform, server, name string }{
		{router.Twitch, "duckchan", "duckchan"}, {router.Discord, "3000", "Duck pond"}, {router.Slack, "T1", "Duck workspace"},
	} {
		if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, l.platform, l.server, l.name); err != nil {
			t.Fatalf("link %s %s: %v", l.platform, l.server, err)
		}
	}
	if _, err := settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hello", Response: "Hello {user}!", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := platform.NewTokens(a.pool, a.secrets).Save(ctx, router.Twitch, platform.BotSubject,
		platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	base, stop := startRunServe(t, vars)

	// Discord: the bot identifies, then learns about the guild.
	poll(t, "the Discord gateway connection", gw.Connected)
	gw.Dispatch("GUILD_CREATE", map[string]any{"id": "3000", "name": "Duck pond", "owner_id": "1", "roles": []any{
		map[string]any{"id": "3000", "name": "@everyone", "permissions": "0"}}})

	// The health page, as the admin sees it, shows every bot connected.
	client := signedInClient(t, base, "admin@example.com", testAdminPassword)
	var states, details map[string]string
	poll(t, "every bot connected on /health", func() bool {
		states, details = botStates(t, client, base)
		return states[router.Twitch] == "connected" && states[router.Discord] == "connected" && states[router.Slack] == "connected"
	}, func() string { return fmt.Sprintf("states %v, details %v", states, details) })

	// Twitch: a reply in the channel, in the message's thread, as the bot account.
	conn := irc.WaitJoined(t, "duckchan")
	if conn.Nick() != "duckbot" || conn.Pass() != "oauth:bot-1" {
		t.Errorf("Twitch chat login %q with %q, want duckbot with the stored token", conn.Nick(), conn.Pass())
	}
	id := irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" || got[0].ReplyTo != id {
		t.Errorf("Twitch reply %q in thread %q, want %q in %q", got[0].Text, got[0].ReplyTo, "Hello Alice!", id)
	}

	// Discord: a reply to the message through the REST API.
	gw.Dispatch("MESSAGE_CREATE", map[string]any{"id": "601", "channel_id": "50", "guild_id": "3000", "content": "!hello", "type": 0,
		"timestamp": "2026-01-02T03:04:05Z", "author": map[string]any{"id": "42", "username": "bob"}, "member": map[string]any{"roles": []string{}}})
	r := rest.WaitBody(t, "POST", "/channels/50/messages", `"message_id":"601"`, botWait)
	var msg struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal([]byte(r.Body), &msg); err != nil || msg.Content != "Hello bob!" {
		t.Errorf("Discord reply %s (%v), want Hello bob!", r.Body, err)
	}

	// Slack: a Socket Mode event is acknowledged, then answered through the Web API.
	sl.WaitSocket(t, 1, botWait)
	event := slacktest.EventCallback("T1", "UBOT", "Ev1", `{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}`)
	if n := sl.Send(slacktest.EventsAPIEnvelope("env-1", 0, event)); n != 1 {
		t.Fatalf("Slack envelope sent on %d Socket Mode connections, want 1", n)
	}
	sl.WaitAck(t, "env-1", botWait)
	post := sl.WaitCall(t, "chat.postMessage", func(slacktest.Call) bool { return true }, botWait)
	if post.Form.Get("channel") != "C1" || post.Form.Get("text") != "Hello Ducky!" || post.Token != "xoxb-T1" {
		t.Errorf("chat.postMessage %v with token %q, want Hello Ducky! in C1 with SLACK_BOT_TOKEN", post.Form, post.Token)
	}

	// /metrics says the same as the health page.
	metrics := get(t, client, base+"/metrics")
	for _, p := range []string{router.Twitch, router.Discord, router.Slack} {
		if want := fmt.Sprintf("waddle_bot_connected{platform=%q} 1", p); !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("serve took %v to stop, want within SHUTDOWN_TIMEOUT (10s)", d)
	}
	poll(t, "the bots gone from Twitch chat and Slack's Socket Mode", func() bool { return len(irc.Welcomed()) == 0 && sl.Sockets() == 0 })
	if n := len(irc.Lines("duckchan")); n != 1 {
		t.Errorf("%d lines in #duckchan, want only the reply", n)
	}
}

// startRunServe runs `waddle serve` through run with LISTEN_ADDR
// 127.0.0.1:0, LOG_FORMAT json and LOG_LEVEL info, as on a server. It
// returns the hub's URL once it is healthy, and a func that ends serve's
// context and returns run's result.
func startRunServe(t *testing.T, vars map[string]string) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenvFrom(vars), strings.NewReader(""), out) }()
	var result error
	returned := false
	stop = func() error {
		cancel()
		if !returned {
			select {
			case result = <-done:
			case <-time.After(30 * time.Second):
				result = errors.New("run serve did not return within 30s of the end of its context")
			}
			returned = true
		}
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", out.String())
		}
	})
	poll(t, "the \"waddle hub listening\" log line", func() bool {
		for _, l := range strings.Split(out.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "waddle hub listening" {
				base = "http://" + rec.Addr
			}
		}
		select {
		case err := <-done:
			returned, result = true, err
			t.Fatalf("serve returned early: %v", err)
		default:
		}
		return base != ""
	})
	waitHealthy(t, base, nil)
	return base, stop
}

// signedInClient is an HTTP client signed in to the hub with a password.
func signedInClient(t *testing.T, base, email, password string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(base+"/signin", url.Values{"email": {email}, "password": {password}, "next": {"/health"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/health" {
		t.Fatalf("sign in as %s: %d to %q, want 303 to /health", email, res.StatusCode, res.Header.Get("Location"))
	}
	return client
}

// get fetches url and returns the body of a 200 answer.
func get(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d (%v)", url, res.StatusCode, err)
	}
	return string(body)
}

// botStates reads each bot's state and detail from the health page's bots table.
func botStates(t *testing.T, client *http.Client, base string) (states, details map[string]string) {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(get(t, client, base+"/health")))
	if err != nil {
		t.Fatal(err)
	}
	states, details = map[string]string{}, map[string]string{}
	for _, p := range []string{router.Twitch, router.Discord, router.Slack} {
		row := doc.Find(fmt.Sprintf(`[data-testid="bots"] [data-testid="bot-%s"]`, p))
		states[p] = strings.TrimSpace(row.Find(`[data-testid="bot-state"]`).Text())
		details[p] = strings.TrimSpace(row.Find(`[data-testid="bot-detail"]`).Text())
	}
	return states, details
}

// poll checks cond until it holds, failing the test after botWait; each
// extra func adds to the failure message.
func poll(t *testing.T, what string, cond func() bool, extra ...func() string) {
	t.Helper()
	deadline := time.Now().Add(botWait)
	for !cond() {
		if time.Now().After(deadline) {
			var more []string
			for _, e := range extra {
				more = append(more, e())
			}
			t.Fatalf("not within %v: %s %s", botWait, what, strings.Join(more, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
