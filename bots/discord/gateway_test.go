package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/waddle/waddle/bots/discord/discordtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/views"
)

// testWindow is the IDENTIFY bucket window in tests (Discord's is 5 s).
const testWindow = 50 * time.Millisecond

// identified decodes the intents and shard of the IDENTIFY at i.
func identified(t *testing.T, gw *discordtest.Gateway, i int) (intents int, shard []int) {
	t.Helper()
	all := gw.Identifies()
	var id struct {
		Intents int   `json:"intents"`
		Shard   []int `json:"shard"`
	}
	if err := json.Unmarshal(all[i], &id); err != nil {
		t.Fatal(err)
	}
	return id.Intents, id.Shard
}

// takeOver stops the env's first instance and starts another with cfg
// changed by opts, once the gateway was set up by setup.
func (e *env) takeOver(setup func(), opts ...func(*Config)) *Bot {
	e.t.Helper()
	e.stop()
	setup()
	base := e.base
	for _, o := range opts {
		o(&e.base)
	}
	b, _ := e.start("instance-b")
	e.base = base
	return b
}

func TestWithoutPrivilegedIntentsTheBotStaysOnline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	before := len(e.gw.Identifies())
	b := e.takeOver(func() { e.gw.SetGranted(0) }) // the portal has neither intent turned on
	eventually(t, "the bot connected without privileged intents", func() bool {
		return b.cfg.Status.Snapshot().State == platform.StateDegraded && e.gw.Connected()
	})
	ids := e.gw.Identifies()[before:]
	if len(ids) != 2 {
		t.Fatalf("%d identifies, want one refused with 4014 and one without privileged intents", len(ids))
	}
	if got, _ := identified(t, e.gw, before); got != int(intents) {
		t.Errorf("first IDENTIFY asked for intents %d, want %d", got, intents)
	}
	if got, _ := identified(t, e.gw, before+1); got != int(intents&^privileged) {
		t.Errorf("second IDENTIFY asked for intents %d, want %d (no privileged ones)", got, intents&^privileged)
	}

	// Slash commands still work.
	e.gw.Dispatch("GUILD_CREATE", map[string]any{"id": guild, "name": "Duck pond", "owner_id": "1", "roles": []any{
		map[string]any{"id": guild, "name": "@everyone", "permissions": "0"}}})
	e.command("hello", "Quack, slashed!")
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("720", 2, map[string]any{"id": "1", "name": "hello", "type": 1}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-720/messages/@original", "Quack, slashed!")

	// The health page says what is off and what to enable, and does not blame the token.
	// discordgo runs event handlers on their own goroutines: the guild may be
	// counted just after the interaction is answered.
	s := b.cfg.Status.Snapshot()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.Detail, "Connected: 1 guilds") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		s = b.cfg.Status.Snapshot()
	}
	var buf bytes.Buffer
	if err := views.Health(views.HealthPage{Bots: []views.BotRow{{Platform: s.Platform, State: s.State, Detail: s.Detail}}}).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	row := doc.Find(`[data-testid="bot-discord"]`)
	detail := row.Find(`[data-testid="bot-detail"]`).Text()
	for _, want := range []string{"Connected: 1 guilds", "slash commands", "! commands in messages", "member features",
		"Bot → Privileged Gateway Intents → Message Content Intent", "Server Members Intent"} {
		if !strings.Contains(detail, want) {
			t.Errorf("health detail %q does not say %q", detail, want)
		}
	}
	if strings.Contains(detail, "TOKEN") || strings.Contains(detail, "token") {
		t.Errorf("health detail %q blames the token", detail)
	}
	if st := row.Find(`[data-testid="bot-state"]`).Text(); st != platform.StateDegraded {
		t.Errorf("health state %q, want %q", st, platform.StateDegraded)
	}
}

