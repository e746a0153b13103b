package main

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// TestServeReceivesRaidOverWebSocket runs `waddle serve` as a streamer on
// their own PC would (BASE_URL=http://127.0.0.1:8080, no EventSub secret):
// EventSub comes over the WebSocket, a raid earns the raider points as a
// webhook raid does, and the health page says which transport is in use.
func TestServeReceivesRaidOverWebSocket(t *testing.T) {
	t.Parallel()
	irc, twitchAPI := twitchtest.StartIRC(t), twitchtest.StartAPI(t)
	ws := twitchtest.StartEventSubWS(t, twitchAPI, 10)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "SHUTDOWN_TIMEOUT", "10s",
		"BASE_URL", "http://127.0.0.1:8080", "WADDLE_ADMIN_PASSWORD", testAdminPassword, "TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_IRC_ADDR", irc.Addr(), "TWITCH_API_URL", twitchAPI.HelixURL(), "TWITCH_AUTH_URL", twitchAPI.AuthURL(),
		"TWITCH_EVENTSUB_WS_URL", ws.URL())

	mustRunWaddle(t, vars, "admin", "create", "--email", "admin@example.com", "--admin")
	a := openTestApp(t, vars)
	ctx := t.Context()
	c, err := db.New(a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	if _, err := router.NewSettings(rt).LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", "duckchan"); err != nil {
		t.Fatal(err)
	}
	tokens := platform.NewTokens(a.pool, a.secrets)
	for subject, tok := range map[string]platform.Token{
		platform.BotSubject: {Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)},
		"duckchan":          {Access: "caster-1", AccountID: "200", AccountLogin: "duckchan", Expires: time.Now().Add(4 * time.Hour)},
	} {
		if err := tokens.Save(ctx, router.Twitch, subject, tok); err != nil {
			t.Fatal(err)
		}
	}

	base, _ := startRunServe(t, vars)
	var session string
	poll(t, "a subscribed EventSub WebSocket session", func() bool {
		for _, s := range ws.Sessions() {
			if len(ws.SessionSubscriptions(s)) == 8 {
				session = s
				return true
			}
		}
		return false
	})
	if _, err := ws.Notify(session, "channel.raid", map[string]any{"from_broadcaster_user_id": "1234", "from_broadcaster_user_login": "cool_user",
		"from_broadcaster_user_name": "Cool_User", "to_broadcaster_user_id": "200", "to_broadcaster_user_login": "duckchan",
		"to_broadcaster_user_name": "DuckChan", "viewers": 12}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the raider's points", func() bool {
		var n int
		err := a.pool.QueryRow(ctx, "SELECT count(*) FROM points_ledger WHERE community_id = $1 AND user_id = '1234' AND reason = 'raid'", c.ID).Scan(&n)
		return err == nil && n == 1
	})

	client := signedInClient(t, base, "admin@example.com", testAdminPassword)
	page := get(t, client, base+"/health")
	if !strings.Contains(page, "over WebSocket") {
		t.Error("the health page does not say EventSub comes over the WebSocket")
	}
	var details map[string]string
	poll(t, "the Twitch bot's row naming the WebSocket session", func() bool {
		_, details = botStates(t, client, base)
		return strings.Contains(details[router.Twitch], "EventSub over WebSocket: 1 of 1 channel subscribed.")
	}, func() string { return details[router.Twitch] })
}
