// Package slackbot is Waddle's Slack adapter, and the only package that
// imports slack-go: it receives Slack traffic over HTTP (the Events API,
// slash commands and interactivity, verified and committed with their job
// before the answer) and over Socket Mode, processes each stored delivery in
// a job that hands it to the router (and those with a trigger id also in a
// prompt lane that opens their modals at once), sends the router's
// responses back through Slack's Web API, response URLs and modals, and
// installs the app into workspaces with OAuth, refreshing the tokens of
// installs with token rotation on.
package slackbot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.opentelemetry.io/otel/trace"

	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/runes"
)

// EventsPath is where the hub receives the Events API.
const EventsPath = "/webhooks/slack/events"

// Config is what the Slack bot needs.
type Config struct {
	Deliveries *platform.Deliveries // stores Socket Mode deliveries with their jobs
	Prompts    *Prompts             // where Socket Mode deliveries with a trigger id go at once (Worker.RunPrompts)
	Tokens     *platform.Tokens     // per-workspace bot tokens from OAuth installs
	OAuth      *OAuth               // refreshes the tokens of installs with token rotation on; nil: used until they expire
	Links      *platform.Links
	Status     *platform.Status
	BotToken   string // SLACK_BOT_TOKEN: the token of a single-workspace install
	AppToken   string // SLACK_APP_TOKEN: turns Socket Mode on
	APIURL     string // SLACK_API_URL: "" is Slack's
	Logger     *slog.Logger
	Tracer     trace.Tracer // spans of the sends to Slack; nil: none
}

// Bot is the Slack adapter of one Slack app.
type Bot struct {
	cfg       Config
	logger    *slog.Logger
	libLog    slackLogger
	apiURL    string
	hooks     *url.URL // the host response URLs must be on besides Slack's (a test API's)
	http      *http.Client
	queue     *platform.SendQueue
	inbox     *Inbox
	users     *userCache
	sent      *flights      // the calls made for recent responses, for retries
	replyURLs *responseURLs // posts made to each response URL

	mu       sync.Mutex
	clients  map[string]*slack.Client // by token
	socket   string                   // Socket Mode state; "" without Socket Mode
	detail   string
	linked   int    // linked workspaces at the last check
	degraded string // why the bot needs an admin; "" when it does not
	// SLACK_BOT_TOKEN, checked with auth.test: its workspace, or why Slack refused it.
	botTeam, botRefused string
	botUnchecked        string // why auth.test could not check SLACK_BOT_TOKEN; "" once checked
	// Workspaces whose refresh token Slack refused, with its hash: not
	// tried again; the app must be installed again.
	refused map[string][32]byte

	refreshMu  sync.Mutex
	refreshers map[string]*sync.Mutex // one refresh per workspace at a time here (the row lock, across instances)
}

// refreshBefore is how long before its expiry a rotating token (Slack: 12
// hours) is refreshed; the link check every platform.LinkPollEvery refreshes
// the tokens of quiet workspaces too.
const refreshBefore = time.Hour

// Sending budget: Slack allows about one message a second per channel.
const (
	perChannel   = time.Second
	sendAttempts = 5
)

