package slackbot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/slack/slacktest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// withRotation gives the bot the app's OAuth client, as SLACK_CLIENT_ID and
// SLACK_CLIENT_SECRET do, and makes the fake require it.
func withRotation(c *slackbot.Config, fs *slacktest.Server) {
	c.OAuth = &slackbot.OAuth{ClientID: "123.456", ClientSecret: "client-secret", APIURL: fs.APIURL()}
	fs.SetOAuthClient("123.456", "client-secret")
}

// installRotating stores, as an install with token rotation on did an
// hour and a half ago, a token Slack expires after ttl (2 hours), and moves
// the fake's clock past its expiry.
func installRotating(t *testing.T, e *env) (access, refresh string) {
	t.Helper()
	access, refresh = e.slack.RotatingToken("T1", 2*time.Hour)
	tok := platform.Token{Access: access, Refresh: refresh, AccountID: "UBOT", Scopes: []string{"chat:write"}, Expires: time.Now().Add(30 * time.Minute)}
	if err := e.tokens.Save(context.Background(), router.Slack, "T1", tok); err != nil {
		t.Fatal(err)
	}
	e.slack.Advance(2*time.Hour + time.Minute)
	return access, refresh
}

// TestRotatingTokenIsRefreshedOnce: an install with token rotation on
// keeps working past its token's expiry: the token is refreshed before it
// expires, once, even when two instances need it at the same moment (Slack
// revokes a refresh token on use), and the new pair is stored sealed.
func TestRotatingTokenIsRefreshedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withRotation)
	old, _ := installRotating(t, e)
	// A second instance: its own bot on the same database.
	other, err := slackbot.New(slackbot.Config{Tokens: e.tokens, Links: platform.NewLinks(e.pool), Status: platform.NewStatus(router.Slack),
		APIURL: e.slack.APIURL(), OAuth: &slackbot.OAuth{ClientID: "123.456", ClientSecret: "client-secret", APIURL: e.slack.APIURL()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- other.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		bot := e.bot
		if i%2 == 1 {
			bot = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = bot.Send(context.Background(), e.cid, router.Message{Server: "T1", User: fmt.Sprintf("U%d", i), Text: "hi"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	if n := e.slack.Refreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	posts := e.slack.Calls("chat.postMessage")
	if len(posts) != 6 {
		t.Fatalf("%d posts, want 6", len(posts))
	}
	for _, p := range posts {
		if p.Refused != "" || p.Token == old || !strings.HasPrefix(p.Token, "xoxe.xoxb-T1-") {
			t.Errorf("post with token %q: refused %q; want the refreshed token accepted", p.Token, p.Refused)
		}
	}
	tok, err := e.tokens.Get(context.Background(), router.Slack, "T1")
	if err != nil || tok.Access != posts[0].Token || tok.Refresh == "" || tok.Expiring(time.Now(), time.Hour) || tok.AccountID != "UBOT" {
		t.Errorf("stored token %+v (%v), want the new pair, good for two hours", tok.Expires, err)
	}
}

// TestRefusedRefreshAsksForReinstall: a refresh token Slack refuses (the
// app was uninstalled, the token revoked) is not tried again and again; the
// health page says to install the app again, and a message sent from the
// hub gets an error saying so.
func TestRefusedRefreshAsksForReinstall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withRotation)
	access, _ := e.slack.RotatingToken("T1", 2*time.Hour)
	if err := e.tokens.Save(context.Background(), router.Slack, "T1", platform.Token{Access: access, Refresh: "xoxe-1-revoked",
		Expires: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	err := e.bot.Send(context.Background(), e.cid, router.Message{Server: "T1", Channel: "C1", Text: "hi"})
	if p := problem.As(err); p == nil || !strings.Contains(p.Message, "install the app again") {
		t.Errorf("send: %v, want a problem saying to install the app again", err)
	}
	eventually(t, "degraded, asking for a new install", func() bool {
		s := e.status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "install the app to it again")
	})
	// The status check that said so did not try the refused token again, nor does a second send.
	e.bot.Send(context.Background(), e.cid, router.Message{Server: "T1", Channel: "C1", Text: "hi"})
	if n := len(e.slack.Calls("oauth.v2.access")); n != 1 {
		t.Errorf("%d refresh attempts, want the refused refresh token tried once", n)
	}
	if n := len(e.slack.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d posts with an expired token, want none", n)
	}
}
