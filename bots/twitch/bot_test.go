package twitch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

func TestChatCommandReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	b := e.start(e.config("a"))

	conn := e.irc.WaitJoined(t, "duckchan")
	if conn.Pass() != "oauth:bot-1" || conn.Nick() != "duckbot" {
		t.Errorf("logged in as %q with %q, want duckbot with the stored token", conn.Nick(), conn.Pass())
	}
	eventually(t, "status connected", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "Connected to 1 channel as duckbot.") && s.Servers == 1
	})
	if d := b.cfg.Status.Snapshot().Detail; !strings.Contains(d, "TWITCH_EVENTSUB_SECRET") {
		t.Errorf("status without EventSub config: %q", d)
	}

	id := e.irc.Chat("duckchan", "300", "alice", "subscriber/12,vip/1", "!hello")
	got := e.irc.WaitLines(t, "duckchan", 1)
	if got[0].Text != "Hello Alice!" || got[0].ReplyTo != id {
		t.Errorf("reply %q in thread %q, want %q in %q", got[0].Text, got[0].ReplyTo, "Hello Alice!", id)
	}

	// The bot's own messages are ignored; the next user's message is answered.
	e.irc.Chat("duckchan", "100", "duckbot", "", "!hello")
	e.irc.Chat("duckchan", "301", "bob", "", "!hello")
	got = e.irc.WaitLines(t, "duckchan", 2) // a reply to the bot's own message would come before bob's
	if got[1].Text != "Hello Bob!" {
		t.Errorf("second reply %q, want bob's: the bot answered its own message", got[1].Text)
	}
}

func TestMalformedLinesDoNotStopTheBot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")

	bad := []string{
		"@badges=moderator;id=x1;user-id=5 :eve!eve@eve.tmi.twitch.tv PRIVMSG #duckchan :!hello", // badge without version: the library panics
		"PRIVMSG",              // no channel: the library panics
		"@",                    // tags and nothing else
		":",                    // a source and nothing else
		"@a=b;c :x CLEARCHAT",  // no channel
		"\x00\xff\xfe garbage", // not UTF-8
		"@id=x2;user-id=6;display-name=" + strings.Repeat("x", 300) + " :eve!eve@eve.tmi.twitch.tv PRIVMSG #duckchan :!hello", // fails validation
		"@id=x3;user-id=7 :eve!eve@eve.tmi.twitch.tv PRIVMSG #duckchan :" + strings.Repeat("a", 40<<10),                       // longer than the relay's limit
		"@emotes=25:9-1;id=x4;user-id=8 :eve!eve@eve.tmi.twitch.tv PRIVMSG #duckchan :hi",
	}
	for _, l := range bad[:2] {
		if parses(l) {
			t.Errorf("the library parses %q: the relay's filter is not exercised", l)
		}
	}
	for _, l := range bad {
		e.irc.Raw("duckchan", l)
	}
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	got := e.irc.WaitLines(t, "duckchan", 1)
	if got[0].Text != "Hello Alice!" {
		t.Errorf("after malformed lines the bot said %q", got[0].Text)
	}
	if len(e.irc.Live("duckchan")) != 1 || len(e.irc.Welcomed()) != 1 {
		t.Errorf("the malformed lines cost the connection")
	}
}

func TestModerationRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.link("gooschan")
	e.api.AddToken("goos-1", "", "200", "gooschan", twitchtest.BroadcasterScopes...) // the fake's IRC gives every channel room 200
	e.saveToken("gooschan", platform.Token{Access: "goos-1", AccountID: "200", AccountLogin: "gooschan"})
	e.irc.SetMod("duckchan", true)
	e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
	e.rule(router.RuleInput{Match: router.MatchWord, Pattern: "spam", Action: router.ActionTimeout, TimeoutSeconds: 60})
	e.rule(router.RuleInput{Match: router.MatchWord, Pattern: "caps", Action: router.ActionWarn, Response: "no shouting please"})
	e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")
	e.irc.WaitJoined(t, "gooschan")

	// Where the bot moderates, it deletes with its own token.
	id := e.irc.Chat("duckchan", "300", "alice", "", "you badword")
	eventually(t, "the delete call", func() bool { return len(e.api.Find("DELETE", "/helix/moderation/chat")) == 1 })
	del := e.api.Find("DELETE", "/helix/moderation/chat")[0]
	want := map[string]string{"broadcaster_id": "200", "moderator_id": "100", "message_id": id}
	if diff := cmp.Diff(want, del.Query); diff != "" || del.Auth != "Bearer bot-1" || del.ClientID != "cid" {
		t.Errorf("delete with %s (%s) (-want +got):\n%s", del.Auth, del.ClientID, diff)
	}

	// Elsewhere it times out with the broadcaster's token.
	e.irc.Chat("gooschan", "301", "bob", "", "buy spam now")
	eventually(t, "the ban call", func() bool { return len(e.api.Find("POST", "/helix/moderation/bans")) == 1 })
	ban := e.api.Find("POST", "/helix/moderation/bans")[0]
	if diff := cmp.Diff(map[string]string{"broadcaster_id": "200", "moderator_id": "200"}, ban.Query); diff != "" || ban.Auth != "Bearer goos-1" {
		t.Errorf("ban with %s (-want +got):\n%s", ban.Auth, diff)
	}
	data, _ := ban.Body["data"].(map[string]any)
	if data["user_id"] != "301" || data["duration"] != float64(60) {
		t.Errorf("ban body %v", ban.Body)
	}

	// A warning is a reply naming the user.
	e.irc.Chat("duckchan", "302", "carol", "", "CAPS caps")
	got := e.irc.WaitLines(t, "duckchan", 1)
	if got[0].Text != "@Carol no shouting please" {
		t.Errorf("warning %q", got[0].Text)
	}
}

func TestHelix401RefreshesTheToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.irc.SetMod("duckchan", true)
	e.api.SetValid("bot-1", false) // expired early: Helix refuses it, IRC still takes it
	e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
	e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")

	e.irc.Chat("duckchan", "300", "alice", "", "badword")
	eventually(t, "the retried delete", func() bool { return len(e.api.Find("DELETE", "/helix/moderation/chat")) == 2 })
	calls := e.api.Find("DELETE", "/helix/moderation/chat")
	if calls[0].Auth != "Bearer bot-1" || calls[1].Auth != "Bearer bot-2" {
		t.Errorf("tokens used: %q then %q", calls[0].Auth, calls[1].Auth)
	}
	if n := len(e.api.Find("POST", "/oauth2/token")); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	tok, err := e.tokens.Get(context.Background(), Platform, platform.BotSubject)
	if err != nil || tok.Access != "bot-2" || tok.Refresh != "bot-r2" || tok.AccountID != "100" {
		t.Errorf("stored token %+v, %v; want the refreshed one", tok, err)
	}
}

func TestHelix429WaitsAndRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.irc.SetMod("duckchan", true)
	e.api.LimitNextModeration()
	e.rule(router.RuleInput{Match: router.MatchContains, Pattern: "badword", Action: router.ActionDelete})
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")

	e.irc.Chat("duckchan", "300", "alice", "", "badword")
	eventually(t, "the delete after the rate limit", func() bool { return b.SendQueue().Stats().Sent == 1 })
	if n, st := len(e.api.Find("DELETE", "/helix/moderation/chat")), b.SendQueue().Stats(); n != 2 || st.RateLimited != 1 || st.Failed != 0 {
		t.Errorf("%d calls, stats %+v; want a 429 then a success", n, st)
	}
}

func TestIRCLoginRefusedRefreshes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.irc.SetAccept(func(pass, nick string) bool { return pass == "oauth:bot-2" })
	e.start(e.config("a"))

	conn := e.irc.WaitJoined(t, "duckchan")
	if conn.Pass() != "oauth:bot-2" {
		t.Errorf("joined with %q", conn.Pass())
	}
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply %q", got[0].Text)
	}
}

