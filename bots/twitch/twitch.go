// Package twitch is Waddle's Twitch adapter: in the linked channels this
// instance holds the lease of, it reads chat over EventSub
// (channel.chat.message) and sends it through Helix where the bot account
// and the broadcaster granted that, and over IRC elsewhere; it turns
// messages into router events and carries the router's responses back as
// chat messages, whispers and Helix moderation calls. It also receives the
// channels' EventSub events: on the webhook transport it keeps their webhook
// subscriptions in place (webhook.go receives them); on the WebSocket
// transport it keeps one EventSub WebSocket per held channel (websocket.go)
// and one of the bot account for chat (chat_websocket.go). All store what
// arrives through EventSub.Dispatch.
package twitch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	irc "github.com/gempir/go-twitch-irc/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// Platform is the router's name for Twitch.
const Platform = router.Twitch

// leasePrefix names the channel leases.
const leasePrefix = platform.TwitchChannelLeases

// DefaultIRCAddr is Twitch chat over TLS.
const DefaultIRCAddr = "irc.chat.twitch.tv:6697"

// Config is what the Twitch bot needs.
type Config struct {
	Router         *router.Router
	Tokens         *platform.Tokens
	Links          *platform.Links
	Leases         *platform.Leases
	Status         *platform.Status
	OAuth          *OAuth
	BotLogin       string    // TWITCH_BOT_LOGIN: the account that chats; "" takes the stored bot token's login
	EventSubSecret string    // TWITCH_EVENTSUB_SECRET; "": no EventSub webhook subscriptions
	CallbackURL    string    // BASE_URL + "/webhooks/twitch/eventsub"; "": no EventSub webhook subscriptions
	Transport      string    // TWITCH_EVENTSUB_TRANSPORT: TransportWebhook ("" too) or TransportWebSocket
	EventSubWSURL  string    // the EventSub WebSocket server; "" is DefaultEventSubWSURL
	EventSub       *EventSub // stores what arrives over the WebSocket, as the webhook does; required for TransportWebSocket
	IRCAddr        string    // TWITCH_IRC_ADDR: "host:port" or "ircs://host:port" (TLS), "irc://host:port" (plain); "" is DefaultIRCAddr
	APIURL         string    // TWITCH_API_URL; "" takes OAuth's
	// ChatTransport is TWITCH_CHAT_TRANSPORT: TransportEventSub (also "")
	// reads a channel's chat over EventSub and sends through Helix once the
	// bot account and the broadcaster granted the chat scopes, and uses IRC
	// until then; TransportIRC uses IRC everywhere.
	ChatTransport string
	Logger        *slog.Logger
	Tracer        trace.Tracer // spans of the sends to Twitch; nil: none

	SyncEvery          time.Duration // links and leases poll; 0 is platform.LeaseRenewEvery
	SubscriptionsEvery time.Duration // EventSub check of every held channel; 0 is 10 minutes
	DrainTimeout       time.Duration // how long shutdown keeps sending queued messages; 0 is 5 s
	LeaseTTL           time.Duration // the TTL Leases was made with; 0 is platform.LeaseTTL

	ValidateEvery    time.Duration             // how often stored user tokens are validated; 0 is DefaultValidateEvery
	Whispers         *platform.RecipientBudget // whisper recipients per day of the bot account; nil: not counted
	ReconnectBackoff time.Duration             // first wait before an EventSub WebSocket session is started again; 0 is 1 s
	ViewersEvery     time.Duration             // how often viewer tracking looks at the held channels (viewers.go); 0 is a minute, negative is never
}

