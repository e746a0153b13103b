// Package discord is Waddle's Discord bot: it holds gateway shards through
// leases, turns Discord traffic (messages, reactions, members, voice,
// boosts, slash commands, buttons and modals) into router events, and turns
// router responses back into messages, components and moderation calls.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// Config is what the bot needs; cmd/waddle builds it from the environment.
type Config struct {
	Router      *router.Router
	Settings    *router.Settings // lists the commands it registers as slash commands
	Redis       *redis.Client    // nil on one machine: interaction and voice state live in memory
	RedisPrefix string
	Links       *platform.Links
	Leases      *platform.Leases
	Status      *platform.Status
	Token       string // DISCORD_BOT_TOKEN, without the "Bot " prefix
	AppID       string // DISCORD_APP_ID
	APIURL      string // DISCORD_API_URL: replaces https://discord.com/api/v10/; "" = Discord
	GatewayURL  string // DISCORD_GATEWAY_URL: "" = ask the API
	ShardCount  int    // DISCORD_SHARD_COUNT; default 1
	Logger      *slog.Logger
	Tracer      trace.Tracer // spans of the sends to Discord; nil: none

	// Tunables; zero values are the production defaults.
	LeaseEvery      time.Duration    // default platform.LeaseRenewEvery
	LeaseTTL        time.Duration    // the ttl Leases was built with; default platform.LeaseTTL
	OpenTimeout     time.Duration    // how long a shard may take to connect and get READY; default 10s
	LinkEvery       time.Duration    // default platform.LinkPollEvery
	ComponentBudget time.Duration    // how long an interaction may be handled before it is deferred; default 1.5s
	InvalidLimit    int              // 401/403/429 answers per 10 minutes before sending pauses; default 1000
	Workers         int              // events handled at once; default 8
	Now             func() time.Time // clock for voice minutes; default time.Now
	IdentifyWindow  time.Duration    // one IDENTIFY per max_concurrency bucket per window; default 5s
	InvalidWait     time.Duration    // wait after an Invalid Session (op 9); default random 1–5s
	RetryMin        time.Duration    // first wait after a failed connection; default 1s
	RetryMax        time.Duration    // longest wait between failed connections; default 10m
	FatalWait       time.Duration    // wait after Discord refuses the token or shard; default 1h
}

// Bot is the Discord bot.
type Bot struct {
	cfg    Config
	log    *slog.Logger
	api    *discordgo.Session // REST only; never opened
	tr     *rewrite
	starts *identifyGate // when a shard may IDENTIFY
	limits *discordgo.RateLimiter
	queue  *platform.SendQueue
	store  *store
	bad    invalidCounter
	work   chan func(context.Context)
	ixs    chan struct{}  // one slot per interaction being handled
	ixWG   sync.WaitGroup // interactions being handled

	perm      perms                 // channels, threads and the bot's roles, for posting in threads
	slashWait map[string]slashRetry // guarded by mu: guild id → when to try registering its commands again

	mu       sync.Mutex
	self     string                     // the bot's user id, from READY
	shards   map[int]*discordgo.Session // open sessions, by shard
	runs     map[int]*shardRun          // runners of the shards held here
	trouble  map[int]*shardTrouble      // why a shard held here is not connected
	limited  bool                       // Discord refused the privileged intents (4014)
	guilds   map[string]*guildInfo      // guilds seen on this instance's shards
	linked   map[string]int64           // guild id → community id
	hashes   map[string]string          // guild id → hash of its registered commands
	degraded bool
	leaseErr bool // shard leases could not be renewed in time: shards closed
	stopping bool // Run is shutting down: no new interaction is taken
}

// guildInfo is what the bot keeps of a guild (discordgo's state cache is
// off: it dereferences malformed payloads without checks).
type guildInfo struct {
	name  string
	owner string
	perms map[string]int64 // role id → permission bits
}

// Intents the bot asks for; message content and guild members are privileged.
const intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentMessageContent |
	discordgo.IntentsGuildMessageReactions | discordgo.IntentsGuildMembers | discordgo.IntentsGuildVoiceStates

const shardPrefix = platform.DiscordShardLeases

// maxInteractions bounds the interactions handled at once, beside the workers.
const maxInteractions = 64

