package main

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/telemetry"
	"github.com/waddle/waddle/workflow"
)

// config is every setting, read from the environment.
type config struct {
	DatabaseURL     string
	DatabaseReadURL string
	RedisURL        string
	RedisPrefix     string
	ListenAddr      string
	BaseURL         string
	SMTPURL         string
	MailFrom        string
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	ShutdownTimeout time.Duration
	CORSOrigins     []string
	TrustedProxies  []netip.Prefix
	MetricsNetworks []netip.Prefix
	APIRateLimits   map[string]int
	LogFormat       string
	LogLevel        string
	AdminEmail      string
	AdminPassword   string
	TokenKey        string // TOKEN_ENCRYPTION_KEY: seals secrets at rest
	AllowPrivate    bool   // EXECUTOR_ALLOW_PRIVATE: let remote modules call private addresses
	SlackSigning    string // SLACK_SIGNING_SECRET: turns on the Slack Events API receiver
	EventSubSecret  string // TWITCH_EVENTSUB_SECRET: turns on the Twitch EventSub webhook receiver (webhook transport)
	Workflows       workflowConfig
	Twitch          twitchConfig
	Discord         discordConfig
	Slack           slackConfig
	License         licenseConfig
	Payments        paymentsConfig          // paid marketplace modules (config_payments.go)
	Imports         importConfig            // importing from other bots (import_config.go)
	Tracing         telemetry.TracingConfig // OpenTelemetry: off unless an OTEL_EXPORTER_OTLP_*ENDPOINT is set
}

// licenseConfig is how workflow licences are checked (see README, Licences).
type licenseConfig struct {
	PublicKey string // WADDLE_LICENSE_PUBLIC_KEY: base64 of the Ed25519 public key that signs licence keys
	Key       string // WADDLE_LICENSE_KEY: a licence key for the installation (or one community)
	Server    string // WADDLE_LICENSE_SERVER: a licence server that may revoke keys
}

// twitchConfig turns the Twitch bot on when its credentials are set.
type twitchConfig struct {
	ClientID, ClientSecret, BotLogin string
	ChatTransport                    string // TWITCH_CHAT_TRANSPORT: eventsub (the default, where granted) or irc
	IRCAddr, APIURL, AuthURL         string // endpoints, for tests and mirrors
	EventSubWSURL                    string // TWITCH_EVENTSUB_WS_URL: the EventSub WebSocket server, for tests and mirrors
	Transport                        string // TWITCH_EVENTSUB_TRANSPORT as set: "webhook", "websocket", or "" (chosen by BASE_URL)
}

func (t twitchConfig) on() bool { return t.ClientID != "" }

// eventSubTransport is how Twitch delivers EventSub: as set, else webhook
// when baseURL is a public https address on port 443 (the only callbacks
// Twitch posts to) and the WebSocket otherwise (a hub on a home PC).
func (t twitchConfig) eventSubTransport(baseURL string) string {
	if t.Transport != "" {
		return t.Transport
	}
	if publicHTTPS(baseURL) {
		return "webhook"
	}
	return "websocket"
}

// publicHTTPS reports whether Twitch can deliver webhooks to base: https on
// port 443, on a host that is not this machine or a private address.
func publicHTTPS(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || (u.Port() != "" && u.Port() != "443") {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
		return false
	}
	return true
}

// discordConfig turns the Discord bot on when its credentials are set.
type discordConfig struct {
	Token, AppID, PublicKey string
	// ClientSecret (DISCORD_CLIENT_SECRET) turns on linking hub users' own
	// Discord accounts through OAuth2; the client id is AppID.
	ClientSecret       string
	APIURL, GatewayURL string
	Shards             int
}

func (d discordConfig) on() bool { return d.Token != "" }

// slackConfig turns the Slack bot on; SLACK_SIGNING_SECRET is config.SlackSigning.
type slackConfig struct {
	ClientID, ClientSecret string // OAuth v2 installs into any workspace
	BotToken               string // a single-workspace install
	AppToken               string // Socket Mode
	APIURL                 string
}

// configError names the variable at fault.
type configError struct {
	Var, Problem string
}

func (e *configError) Error() string { return fmt.Sprintf("config: %s %s", e.Var, e.Problem) }

