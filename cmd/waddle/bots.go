package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/waddle/waddle/bots/discord"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
)

// botSet is the platform bots this instance runs: each is on when its
// credentials are configured, and reports its state either way.
type botSet struct {
	statuses          []*platform.Status // twitch, discord, slack: for the health page and /metrics
	twitchOAuth       *twitch.OAuth
	slackOAuth        *slackbot.OAuth
	tokens            *platform.Tokens
	links             *platform.Links
	leases            *platform.Leases
	slack             *slackbot.Bot               // nil when off; answers Slack deliveries
	slackFast         *slackbot.Prompts           // Slack deliveries with a trigger id, for the prompt lane
	twitch            *twitch.Bot                 // nil when off; answers Twitch chat read over EventSub
	eventSubTransport string                      // the Twitch bot's EventSub transport; "" when it is off
	senders           map[string]router.Sender    // the bots that are on, by platform: they send without an event
	givers            map[string]labels.RoleGiver // the bots that are on, by platform: they give labels' roles
	runs              []func(ctx context.Context) error
}

// newBots builds the configured bots; Run functions start them.
func newBots(cfg config, a *app, rt *router.Router, settings *router.Settings, logger *slog.Logger) (*botSet, error) {
	b := &botSet{tokens: platform.NewTokens(a.pool, a.secrets), links: platform.NewLinks(a.pool), senders: map[string]router.Sender{}, givers: map[string]labels.RoleGiver{},
		slackFast: slackbot.NewPrompts()}
	tw, dc, sl := platform.NewStatus(router.Twitch), platform.NewStatus(router.Discord), platform.NewStatus(router.Slack)
	sends := a.tracing.Tracer("github.com/waddle/waddle/platform") // nil when tracing is off
	b.statuses = []*platform.Status{tw, dc, sl}
	leases := platform.NewLeases(a.pool, instanceName(), 0)
	b.leases = leases

	if cfg.Twitch.on() {
		// Twitch delivers EventSub webhooks only to public https on port 443
		// (Validate refuses the webhook transport otherwise); a hub without
		// such a BASE_URL receives EventSub over the WebSocket.
		transport, callback := cfg.Twitch.eventSubTransport(cfg.BaseURL), ""
		if transport == twitch.TransportWebhook {
			callback = cfg.BaseURL + "/webhooks/twitch/eventsub"
		} else {
			logger.Info("twitch eventsub over websocket", "base_url", cfg.BaseURL)
		}
		b.twitchOAuth = &twitch.OAuth{ClientID: cfg.Twitch.ClientID, ClientSecret: cfg.Twitch.ClientSecret,
			AuthURL: cfg.Twitch.AuthURL, APIURL: cfg.Twitch.APIURL}
		bot, err := twitch.New(twitch.Config{Router: rt, Tokens: b.tokens, Links: b.links, Leases: leases, Status: tw,
			OAuth: b.twitchOAuth, BotLogin: cfg.Twitch.BotLogin, EventSubSecret: cfg.EventSubSecret,
			CallbackURL: callback, Transport: transport, EventSubWSURL: cfg.Twitch.EventSubWSURL,
			EventSub: twitch.NewEventSub(platform.NewDeliveries(a.pool, a.jobs), logger.With("component", "twitch")),
			IRCAddr:  cfg.Twitch.IRCAddr, APIURL: cfg.Twitch.APIURL, ChatTransport: cfg.Twitch.ChatTransport,
			Logger: logger, DrainTimeout: cfg.ShutdownTimeout / 4, Tracer: sends,
			Whispers: platform.NewRecipientBudget(a.pool, router.Twitch, twitch.WhisperRecipientsPerDay, 24*time.Hour),
		})
		if err != nil {
			return nil, fmt.Errorf("twitch bot: %w", err)
		}
		b.eventSubTransport = transport
		b.twitch = bot
		b.senders[router.Twitch] = bot
		b.givers[router.Twitch] = bot.VIPs()
		b.runs = append(b.runs, bot.Run)
	}
	if cfg.Discord.on() {
		bot, err := discord.New(discord.Config{Router: rt, Settings: settings, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Links: b.links, Leases: leases,
			Status: dc, Token: cfg.Discord.Token, AppID: cfg.Discord.AppID, APIURL: cfg.Discord.APIURL, GatewayURL: cfg.Discord.GatewayURL,
			ShardCount: cfg.Discord.Shards, Logger: logger, Tracer: sends})
		if err != nil {
			return nil, fmt.Errorf("discord bot: %w", err)
		}
		b.senders[router.Discord] = bot
		b.givers[router.Discord] = bot.Roles()
		b.runs = append(b.runs, bot.Run)
	}
	if cfg.Slack.ClientID != "" {
		b.slackOAuth = &slackbot.OAuth{ClientID: cfg.Slack.ClientID, ClientSecret: cfg.Slack.ClientSecret, APIURL: cfg.Slack.APIURL}
	}
	if cfg.SlackSigning != "" {
		bot, err := slackbot.New(slackbot.Config{Deliveries: platform.NewDeliveries(a.pool, a.jobs), Prompts: b.slackFast, Tokens: b.tokens, OAuth: b.slackOAuth, Links: b.links, Status: sl,
			BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken, APIURL: cfg.Slack.APIURL, Logger: logger.With("component", "slack"), Tracer: sends})
		if err != nil {
			return nil, fmt.Errorf("slack bot: %w", err)
		}
		b.slack = bot
		b.senders[router.Slack] = bot
		b.givers[router.Slack] = bot.UserGroups()
		b.runs = append(b.runs, bot.Run)
	}
	return b, nil
}

// instanceName names this process in the lease table: the host and a random suffix.
func instanceName() string {
	host, _ := os.Hostname()
	if len(host) > 60 {
		host = host[:60]
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(suffix))
}