// New checks the configuration and returns a bot; Run starts it.
func New(cfg Config) (*Bot, error) {
	switch {
	case cfg.Router == nil || cfg.Settings == nil || cfg.Links == nil || cfg.Leases == nil || cfg.Status == nil:
		return nil, errors.New("discord: Router, Settings, Links, Leases and Status are required")
	case cfg.Token == "":
		return nil, errors.New("discord: DISCORD_BOT_TOKEN is not set")
	case cfg.AppID == "":
		return nil, errors.New("discord: DISCORD_APP_ID is not set")
	case cfg.ShardCount < 0 || cfg.ShardCount > 1000:
		return nil, fmt.Errorf("discord: DISCORD_SHARD_COUNT %d is out of range 1 to 1000", cfg.ShardCount)
	}
	if cfg.ShardCount == 0 {
		cfg.ShardCount = 1
	}
	cfg.Token = strings.TrimPrefix(cfg.Token, "Bot ")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseEvery <= 0 {
		cfg.LeaseEvery = platform.LeaseRenewEvery
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = platform.LeaseTTL
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = 10 * time.Second
	}
	if cfg.LinkEvery <= 0 {
		cfg.LinkEvery = platform.LinkPollEvery
	}
	if cfg.ComponentBudget <= 0 {
		cfg.ComponentBudget = 1500 * time.Millisecond
	}
	if cfg.InvalidLimit <= 0 {
		cfg.InvalidLimit = 1000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdentifyWindow <= 0 {
		cfg.IdentifyWindow = 5 * time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Minute
	}
	if cfg.FatalWait <= 0 {
		cfg.FatalWait = time.Hour
	}
	log := cfg.Logger.With("component", "discord")
	routeLibraryLogs(log)
	tr, err := newRewrite(cfg.APIURL, cfg.GatewayURL)
	if err != nil {
		return nil, err
	}
	b := &Bot{cfg: cfg, log: log, tr: tr, limits: discordgo.NewRatelimiter(), store: newStore(cfg.Redis, cfg.RedisPrefix),
		work: make(chan func(context.Context), 256), ixs: make(chan struct{}, maxInteractions), shards: map[int]*discordgo.Session{},
		runs: map[int]*shardRun{}, trouble: map[int]*shardTrouble{},
		guilds: map[string]*guildInfo{}, linked: map[string]int64{}, hashes: map[string]string{}}
	b.api = b.session()
	b.starts = &identifyGate{api: b.api, rdb: cfg.Redis, prefix: cfg.RedisPrefix + "discord:identify:" + cfg.AppID + ":", gateway: cfg.GatewayURL,
		window: cfg.IdentifyWindow, hold: cfg.IdentifyWindow + 2*cfg.OpenTimeout, now: time.Now,
		warn: func(msg string, err error) { log.Warn(msg, "err", err) }}
	b.queue = platform.NewSendQueue(platform.SendQueueConfig{Platform: router.Discord, Logger: log, Tracer: cfg.Tracer,
		// Discord allows 50 requests a second per bot and about 5 messages
		// per 5 seconds per channel; its headers refine both.
		Windows: func(ch string) []platform.Window {
			return []platform.Window{{Key: "account", N: 45, Per: time.Second}, {Key: "channel:" + ch, N: 5, Per: 5 * time.Second}}
		}})
	cfg.Status.Attach(b.queue)
	return b, nil
}

// session returns a discordgo session with the bot's settings.
func (b *Bot) session() *discordgo.Session {
	s, _ := discordgo.New("Bot " + b.cfg.Token) // New never fails
	s.Client.Transport = b.tr
	d := dialer{log: b.log, open: b.cfg.OpenTimeout}
	// No proxy: filterConn must see the websocket's own bytes.
	s.Dialer = &websocket.Dialer{HandshakeTimeout: b.cfg.OpenTimeout, NetDialContext: d.dial, NetDialTLSContext: d.dialTLS}
	s.Compress = false       // plain text frames, which filterConn checks
	s.Ratelimiter = b.limits // one REST budget for the bot account
	s.StateEnabled = false
	s.SyncEvents = true              // handlers enqueue to the bot's own workers
	s.ShouldRetryOnRateLimit = false // a 429 goes back to the send queue as RetryAfter
	s.LogLevel = discordgo.LogWarning
	s.Identify.Intents = intents
	return s
}

// Run connects the shards this instance holds and handles events until ctx
// ends; then it closes the shards, releases their leases, finishes the
// events already taken and drains sends.
func (b *Bot) Run(ctx context.Context) error {
	b.cfg.Status.Set(platform.StateStarting, "Connecting to Discord.")
	// The send queue outlives the workers, so what they still send goes out.
	octx, stopQueue := context.WithCancel(context.WithoutCancel(ctx))
	defer stopQueue()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		b.queue.Run(octx)
	}()
	var workers sync.WaitGroup
	for range b.cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			b.worker(ctx)
		}()
	}
	b.loop(ctx)
	b.mu.Lock()
	b.stopping = true
	b.mu.Unlock()
	b.closeShards()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	if err := b.cfg.Leases.Release(rctx, shardPrefix); err != nil {
		b.log.WarnContext(rctx, "release shard leases", "err", err)
	}
	cancel()
	workers.Wait()
	b.ixWG.Wait()
	stopQueue()
	<-sent
	b.cfg.Status.Set(platform.StateStopped, "The Discord bot is stopped.")
	return nil
}

