package main

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/telemetry"
)

// configEnv is a getenv over a map.
func configEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// validVars returns the minimal valid environment plus overrides.
func validVars(overrides map[string]string) map[string]string {
	m := map[string]string{"DATABASE_URL": "postgres://waddle@db:5432/waddle"}
	for k, v := range overrides {
		m[k] = v
	}
	return m
}

var cmpPrefix = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	got, err := loadConfig(configEnv(validVars(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		DatabaseURL:     "postgres://waddle@db:5432/waddle",
		RedisPrefix:     "waddle:",
		ListenAddr:      "127.0.0.1:8080",
		BaseURL:         "http://127.0.0.1:8080",
		SessionIdle:     2 * time.Hour,
		SessionLifetime: 168 * time.Hour,
		ShutdownTimeout: 20 * time.Second,
		Workflows:       workflowConfig{TraceRetention: 14 * 24 * time.Hour, MaxRunDuration: 5 * time.Minute},
		MetricsNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		APIRateLimits:   map[string]int{"user": 1000, "trigger": 200, "action": 600, "core": 0, "admin": 0},
		LogFormat:       "auto",
		LogLevel:        "info",
		AdminEmail:      "admin@example.com",
		Discord:         discordConfig{Shards: 1},
		Payments:        paymentsConfig{Provider: "off"},
		Imports: importConfig{NightbotAPIURL: defaultNightbotAPIURL, NightbotAuthURL: defaultNightbotAuthURL,
			StreamElementsAPIURL: defaultStreamElementsAPIURL},
		Tracing: telemetry.TracingConfig{ServiceName: "waddle"},
	}
	if diff := cmp.Diff(want, got, cmpPrefix); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadConfigValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c config)
	}{
		{
			name: "base URL follows the listen address",
			env:  map[string]string{"LISTEN_ADDR": "127.0.0.1:9000"},
			check: func(t *testing.T, c config) {
				if c.BaseURL != "http://127.0.0.1:9000" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			},
		},
		{
			name: "base URL for an unspecified listen host uses localhost",
			env:  map[string]string{"LISTEN_ADDR": ":8080"},
			check: func(t *testing.T, c config) {
				if c.BaseURL != "http://localhost:8080" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			},
		},
		{
			name: "base URL for 0.0.0.0 uses localhost",
			env:  map[string]string{"LISTEN_ADDR": "0.0.0.0:8080"},
			check: func(t *testing.T, c config) {
				if c.BaseURL != "http://localhost:8080" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			},
		},
		{
			name: "base URL loses its trailing slash and surrounding space",
			env:  map[string]string{"BASE_URL": "  https://waddle.example.com/ "},
			check: func(t *testing.T, c config) {
				if c.BaseURL != "https://waddle.example.com" {
					t.Errorf("BaseURL = %q", c.BaseURL)
				}
			},
		},
		{
			name: "rate limits override some roles and keep the others",
			env:  map[string]string{"API_RATE_LIMITS": " user=5, trigger=0 ,"},
			check: func(t *testing.T, c config) {
				want := map[string]int{"user": 5, "trigger": 0, "action": 600, "core": 0, "admin": 0}
				if diff := cmp.Diff(want, c.APIRateLimits); diff != "" {
					t.Errorf("APIRateLimits (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "trusted proxies take addresses and masked ranges",
			env:  map[string]string{"TRUSTED_PROXIES": "10.0.0.1, 192.168.7.9/16,fd00::1"},
			check: func(t *testing.T, c config) {
				want := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fd00::1/128")}
				if diff := cmp.Diff(want, c.TrustedProxies, cmpPrefix); diff != "" {
					t.Errorf("TrustedProxies (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "all three platforms",
			env: map[string]string{"TWITCH_CLIENT_ID": "cid", "TWITCH_CLIENT_SECRET": "cs", "TWITCH_BOT_LOGIN": "DuckBot", "TWITCH_EVENTSUB_SECRET": "0123456789abc",
				"TOKEN_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "TWITCH_IRC_ADDR": "irc://127.0.0.1:6667",
				"DISCORD_BOT_TOKEN": "tok", "DISCORD_APP_ID": "1234567890", "DISCORD_PUBLIC_KEY": strings.Repeat("ab", 32), "DISCORD_SHARD_COUNT": "4",
				"DISCORD_GATEWAY_URL": "ws://127.0.0.1:9000", "SLACK_SIGNING_SECRET": "0123456789abcdef", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"},
			check: func(t *testing.T, c config) {
				if !c.Twitch.on() || c.Twitch.BotLogin != "duckbot" || c.Twitch.IRCAddr != "irc://127.0.0.1:6667" {
					t.Errorf("Twitch %+v", c.Twitch)
				}
				if !c.Discord.on() || c.Discord.Shards != 4 || c.Discord.GatewayURL != "ws://127.0.0.1:9000" {
					t.Errorf("Discord %+v", c.Discord)
				}
				if c.Slack.BotToken != "xoxb-1" || c.Slack.AppToken != "xapp-1" {
					t.Errorf("Slack %+v", c.Slack)
				}
			},
		},
		{
			name: "durations, origins and mail",
			env: map[string]string{"SESSION_IDLE_TIMEOUT": "90m", "SESSION_LIFETIME": "720h", "CORS_ORIGINS": "https://a.example.com, http://localhost:3000",
				"SMTP_URL": "smtp://mail.example.com:587", "MAIL_FROM": "Waddle <waddle@example.com>", "LOG_FORMAT": "json", "LOG_LEVEL": "debug"},
			check: func(t *testing.T, c config) {
				if c.SessionIdle != 90*time.Minute || c.SessionLifetime != 720*time.Hour {
					t.Errorf("sessions idle %v lifetime %v, want 1h30m and 720h", c.SessionIdle, c.SessionLifetime)
				}
				if diff := cmp.Diff([]string{"https://a.example.com", "http://localhost:3000"}, c.CORSOrigins); diff != "" {
					t.Errorf("CORSOrigins (-want +got):\n%s", diff)
				}
				if c.MailFrom != "Waddle <waddle@example.com>" || c.LogFormat != "json" || c.LogLevel != "debug" {
					t.Errorf("MailFrom %q LogFormat %q LogLevel %q", c.MailFrom, c.LogFormat, c.LogLevel)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadConfig(configEnv(validVars(tc.env)))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{name: "missing database", env: map[string]string{"DATABASE_URL": " "}, wantVar: "DATABASE_URL"},
		{name: "database not postgres", env: map[string]string{"DATABASE_URL": "mysql://db/waddle"}, wantVar: "DATABASE_URL"},
		{name: "read replica not postgres", env: map[string]string{"DATABASE_READ_URL": "db-replica:5432"}, wantVar: "DATABASE_READ_URL"},
		{name: "redis not redis", env: map[string]string{"REDIS_URL": "http://cache:6379"}, wantVar: "REDIS_URL"},
		{name: "listen address without port", env: map[string]string{"LISTEN_ADDR": "localhost"}, wantVar: "LISTEN_ADDR"},
		{name: "base URL with a path", env: map[string]string{"BASE_URL": "https://example.com/waddle"}, wantVar: "BASE_URL"},
		{name: "base URL with a query", env: map[string]string{"BASE_URL": "https://example.com?x=1"}, wantVar: "BASE_URL"},
		{name: "base URL not http", env: map[string]string{"BASE_URL": "ftp://example.com"}, wantVar: "BASE_URL"},
		{name: "base URL without host", env: map[string]string{"BASE_URL": "waddle.example.com"}, wantVar: "BASE_URL"},
		{name: "base URL with only a port", env: map[string]string{"BASE_URL": "http://:8080"}, wantVar: "BASE_URL"},
		{name: "base URL with a fragment", env: map[string]string{"BASE_URL": "https://example.com#top"}, wantVar: "BASE_URL"},
		{name: "base URL with credentials", env: map[string]string{"BASE_URL": "https://user:pw@example.com"}, wantVar: "BASE_URL"},
		{name: "unknown chat transport", env: map[string]string{"TWITCH_CHAT_TRANSPORT": "websocket"}, wantVar: "TWITCH_CHAT_TRANSPORT"},
		{name: "EventSub secret too short", env: map[string]string{"TWITCH_EVENTSUB_SECRET": "short"}, wantVar: "TWITCH_EVENTSUB_SECRET"},
		{name: "Slack signing secret too short", env: map[string]string{"SLACK_SIGNING_SECRET": "short"}, wantVar: "SLACK_SIGNING_SECRET"},
		{name: "Twitch without its secret", env: map[string]string{"TWITCH_CLIENT_ID": "abc", "TWITCH_BOT_LOGIN": "duckbot", "TWITCH_EVENTSUB_SECRET": "0123456789abc"}, wantVar: "TWITCH_CLIENT_SECRET"},
		{name: "Twitch without a bot login", env: map[string]string{"TWITCH_CLIENT_ID": "abc", "TWITCH_CLIENT_SECRET": "s", "TWITCH_EVENTSUB_SECRET": "0123456789abc"}, wantVar: "TWITCH_BOT_LOGIN"},
		{name: "EventSub secret without the Twitch app", env: map[string]string{"TWITCH_EVENTSUB_SECRET": "0123456789abc"}, wantVar: "TWITCH_CLIENT_ID"},
		{name: "Twitch without an encryption key", env: map[string]string{"TWITCH_CLIENT_ID": "abc", "TWITCH_CLIENT_SECRET": "s", "TWITCH_BOT_LOGIN": "duckbot", "TWITCH_EVENTSUB_SECRET": "0123456789abc"}, wantVar: "TOKEN_ENCRYPTION_KEY"},
		{name: "Twitch API URL not a URL", env: map[string]string{"TWITCH_API_URL": "api.twitch.local"}, wantVar: "TWITCH_API_URL"},
		{name: "Twitch IRC address without a port", env: map[string]string{"TWITCH_IRC_ADDR": "irc.local"}, wantVar: "TWITCH_IRC_ADDR"},
		{name: "Discord without an app id", env: map[string]string{"DISCORD_BOT_TOKEN": "tok", "DISCORD_PUBLIC_KEY": strings.Repeat("ab", 32)}, wantVar: "DISCORD_APP_ID"},
		{name: "Discord app id not a number", env: map[string]string{"DISCORD_BOT_TOKEN": "tok", "DISCORD_APP_ID": "waddle", "DISCORD_PUBLIC_KEY": strings.Repeat("ab", 32)}, wantVar: "DISCORD_APP_ID"},
		{name: "Discord public key not hex", env: map[string]string{"DISCORD_BOT_TOKEN": "tok", "DISCORD_APP_ID": "123", "DISCORD_PUBLIC_KEY": "xyz"}, wantVar: "DISCORD_PUBLIC_KEY"},
		{name: "Discord gateway not websocket", env: map[string]string{"DISCORD_GATEWAY_URL": "https://gateway.local"}, wantVar: "DISCORD_GATEWAY_URL"},
		{name: "Discord shards not a number", env: map[string]string{"DISCORD_SHARD_COUNT": "many"}, wantVar: "DISCORD_SHARD_COUNT"},
		{name: "Slack token without signing secret", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, wantVar: "SLACK_SIGNING_SECRET"},
		{name: "Slack signing secret without a token", env: map[string]string{"SLACK_SIGNING_SECRET": "0123456789abcdef"}, wantVar: "SLACK_BOT_TOKEN"},
		{name: "Slack client id without secret", env: map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "0123456789abcdef"}, wantVar: "SLACK_CLIENT_SECRET"},
		{name: "Slack bot token of the wrong kind", env: map[string]string{"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_SIGNING_SECRET": "0123456789abcdef"}, wantVar: "SLACK_BOT_TOKEN"},
		{name: "Slack app token of the wrong kind", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2", "SLACK_SIGNING_SECRET": "0123456789abcdef"}, wantVar: "SLACK_APP_TOKEN"},
		{name: "allow-private not a boolean", env: map[string]string{"EXECUTOR_ALLOW_PRIVATE": "maybe"}, wantVar: "EXECUTOR_ALLOW_PRIVATE"},
		{name: "SMTP without sender", env: map[string]string{"SMTP_URL": "smtp://mail.example.com:587"}, wantVar: "MAIL_FROM"},
		{name: "idle timeout not a duration", env: map[string]string{"SESSION_IDLE_TIMEOUT": "2 hours"}, wantVar: "SESSION_IDLE_TIMEOUT"},
		{name: "idle timeout without unit", env: map[string]string{"SESSION_IDLE_TIMEOUT": "7200"}, wantVar: "SESSION_IDLE_TIMEOUT"},
		{name: "negative lifetime", env: map[string]string{"SESSION_LIFETIME": "-1h"}, wantVar: "SESSION_LIFETIME"},
		{name: "lifetime shorter than idle", env: map[string]string{"SESSION_LIFETIME": "1h"}, wantVar: "SESSION_LIFETIME"},
		{name: "zero shutdown timeout", env: map[string]string{"SHUTDOWN_TIMEOUT": "0s"}, wantVar: "SHUTDOWN_TIMEOUT"},
		{name: "CIDR out of range", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, wantVar: "TRUSTED_PROXIES"},
		{name: "proxy not an address", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.1,proxy.internal"}, wantVar: "TRUSTED_PROXIES"},
		{name: "metrics network not an address", env: map[string]string{"METRICS_ALLOWED_NETWORKS": "localhost"}, wantVar: "METRICS_ALLOWED_NETWORKS"},
		{name: "origin without scheme", env: map[string]string{"CORS_ORIGINS": "app.example.com"}, wantVar: "CORS_ORIGINS"},
		{name: "origin with a path", env: map[string]string{"CORS_ORIGINS": "https://app.example.com/x"}, wantVar: "CORS_ORIGINS"},
		{name: "rate limit without value", env: map[string]string{"API_RATE_LIMITS": "user"}, wantVar: "API_RATE_LIMITS"},
		{name: "rate limit for an unknown role", env: map[string]string{"API_RATE_LIMITS": "user=5,guest=5"}, wantVar: "API_RATE_LIMITS"},
		{name: "webhook transport on a plain http BASE_URL", env: map[string]string{"TWITCH_EVENTSUB_TRANSPORT": "webhook", "BASE_URL": "http://127.0.0.1:8080"}, wantVar: "BASE_URL"},
		{name: "webhook transport on https off port 443", env: map[string]string{"TWITCH_EVENTSUB_TRANSPORT": "webhook", "BASE_URL": "https://waddle.example.com:8443"}, wantVar: "BASE_URL"},
		{name: "webhook transport on https localhost", env: map[string]string{"TWITCH_EVENTSUB_TRANSPORT": "webhook", "BASE_URL": "https://localhost"}, wantVar: "BASE_URL"},
		{name: "unknown EventSub transport", env: map[string]string{"TWITCH_EVENTSUB_TRANSPORT": "pigeon"}, wantVar: "TWITCH_EVENTSUB_TRANSPORT"},
		{name: "webhook transport without its secret", env: map[string]string{"TWITCH_CLIENT_ID": "abc", "TWITCH_CLIENT_SECRET": "s", "TWITCH_BOT_LOGIN": "duckbot",
			"TOKEN_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "BASE_URL": "https://waddle.example.com"}, wantVar: "TWITCH_EVENTSUB_SECRET"},
		{name: "EventSub WebSocket URL not websocket", env: map[string]string{"TWITCH_EVENTSUB_WS_URL": "https://eventsub.local/ws"}, wantVar: "TWITCH_EVENTSUB_WS_URL"},
		{name: "negative rate limit", env: map[string]string{"API_RATE_LIMITS": "user=-1"}, wantVar: "API_RATE_LIMITS"},
		{name: "rate limit not a number", env: map[string]string{"API_RATE_LIMITS": "trigger=lots"}, wantVar: "API_RATE_LIMITS"},
		{name: "unknown log format", env: map[string]string{"LOG_FORMAT": "xml"}, wantVar: "LOG_FORMAT"},
		{name: "unknown log level", env: map[string]string{"LOG_LEVEL": "verbose"}, wantVar: "LOG_LEVEL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(configEnv(validVars(tc.env)))
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a configError naming %s", err, tc.wantVar)
			}
			if ce.Var != tc.wantVar || !strings.Contains(err.Error(), tc.wantVar) {
				t.Errorf("err = %q (var %s), want it to name %s", err, ce.Var, tc.wantVar)
			}
		})
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add("https://waddle.example.com", "127.0.0.1:8080", "10.0.0.0/8", "user=10", "2h")
	f.Add("http://[::1]:8080/", "[::1]:8080", "::1,fd00::/8", "core=0,admin=0", "1ns")
	f.Add("https://example.com/a", ":8080", "10.0.0.0/33", "user=", "-5m")
	f.Add("", "", "", "", "")
	f.Add("https://%zz", "host:port:port", "1.2.3.4/", "=5", "9999999999h")
	f.Fuzz(func(t *testing.T, baseURL, listen, proxies, limits, idle string) {
		c, err := loadConfig(configEnv(validVars(map[string]string{
			"BASE_URL": baseURL, "LISTEN_ADDR": listen, "TRUSTED_PROXIES": proxies, "API_RATE_LIMITS": limits, "SESSION_IDLE_TIMEOUT": idle,
		})))
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) || ce.Var == "" {
				t.Fatalf("error %q does not name a variable", err)
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("loadConfig accepted a config that does not validate: %v", verr)
		}
		if strings.HasSuffix(c.BaseURL, "/") {
			t.Errorf("BaseURL %q ends in a slash: links would get a double one", c.BaseURL)
		}
		if c.SessionIdle <= 0 || c.SessionLifetime < c.SessionIdle {
			t.Errorf("sessions idle %v lifetime %v", c.SessionIdle, c.SessionLifetime)
		}
		for _, role := range []string{"user", "trigger", "action", "core", "admin"} {
			if n, ok := c.APIRateLimits[role]; !ok || n < 0 {
				t.Errorf("rate limit of %s = %d, %v", role, n, ok)
			}
		}
		for _, p := range c.TrustedProxies {
			if !p.IsValid() || p != p.Masked() {
				t.Errorf("trusted proxy %v is not a valid masked prefix", p)
			}
		}
	})
}

// TestEventSubTransport: webhook by default only where Twitch can post
// (public https on port 443), the WebSocket otherwise, and as set when set.
func TestEventSubTransport(t *testing.T) {
	t.Parallel()
	twitch := map[string]string{"TWITCH_CLIENT_ID": "abc", "TWITCH_CLIENT_SECRET": "s", "TWITCH_BOT_LOGIN": "duckbot",
		"TOKEN_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	cases := []struct {
		base, set, secret, want string
	}{
		{"https://waddle.example.com", "", "0123456789abc", "webhook"},
		{"https://waddle.example.com:443", "", "0123456789abc", "webhook"},
		{"http://127.0.0.1:8080", "", "", "websocket"}, // make run on a home PC: no secret needed
		{"https://waddle.example.com:8443", "", "", "websocket"},
		{"https://192.168.1.20", "", "", "websocket"},
		{"https://waddle.example.com", "websocket", "", "websocket"},
		{"https://waddle.example.com", "WebHook", "0123456789abc", "webhook"},
	}
	for _, tc := range cases {
		env := validVars(twitch)
		env["BASE_URL"], env["TWITCH_EVENTSUB_TRANSPORT"], env["TWITCH_EVENTSUB_SECRET"] = tc.base, tc.set, tc.secret
		c, err := loadConfig(configEnv(env))
		if err != nil {
			t.Errorf("BASE_URL %s, transport %q: %v", tc.base, tc.set, err)
			continue
		}
		if got := c.Twitch.eventSubTransport(c.BaseURL); got != tc.want {
			t.Errorf("BASE_URL %s, transport %q: %s, want %s", tc.base, tc.set, got, tc.want)
		}
	}
	// The refusal is one line naming BASE_URL and what to do.
	_, err := loadConfig(configEnv(validVars(map[string]string{"TWITCH_EVENTSUB_TRANSPORT": "webhook", "BASE_URL": "http://127.0.0.1:8080"})))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "config: BASE_URL ") || !strings.Contains(err.Error(), "TWITCH_EVENTSUB_TRANSPORT=websocket") {
		t.Errorf("webhook on http: %v, want one line naming BASE_URL and the websocket transport", err)
	}
}