func TestIdentifyBudgetHoldsOverRepeatedFailures(t *testing.T) {
	for _, redisOn := range []bool{false, true} {
		name := "memory"
		if redisOn {
			name = "redis"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, redisOn)
			// 60 left of 1000: the bot keeps 50 in reserve, so it may spend 10.
			b := e.takeOver(func() {
				e.gw.SetLimits(1000, 60, 3*time.Hour)
				e.gw.FailIdentify(4000) // every login fails at once
			}, func(c *Config) { c.RetryMin, c.RetryMax = time.Millisecond, 5*time.Millisecond })
			eventually(t, "the bot stopping for the budget", func() bool {
				s := b.cfg.Status.Snapshot()
				return s.State == platform.StateDegraded && strings.Contains(s.Detail, "IDENTIFY")
			})
			s := b.cfg.Status.Snapshot()
			retry := func(d time.Duration) bool {
				return strings.Contains(s.Detail, "will try again at "+time.Now().Add(d).UTC().Format("2006-01-02 15:04 UTC"))
			}
			if !strings.Contains(s.Detail, "only 50 of Discord's 1000 gateway logins") || !retry(3*time.Hour) && !retry(3*time.Hour-time.Minute) {
				t.Errorf("status %q does not say what is left and when it retries", s.Detail)
			}
			if left := e.gw.Remaining(); left != 50 {
				t.Errorf("%d session starts left, want the reserve of 50", left)
			}
			if e.gw.TokenReset() {
				t.Error("the budget was exceeded and the token reset")
			}
			if n := e.gw.TooSoon(); n != 0 {
				t.Errorf("%d identifies came too soon in their bucket", n)
			}
			if redisOn { // counted where every instance sees it
				n, err := e.base.Redis.Get(context.Background(), e.base.RedisPrefix+"discord:identify:"+appID+":count").Int()
				if err != nil || n < 10 {
					t.Errorf("Redis counted %d identifies (%v), want at least the 10 of this instance", n, err)
				}
			}
		})
	}
}

func TestRetryWaitIsCapped(t *testing.T) {
	b := &Bot{cfg: Config{RetryMin: time.Second, RetryMax: 10 * time.Minute}}
	for _, n := range []int{0, 3, 9, 10, 40, 1 << 20} {
		d := b.retryWait(n)
		if d > 10*time.Minute || d < 3*time.Second/4 {
			t.Errorf("retryWait(%d) = %v, want within 0.75s..10m", n, d)
		}
	}
	// At most 144 failed logins a day per shard, far from Discord's 1,000.
	if d := b.retryWait(30); d < 7*time.Minute {
		t.Errorf("retryWait(30) = %v, want near RetryMax", d)
	}
}

func TestShardsInOneBucketIdentifyAWindowApart(t *testing.T) {
	cases := []struct {
		name        string
		concurrency int
	}{{"one bucket", 1}, {"two buckets", 2}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const window = 400 * time.Millisecond
			e := newEnv(t, true, func(c *Config) { c.ShardCount = 2 })
			eventually(t, "both shards on the first instance", func() bool { return len(e.gw.Identifies()) >= 2 })
			b := e.takeOver(func() {
				e.gw.SetSharding(2, tc.concurrency)
				e.gw.SetWindow(window)
			}, func(c *Config) { c.ShardCount, c.IdentifyWindow = 2, window })
			eventually(t, "both shards connected", func() bool {
				st := b.cfg.Status.Snapshot()
				return st.State == platform.StateConnected && strings.Contains(st.Detail, "shards 0,1/2")
			})
			at := e.gw.IdentifyTimes()
			at = at[len(at)-2:]
			gap := at[1].Sub(at[0])
			if tc.concurrency == 1 && gap < window {
				t.Errorf("shards 0 and 1 identified %v apart in one bucket, want at least %v", gap, window)
			}
			if n := e.gw.TooSoon(); n != 0 {
				t.Errorf("%d identifies were refused as too soon", n)
			}
		})
	}
}