func loadConfig(getenv func(string) string) (config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := config{
		DatabaseURL:     get("DATABASE_URL", ""),
		DatabaseReadURL: get("DATABASE_READ_URL", ""),
		RedisURL:        get("REDIS_URL", ""),
		RedisPrefix:     get("REDIS_PREFIX", "waddle:"),
		ListenAddr:      get("LISTEN_ADDR", defaultListenAddr),
		SMTPURL:         get("SMTP_URL", ""),
		MailFrom:        get("MAIL_FROM", ""),
		LogFormat:       get("LOG_FORMAT", "auto"),
		LogLevel:        get("LOG_LEVEL", "info"),
		AdminEmail:      get("WADDLE_ADMIN_EMAIL", "admin@example.com"),
		AdminPassword:   getenv("WADDLE_ADMIN_PASSWORD"),
		TokenKey:        get("TOKEN_ENCRYPTION_KEY", ""),
		SlackSigning:    get("SLACK_SIGNING_SECRET", ""),
		EventSubSecret:  get("TWITCH_EVENTSUB_SECRET", ""),
		Twitch: twitchConfig{ClientID: get("TWITCH_CLIENT_ID", ""), ClientSecret: get("TWITCH_CLIENT_SECRET", ""), BotLogin: strings.ToLower(get("TWITCH_BOT_LOGIN", "")),
			ChatTransport: get("TWITCH_CHAT_TRANSPORT", ""), IRCAddr: get("TWITCH_IRC_ADDR", ""), APIURL: get("TWITCH_API_URL", ""), AuthURL: get("TWITCH_AUTH_URL", ""),
			EventSubWSURL: get("TWITCH_EVENTSUB_WS_URL", ""), Transport: strings.ToLower(get("TWITCH_EVENTSUB_TRANSPORT", ""))},
		Discord: discordConfig{Token: get("DISCORD_BOT_TOKEN", ""), AppID: get("DISCORD_APP_ID", ""), PublicKey: get("DISCORD_PUBLIC_KEY", ""), ClientSecret: get("DISCORD_CLIENT_SECRET", ""),
			APIURL: get("DISCORD_API_URL", ""), GatewayURL: get("DISCORD_GATEWAY_URL", "")},
		Slack: slackConfig{ClientID: get("SLACK_CLIENT_ID", ""), ClientSecret: get("SLACK_CLIENT_SECRET", ""), BotToken: get("SLACK_BOT_TOKEN", ""),
			AppToken: get("SLACK_APP_TOKEN", ""), APIURL: get("SLACK_API_URL", "")},
		License: licenseConfig{PublicKey: get("WADDLE_LICENSE_PUBLIC_KEY", ""), Key: get("WADDLE_LICENSE_KEY", ""), Server: get("WADDLE_LICENSE_SERVER", "")},
	}
	c.BaseURL = strings.TrimRight(get("BASE_URL", defaultBaseURL(c.ListenAddr)), "/")
	c.Payments = loadPayments(get)
	c.Imports = loadImportConfig(get)
	c.Tracing = telemetry.TracingFromEnv(getenv)
	var err error
	dur := func(k, def string) time.Duration {
		if err != nil {
			return 0
		}
		v := get(k, def)
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 {
			err = &configError{k, fmt.Sprintf("is %q: want a duration like 2h or 90m", v)}
		}
		return d
	}
	c.SessionIdle = dur("SESSION_IDLE_TIMEOUT", "2h")
	c.SessionLifetime = dur("SESSION_LIFETIME", "168h")
	c.ShutdownTimeout = dur("SHUTDOWN_TIMEOUT", "20s")
	c.Workflows.TraceRetention = dur("WORKFLOW_TRACE_RETENTION", "336h")
	c.Workflows.MaxRunDuration = dur("WORKFLOW_MAX_RUN_DURATION", "300s")
	if err != nil {
		return c, err
	}
	if c.CORSOrigins, err = origins("CORS_ORIGINS", get("CORS_ORIGINS", "")); err != nil {
		return c, err
	}
	if c.TrustedProxies, err = prefixes("TRUSTED_PROXIES", get("TRUSTED_PROXIES", "")); err != nil {
		return c, err
	}
	if c.MetricsNetworks, err = prefixes("METRICS_ALLOWED_NETWORKS", get("METRICS_ALLOWED_NETWORKS", "127.0.0.1/8,::1/128")); err != nil {
		return c, err
	}
	if c.APIRateLimits, err = rateLimits(get("API_RATE_LIMITS", "")); err != nil {
		return c, err
	}
	if v := get("DISCORD_SHARD_COUNT", "1"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 1024 {
			return c, &configError{"DISCORD_SHARD_COUNT", fmt.Sprintf("is %q: want a whole number of shards from 1 to 1024", v)}
		}
		c.Discord.Shards = n
	}
	switch v := get("EXECUTOR_ALLOW_PRIVATE", "false"); v {
	case "true", "1", "yes":
		c.AllowPrivate = true
	case "false", "0", "no":
	default:
		return c, &configError{"EXECUTOR_ALLOW_PRIVATE", fmt.Sprintf("is %q: want true or false", v)}
	}
	return c, c.Validate()
}

