// Package health reports the state of the services Waddle depends on, for
// /readyz and the hub's service health page.
package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/platform"
)

// States of a component.
const (
	OK       = "ok"
	Degraded = "degraded" // working with a fallback
	Down     = "down"
	Off      = "off"      // not configured
	Starting = "starting" // a bot connecting for the first time, within StartGrace
)

// Check is one component's state.
type Check struct {
	Name   string
	State  string
	Detail string
}

// Fallback is a component that can run without Redis and says when it does.
type Fallback interface {
	Degraded() bool
}

// Checker checks the configured components.
type Checker struct {
	Primary           *pgxpool.Pool
	Replica           *pgxpool.Pool // nil: none configured
	Redis             *redis.Client // nil: none configured
	Breaker           *RedisBreaker // on Redis; nil: none
	Fallbacks         []Fallback
	MailMode          string                // "smtp host:port" or "log"
	Jobs              *river.Client[pgx.Tx] // nil: not shown
	EventSub          bool                  // TWITCH_EVENTSUB_SECRET is set
	EventSubTransport string                // the Twitch bot's EventSub transport: "webhook", "websocket", or "" (off)
	Slack             bool                  // SLACK_SIGNING_SECRET is set
	Bots              []*platform.Status    // one per platform, off ones included
	Leases            *platform.Leases      // who serves which Twitch channel and Discord shard; nil: not shown
}

// LeaseHolder is one Twitch channel or Discord shard and the instance serving it.
type LeaseHolder struct {
	Platform, Name, Holder string
	Expires                time.Time
}

// LeaseHolders lists which instance serves each Twitch channel and Discord shard.
func (c Checker) LeaseHolders(ctx context.Context) ([]LeaseHolder, error) {
	if c.Leases == nil {
		return nil, nil
	}
	var out []LeaseHolder
	for _, p := range []struct{ platform, prefix string }{{"twitch", platform.TwitchChannelLeases}, {"discord", platform.DiscordShardLeases}} {
		hs, err := c.Leases.Holders(ctx, p.prefix)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			out = append(out, LeaseHolder{Platform: p.platform, Name: h.Name, Holder: h.Holder, Expires: h.Expires})
		}
	}
	return out, nil
}

// BotStates returns each platform bot's state and send queue.
func (c Checker) BotStates() []platform.BotStatus {
	out := make([]platform.BotStatus, 0, len(c.Bots))
	for _, b := range c.Bots {
		out = append(out, b.Snapshot())
	}
	return out
}

// Ready reports whether this instance can serve: PostgreSQL (and the
// replica) answer. Redis does not decide it: without Redis the instance runs
// on fallbacks, and taking every instance out of the balancer because the
// Redis they share is down would turn a slower service into an outage. The
// notes say how Redis is, and what runs on a fallback.
func (c Checker) Ready(ctx context.Context) (notes []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := db.New(c.Primary).Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgresql: %w", err)
	}
	if c.Replica != nil {
		if _, err := db.New(c.Replica).Ping(ctx); err != nil {
			return nil, fmt.Errorf("postgresql replica: %w", err)
		}
	}
	if c.Redis != nil {
		rc := c.redisCheck(ctx)
		notes = append(notes, "redis: "+rc.State+": "+rc.Detail)
	}
	return notes, nil
}

// All checks every component but the chat bots (see BotChecks), for the health page.
func (c Checker) All(ctx context.Context) []Check {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out := []Check{pgCheck(ctx, "PostgreSQL (primary)", c.Primary)}
	if c.Replica != nil {
		out = append(out, pgCheck(ctx, "PostgreSQL (read replica)", c.Replica))
	} else {
		out = append(out, Check{Name: "PostgreSQL (read replica)", State: Off, Detail: "DATABASE_READ_URL not set: lookups use the primary"})
	}
	out = append(out, c.redisCheck(ctx))
	mail := Check{Name: "Mail", State: OK, Detail: "sending through " + c.MailMode}
	if c.MailMode == "log" {
		mail = Check{Name: "Mail", State: Off, Detail: "SMTP_URL not set: mail is written to the log"}
	}
	out = append(out, mail)
	if c.Jobs != nil {
		out = append(out, c.jobsCheck(ctx))
	}
	if c.EventSubTransport == "websocket" {
		out = append(out, Check{Name: "Twitch EventSub", State: OK, Detail: "over WebSocket (TWITCH_EVENTSUB_TRANSPORT=websocket, or BASE_URL is not public https on port 443): " +
			"the instance serving each channel connects to Twitch for it; the Twitch bot's row says which channels are subscribed"})
	} else {
		out = append(out, webhookCheck("Twitch EventSub webhook", c.EventSub, "TWITCH_EVENTSUB_SECRET", "/webhooks/twitch/eventsub"))
	}
	out = append(out, webhookCheck("Slack Events API webhook", c.Slack, "SLACK_SIGNING_SECRET", "/webhooks/slack/events"))
	return out
}

