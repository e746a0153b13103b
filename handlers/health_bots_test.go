package handlers_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// closedAddr is a loopback address nothing listens on: dialing it is refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runBot runs a bot until the test ends and waits for it to stop.
func runBot(t *testing.T, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bot: %v", err)
		}
	})
}

// waitStatus waits until the bot's status says want.
func waitStatus(t *testing.T, st *platform.Status, want string) platform.BotStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := st.Snapshot()
		if strings.Contains(s.Detail, want) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s bot says %s: %q, want it to say %q", s.Platform, s.State, s.Detail, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// healthBot reads one bot's state and sentence from the health page, and
// every other place on the page that names the bot with a state.
func healthBot(t *testing.T, doc *goquery.Document, p, name string) (state, detail string) {
	t.Helper()
	rows := doc.Find(`[data-testid="bot-` + p + `"]`)
	if rows.Length() != 1 {
		t.Fatalf("the health page has %d entries for the %s bot, want 1", rows.Length(), p)
	}
	doc.Find(`[data-testid="health-row"]`).Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Text(), name) {
			t.Errorf("the components table also shows the %s with its own state: %q", name, strings.Join(strings.Fields(s.Text()), " "))
		}
	})
	return strings.TrimSpace(rows.Find(`[data-testid="bot-state"]`).Text()), strings.TrimSpace(rows.Find(`[data-testid="bot-detail"]`).Text())
}

func summary(doc *goquery.Document) string {
	return strings.Join(strings.Fields(doc.Find(`[data-testid="health-summary"]`).Text()), " ")
}

// TestHealthTwitchCannotConnect: a Twitch bot whose chat address refuses
// connections shows one state, with the reason and the next step in one
// sentence, and the summary counts it as the one problem.
func TestHealthTwitchCannotConnect(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	tw := platform.NewStatus(router.Twitch)
	e := newEnv(t, func(c *handlers.Config) {
		c.Health.Bots = []*platform.Status{tw, platform.NewStatus(router.Discord), platform.NewStatus(router.Slack)}
	})
	bot, err := twitch.New(twitch.Config{Router: e.router, Tokens: platform.NewTokens(e.pool, testBox(t)), Links: platform.NewLinks(e.pool),
		Leases: platform.NewLeases(e.pool, "instance-health-test", 0), Status: tw, OAuth: &twitch.OAuth{ClientID: "id", ClientSecret: "secret"},
		IRCAddr: "irc://" + addr, ChatTransport: twitch.TransportIRC, ViewersEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	runBot(t, bot.Run)
	waitStatus(t, tw, "cannot connect")

	admin := e.user("admin@example.com", true)
	doc := e.signedIn(admin.Email).get("/health", nil).doc(t)
	state, detail := healthBot(t, doc, "twitch", "Twitch bot")
	if state != platform.StateReconnecting {
		t.Errorf("Twitch bot state %q, want %q", state, platform.StateReconnecting)
	}
	for _, want := range []string{"Twitch chat: cannot connect to " + addr, "connection refused", "retrying", "check the network"} {
		if !strings.Contains(detail, want) {
			t.Errorf("Twitch bot: %q does not say %q", detail, want)
		}
	}
	if got := summary(doc); got != "1 problem: Twitch bot." {
		t.Errorf("summary %q, want %q", got, "1 problem: Twitch bot.")
	}
	if href, _ := doc.Find(`[data-testid="health-summary"] a`).Attr("href"); href != "#bot-twitch" {
		t.Errorf("the summary links the Twitch bot to %q, want #bot-twitch", href)
	}
}

// TestHealthSlackTokenUnchecked: while Slack cannot be asked whose
// SLACK_BOT_TOKEN is, the Slack bot is not ok and says why.
func TestHealthSlackTokenUnchecked(t *testing.T) {
	t.Parallel()
	sl := platform.NewStatus(router.Slack)
	e := newEnv(t, func(c *handlers.Config) {
		c.Health.Bots = []*platform.Status{platform.NewStatus(router.Twitch), platform.NewStatus(router.Discord), sl}
	})
	bot, err := slackbot.New(slackbot.Config{Links: platform.NewLinks(e.pool), Status: sl, BotToken: "xoxb-test-token",
		APIURL: "http://" + closedAddr(t) + "/api/"})
	if err != nil {
		t.Fatal(err)
	}
	runBot(t, bot.Run)
	waitStatus(t, sl, "cannot check SLACK_BOT_TOKEN")

	doc := e.signedIn(e.user("admin@example.com", true).Email).get("/health", nil).doc(t)
	state, detail := healthBot(t, doc, "slack", "Slack bot")
	if state == platform.StateConnected {
		t.Errorf("the Slack bot is %q while its token cannot be checked: %q", state, detail)
	}
	if !strings.Contains(detail, "cannot check SLACK_BOT_TOKEN") || !strings.Contains(detail, "check the network") || strings.Contains(detail, "xoxb-test-token") {
		t.Errorf("Slack bot: %q, want why the token is unchecked and what to do, without the token", detail)
	}
	if got := summary(doc); got != "1 problem: Slack bot." {
		t.Errorf("summary %q, want %q", got, "1 problem: Slack bot.")
	}
}

// TestHealthSummary: the line at the top of the health page says all is
// well, or counts the problems and names each; a bot that is off or just
// starting is none.
func TestHealthSummary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		states map[string]string // platform → bot state
		want   string
	}{
		{"all off", map[string]string{}, "All systems working."},
		{"connected and starting", map[string]string{router.Twitch: platform.StateConnected, router.Discord: platform.StateStarting}, "All systems working."},
		{"two problems", map[string]string{router.Twitch: platform.StateDegraded, router.Discord: platform.StateConnected, router.Slack: platform.StateReconnecting},
			"2 problems: Twitch bot, Slack bot."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var bots []*platform.Status
			for _, p := range []string{router.Twitch, router.Discord, router.Slack} {
				st := platform.NewStatus(p)
				if s, ok := tc.states[p]; ok {
					st.Set(s, "Something about "+p+".")
				}
				bots = append(bots, st)
			}
			e := newEnv(t, func(c *handlers.Config) { c.Health.Bots = bots })
			doc := e.signedIn(e.user("ann@example.com", false).Email).get("/health", nil).doc(t)
			if got := summary(doc); got != tc.want {
				t.Errorf("summary %q, want %q", got, tc.want)
			}
			if n := doc.Find(`[data-testid="migrations-section"]`).Length(); n != 1 || doc.Find(`details[data-testid="migrations-section"][open]`).Length() != 0 {
				t.Error("the schema migrations are not folded away")
			}
		})
	}
}