func TestReconnectsAndRejoins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	b := e.start(e.config("a"))
	first := e.irc.WaitJoined(t, "duckchan")

	// Twitch goes away for a while: the bot says it is reconnecting.
	e.irc.Pause()
	e.irc.DropAll()
	eventually(t, "status reconnecting", func() bool { return b.cfg.Status.Snapshot().State == platform.StateReconnecting })
	e.irc.Resume(t)
	eventually(t, "a rejoin on a new connection", func() bool {
		l := e.irc.Live("duckchan")
		return len(l) == 1 && l[0] != first
	})
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply after reconnecting %q", got[0].Text)
	}
	eventually(t, "connected again", func() bool { return strings.Contains(b.cfg.Status.Snapshot().Detail, "Connected to 1 channel") })
}

func TestLinksPickedUpWithoutRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")

	goose := e.link("gooschan")
	e.irc.WaitJoined(t, "gooschan")
	e.irc.Chat("gooschan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "gooschan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply in the new channel %q", got[0].Text)
	}
	eventually(t, "2 servers", func() bool { return b.cfg.Status.Snapshot().Servers == 2 })

	if err := e.settings.UnlinkEntity(context.Background(), audit.Actor{}, e.cid, goose.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the part from #gooschan", func() bool { return len(e.irc.Live("gooschan")) == 0 })
	eventually(t, "1 server", func() bool { return b.cfg.Status.Snapshot().Servers == 1 })
	if len(e.irc.Live("duckchan")) != 1 {
		t.Errorf("left #duckchan too")
	}
}

func TestLeaseHandOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	// Leases outlive the test's deadlines: b can only take over because a
	// releases its lease when it stops.
	cfgA, cfgB := e.config("instance-a"), e.config("instance-b")
	cfgA.Leases = platform.NewLeases(e.pool, "instance-a", time.Minute)
	cfgB.Leases = platform.NewLeases(e.pool, "instance-b", time.Minute)
	cfgA.LeaseTTL, cfgB.LeaseTTL = time.Minute, time.Minute
	a := e.start(cfgA)
	aConn := e.irc.WaitJoined(t, "duckchan")
	b := e.start(cfgB)
	eventually(t, "two bot connections", func() bool { return len(e.irc.Welcomed()) == 2 })
	time.Sleep(500 * time.Millisecond) // several of b's lease syncs
	if n := len(e.irc.Live("duckchan")); n != 1 {
		t.Fatalf("%d connections in #duckchan, want only a's", n)
	}
	holders, err := a.cfg.Leases.Holders(context.Background(), leasePrefix)
	if err != nil || len(holders) != 1 || holders[0].Holder != "instance-a" {
		t.Fatalf("holders %+v, %v", holders, err)
	}

	a.stop()
	// b's connection alone: the server may notice a's close a moment later.
	eventually(t, "b alone in #duckchan", func() bool {
		l := e.irc.Live("duckchan")
		return len(l) == 1 && l[0] != aConn
	})
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply from the second instance %q", got[0].Text)
	}
	eventually(t, "b serving 1 channel", func() bool { return b.cfg.Status.Snapshot().Servers == 1 })
	if s := a.cfg.Status.Snapshot(); s.State != platform.StateStopped {
		t.Errorf("stopped instance state %q", s.State)
	}
}

func TestWhisperForPrivateResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")
	eventually(t, "logged in", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.up && b.botID == "100"
	})

	ev := router.Event{ID: "twitch:m1", Platform: Platform, Kind: router.ChatMessage, Server: "duckchan", Channel: "duckchan",
		User: router.User{ID: "300", Name: "alice"}}
	b.respond(context.Background(), ev, router.Response{Reply: "your balance is 5\r\nPRIVMSG #x :pwned", Private: true}, platform.High, TransportIRC)
	eventually(t, "the whisper", func() bool { return len(e.api.Find("POST", "/helix/whispers")) == 1 })
	w := e.api.Find("POST", "/helix/whispers")[0]
	if diff := cmp.Diff(map[string]string{"from_user_id": "100", "to_user_id": "300"}, w.Query); diff != "" || w.Auth != "Bearer bot-1" {
		t.Errorf("whisper as %s (-want +got):\n%s", w.Auth, diff)
	}
	if w.Body["message"] != "your balance is 5  PRIVMSG #x :pwned" {
		t.Errorf("whisper text %q", w.Body["message"])
	}
	if len(e.irc.Lines("duckchan")) != 0 {
		t.Errorf("a private response went to chat")
	}
}

func TestEventSubSubscriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const callback = "https://hub.example/webhooks/twitch/eventsub"
	kept := e.api.AddSubscription("stream.online", "1", "enabled", map[string]string{"broadcaster_user_id": "200"}, callback)
	revoked := e.api.AddSubscription("channel.cheer", "1", "authorization_revoked", map[string]string{"broadcaster_user_id": "200"}, callback)
	failed := e.api.AddSubscription("channel.ban", "1", "webhook_callback_verification_failed", map[string]string{"broadcaster_user_id": "200"}, callback)
	cfg := e.config("a")
	cfg.EventSubSecret, cfg.CallbackURL = "a-secret-of-20-chars", callback
	b := e.start(cfg)
	e.irc.WaitJoined(t, "duckchan")

	eventually(t, "8 subscriptions", func() bool { return len(e.api.Find("POST", "/helix/eventsub/subscriptions")) == 7 })
	subs := e.api.Subscriptions()
	types := map[string]string{}
	for id, s := range subs {
		if s["status"] != "enabled" && s["status"] != "webhook_callback_verification_pending" {
			t.Errorf("subscription %s left with status %v", id, s["status"])
		}
		types[s["type"].(string)] = id
	}
	if len(types) != 8 || types["stream.online"] != kept || subs[revoked] != nil || subs[failed] != nil {
		t.Errorf("subscriptions %v; want 8 types, %s kept, %s and %s replaced", types, kept, revoked, failed)
	}
	for _, c := range e.api.Calls() {
		if c.Path != "/helix/eventsub/subscriptions" {
			continue
		}
		if c.Auth != "Bearer app-1" || c.ClientID != "cid" {
			t.Errorf("%s with %q %q, want the app token", c.Method, c.Auth, c.ClientID)
		}
		if c.Method != "POST" {
			continue
		}
		tr, _ := c.Body["transport"].(map[string]any)
		if tr["method"] != "webhook" || tr["callback"] != callback || tr["secret"] != "a-secret-of-20-chars" {
			t.Errorf("transport %v", tr)
		}
		cond, _ := c.Body["condition"].(map[string]any)
		switch c.Body["type"] {
		case "channel.follow":
			if c.Body["version"] != "2" || cond["broadcaster_user_id"] != "200" || cond["moderator_user_id"] != "200" {
				t.Errorf("follow subscription %v", c.Body)
			}
		case "channel.raid":
			if cond["to_broadcaster_user_id"] != "200" {
				t.Errorf("raid subscription %v", c.Body)
			}
		default:
			if cond["broadcaster_user_id"] != "200" {
				t.Errorf("%v subscription %v", c.Body["type"], c.Body)
			}
		}
	}
	if s := b.cfg.Status.Snapshot(); s.State != platform.StateConnected {
		t.Errorf("state %q (%s), want connected", s.State, s.Detail)
	}
}

