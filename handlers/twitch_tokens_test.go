package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/platform"
)

func healthRow(doc *goquery.Document, name string) (state, detail string) {
	doc.Find(`[data-testid=health-row]`).Each(func(_ int, s *goquery.Selection) {
		if strings.TrimSpace(s.Find("td").First().Text()) == name {
			state = strings.TrimSpace(s.Find(`[data-testid=health-state]`).Text())
			detail = strings.TrimSpace(s.Find("td").Last().Text())
		}
	})
	return state, detail
}

// TestTwitchTokenNeedsReconnectShown: a channel token Twitch no longer
// accepts is shown on the linked servers page with a Reconnect button into
// the Twitch sign-in, and on the health page as a sentence; connecting
// again clears both.
func TestTwitchTokenNeedsReconnectShown(t *testing.T) {
	t.Parallel()
	var f platformFakes
	e := newEnv(t, withPlatforms(t, &f))
	owner := e.user("owner@example.com", true)
	a := e.community(owner, "ducks", nil)
	hub := e.signedIn(owner.Email)
	servers := fmt.Sprintf("/c/%d/servers", a.ID)
	ctx := context.Background()
	connect := func() {
		t.Helper()
		q := startFlow(t, hub, servers+"/twitch/connect", f.twitch.URL)
		hub.get("/oauth/twitch/callback?code=chan-code&state="+url.QueryEscape(q.Get("state")), nil)
	}
	connect()
	if d := hub.get(servers, nil).doc(t); d.Find(`[data-testid=server-needs-reconnect]`).Length() != 0 || d.Find(`[data-testid=server-reconnect]`).Length() != 0 {
		t.Error("a working channel is shown as needing a reconnect")
	}
	if state, detail := healthRow(hub.get("/health", nil).doc(t), "Twitch tokens"); state != "ok" || !strings.Contains(detail, "1 stored") {
		t.Errorf("health row before: %s %q", state, detail)
	}

	tok, err := f.tokens.Get(ctx, "twitch", "duckchan")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.tokens.MarkNeedsReconnect(ctx, "twitch", "duckchan", tok, "Twitch refused the token and its refresh."); !ok || err != nil {
		t.Fatalf("mark: %v %v", ok, err)
	}
	d := hub.get(servers, nil).doc(t)
	if got := d.Find(`[data-testid=server-needs-reconnect]`).Text(); !strings.Contains(got, "Twitch refused the token and its refresh.") {
		t.Errorf("servers page says %q", got)
	}
	if href, _ := d.Find(`[data-testid=server-reconnect]`).Attr("href"); href != servers+"/twitch/connect" {
		t.Errorf("reconnect button goes to %q", href)
	}
	member := e.user("member@example.com", false)
	if state, _ := healthRow(e.signedIn(member.Email).get("/health", nil).doc(t), "Twitch tokens"); state != "" {
		t.Error("a user who is no hub admin sees every community's channel tokens")
	}
	state, detail := healthRow(hub.get("/health", nil).doc(t), "Twitch tokens")
	if state != "degraded" || !strings.Contains(detail, "Twitch no longer accepts the token of channel duckchan, so the bot stops using it") ||
		!strings.Contains(detail, "linked servers page") {
		t.Errorf("health row: %s %q", state, detail)
	}

	// Reconnecting through the same sign-in clears it.
	connect()
	if d := hub.get(servers, nil).doc(t); d.Find(`[data-testid=server-needs-reconnect]`).Length() != 0 {
		t.Error("still needs reconnecting after the owner connected again")
	}
	if state, _ := healthRow(hub.get("/health", nil).doc(t), "Twitch tokens"); state != "ok" {
		t.Errorf("health row after reconnecting: %s", state)
	}

	// A token lacking scopes says which, with the same button.
	tok, _ = f.tokens.Get(ctx, "twitch", "duckchan")
	if err := f.tokens.Checked(ctx, "twitch", "duckchan", tok, []string{"bits:read"}); err != nil {
		t.Fatal(err)
	}
	d = hub.get(servers, nil).doc(t)
	if got := d.Find(`[data-testid=server-missing-scopes]`).Text(); !strings.Contains(got, "bits:read") || d.Find(`[data-testid=server-reconnect]`).Length() != 1 {
		t.Errorf("missing scopes shown as %q", got)
	}
	if _, detail := healthRow(hub.get("/health", nil).doc(t), "Twitch tokens"); !strings.Contains(detail, "channel duckchan lacks bits:read") {
		t.Errorf("health row with a missing scope: %q", detail)
	}
}

func TestTwitchBotTokenNeedsReconnectShown(t *testing.T) {
	t.Parallel()
	var f platformFakes
	e := newEnv(t, withPlatforms(t, &f))
	root := e.user("root@example.com", true)
	hub := e.signedIn(root.Email)
	ctx := context.Background()
	if err := f.tokens.Save(ctx, "twitch", platform.BotSubject, platform.Token{Access: "at-bot-code", AccountID: "100", AccountLogin: "duckbot"}); err != nil {
		t.Fatal(err)
	}
	tok, err := f.tokens.Get(ctx, "twitch", platform.BotSubject)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tokens.MarkNeedsReconnect(ctx, "twitch", platform.BotSubject, tok, "Twitch no longer accepts the token."); err != nil {
		t.Fatal(err)
	}
	d := hub.get("/health", nil).doc(t)
	if got := d.Find(`[data-testid=twitch-bot-needs-reconnect]`).Text(); !strings.Contains(got, "Twitch no longer accepts the token of duckbot") {
		t.Errorf("bot account section says %q", got)
	}
	if d.Find(`[data-testid=twitch-bot-connect]`).Length() != 1 {
		t.Error("no button to connect the bot account again")
	}
	if state, detail := healthRow(d, "Twitch tokens"); state != "degraded" || !strings.Contains(detail, "the bot account duckbot") || !strings.Contains(detail, "connect the bot account again") {
		t.Errorf("health row: %s %q", state, detail)
	}

	// A token replaced meanwhile (connected again) is not marked.
	if err := f.tokens.Save(ctx, "twitch", platform.BotSubject, platform.Token{Access: "at-bot-code-2", AccountID: "100", AccountLogin: "duckbot"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.tokens.MarkNeedsReconnect(ctx, "twitch", platform.BotSubject, tok, "stale"); ok || err != nil {
		t.Errorf("marking a replaced token: %v %v, want nothing changed", ok, err)
	}
	if d := hub.get("/health", nil).doc(t); d.Find(`[data-testid=twitch-bot-needs-reconnect]`).Length() != 0 {
		t.Error("the replaced token is shown as needing a reconnect")
	}
}