func TestInvalidSessionReconnectsOnANewConnection(t *testing.T) {
	t.Parallel()
	const wait = 200 * time.Millisecond
	e := newEnv(t, false)
	b := e.takeOver(func() {}, func(c *Config) { c.InvalidWait = wait })
	eventually(t, "b connected", func() bool { return b.cfg.Status.Snapshot().State == platform.StateConnected })
	n := len(e.gw.Identifies())
	at := time.Now()
	e.gw.Invalidate(false)
	eventually(t, "a new IDENTIFY", func() bool { return len(e.gw.Identifies()) == n+1 && e.gw.Connected() })
	times := e.gw.IdentifyTimes()
	if gap := times[len(times)-1].Sub(at); gap < wait {
		t.Errorf("identified again %v after op 9, want a wait of at least %v", gap, wait)
	}
	if k := e.gw.SameSocket(); k != 0 {
		t.Errorf("%d identifies sent on the socket that got op 9, want a new connection", k)
	}
	eventually(t, "the old connection closed", func() bool { return e.gw.Live() == 1 })
	if r := e.gw.Resumes(); len(r) != 0 {
		t.Errorf("resumed %v after op 9 d=false", r)
	}

	// d=true: the session is resumed, at resume_gateway_url, without a new IDENTIFY.
	n = len(e.gw.Identifies())
	e.gw.Invalidate(true)
	eventually(t, "a resume", func() bool { return len(e.gw.Resumes()) == 1 && e.gw.Connected() })
	if r := e.gw.Resumes()[0]; !r.AtResumeURL || !r.Accepted {
		t.Errorf("resume %+v, want accepted at resume_gateway_url", r)
	}
	if got := len(e.gw.Identifies()); got != n {
		t.Errorf("%d identifies after op 9 d=true, want none", got-n)
	}
}

func TestResumeGoesToResumeGatewayURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	n := len(e.gw.Identifies())
	e.gw.Drop(4000)
	eventually(t, "a resume", func() bool { return len(e.gw.Resumes()) == 1 && e.gw.Connected() })
	r := e.gw.Resumes()[0]
	if !r.AtResumeURL || !r.Accepted || r.SessionID == "" || r.Seq == 0 {
		t.Errorf("resume %+v, want an accepted resume of the session at resume_gateway_url", r)
	}
	if got := len(e.gw.Identifies()); got != n {
		t.Errorf("%d new identifies, want the session resumed", got-n)
	}
	// The resumed connection carries events.
	e.command("hello", "Quack after resume")
	e.gw.Dispatch("MESSAGE_CREATE", message("610", "42", "!hello"))
	e.waitBody("POST", "/channels/50/messages", "Quack after resume")
	eventually(t, "the status connected", func() bool { return e.bot.cfg.Status.Snapshot().State == platform.StateConnected })
}

func TestRevokedSessionIdentifiesAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, func(c *Config) { c.InvalidWait = time.Millisecond })
	n := len(e.gw.Identifies())
	e.gw.ExpireSessions()
	e.gw.Drop(4000)
	eventually(t, "a new IDENTIFY after the refused resume", func() bool { return len(e.gw.Identifies()) == n+1 && e.gw.Connected() })
	if r := e.gw.Resumes(); len(r) != 1 || r[0].Accepted {
		t.Errorf("resumes %+v, want one refused", r)
	}
}

func TestRefusedTokenIsNotRetriedInALoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	n := len(e.gw.Identifies())
	b := e.takeOver(func() { e.gw.FailIdentify(4004) }, func(c *Config) { c.RetryMin, c.RetryMax = time.Millisecond, time.Millisecond })
	eventually(t, "the status naming the token", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateDegraded && strings.Contains(s.Detail, "refused DISCORD_BOT_TOKEN (close 4004)")
	})
	if got := len(e.gw.Identifies()) - n; got != 1 {
		t.Errorf("%d identifies after 4004, want 1 (then an hour's wait)", got)
	}
}

func TestGatewayLookupRefusedSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	b := e.takeOver(func() {
		e.rest.SetOverride(func(w http.ResponseWriter, r discordtest.Request) bool {
			if r.Path != "/gateway/bot" {
				return false
			}
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"401: Unauthorized","code":0}`)
			return true
		})
	})
	eventually(t, "the status naming the token", func() bool {
		s := b.cfg.Status.Snapshot()
		return s.State == platform.StateReconnecting && strings.Contains(s.Detail, "Discord refused DISCORD_BOT_TOKEN (401)")
	})
}