// Bot is the Twitch bot of one instance.
type Bot struct {
	cfg   Config
	log   *slog.Logger
	irc   ircTarget
	api   string
	queue *platform.SendQueue
	helix *helix

	kick     chan struct{}   // a channel was gained or unlinked: check its EventSub subscriptions
	chatKick chan struct{}   // the held channels changed: update the bot's EventSub WebSocket chat subscriptions
	unlinked map[string]bool // channels unlinked while held here, their subscriptions to delete (under mu)
	// chatSessionMax is how many channels the bot's EventSub WebSocket
	// chat session reads: maxChatSessionSubs, less in tests.
	chatSessionMax int

	mu          sync.Mutex
	client      *irc.Client // the current IRC session
	sessionSeq  int         // the relay's current connection
	up          bool        // the session got its welcome and is not known lost
	everUp      bool
	dialErr     string   // why Twitch chat cannot be reached, as a sentence; "" once connected
	anonymous   bool     // reading without a bot account
	botRefused  bool     // the stored bot token needs reconnecting
	refused     string   // the bot access token IRC refused; a different stored one restarts the session
	login       string   // the bot account's login
	botID       string   // its user id
	held        []string // channels whose lease this instance holds, sorted
	holdSet     map[string]bool
	joined      map[string]bool   // channels joined on the current session
	modIn       map[string]bool   // channels where the bot is moderator or broadcaster
	modNo       map[string]bool   // channels where Twitch said the bot is not a moderator
	viaEventSub map[string]bool   // held channels whose chat goes over EventSub and Helix, not IRC
	ircWhy      map[string]string // why a held channel's chat is not over EventSub
	roomIDs     map[string]string
	warned      bool      // "replies can't be sent" was logged
	subsNote    string    // why the state is degraded although chat works
	leaseUntil  time.Time // the held channels are served until then unless their leases are renewed
	workers     map[string]*worker
	workersWG   sync.WaitGroup
	stopping    bool
	relayAddr   string             // the IRC relay's loopback address
	wsStates    map[string]wsState // the held channels' EventSub WebSockets

	handleEvent func(ctx context.Context, ev router.Event) // handle; tests replace it

	checkKick chan struct{} // a channel was gained: validate its token
}

type ircTarget struct {
	addr string
	tls  bool
}

func parseIRCAddr(s string) (ircTarget, error) {
	if s == "" {
		return ircTarget{addr: DefaultIRCAddr, tls: true}, nil
	}
	t := ircTarget{tls: true}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return t, fmt.Errorf("TWITCH_IRC_ADDR %q: %w", s, err)
		}
		switch u.Scheme {
		case "irc":
			t.tls = false
		case "ircs":
		default:
			return t, fmt.Errorf("TWITCH_IRC_ADDR %q: the scheme is irc:// (plain) or ircs:// (TLS)", s)
		}
		s = u.Host
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return t, fmt.Errorf("TWITCH_IRC_ADDR %q: want host:port: %w", s, err)
	}
	t.addr = s
	return t, nil
}