// New returns a bot; Run starts it.
func New(cfg Config) (*Bot, error) {
	if cfg.Status == nil || cfg.Links == nil {
		return nil, errors.New("slack bot: Status and Links are required")
	}
	if cfg.AppToken != "" && cfg.Deliveries == nil {
		return nil, errors.New("slack bot: Socket Mode (SLACK_APP_TOKEN) needs Deliveries to store what it receives")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	logger := cfg.Logger // already With("component", "slack")
	b := &Bot{
		cfg: cfg, logger: logger, libLog: slackLogger{logger},
		apiURL: webAPIURL(cfg.APIURL), http: &http.Client{Timeout: 10 * time.Second},
		users: newUserCache(10*time.Minute, 10000), sent: newFlights(time.Hour, 100000), replyURLs: newResponseURLs(100000), clients: map[string]*slack.Client{},
		refused: map[string][32]byte{}, refreshers: map[string]*sync.Mutex{},
	}
	if cfg.APIURL != "" {
		u, err := url.Parse(b.apiURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("SLACK_API_URL %q is not a URL", cfg.APIURL)
		}
		b.hooks = u
	}
	b.queue = platform.NewSendQueue(platform.SendQueueConfig{
		Platform: router.Slack, MaxAttempts: sendAttempts, Logger: logger, Tracer: cfg.Tracer,
		Windows: func(key string) []platform.Window {
			if isViewKey(key) {
				return nil // views.open must go out within the trigger's 3 seconds
			}
			return []platform.Window{{Key: "channel:" + key, N: 1, Per: perChannel}}
		},
	})
	if cfg.Deliveries != nil {
		b.inbox = NewInbox(cfg.Deliveries, logger).WithPrompts(cfg.Prompts)
	}
	return b, nil
}

// Run sends responses, keeps Socket Mode connected when SLACK_APP_TOKEN is
// set, and keeps the status current, until ctx ends.
func (b *Bot) Run(ctx context.Context) error {
	b.cfg.Status.Attach(b.queue)
	if b.cfg.AppToken != "" {
		b.setSocket(platform.StateStarting, "Connecting to Slack through Socket Mode.")
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := b.queue.Run(ctx); err != nil {
			b.logger.ErrorContext(ctx, "slack send queue", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		b.watchLinks(ctx)
	}()
	if b.cfg.AppToken != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.runSocket(ctx)
		}()
	}
	wg.Wait()
	b.cfg.Status.Set(platform.StateStopped, "Stopped.")
	return nil
}

// watchLinks counts the linked workspaces and checks that each has a token,
// every platform.LinkPollEvery.
func (b *Bot) watchLinks(ctx context.Context) {
	t := time.NewTicker(platform.LinkPollEvery)
	defer t.Stop()
	for {
		b.refreshStatus(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bot) refreshStatus(ctx context.Context) {
	b.checkBotToken(ctx)
	links, err := b.cfg.Links.List(ctx, router.Slack)
	if err != nil {
		if ctx.Err() == nil {
			b.logger.WarnContext(ctx, "list linked slack workspaces", "err", err)
		}
		return
	}
	b.cfg.Status.SetServers(len(links))
	degraded := ""
	var missing, expired []platform.Link
	for _, l := range links {
		_, err := b.token(ctx, l.Server) // refreshes a rotating token that expires soon
		b.mu.Lock()
		_, refused := b.refused[l.Server]
		b.mu.Unlock()
		if errors.Is(err, errNoToken) {
			missing = append(missing, l)
		} else if refused || errors.Is(err, errReinstall) {
			expired = append(expired, l)
		} else if err != nil && ctx.Err() == nil {
			b.logger.WarnContext(ctx, "look up slack token", "team", l.Server, "err", err)
		}
	}
	b.mu.Lock()
	refused, unchecked := b.botRefused, b.botUnchecked
	b.mu.Unlock()
	if refused != "" {
		degraded = fmt.Sprintf("Slack refuses SLACK_BOT_TOKEN (%s): copy the Bot User OAuth Token from the app's OAuth & Permissions page again.", refused)
	} else if unchecked != "" {
		degraded = unchecked
	} else if len(missing) > 0 {
		degraded = fmt.Sprintf("No bot token for the workspace %s (%s)%s: install the app to it from the hub, or set SLACK_BOT_TOKEN.",
			missing[0].Name, missing[0].Server, more(len(missing)-1))
	} else if len(expired) > 0 {
		degraded = fmt.Sprintf("Slack refused to refresh the bot token of the workspace %s (%s)%s (token rotation is on): install the app to it again from the hub.",
			expired[0].Name, expired[0].Server, more(len(expired)-1))
	} else if strings.HasPrefix(b.cfg.BotToken, "xoxe.") {
		degraded = "SLACK_BOT_TOKEN is a rotating token, which Slack expires after 12 hours and Waddle cannot refresh: install the app from the hub instead (Waddle refreshes installed tokens), or turn token rotation off."
	}
	b.mu.Lock()
	b.linked, b.degraded = len(links), degraded
	b.mu.Unlock()
	b.show()
}

// checkBotToken asks Slack once whose SLACK_BOT_TOKEN is (auth.test): a
// refused token shows on the health page, and its workspace is offered for
// linking in the hub, as the Discord bot offers its guilds. A network error
// is tried again at the next check.
func (b *Bot) checkBotToken(ctx context.Context) {
	b.mu.Lock()
	done := b.cfg.BotToken == "" || b.botTeam != "" || b.botRefused != ""
	b.mu.Unlock()
	if done {
		return
	}
	c := slack.New(b.cfg.BotToken, slack.OptionAPIURL(b.apiURL), slack.OptionLog(b.libLog), slack.OptionHTTPClient(b.http))
	who, err := c.AuthTestContext(ctx)
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se):
		b.logger.ErrorContext(ctx, "slack refuses SLACK_BOT_TOKEN", "err", se.Err)
		b.mu.Lock()
		b.botRefused = se.Err
		b.mu.Unlock()
	case err != nil:
		if ctx.Err() == nil {
			b.logger.WarnContext(ctx, "cannot check SLACK_BOT_TOKEN with auth.test; trying again shortly", "err", err)
			b.mu.Lock()
			b.botUnchecked = fmt.Sprintf("Slack: cannot check SLACK_BOT_TOKEN (auth.test at %s failed: %s) — retrying every %s; check the network.",
				b.apiURL, runes.Truncate(err.Error(), 120, "…"), platform.LinkPollEvery)
			b.mu.Unlock()
		}
	case who.TeamID != "":
		if err := b.cfg.Links.Seen(ctx, router.Slack, who.TeamID, who.Team); err != nil {
			b.logger.WarnContext(ctx, "record the workspace of SLACK_BOT_TOKEN", "team", who.TeamID, "err", err)
			return
		}
		b.mu.Lock()
		b.botTeam, b.botUnchecked = who.TeamID, ""
		b.mu.Unlock()
	}
}

// setSocket records the Socket Mode state and shows it.
func (b *Bot) setSocket(state, detail string) {
	b.mu.Lock()
	b.socket, b.detail = state, detail
	b.mu.Unlock()
	b.show()
}

// show sets the status from the Socket Mode state and the last link check.
func (b *Bot) show() {
	b.mu.Lock()
	defer b.mu.Unlock()
	ws := fmt.Sprintf(" %d linked workspace%s.", b.linked, plural(b.linked))
	switch {
	case b.socket == platform.StateConnected && b.degraded != "":
		b.cfg.Status.Set(platform.StateDegraded, b.degraded)
	case b.socket != "":
		b.cfg.Status.Set(b.socket, b.detail+ws)
	case b.degraded != "":
		b.cfg.Status.Set(platform.StateDegraded, b.degraded)
	default:
		b.cfg.Status.Set(platform.StateConnected, "Events API at "+EventsPath+"; replies through the Web API."+ws)
	}
}

func more(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var errNoToken = errors.New("no slack bot token for this workspace: install the app from the hub or set SLACK_BOT_TOKEN")

// token is the bot token for team: its OAuth install's, else SLACK_BOT_TOKEN.
func (b *Bot) token(ctx context.Context, team string) (string, error) {
	tok, _, err := b.tokenOf(ctx, team)
	return tok, err
}

// tokenOf is token, and whether it is SLACK_BOT_TOKEN, which belongs to one
// workspace only.
func (b *Bot) tokenOf(ctx context.Context, team string) (tok string, shared bool, err error) {
	if b.cfg.Tokens != nil {
		tok, err := b.cfg.Tokens.Get(ctx, router.Slack, team)
		if err == nil && tok.Access != "" {
			if tok.Expiring(time.Now(), refreshBefore) {
				access, err := b.fresh(ctx, team, tok)
				return access, false, err
			}
			b.mu.Lock()
			delete(b.refused, team) // installed again
			b.mu.Unlock()
			return tok.Access, false, nil
		}
		if err != nil && !errors.Is(err, platform.ErrNoToken) {
			return "", false, fmt.Errorf("load slack token of %s: %w", team, err)
		}
	}
	if b.cfg.BotToken != "" {
		return b.cfg.BotToken, true, nil
	}
	return "", false, errNoToken
}

// errReinstall is the error of a workspace whose token expired and cannot
// be refreshed.
var errReinstall = errors.New("the slack bot token of this workspace expired and Slack refused to refresh it: install the app again from the hub")

// fresh returns the access token of an install with token rotation on,
// refreshed first (once, across instances: see platform.Tokens.Refresh).
// A token that cannot be refreshed yet is used until it expires.
func (b *Bot) fresh(ctx context.Context, team string, tok platform.Token) (string, error) {
	usable := func(why error) (string, error) {
		if !tok.Expiring(time.Now(), 0) {
			return tok.Access, nil
		}
		return "", why
	}
	if tok.Refresh == "" || b.cfg.OAuth == nil {
		return usable(fmt.Errorf("%w (no refresh token or SLACK_CLIENT_SECRET)", errReinstall))
	}
	b.refreshMu.Lock()
	l := b.refreshers[team]
	if l == nil {
		l = &sync.Mutex{}
		b.refreshers[team] = l
	}
	b.refreshMu.Unlock()
	l.Lock()
	defer l.Unlock()
	hash := sha256.Sum256([]byte(tok.Refresh))
	b.mu.Lock()
	refused := b.refused[team] == hash
	b.mu.Unlock()
	if refused {
		return usable(errReinstall)
	}
	rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	stale := func(t platform.Token) bool { return t.Expiring(time.Now(), refreshBefore) }
	got, err := b.cfg.Tokens.Refresh(rctx, router.Slack, team, stale, func(ctx context.Context, old platform.Token) (platform.Token, error) {
		n, err := b.cfg.OAuth.Refresh(ctx, old.Refresh)
		if err != nil {
			return platform.Token{}, err
		}
		if n.AccountID == "" {
			n.AccountID = old.AccountID
		}
		if n.Scopes == nil {
			n.Scopes = old.Scopes
		}
		n.AccountLogin = old.AccountLogin
		b.logger.InfoContext(ctx, "refreshed a slack bot token", "team", team, "expires", n.Expires)
		return n, nil
	})
	if p := problem.As(err); p != nil && p.Code == problem.Unauthorized {
		b.logger.ErrorContext(ctx, "slack refused to refresh a bot token: the app must be installed again", "team", team, "err", err)
		b.mu.Lock()
		b.refused[team] = hash
		b.mu.Unlock()
		return usable(fmt.Errorf("%w: %w", errReinstall, err))
	}
	if err != nil {
		if ctx.Err() == nil {
			b.logger.WarnContext(ctx, "cannot refresh a slack bot token yet", "team", team, "expires", tok.Expires, "err", err)
		}
		return usable(fmt.Errorf("refresh the slack bot token of %s: %w", team, err))
	}
	return got.Access, nil
}

// refreshTimeout bounds one refresh, the token's row lock included.
const refreshTimeout = 15 * time.Second

// client is the Web API client for team.
func (b *Bot) client(ctx context.Context, team string) (*slack.Client, error) {
	tok, err := b.token(ctx, team)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.clients[tok]
	if c == nil {
		if len(b.clients) > 1000 { // rotated tokens: start over
			clear(b.clients)
		}
		c = slack.New(tok, slack.OptionAPIURL(b.apiURL), slack.OptionLog(b.libLog), slack.OptionHTTPClient(b.http))
		b.clients[tok] = c
	}
	return c, nil
}

// slackLogger routes slack-go's log lines into slog.
type slackLogger struct{ l *slog.Logger }

func (s slackLogger) Output(_ int, msg string) error {
	s.l.Debug(msg, "lib", "slack-go")
	return nil
}