// subscribed starts a bot with EventSub on callback and waits until
// duckchan's 8 subscriptions exist.
func (e *env) subscribed(callback string) *running {
	e.t.Helper()
	cfg := e.config("a")
	cfg.EventSubSecret, cfg.CallbackURL = "a-secret-of-20-chars", callback
	b := e.start(cfg)
	e.irc.WaitJoined(e.t, "duckchan")
	eventually(e.t, "8 subscriptions", func() bool { return len(e.api.Subscriptions()) == 8 })
	return b
}

func (e *env) posts() int { return len(e.api.Find("POST", "/helix/eventsub/subscriptions")) }

func TestEventSubSweepSubscribesOncePerType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const callback = "https://hub.example/webhooks/twitch/eventsub"
	b := e.subscribed(callback)
	if n := e.posts(); n != 8 {
		t.Fatalf("%d subscription requests for 8 types", n)
	}
	for i := range 3 {
		if err := b.subscribe(context.Background(), "duckchan"); err != nil {
			t.Fatalf("sweep %d: %v", i+2, err)
		}
	}
	if n := e.posts(); n != 8 {
		t.Errorf("%d subscription requests after 4 sweeps, want 8: a listed subscription was not recognised", n)
	}
	var raid map[string]any
	for _, s := range e.api.Subscriptions() {
		if s["type"] == "channel.raid" {
			raid, _ = s["condition"].(map[string]any)
		}
	}
	if diff := cmp.Diff(map[string]any{"from_broadcaster_user_id": "", "to_broadcaster_user_id": "200"}, raid); diff != "" {
		t.Errorf("the fake lists the raid condition unlike Twitch (-want +got):\n%s", diff)
	}
}

func TestEventSubReplacesStaleAndFailedSubscriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const callback = "https://hub.example/webhooks/twitch/eventsub"
	stale := e.api.AddSubscription("channel.raid", "1", "enabled", map[string]string{"to_broadcaster_user_id": "200"}, "https://old.example/webhooks/twitch/eventsub")
	failed := e.api.AddSubscription("channel.follow", "2", "notification_failures_exceeded", map[string]string{"broadcaster_user_id": "200", "moderator_user_id": "200"}, callback)
	kept := e.api.AddSubscription("channel.cheer", "1", "enabled", map[string]string{"broadcaster_user_id": "200"}, callback)
	// Raids from one channel only are not Waddle's raid subscription: left alone.
	narrow := e.api.AddSubscription("channel.raid", "1", "enabled", map[string]string{"from_broadcaster_user_id": "900", "to_broadcaster_user_id": "200"}, callback)
	cfg := e.config("a")
	cfg.EventSubSecret, cfg.CallbackURL = "a-secret-of-20-chars", callback
	b := e.start(cfg)
	e.irc.WaitJoined(t, "duckchan")

	eventually(t, "stale and failed subscriptions replaced", func() bool { return len(e.api.Subscriptions()) == 9 })
	if err := b.subscribe(context.Background(), "duckchan"); err != nil {
		t.Fatalf("second sweep: %v", err)
	}
	subs := e.api.Subscriptions()
	if subs[stale] != nil || subs[failed] != nil || subs[kept] == nil || subs[narrow] == nil {
		t.Errorf("after the sweep: stale kept %v, failed kept %v, healthy kept %v, narrower raid kept %v; want false, false, true, true",
			subs[stale] != nil, subs[failed] != nil, subs[kept] != nil, subs[narrow] != nil)
	}
	types := map[string]int{}
	for _, s := range subs {
		tr, _ := s["transport"].(map[string]any)
		if tr["callback"] != callback || (s["status"] != "enabled" && s["status"] != "webhook_callback_verification_pending") {
			t.Errorf("subscription %v %v left at %v", s["type"], s["status"], tr["callback"])
		}
		types[s["type"].(string)]++
	}
	if types["channel.raid"] != 2 || types["channel.follow"] != 1 || len(types) != 8 {
		t.Errorf("subscriptions by type %v; want one each, and the narrower raid besides ours", types)
	}
	if n := e.posts(); n != 7 {
		t.Errorf("%d subscriptions created, want 7 (all but the healthy cheer)", n)
	}
	var deleted []string
	for _, c := range e.api.Find("DELETE", "/helix/eventsub/subscriptions") {
		deleted = append(deleted, c.Query["id"])
	}
	if len(deleted) != 2 || !slices.Contains(deleted, stale) || !slices.Contains(deleted, failed) {
		t.Errorf("deleted %v, want %s and %s", deleted, stale, failed)
	}
}

func TestEventSubConflictIsNotAnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.subscribed("https://hub.example/webhooks/twitch/eventsub")
	// The list does not show the subscriptions yet: each creation gets 409.
	e.api.HideSubscriptions(true)
	if err := b.subscribe(context.Background(), "duckchan"); err != nil {
		t.Errorf("sweep answered 409s: %v", err)
	}
	if n, m := e.posts(), len(e.api.Subscriptions()); n != 16 || m != 8 {
		t.Errorf("%d creations, %d subscriptions; want 16 (8 answered 409) and 8", n, m)
	}
}

func TestEventSubRefusedSubscriptionIsAnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.config("a")
	// Twitch refuses callbacks that are not https on port 443.
	cfg.EventSubSecret, cfg.CallbackURL = "a-secret-of-20-chars", "https://hub.example:8443/webhooks/twitch/eventsub"
	b := e.start(cfg)
	e.irc.WaitJoined(t, "duckchan")
	err := b.subscribe(context.Background(), "duckchan")
	var he *HelixError
	if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(he.Message, "443") {
		t.Errorf("sweep with a callback on port 8443: err = %v, want Twitch's 400", err)
	}
	if n := len(e.api.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions made with a refused callback", n)
	}
}

func TestFakeRefusesSubscriptionsTwitchRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.subscribed("https://hub.example/webhooks/twitch/eventsub")
	tr := map[string]string{"method": "webhook", "callback": "https://hub.example/cb", "secret": "a-secret-of-20-chars"}
	for _, c := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"unknown type", map[string]any{"type": "channel.nope", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200"}, "transport": tr}, 400},
		{"follow v1", map[string]any{"type": "channel.follow", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200"}, "transport": tr}, 400},
		{"follow without moderator", map[string]any{"type": "channel.follow", "version": "2", "condition": map[string]string{"broadcaster_user_id": "200"}, "transport": tr}, 400},
		{"raid both ways", map[string]any{"type": "channel.raid", "version": "1", "condition": map[string]string{"from_broadcaster_user_id": "1", "to_broadcaster_user_id": "200"}, "transport": tr}, 400},
		{"unknown condition key", map[string]any{"type": "stream.online", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200", "x": "1"}, "transport": tr}, 400},
		{"http callback", map[string]any{"type": "stream.online", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200"},
			"transport": map[string]string{"method": "webhook", "callback": "http://hub.example/cb", "secret": "a-secret-of-20-chars"}}, 400},
		{"short secret", map[string]any{"type": "stream.online", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200"},
			"transport": map[string]string{"method": "webhook", "callback": "https://hub.example/cb", "secret": "short"}}, 400},
		{"duplicate", map[string]any{"type": "stream.online", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200"},
			"transport": map[string]string{"method": "webhook", "callback": "https://hub.example/webhooks/twitch/eventsub", "secret": "another-secret-1234"}}, 409},
		{"other callback", map[string]any{"type": "stream.online", "version": "1", "condition": map[string]string{"broadcaster_user_id": "200"}, "transport": tr}, 0},
	} {
		err := b.helix.call(context.Background(), "POST", "/eventsub/subscriptions", nil, c.body, "", nil)
		var he *HelixError
		switch {
		case c.want == 0 && err != nil:
			t.Errorf("%s: %v, want created", c.name, err)
		case c.want != 0 && (!errors.As(err, &he) || he.Status != c.want):
			t.Errorf("%s: err = %v, want HTTP %d", c.name, err, c.want)
		}
	}
}

func TestUnlinkDeletesSubscriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const callback = "https://hub.example/webhooks/twitch/eventsub"
	cfg := e.config("a")
	cfg.EventSubSecret, cfg.CallbackURL = "a-secret-of-20-chars", callback
	e.start(cfg)
	e.irc.WaitJoined(t, "duckchan")
	goose := e.link("gooschan")
	e.irc.WaitJoined(t, "gooschan")
	count := func(id string) int {
		n := 0
		for _, s := range e.api.Subscriptions() {
			c, _ := s["condition"].(map[string]any)
			if c["broadcaster_user_id"] == id || c["to_broadcaster_user_id"] == id {
				n++
			}
		}
		return n
	}
	eventually(t, "both channels subscribed", func() bool { return count("200") == 8 && count("300") == 8 })

	if err := e.settings.UnlinkEntity(context.Background(), audit.Actor{}, e.cid, goose.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "gooschan's subscriptions deleted", func() bool { return count("300") == 0 })
	if n := count("200"); n != 8 {
		t.Errorf("duckchan has %d subscriptions after gooschan was unlinked, want 8", n)
	}
}

func TestSendQueueSpacesRepliesWhereNotModerator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	e.start(e.config("a"))
	e.irc.WaitJoined(t, "duckchan")

	users := []string{"alice", "bob", "carol", "dave"}
	for i, u := range users {
		e.irc.Chat("duckchan", fmt.Sprint(300+i), u, "", "!hello")
	}
	got := e.irc.WaitLines(t, "duckchan", len(users))
	for i, u := range users {
		if want := "Hello " + strings.ToUpper(u[:1]) + u[1:] + "!"; got[i].Text != want {
			t.Errorf("reply %d: %q, want %q", i, got[i].Text, want)
		}
		if i > 0 && got[i].At.Sub(got[i-1].At) < 500*time.Millisecond {
			t.Errorf("replies %d and %d only %v apart: the 1/s channel budget was not kept", i-1, i, got[i].At.Sub(got[i-1].At))
		}
	}
}

func TestAnonymousWithoutBotAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.command("hello", "Hello {user}!")
	if err := e.tokens.Delete(context.Background(), Platform, platform.BotSubject); err != nil {
		t.Fatal(err)
	}
	b := e.start(e.config("a"))
	conn := e.irc.WaitJoined(t, "duckchan")
	if !strings.HasPrefix(conn.Nick(), "justinfan") {
		t.Errorf("anonymous login as %q", conn.Nick())
	}
	eventually(t, "degraded status", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "Connect the bot account on the health page")
	})
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	eventually(t, "the reply counted failed", func() bool { return b.SendQueue().Stats().Failed == 1 })

	// Connecting the bot account logs in with it, without a restart.
	e.saveToken(platform.BotSubject, platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)})
	eventually(t, "a login as duckbot", func() bool {
		l := e.irc.Live("duckchan")
		return len(l) == 1 && l[0].Nick() == "duckbot"
	})
	e.irc.Chat("duckchan", "300", "alice", "", "!hello")
	if got := e.irc.WaitLines(t, "duckchan", 1); got[0].Text != "Hello Alice!" {
		t.Errorf("reply %q", got[0].Text)
	}
}

func TestRefusedTokenFallsBackToAnonymous(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.RevokeRefresh("bot-r1") // the refresh token was revoked too
	e.irc.SetAccept(func(pass, nick string) bool { return strings.HasPrefix(nick, "justinfan") })
	b := e.start(e.config("a"))

	conn := e.irc.WaitJoined(t, "duckchan")
	if !strings.HasPrefix(conn.Nick(), "justinfan") {
		t.Errorf("joined as %q", conn.Nick())
	}
	eventually(t, "degraded status", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "anonymously")
	})
	if n := len(e.api.Find("POST", "/oauth2/token")); n != 1 {
		t.Errorf("%d refresh attempts, want 1", n)
	}
}
