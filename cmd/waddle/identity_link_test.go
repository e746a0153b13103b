package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// linkChat is `waddle serve` with its Twitch and Discord bots on the local
// fakes, and a community linked to Twitch channel duckchan and Discord guild
// 3000: people chat on both and read the bots' answers.
type linkChat struct {
	t         *testing.T
	irc       *twitchtest.IRC
	twitchAPI *twitchtest.API
	rest      *discordtest.REST
	gw        *discordtest.Gateway
	a         *app
	msgID     int
}

func startLinkChat(t *testing.T) *linkChat {
	t.Helper()
	c := &linkChat{t: t, irc: twitchtest.StartIRC(t), twitchAPI: twitchtest.StartAPI(t), rest: discordtest.StartREST(t), gw: discordtest.StartGateway(t)}
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "SHUTDOWN_TIMEOUT", "10s",
		"WADDLE_ADMIN_PASSWORD", testAdminPassword, "TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_EVENTSUB_SECRET", "a-secret-of-20-chars", "TWITCH_IRC_ADDR", c.irc.Addr(),
		"TWITCH_API_URL", c.twitchAPI.HelixURL(), "TWITCH_AUTH_URL", c.twitchAPI.AuthURL(),
		"DISCORD_BOT_TOKEN", "secret-token", "DISCORD_APP_ID", "2000", "DISCORD_PUBLIC_KEY", strings.Repeat("ab", 32),
		"DISCORD_API_URL", c.rest.URL(), "DISCORD_GATEWAY_URL", c.gw.URL())
	c.a = openTestApp(t, vars)
	ctx := t.Context()
	if err := db.MigrateUp(ctx, c.a.pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	com, err := db.New(c.a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "ducks", Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: c.a.pool, Logger: slog.New(slog.DiscardHandler)})
	settings := router.NewSettings(rt)
	for _, l := range [][2]string{{router.Twitch, "duckchan"}, {router.Discord, "3000"}} {
		if _, err := settings.LinkEntity(ctx, audit.Actor{}, com.ID, l[0], l[1], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := platform.NewTokens(c.a.pool, c.a.secrets).Save(ctx, router.Twitch, platform.BotSubject,
		platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	startRunServe(t, vars)
	poll(t, "the Discord gateway connection", c.gw.Connected)
	c.gw.Dispatch("GUILD_CREATE", map[string]any{"id": "3000", "name": "Duck pond", "owner_id": "1", "roles": []any{
		map[string]any{"id": "3000", "name": "@everyone", "permissions": "0"}}})
	c.irc.WaitJoined(t, "duckchan")
	return c
}

// twitch says text in #duckchan as the Twitch user and returns the bot's answer.
func (c *linkChat) twitch(userID, login, text string) string {
	c.t.Helper()
	n := len(c.irc.Lines("duckchan"))
	c.irc.Chat("duckchan", userID, login, "", text)
	lines := c.irc.WaitLines(c.t, "duckchan", n+1)
	return lines[n].Text
}

// discord says text in channel 50 of guild 3000 as the Discord user and
// returns the bot's answer.
func (c *linkChat) discord(userID, username, text string) string {
	c.t.Helper()
	c.msgID++
	id := fmt.Sprintf("%d", 7000+c.msgID)
	c.gw.Dispatch("MESSAGE_CREATE", map[string]any{"id": id, "channel_id": "50", "guild_id": "3000", "content": text, "type": 0,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "author": map[string]any{"id": userID, "username": username}, "member": map[string]any{"roles": []string{}}})
	r := c.rest.WaitBody(c.t, "POST", "/channels/50/messages", `"message_id":"`+id+`"`, botWait)
	var msg struct{ Content string }
	if err := json.Unmarshal([]byte(r.Body), &msg); err != nil {
		c.t.Fatal(err)
	}
	return msg.Content
}

var linkCodeRE = regexp.MustCompile(`!verify ([A-Z0-9]{6})`)

// dmCode is the code in the newest Discord DM that has one.
func (c *linkChat) dmCode(before int) string {
	c.t.Helper()
	var code string
	poll(c.t, "a DM with a code", func() bool {
		dms := c.rest.Find("POST", "/channels/dm-1/messages")
		if len(dms) <= before {
			return false
		}
		m := linkCodeRE.FindStringSubmatch(dms[len(dms)-1].Body)
		if m != nil {
			code = m[1]
		}
		return m != nil
	})
	return code
}

// whisperCode is the code in the newest whisper to the Twitch user to.
func (c *linkChat) whisperCode(to string) string {
	c.t.Helper()
	ws := c.twitchAPI.Find("POST", "/helix/whispers")
	for i := len(ws) - 1; i >= 0; i-- {
		if ws[i].Query["to_user_id"] == to {
			msg, _ := ws[i].Body["message"].(string)
			if m := linkCodeRE.FindStringSubmatch(msg); m != nil {
				return m[1]
			}
		}
	}
	c.t.Fatalf("no whisper with a code to %s in %v", to, ws)
	return ""
}

// A viewer links Twitch and Discord from chat through the real bots and the
// local platforms, both ways; wrong, dead, expired and misdirected codes
// are refused; a code that cannot be delivered is one line saying what to do.
func TestLinkAccountsThroughTheBots(t *testing.T) {
	t.Parallel()
	c := startLinkChat(t)
	c.rest.SetMembers("3000", discordtest.Member{ID: "42", Username: "bob"}, discordtest.Member{ID: "43", Username: "carol"},
		discordtest.Member{ID: "44", Username: "erin"})
	c.twitchAPI.AddUser("301", "dave")
	c.twitchAPI.AddUser("302", "frank")
	c.twitchAPI.RefuseWhispersTo("302")

	// Twitch → Discord: bob has never spoken; the bot finds him in the guild.
	c.twitch("300", "alice", "!points") // and 5 chat points on Twitch
	dms := len(c.rest.Find("POST", "/channels/dm-1/messages"))
	if got := c.twitch("300", "alice", "!identity link discord bob"); !strings.Contains(got, "I sent a code to bob on Discord by DM") {
		t.Fatalf("link request answered %q", got)
	}
	code := c.dmCode(dms)
	wrong := "ABCDEF"
	if wrong == code {
		wrong = "GHJKMN"
	}
	if got := c.discord("42", "bob", "!verify "+wrong); !strings.Contains(got, "Wrong code: 4 tries left") {
		t.Errorf("a wrong code answered %q", got)
	}
	if got := c.discord("42", "bob", "!verify "+code); !strings.Contains(got, "linked: Discord bob, Twitch Alice are one person now, with 10 points here") {
		t.Fatalf("verify answered %q", got)
	}
	// Alice's 5 chat points on Twitch and bob's 5 on Discord (for his first
	// try) are one balance now; the chat points of one person come once a
	// minute, whichever account speaks.
	if got := c.discord("42", "bob", "!points"); !strings.Contains(got, "you have 10 points") {
		t.Errorf("!points on Discord answered %q, want the linked balance", got)
	}
	if got := c.twitch("300", "alice", "!points"); !strings.Contains(got, "you have 10 points") {
		t.Errorf("!points on Twitch answered %q, want the linked balance", got)
	}

	// An account linked to someone else is refused, without saying whose.
	if got := c.twitch("303", "gus", "!identity link discord bob"); !strings.Contains(got, "already linked to someone else") || strings.Contains(got, "lice") {
		t.Errorf("a target linked elsewhere answered %q", got)
	}

	// Discord → Twitch, by whisper; five wrong tries kill the code.
	if got := c.discord("43", "carol", "!identity link twitch dave"); !strings.Contains(got, "I sent a code to dave on Twitch by whisper") {
		t.Fatalf("link request answered %q", got)
	}
	code = c.whisperCode("301")
	wrong = "ABCDEF"
	if wrong == code {
		wrong = "GHJKMN"
	}
	for range 4 {
		c.twitch("301", "dave", "!verify "+wrong)
	}
	if got := c.twitch("301", "dave", "!verify "+wrong); !strings.Contains(got, "Wrong code 5 times: that code is dead") {
		t.Errorf("the fifth wrong try answered %q", got)
	}
	if got := c.twitch("301", "dave", "!verify "+code); !strings.Contains(got, "no live code") {
		t.Errorf("the sixth try, with the right code, answered %q", got)
	}
	// A new code, which expires.
	if got := c.discord("43", "carol", "!identity link twitch dave"); !strings.Contains(got, "I sent a code") {
		t.Fatalf("second link request answered %q", got)
	}
	code = c.whisperCode("301")
	if _, err := c.a.pool.Exec(t.Context(), "UPDATE identity_link_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL"); err != nil {
		t.Fatal(err) // ten minutes pass
	}
	if got := c.twitch("301", "dave", "!verify "+code); !strings.Contains(got, "That code expired") {
		t.Errorf("an expired code answered %q", got)
	}
	// A third, typed in time.
	c.discord("43", "carol", "!identity link twitch dave")
	if got := c.twitch("301", "dave", "!verify "+c.whisperCode("301")); !strings.Contains(got, "linked: Discord carol, Twitch Dave") {
		t.Errorf("verify by whisper's code answered %q", got)
	}

	// Delivery refused: Discord DMs closed (50007), a Twitch whisper refused (403).
	c.rest.SetOverride(func(w http.ResponseWriter, r discordtest.Request) bool {
		if r.Method != http.MethodPost || r.Path != "/channels/dm-1/messages" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message": "Cannot send messages to this user", "code": 50007}`))
		return true
	})
	got := c.twitch("304", "hana", "!identity link discord erin")
	if !strings.Contains(got, "I could not send the code to erin on Discord: Discord refused the DM: they do not accept direct messages") || strings.Contains(got, "\n") {
		t.Errorf("DMs closed answered %q, want one line saying what to do", got)
	}
	c.rest.SetOverride(nil)
	got = c.discord("44", "erin", "!identity link twitch frank")
	if !strings.Contains(got, "I could not send the code to frank on Twitch: Twitch refused the whisper") {
		t.Errorf("a refused whisper answered %q", got)
	}
	var live int
	if err := c.a.pool.QueryRow(t.Context(), "SELECT count(*) FROM identity_link_codes WHERE used_at IS NULL").Scan(&live); err != nil || live != 0 {
		t.Errorf("%d undelivered codes left (%v), want none", live, err)
	}
}