// Validate checks the settings that serve needs.
func (c config) Validate() error {
	if c.DatabaseURL == "" {
		return &configError{"DATABASE_URL", "is not set: give a PostgreSQL URL like postgres://user:pass@host:5432/waddle"}
	}
	for _, v := range []struct{ name, val string }{{"DATABASE_URL", c.DatabaseURL}, {"DATABASE_READ_URL", c.DatabaseReadURL}} {
		if v.val != "" && !strings.HasPrefix(v.val, "postgres://") && !strings.HasPrefix(v.val, "postgresql://") {
			return &configError{v.name, "must start with postgres:// or postgresql://"}
		}
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		return &configError{"REDIS_URL", "must start with redis://, rediss:// or unix://"}
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		return &configError{"LISTEN_ADDR", fmt.Sprintf("is %q: want host:port such as 127.0.0.1:8080", c.ListenAddr)}
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &configError{"BASE_URL", fmt.Sprintf("is %q: want the hub's public origin such as https://waddle.example.com", c.BaseURL)}
	}
	if c.SMTPURL != "" && c.MailFrom == "" {
		return &configError{"MAIL_FROM", "is not set: with SMTP_URL, give the sender address such as Waddle <waddle@example.com>"}
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		return &configError{"LOG_FORMAT", fmt.Sprintf("is %q: want auto, json or text", c.LogFormat)}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &configError{"LOG_LEVEL", fmt.Sprintf("is %q: want debug, info, warn or error", c.LogLevel)}
	}
	if c.SessionLifetime < c.SessionIdle {
		return &configError{"SESSION_LIFETIME", "is shorter than SESSION_IDLE_TIMEOUT"}
	}
	if c.SlackSigning != "" && len(c.SlackSigning) < 10 {
		return &configError{"SLACK_SIGNING_SECRET", "is too short: copy the Signing Secret from the Slack app's Basic Information page"}
	}
	if _, err := twitch.ParseChatTransport(c.Twitch.ChatTransport); err != nil {
		return &configError{"TWITCH_CHAT_TRANSPORT", fmt.Sprintf("is %q: want eventsub (chat over EventSub and Helix where the bot and the broadcaster granted it) or irc", c.Twitch.ChatTransport)}
	}
	if n := len(c.EventSubSecret); n > 0 && (n < 10 || n > 100) {
		return &configError{"TWITCH_EVENTSUB_SECRET", fmt.Sprintf("has %d characters: Twitch takes a subscription secret of 10 to 100", n)}
	}
	switch c.Twitch.Transport {
	case "", "websocket":
	case "webhook":
		if !publicHTTPS(c.BaseURL) {
			return &configError{"BASE_URL", fmt.Sprintf("is %q, but TWITCH_EVENTSUB_TRANSPORT is webhook: Twitch delivers webhooks only to a public https address on port 443; set BASE_URL to one, or use TWITCH_EVENTSUB_TRANSPORT=websocket", c.BaseURL)}
		}
	default:
		return &configError{"TWITCH_EVENTSUB_TRANSPORT", fmt.Sprintf("is %q: want webhook (Twitch posts to BASE_URL) or websocket (this hub connects to Twitch)", c.Twitch.Transport)}
	}
	if v, why := c.Tracing.Problem(); v != "" {
		return &configError{v, why}
	}
	if err := c.Imports.validate(); err != nil {
		return err
	}
	if err := c.Payments.validate(); err != nil {
		return err
	}
	if err := c.License.validate(); err != nil {
		return err
	}
	return c.validatePlatforms()
}