// TwitchTokens sums up the last validation of the stored Twitch user tokens
// (the bot account's and each linked channel's), naming the channels whose
// token Twitch no longer accepts or lacks scopes, for the hub's admins; ok
// is false when none is stored.
func (c Checker) TwitchTokens(ctx context.Context) (check Check, ok bool) {
	const name = "Twitch tokens"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rows, err := db.New(c.Primary).TokenCheckList(ctx, "twitch")
	if err != nil {
		return Check{Name: name, State: Down, Detail: "could not be read: " + err.Error()}, true
	}
	if len(rows) == 0 {
		return Check{}, false
	}
	var problems []string
	var last time.Time
	unchecked := 0
	for _, r := range rows {
		who := "channel " + r.Subject
		fix := "its owner must reconnect it on the community's linked servers page (Reconnect)"
		if r.Subject == platform.BotSubject {
			who, fix = "the bot account", "connect the bot account again below"
			if r.AccountLogin != "" {
				who = "the bot account " + r.AccountLogin
			}
		}
		switch {
		case r.NeedsReconnect != "":
			problems = append(problems, fmt.Sprintf("Twitch no longer accepts the token of %s, so the bot stops using it: %s. %s", who, fix, r.NeedsReconnect))
		case len(r.MissingScopes) > 0:
			problems = append(problems, fmt.Sprintf("The token of %s lacks %s: %s to grant it.", who, strings.Join(r.MissingScopes, ", "), fix))
		}
		if r.ValidatedAt == nil {
			unchecked++
		} else if r.ValidatedAt.After(last) {
			last = *r.ValidatedAt
		}
	}
	if len(problems) > 0 {
		return Check{Name: name, State: Degraded, Detail: strings.Join(problems, " ")}, true
	}
	detail := fmt.Sprintf("%d stored, accepted by Twitch", len(rows))
	if !last.IsZero() {
		detail += " at the last validation, " + last.UTC().Format("2006-01-02 15:04 UTC")
	}
	if unchecked > 0 {
		detail += fmt.Sprintf("; %d not validated yet (the bot validates each on start and hourly)", unchecked)
	}
	return Check{Name: name, State: OK, Detail: detail}, true
}

// StartGrace is how long a bot may say it is starting before the health
// page counts it as a problem.
const StartGrace = 2 * time.Minute

// Bot is one platform bot as the health page shows it: one state, taken
// from the bot's own status alone, and the bot's sentence saying why.
type Bot struct {
	Check   // Name ("Twitch bot"), State (OK, Degraded, Down, Off) and Detail
	Status  platform.BotStatus
	Problem bool // the bot needs attention: counted in the page's summary
}

// BotChecks sums up each platform bot's state at now.
func (c Checker) BotChecks(now time.Time) []Bot {
	out := make([]Bot, 0, len(c.Bots))
	for _, b := range c.BotStates() {
		out = append(out, botCheck(b, now))
	}
	return out
}

// botCheck maps a bot's own state to a health state: connected is ok;
// reconnecting and stopped are down; degraded, and starting for longer
// than StartGrace, need attention.
func botCheck(b platform.BotStatus, now time.Time) Bot {
	name := map[string]string{"twitch": "Twitch bot", "discord": "Discord bot", "slack": "Slack bot"}[b.Platform]
	if name == "" {
		name = b.Platform + " bot"
	}
	out := Bot{Check: Check{Name: name, State: Degraded, Detail: b.Detail}, Status: b}
	switch b.State {
	case platform.StateConnected:
		out.State = OK
	case platform.StateOff:
		out.State = Off
	case platform.StateStopped, platform.StateReconnecting:
		out.State = Down
	case platform.StateStarting:
		if waited := now.Sub(b.Since); waited >= StartGrace {
			out.Detail = fmt.Sprintf("Still connecting after %s: %s", waited.Round(time.Minute), b.Detail)
		} else {
			out.State = Starting
		}
	}
	out.Problem = IsProblem(out.State)
	return out
}

// IsProblem reports whether a component in state needs attention.
func IsProblem(state string) bool { return state == Degraded || state == Down }

