package main

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// TestMarketplaceModuleOnTwitch runs `waddle serve` against the local
// Twitch fakes with a marketplace module installed in a community linked to
// a channel: a viewer's !greet in Twitch chat reaches the module's own
// server, signed, with the install's config, and the module's answer is the
// bot's reply in the channel.
func TestMarketplaceModuleOnTwitch(t *testing.T) {
	t.Parallel()
	irc, twitchAPI := twitchtest.StartIRC(t), twitchtest.StartAPI(t)
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "SHUTDOWN_TIMEOUT", "10s",
		"WADDLE_ADMIN_PASSWORD", testAdminPassword, "TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_EVENTSUB_SECRET", "a-secret-of-20-chars", "TWITCH_IRC_ADDR", irc.Addr(),
		"TWITCH_API_URL", twitchAPI.HelixURL(), "TWITCH_AUTH_URL", twitchAPI.AuthURL(),
		"EXECUTOR_ALLOW_PRIVATE", "true") // the module's server is on 127.0.0.1

	const token = "tok-twitch-greeter"
	mustRunWaddle(t, vars, "admin", "create", "--email", "admin@example.com", "--admin")
	a := openTestApp(t, vars)
	ctx := t.Context()
	admin := mustSignIn(t, a, "admin@example.com", testAdminPassword)
	c, err := db.New(a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	settings := router.NewSettings(rt)
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", "duckchan"); err != nil {
		t.Fatal(err)
	}
	if err := platform.NewTokens(a.pool, a.secrets).Save(ctx, router.Twitch, platform.BotSubject,
		platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	// The author publishes; the community's admin installs with a config.
	mod := startGreeterModule(t, token)
	market := marketplace.New(marketplace.Config{Pool: a.pool, Box: a.secrets, Settings: settings})
	by := audit.Actor{UserID: admin.ID, Email: "admin@example.com"}
	if err := market.SetDeveloper(ctx, by, admin.ID, true); err != nil {
		t.Fatal(err)
	}
	_, _, signing, err := market.CreateModule(ctx, by, admin.ID, greeterManifest(mod.URL), marketplace.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	mod.setSigning(signing)
	if _, err := market.Install(ctx, by, c.ID, marketplace.InstallInput{Slug: "greeter",
		Accept: []marketplace.Capability{marketplace.CapChat},
		Config: map[string]any{"greeting": "Hi", "loud": "false", "api_token": token}}); err != nil {
		t.Fatal(err)
	}

	_, stop := startRunServe(t, vars)
	irc.WaitJoined(t, "duckchan")
	id := irc.Chat("duckchan", "300", "alice", "", "!greet")
	if got := irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hi, alice!" || got[0].ReplyTo != id {
		t.Errorf("Twitch reply %q in thread %q, want %q in %q", got[0].Text, got[0].ReplyTo, "Hi, alice!", id)
	}
	calls := mod.requests()
	if len(calls) != 1 || calls[0].Command != "greet" || calls[0].Event.Platform != router.Twitch || calls[0].Config["api_token"] != token {
		t.Errorf("the module got %+v, want one signed call for greet from Twitch with the install's config", calls)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
}
