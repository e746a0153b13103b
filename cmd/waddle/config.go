package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	EventSubSecret  string // TWITCH_EVENTSUB_SECRET: turns on the Twitch EventSub webhook receiver
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
		ListenAddr:      get("LISTEN_ADDR", "127.0.0.1:8080"),
		SMTPURL:         get("SMTP_URL", ""),
		MailFrom:        get("MAIL_FROM", ""),
		LogFormat:       get("LOG_FORMAT", "auto"),
		LogLevel:        get("LOG_LEVEL", "info"),
		AdminEmail:      get("WADDLE_ADMIN_EMAIL", "admin@example.com"),
		AdminPassword:   getenv("WADDLE_ADMIN_PASSWORD"),
		TokenKey:        get("TOKEN_ENCRYPTION_KEY", ""),
		SlackSigning:    get("SLACK_SIGNING_SECRET", ""),
		EventSubSecret:  get("TWITCH_EVENTSUB_SECRET", ""),
	}
	c.BaseURL = strings.TrimRight(get("BASE_URL", defaultBaseURL(c.ListenAddr)), "/")
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
	if n := len(c.EventSubSecret); n > 0 && (n < 10 || n > 100) {
		return &configError{"TWITCH_EVENTSUB_SECRET", fmt.Sprintf("has %d characters: Twitch takes a subscription secret of 10 to 100", n)}
	}
	return nil
}

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