// New checks cfg and returns a bot; Run starts it.
func New(cfg Config) (*Bot, error) {
	switch {
	case cfg.Router == nil:
		return nil, errors.New("twitch: Config.Router is required")
	case cfg.Tokens == nil:
		return nil, errors.New("twitch: Config.Tokens is required")
	case cfg.Links == nil:
		return nil, errors.New("twitch: Config.Links is required")
	case cfg.Leases == nil:
		return nil, errors.New("twitch: Config.Leases is required")
	case cfg.Status == nil:
		return nil, errors.New("twitch: Config.Status is required")
	case cfg.OAuth == nil:
		return nil, errors.New("twitch: Config.OAuth is required (TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET)")
	}
	target, err := parseIRCAddr(cfg.IRCAddr)
	if err != nil {
		return nil, err
	}
	if cfg.ChatTransport, err = ParseChatTransport(cfg.ChatTransport); err != nil {
		return nil, fmt.Errorf("twitch: %w", err)
	}
	if cfg.CallbackURL != "" {
		u, err := url.Parse(cfg.CallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("twitch: the EventSub callback %q is not an http(s) URL: check BASE_URL", cfg.CallbackURL)
		}
	}
	switch cfg.Transport {
	case "", TransportWebhook:
		cfg.Transport = TransportWebhook
	case TransportWebSocket:
		if cfg.EventSub == nil {
			return nil, errors.New("twitch: Config.EventSub is required for the websocket transport")
		}
	default:
		return nil, fmt.Errorf("twitch: TWITCH_EVENTSUB_TRANSPORT %q: want webhook or websocket", cfg.Transport)
	}
	if cfg.EventSubWSURL == "" {
		cfg.EventSubWSURL = DefaultEventSubWSURL
	}
	if u, err := url.Parse(cfg.EventSubWSURL); err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
		return nil, fmt.Errorf("twitch: the EventSub WebSocket URL %q is not a ws(s):// URL", cfg.EventSubWSURL)
	}
	if cfg.ReconnectBackoff <= 0 {
		cfg.ReconnectBackoff = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = platform.LeaseRenewEvery
	}
	if cfg.SubscriptionsEvery <= 0 {
		cfg.SubscriptionsEvery = 10 * time.Minute
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 5 * time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = platform.LeaseTTL
	}
	if cfg.ValidateEvery <= 0 {
		cfg.ValidateEvery = DefaultValidateEvery
	}
	if cfg.ViewersEvery == 0 {
		cfg.ViewersEvery = time.Minute
	}
	api := cfg.APIURL
	if api == "" {
		api = cfg.OAuth.API()
	}
	b := &Bot{
		cfg: cfg, log: cfg.Logger.With("component", "twitch"), irc: target, api: strings.TrimSuffix(api, "/"),
		kick: make(chan struct{}, 1), chatKick: make(chan struct{}, 1), chatSessionMax: maxChatSessionSubs, checkKick: make(chan struct{}, 1), login: strings.ToLower(cfg.BotLogin),
		holdSet: map[string]bool{}, unlinked: map[string]bool{}, joined: map[string]bool{}, modIn: map[string]bool{}, roomIDs: map[string]string{},
		modNo: map[string]bool{}, viaEventSub: map[string]bool{}, ircWhy: map[string]string{}, workers: map[string]*worker{}, wsStates: map[string]wsState{},
	}
	b.handleEvent = b.handle
	b.helix = newHelix(b)
	b.queue = platform.NewSendQueue(platform.SendQueueConfig{
		Platform: Platform, Windows: b.windows, DrainTimeout: cfg.DrainTimeout, MaxAttempts: 10, Logger: b.log, Tracer: cfg.Tracer,
	})
	return b, nil
}

// SendQueue returns the bot's send queue (its counters are on the health page).
func (b *Bot) SendQueue() *platform.SendQueue { return b.queue }

// Run connects to chat and serves the held channels until ctx ends; then it
// sends what is queued (for up to DrainTimeout), leaves chat and releases
// its channel leases so another instance takes them over at once.
func (b *Bot) Run(ctx context.Context) error {
	st := b.cfg.Status
	st.Set(platform.StateStarting, "Connecting to Twitch chat.")
	st.Attach(b.queue)

	rl, err := newRelay(b.irc, b.log, b.relayAccepted, b.relayLost)
	if err != nil {
		st.Set(platform.StateStopped, "Could not start: "+err.Error())
		return fmt.Errorf("twitch: %w", err)
	}
	rl.dialFailed = b.relayDialFailed
	b.mu.Lock()
	b.relayAddr = rl.addr()
	b.mu.Unlock()
	// Chat and the send queue outlive ctx: the workers finish the messages they
	// took, and their replies are sent, before the session ends.
	chatCtx, stopChat := context.WithCancel(context.WithoutCancel(ctx))
	defer stopChat()
	queueCtx, stopQueue := context.WithCancel(context.WithoutCancel(ctx))
	defer stopQueue()

	var chatWG, wg sync.WaitGroup
	chatWG.Add(2)
	go func() {
		defer chatWG.Done()
		rl.serve(chatCtx)
	}()
	go func() {
		defer chatWG.Done()
		b.chat(chatCtx, ctx, rl)
	}()
	queueDone := make(chan struct{})
	go func() {
		defer close(queueDone)
		b.queue.Run(queueCtx)
	}()
	wg.Add(4)
	go func() {
		defer wg.Done()
		b.syncLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		b.tokensLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		b.leaseWatch(ctx)
	}()
	go func() {
		defer wg.Done()
		if b.cfg.Transport == TransportWebSocket {
			b.eventSubWS(ctx)
		} else {
			b.subscriptionsLoop(ctx)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.viewersLoop(ctx)
	}()

	<-ctx.Done()
	wg.Wait()
	b.mu.Lock()
	b.stopping = true // no new workers
	b.mu.Unlock()
	b.workersWG.Wait()
	stopQueue() // the drain starts once nothing more can be queued
	<-queueDone
	b.flushChat(rl)
	stopChat()
	rl.close()
	chatWG.Wait()

	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.cfg.Leases.Release(relCtx, leasePrefix); err != nil {
		b.log.WarnContext(relCtx, "could not release the channel leases; other instances take them over when they expire", "err", err)
	}
	st.SetServers(0)
	st.Set(platform.StateStopped, "Stopped.")
	return nil
}

// flushChat waits, for up to a second, until the session passed on to
// Twitch what the bot said.
func (b *Bot) flushChat(rl *relay) {
	b.mu.Lock()
	c, up, anon := b.client, b.up, b.anonymous
	b.mu.Unlock()
	if c == nil || !up || anon {
		return
	}
	flushed := rl.expectFlush()
	c.Say(rl.flushTo, "")
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-flushed:
	case <-t.C:
		b.log.Warn("chat lines said at shutdown may not have reached Twitch")
	}
}