func pgCheck(ctx context.Context, name string, pool *pgxpool.Pool) Check {
	start := time.Now()
	if _, err := db.New(pool).Ping(ctx); err != nil {
		return Check{Name: name, State: Down, Detail: err.Error()}
	}
	st := pool.Stat()
	return Check{Name: name, State: OK, Detail: fmt.Sprintf("answered in %s; %d of %d connections in use",
		time.Since(start).Round(time.Millisecond/10), st.AcquiredConns(), st.MaxConns())}
}

// RedisFallbacks says what runs on a fallback while Redis is down.
const RedisFallbacks = "sessions in PostgreSQL, rate limits in each instance's memory, overlay updates and cache invalidation reach this instance only"

func (c Checker) redisCheck(ctx context.Context) Check {
	if c.Redis == nil {
		return Check{Name: "Redis", State: Off, Detail: "REDIS_URL not set: sessions in PostgreSQL, rate limits in memory (one instance only)"}
	}
	var st RedisState
	if c.Breaker != nil {
		st = c.Breaker.State()
	}
	if st.Down {
		return Check{Name: "Redis", State: Down, Detail: fmt.Sprintf("down since %s (%s): %s. Not dialed while down, probed every %s. Running on fallbacks: %s",
			st.Since.UTC().Format("2006-01-02 15:04:05 UTC"), time.Since(st.Since).Round(time.Second), st.Cause, c.Breaker.ProbeEvery(), RedisFallbacks)}
	}
	back := ""
	if !st.Since.IsZero() {
		back = fmt.Sprintf("; back since %s after %s down", st.Since.UTC().Format("2006-01-02 15:04:05 UTC"), st.DownFor.Round(time.Second))
	}
	start := time.Now()
	if err := c.Redis.Ping(ctx).Err(); err != nil {
		return Check{Name: "Redis", State: Down, Detail: "unreachable, running on fallbacks (" + RedisFallbacks + "): " + err.Error()}
	}
	for _, f := range c.Fallbacks {
		if f.Degraded() {
			return Check{Name: "Redis", State: Degraded, Detail: "answering again, but the last call failed: some state is in the fallback" + back}
		}
	}
	return Check{Name: "Redis", State: OK, Detail: fmt.Sprintf("answered in %s%s", time.Since(start).Round(time.Millisecond/10), back)}
}

// Migrations lists the schema migrations and whether each is applied.
func (c Checker) Migrations(ctx context.Context) ([]db.MigrationState, error) {
	return db.MigrationStatus(ctx, c.Primary)
}

// jobsCheck reports work waiting in the job queue: retries mean a dependency
// (an SMTP server, say) is failing.
func (c Checker) jobsCheck(ctx context.Context) Check {
	const max = 100
	count := func(states ...rivertype.JobState) (string, error) {
		res, err := c.Jobs.JobList(ctx, river.NewJobListParams().States(states...).First(max))
		if err != nil {
			return "", err
		}
		if len(res.Jobs) == max {
			return fmt.Sprintf("%d+", max), nil
		}
		return fmt.Sprint(len(res.Jobs)), nil
	}
	waiting, err := count(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning)
	if err != nil {
		return Check{Name: "Job queue", State: Down, Detail: err.Error()}
	}
	retrying, err := count(rivertype.JobStateRetryable)
	if err != nil {
		return Check{Name: "Job queue", State: Down, Detail: err.Error()}
	}
	detail := fmt.Sprintf("%s waiting or running, %s waiting to retry after a failure", waiting, retrying)
	if retrying != "0" {
		return Check{Name: "Job queue", State: Degraded, Detail: detail + " (see the log for why)"}
	}
	return Check{Name: "Job queue", State: OK, Detail: detail}
}

func webhookCheck(name string, on bool, env, path string) Check {
	if !on {
		return Check{Name: name, State: Off, Detail: env + " not set: " + path + " answers 404"}
	}
	return Check{Name: name, State: OK, Detail: "receiving at " + path}
}

// Revocation is a platform's notice that one of its subscriptions was revoked.
type Revocation struct {
	Platform, Subscription, Kind, Reason, Server string
	At                                           time.Time
}

// Revocations lists the latest revocation notices, newest first.
func (c Checker) Revocations(ctx context.Context, n int) ([]Revocation, error) {
	rows, err := db.New(c.Primary).RevocationList(ctx, int32(n))
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	out := make([]Revocation, 0, len(rows))
	for _, r := range rows {
		out = append(out, Revocation{Platform: r.Platform, Subscription: r.Subscription, Kind: r.Kind, Reason: r.Reason, Server: r.Server, At: r.ReceivedAt})
	}
	return out, nil
}