// loop renews shard leases and polls links until ctx ends. When the leases
// cannot be renewed for LeaseTTL - 2*LeaseEvery (counted from the start of
// the last renewal that worked), it closes every shard before another
// instance may take them over.
func (b *Bot) loop(ctx context.Context) {
	ids := make([]string, b.cfg.ShardCount)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	leases := time.NewTicker(b.cfg.LeaseEvery)
	defer leases.Stop()
	links := time.NewTicker(b.cfg.LinkEvery)
	defer links.Stop()
	keep := b.cfg.LeaseTTL - 2*b.cfg.LeaseEvery
	if keep <= 0 {
		keep = b.cfg.LeaseTTL / 2
	}
	var renewed time.Time // start of the last renewal that worked
	renew := func() {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, keep/2)
		held, err := b.cfg.Leases.Sync(sctx, shardPrefix, ids)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.WarnContext(ctx, "renew shard leases", "err", err)
			if time.Since(renewed) > keep && b.setLeaseErr(true) {
				b.log.ErrorContext(ctx, "shard leases not renewed in time: closing every shard", "last_renewed", renewed)
				b.reshard(ctx, nil)
			}
			return
		}
		renewed = start
		b.setLeaseErr(false)
		b.reshard(ctx, held)
	}
	renew()
	b.pollLinks(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-leases.C:
			renew()
		case <-links.C:
			b.pollLinks(ctx)
		}
	}
}

// setLeaseErr records whether the shard leases are lost and reports whether
// that is news (always true when lost and shards are still open).
func (b *Bot) setLeaseErr(lost bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	news := b.leaseErr != lost || (lost && len(b.runs) > 0)
	b.leaseErr = lost
	return news
}