// validate checks the licence settings: a public key of 32 bytes, and a
// key and server only with it. An expired WADDLE_LICENSE_KEY is not an
// error here (the server starts; communities are on the free plan).
func (l licenseConfig) validate() error {
	if l.PublicKey == "" {
		for _, v := range []struct{ name, val string }{{"WADDLE_LICENSE_KEY", l.Key}, {"WADDLE_LICENSE_SERVER", l.Server}} {
			if v.val != "" {
				return &configError{"WADDLE_LICENSE_PUBLIC_KEY", fmt.Sprintf("is not set, but %s is: licence keys are checked with it; the operator who issues them has it (`waddle license keygen` prints it)", v.name)}
			}
		}
		return nil
	}
	pub, err := workflow.ParsePublicKey(l.PublicKey)
	if err != nil {
		return &configError{"WADDLE_LICENSE_PUBLIC_KEY", fmt.Sprintf("is not an Ed25519 public key: %v; give the base64 line `waddle license keygen` prints", err)}
	}
	if l.Key != "" {
		// The zero time is before any expiry: everything but expiry is checked.
		if _, err := workflow.ParseLicence(l.Key, pub, time.Time{}); err != nil {
			msg := err.Error()
			if p := problem.As(err); p != nil {
				msg = p.Message
			}
			return &configError{"WADDLE_LICENSE_KEY", "is not a licence key for WADDLE_LICENSE_PUBLIC_KEY: " + msg}
		}
	}
	if l.Server != "" {
		u, err := url.Parse(l.Server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &configError{"WADDLE_LICENSE_SERVER", fmt.Sprintf("is %q: want an http:// or https:// URL", l.Server)}
		}
	}
	return nil
}

// validatePlatforms checks the bots' credentials: a platform with none is
// off; one with some but not all fails here, naming what is missing.
func (c config) validatePlatforms() error {
	group := func(vars ...[2]string) error {
		set := false
		for _, v := range vars {
			set = set || v[1] != ""
		}
		if !set {
			return nil
		}
		for _, v := range vars {
			if v[1] == "" {
				others := []string{}
				for _, o := range vars {
					if o[1] != "" {
						others = append(others, o[0])
					}
				}
				verb := "is"
				if len(others) > 1 {
					verb = "are"
				}
				return &configError{v[0], fmt.Sprintf("is not set, but %s %s: set all of them or none", strings.Join(others, " and "), verb)}
			}
		}
		return nil
	}
	if err := group([2]string{"TWITCH_CLIENT_ID", c.Twitch.ClientID}, [2]string{"TWITCH_CLIENT_SECRET", c.Twitch.ClientSecret},
		[2]string{"TWITCH_BOT_LOGIN", c.Twitch.BotLogin}); err != nil {
		return err
	}
	// The secret signs webhook deliveries; the WebSocket transport needs none.
	if c.EventSubSecret != "" && !c.Twitch.on() {
		return &configError{"TWITCH_CLIENT_ID", "is not set, but TWITCH_EVENTSUB_SECRET is: set TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_BOT_LOGIN too, or none of them"}
	}
	if c.Twitch.on() && c.EventSubSecret == "" && c.Twitch.eventSubTransport(c.BaseURL) == "webhook" {
		return &configError{"TWITCH_EVENTSUB_SECRET", "is not set: Twitch signs its EventSub webhooks with it (10 to 100 characters); or use TWITCH_EVENTSUB_TRANSPORT=websocket"}
	}
	if err := group([2]string{"DISCORD_BOT_TOKEN", c.Discord.Token}, [2]string{"DISCORD_APP_ID", c.Discord.AppID},
		[2]string{"DISCORD_PUBLIC_KEY", c.Discord.PublicKey}); err != nil {
		return err
	}
	if err := group([2]string{"SLACK_CLIENT_ID", c.Slack.ClientID}, [2]string{"SLACK_CLIENT_SECRET", c.Slack.ClientSecret}); err != nil {
		return err
	}
	slackAny := c.Slack.ClientID != "" || c.Slack.BotToken != "" || c.Slack.AppToken != ""
	if slackAny && c.SlackSigning == "" {
		return &configError{"SLACK_SIGNING_SECRET", "is not set, but other SLACK_ variables are: copy it from the Slack app's Basic Information page"}
	}
	if c.SlackSigning != "" && c.Slack.ClientID == "" && c.Slack.BotToken == "" {
		return &configError{"SLACK_BOT_TOKEN", "is not set: give SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into workspaces from the hub, or SLACK_BOT_TOKEN (xoxb-…) for one workspace"}
	}
	if t := c.Slack.BotToken; t != "" && !strings.HasPrefix(t, "xoxb-") {
		return &configError{"SLACK_BOT_TOKEN", "does not start with xoxb-: copy the Bot User OAuth Token from the Slack app's OAuth & Permissions page"}
	}
	if t := c.Slack.AppToken; t != "" && !strings.HasPrefix(t, "xapp-") {
		return &configError{"SLACK_APP_TOKEN", "does not start with xapp-: create an app-level token with connections:write on the Slack app's Basic Information page"}
	}
	if c.Discord.AppID != "" && !isSnowflake(c.Discord.AppID) {
		return &configError{"DISCORD_APP_ID", "is not a Discord application id (a number): copy it from the developer portal's General Information page"}
	}
	if err := c.Discord.validateClientSecret(); err != nil {
		return err
	}
	if k := c.Discord.PublicKey; k != "" {
		if b, err := hex.DecodeString(k); err != nil || len(b) != 32 {
			return &configError{"DISCORD_PUBLIC_KEY", "is not 64 hex digits: copy it from the developer portal's General Information page"}
		}
	}
	if (c.Twitch.on() || c.Slack.ClientID != "") && c.TokenKey == "" {
		v := "TWITCH_CLIENT_ID"
		if !c.Twitch.on() {
			v = "SLACK_CLIENT_ID"
		}
		return &configError{"TOKEN_ENCRYPTION_KEY", fmt.Sprintf("is not set, but %s is: platform tokens are stored encrypted with it; make one with `openssl rand -base64 32`", v)}
	}
	for _, u := range []struct {
		name, val string
		schemes   []string
	}{
		{"TWITCH_API_URL", c.Twitch.APIURL, []string{"http", "https"}},
		{"TWITCH_AUTH_URL", c.Twitch.AuthURL, []string{"http", "https"}},
		{"DISCORD_API_URL", c.Discord.APIURL, []string{"http", "https"}},
		{"DISCORD_GATEWAY_URL", c.Discord.GatewayURL, []string{"ws", "wss"}},
		{"TWITCH_EVENTSUB_WS_URL", c.Twitch.EventSubWSURL, []string{"ws", "wss"}},
		{"SLACK_API_URL", c.Slack.APIURL, []string{"http", "https"}},
		{"TWITCH_IRC_ADDR", c.Twitch.IRCAddr, []string{"irc", "ircs"}},
	} {
		if u.val == "" {
			continue
		}
		if u.name == "TWITCH_IRC_ADDR" && !strings.Contains(u.val, "://") {
			if _, _, err := net.SplitHostPort(u.val); err != nil {
				return &configError{u.name, fmt.Sprintf("is %q: want host:port (TLS), ircs://host:port or irc://host:port (plain)", u.val)}
			}
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || !slices.Contains(u.schemes, p.Scheme) || p.Host == "" {
			return &configError{u.name, fmt.Sprintf("is %q: want a %s:// URL", u.val, strings.Join(u.schemes, ":// or "))}
		}
	}
	return nil
}

func isSnowflake(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// defaultListenAddr is where serve listens without LISTEN_ADDR.
const defaultListenAddr = "127.0.0.1:8080"

// defaultBaseURL is the hub's address when BASE_URL is not set: the listen
// address, with localhost for an unspecified host (":8080", "0.0.0.0:8080").
func defaultBaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen // Validate names LISTEN_ADDR
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func origins(name, s string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			return nil, &configError{name, fmt.Sprintf("has %q: want origins like https://app.example.com, separated by commas", o)}
		}
		out = append(out, o)
	}
	return out, nil
}