// windows are the chat budgets a send on an send queue channel spends: chat
// messages in channel "#login", Helix calls in "helix:login" (the API has its
// own limits, answered with 429), whispers in "whisper". Twitch counts all of
// the account's chat messages in one 30-second window, which holds 100 when
// the message goes to a channel the bot moderates and 20 otherwise.
func (b *Bot) windows(ch string) []platform.Window {
	switch {
	case strings.HasPrefix(ch, "helix:"):
		return nil
	case ch == "whisper":
		return []platform.Window{{Key: "whisper", N: 3, Per: time.Second}, {Key: "whisper-minute", N: 100, Per: time.Minute}}
	}
	login := strings.TrimPrefix(ch, "#")
	b.mu.Lock()
	mod := b.modIn[login] || (login == b.login && b.login != "")
	b.mu.Unlock()
	if mod {
		return []platform.Window{{Key: "account", N: 100, Per: 30 * time.Second}}
	}
	return []platform.Window{{Key: "account", N: 20, Per: 30 * time.Second}, {Key: "channel:" + login, N: 1, Per: time.Second}}
}

// setStatus shows the bot's state to admins.
func (b *Bot) setStatus() {
	b.mu.Lock()
	up, ever, anon, n, login, subs, refused := b.up, b.everUp, b.anonymous, len(b.held), b.login, b.subsNote, b.botRefused
	dialErr := b.dialErr
	chans := b.chatChannelsLocked()
	ws := b.wsSummaryLocked() // the EventSub WebSocket sessions, after the chat sentence
	b.mu.Unlock()
	st := b.cfg.Status
	st.SetServers(n)
	st.SetChannels(chans)
	set := func(state, detail string) {
		if ws != "" {
			detail += " " + ws
		}
		st.Set(state, detail)
	}
	switch {
	case !up && dialErr != "":
		set(platform.StateReconnecting, dialErr)
	case !up && !ever:
		set(platform.StateStarting, "Connecting to Twitch chat.")
	case !up:
		set(platform.StateReconnecting, "Lost the connection to Twitch chat: reconnecting.")
	case anon && refused:
		set(platform.StateDegraded, fmt.Sprintf("Reading %s anonymously: Twitch no longer accepts the bot account's token (revoked, or its password changed), so the bot cannot reply. Connect the bot account again on the health page.", channels(n)))
	case anon:
		set(platform.StateDegraded, fmt.Sprintf("Reading %s anonymously: the bot account is not connected, so the bot cannot reply. Connect the bot account on the health page.", channels(n)))
	case subs != "":
		set(platform.StateDegraded, fmt.Sprintf("Connected to %s as %s. %s", channels(n), login, subs))
	default:
		set(platform.StateConnected, fmt.Sprintf("Connected to %s as %s.", channels(n), login))
	}
}

func channels(n int) string {
	if n == 1 {
		return "1 channel"
	}
	return fmt.Sprintf("%d channels", n)
}