// reshard starts a runner for each shard this instance now holds and stops
// the runners of those it lost (closing their sessions). Runners connect on
// their own, so lease renewals never wait for Discord.
func (b *Bot) reshard(ctx context.Context, held []string) {
	want := map[int]bool{}
	for _, h := range held {
		if id, err := strconv.Atoi(h); err == nil && id >= 0 && id < b.cfg.ShardCount {
			want[id] = true
		}
	}
	b.mu.Lock()
	var lost []int
	for id := range b.runs {
		if !want[id] {
			lost = append(lost, id)
		}
	}
	b.mu.Unlock()
	for _, id := range lost {
		b.log.InfoContext(ctx, "shard lease lost: closing it", "shard", id)
	}
	b.stopRuns(lost)
	b.mu.Lock()
	for id := range want {
		if _, ok := b.runs[id]; ok || ctx.Err() != nil {
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &shardRun{cancel: cancel, done: make(chan struct{})}
		b.runs[id] = r
		go func() {
			defer close(r.done)
			b.runShard(rctx, id)
		}()
	}
	b.mu.Unlock()
	b.refreshStatus()
}

// stopRuns stops the runners of shards ids at once and waits for them; it
// forgets the guilds of those shards.
func (b *Bot) stopRuns(ids []int) {
	b.mu.Lock()
	var runs []*shardRun
	for _, id := range ids {
		if r := b.runs[id]; r != nil {
			runs = append(runs, r)
			r.cancel()
		}
		delete(b.runs, id)
	}
	b.mu.Unlock()
	for _, r := range runs {
		<-r.done
	}
	b.mu.Lock()
	for _, id := range ids {
		delete(b.shards, id)
		delete(b.trouble, id)
		for g := range b.guilds {
			if shardOf(g, b.cfg.ShardCount) == id {
				delete(b.guilds, g)
				delete(b.hashes, g)
			}
		}
	}
	b.mu.Unlock()
}

func (b *Bot) closeShards() {
	b.mu.Lock()
	ids := slices.Collect(maps.Keys(b.runs))
	b.mu.Unlock()
	b.stopRuns(ids)
}

// refreshStatus shows the guilds and shards this instance serves.
func (b *Bot) refreshStatus() {
	b.mu.Lock()
	ids := make([]int, 0, len(b.shards))
	for id := range b.shards {
		ids = append(ids, id)
	}
	var trouble *shardTrouble
	for _, id := range slices.Sorted(maps.Keys(b.trouble)) {
		if t := b.trouble[id]; trouble == nil || t.state == platform.StateDegraded && trouble.state != platform.StateDegraded {
			trouble = t
		}
	}
	n, degraded, leaseErr, limited, held := len(b.guilds), b.degraded, b.leaseErr, b.limited, len(b.runs)
	b.mu.Unlock()
	b.cfg.Status.SetServers(n)
	if degraded {
		return
	}
	if leaseErr {
		b.cfg.Status.Set(platform.StateReconnecting, "Cannot renew the Discord shard leases in the database: shards closed so that no two instances serve them; retrying.")
		return
	}
	if trouble != nil {
		b.cfg.Status.Set(trouble.state, trouble.why)
		return
	}
	if len(ids) == 0 {
		if held > 0 {
			b.cfg.Status.Set(platform.StateStarting, "Connecting to Discord.")
			return
		}
		b.cfg.Status.Set(platform.StateStarting, "Waiting for a Discord shard: another instance holds them all.")
		return
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	detail := fmt.Sprintf("Connected: %d guilds, shards %s/%d.", n, strings.Join(parts, ","), b.cfg.ShardCount)
	if limited {
		b.cfg.Status.Set(platform.StateDegraded, detail+" "+limitedDetail)
		return
	}
	b.cfg.Status.Set(platform.StateConnected, detail)
}

// worker handles queued events, each under platform.Guard.
func (b *Bot) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case fn := <-b.work:
			// An event already taken is finished even while shutting down.
			platform.Guard(context.WithoutCancel(ctx), b.log, platform.EventTimeout, fn)
		}
	}
}

// interact handles an interaction on its own goroutine, beside the workers:
// Discord drops an interaction not answered within 3 seconds, however busy
// the workers are.
func (b *Bot) interact(ctx context.Context, fn func(context.Context)) {
	select {
	case b.ixs <- struct{}{}:
	case <-ctx.Done():
		return
	}
	b.mu.Lock()
	if b.stopping {
		b.mu.Unlock()
		<-b.ixs
		return
	}
	b.ixWG.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.ixWG.Done()
		defer func() { <-b.ixs }()
		// Like a worker's event, an interaction taken is finished at shutdown.
		platform.Guard(context.WithoutCancel(ctx), b.log, platform.EventTimeout, fn)
	}()
}

// enqueue hands an event to the workers; it waits (holding back the gateway
// reader) while they are all busy.
func (b *Bot) enqueue(ctx context.Context, fn func(context.Context)) {
	select {
	case b.work <- fn:
	case <-ctx.Done():
	}
}

// handle runs an event through the router; events from unlinked guilds are ignored.
func (b *Bot) handle(ctx context.Context, ev router.Event) (router.Result, bool) {
	ev.Platform = router.Discord
	if ev.Time.IsZero() {
		ev.Time = b.cfg.Now()
	}
	if err := ev.Validate(); err != nil {
		b.log.DebugContext(ctx, "event dropped: invalid", "err", err, "kind", ev.Kind)
		return router.Result{}, false
	}
	dedup := ev.Kind != router.ChatMessage && ev.Kind != router.Reaction
	res, err := b.cfg.Router.Handle(ctx, ev, router.Options{Dedup: dedup})
	if errors.Is(err, router.ErrNotLinked) {
		b.log.DebugContext(ctx, "event from a guild no community linked", "guild", ev.Server, "kind", ev.Kind)
		return res, false
	}
	if err != nil {
		b.log.ErrorContext(ctx, "handle event", "err", err, "kind", ev.Kind, "guild", ev.Server)
		return res, false
	}
	return res, true
}