func prefixes(name, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, &configError{name, fmt.Sprintf("has %q: want addresses or CIDR ranges like 10.0.0.0/8, separated by commas", p)}
			}
			p = netip.PrefixFrom(a, a.BitLen()).String()
		}
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, &configError{name, fmt.Sprintf("has %q: want addresses or CIDR ranges like 10.0.0.0/8, separated by commas", p)}
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}

// defaultRateLimits are requests per minute per API key, by role (0: unlimited).
var defaultRateLimits = map[string]int{"user": 1000, "trigger": 200, "action": 600, "core": 0, "admin": 0}

func rateLimits(s string) (map[string]int, error) {
	out := map[string]int{}
	for k, v := range defaultRateLimits {
		out[k] = v
	}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		role, n, ok := strings.Cut(kv, "=")
		if _, known := defaultRateLimits[role]; !ok || !known {
			return nil, &configError{"API_RATE_LIMITS", fmt.Sprintf("has %q: want role=N pairs such as user=1000,trigger=200 (roles: user, trigger, action, core, admin)", kv)}
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 {
			return nil, &configError{"API_RATE_LIMITS", fmt.Sprintf("has %q: the limit must be a whole number of requests a minute, 0 for none", kv)}
		}
		out[role] = v
	}
	return out, nil
}
