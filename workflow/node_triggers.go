package workflow

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/waddle/waddle/router"
)

// A trigger node starts runs; when it runs, it passes the trigger's payload
// on as its output.
func passTrigger(_ context.Context, x *Exec, _ Config) (Result, error) {
	return Result{Output: x.Input}, nil
}

var commandName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// CommandConfig configures trigger_command: a chat command on the
// community's prefix, listed in !help like any other.
type CommandConfig struct {
	Command        string   `json:"command"`
	Platforms      []string `json:"platforms"`
	Permission     string   `json:"permission"`
	UserCooldown   int      `json:"user_cooldown_seconds"`
	GlobalCooldown int      `json:"global_cooldown_seconds"`
}

func (c *CommandConfig) Check(ch *Checker) {
	c.Command = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(c.Command)), "!")
	if !commandName.MatchString(c.Command) {
		ch.Errorf("command", "A command name has 1 to 32 lowercase letters, digits or _.")
	}
	checkPlatforms(ch, c.Platforms)
	if !slices.Contains(router.Permissions, c.Permission) {
		ch.Errorf("permission", "Choose who may run it: %s.", strings.Join(router.Permissions, ", "))
	}
	if c.UserCooldown < 0 || c.UserCooldown > 86400 {
		ch.Errorf("user_cooldown_seconds", "A cooldown is 0 to 86400 seconds.")
	}
	if c.GlobalCooldown < 0 || c.GlobalCooldown > 86400 {
		ch.Errorf("global_cooldown_seconds", "A cooldown is 0 to 86400 seconds.")
	}
}

func checkPlatforms(ch *Checker, ps []string) {
	if len(ps) == 0 {
		ch.Errorf("platforms", "Choose at least one platform.")
	}
	for _, p := range ps {
		if !slices.Contains(router.Platforms, p) {
			ch.Errorf("platforms", "Unknown platform %q: choose from %s.", p, strings.Join(router.Platforms, ", "))
		}
	}
}

// EventConfig configures trigger_event: platform events of some kinds that
// pass its filters (rules over {{ trigger.… }}).
type EventConfig struct {
	Platforms []string `json:"platforms"`
	Kinds     []string `json:"kinds"`
	Rules     []Rule   `json:"rules"`
}

func (c *EventConfig) Check(ch *Checker) {
	checkPlatforms(ch, c.Platforms)
	if len(c.Kinds) == 0 {
		ch.Errorf("kinds", "Choose at least one kind of event.")
	}
	for _, k := range c.Kinds {
		if !slices.Contains(router.Kinds, router.Kind(k)) {
			ch.Errorf("kinds", "Unknown event kind %q.", k)
		}
	}
	if len(c.Rules) > 0 { // filters are optional
		checkRules(ch, "rules", c.Rules)
	}
}

// Matches reports whether an event is one this trigger starts runs for.
func (c *EventConfig) Matches(ev router.Event) bool {
	return slices.Contains(c.Platforms, ev.Platform) && slices.Contains(c.Kinds, string(ev.Kind))
}

// Webhook response modes.
const (
	WebhookAsync = "async" // 202 with the run id once the trigger is stored
	WebhookSync  = "sync"  // waits for the run and answers with a node's output
)

// WebhookConfig configures trigger_webhook; its URLs and secrets are made
// through the API.
type WebhookConfig struct {
	Mode        string `json:"mode"`
	RespondNode string `json:"respond_node"` // sync: whose output is the answer; empty: the run's last output
	TimeoutSecs int    `json:"timeout_seconds"`
}

func (c *WebhookConfig) Check(ch *Checker) {
	switch c.Mode {
	case WebhookAsync, WebhookSync:
	default:
		ch.Errorf("mode", "Choose async (answer 202 at once) or sync (wait for the run's answer).")
	}
	if c.TimeoutSecs < 1 || c.TimeoutSecs > 30 {
		ch.Errorf("timeout_seconds", "A synchronous webhook waits 1 to 30 seconds.")
	}
	if c.RespondNode != "" && !ch.NodeExists(c.RespondNode) {
		ch.Errorf("respond_node", "There is no node %q to answer with.", c.RespondNode)
	}
}

// Schedule kinds.
const (
	ScheduleCron     = "cron"
	ScheduleInterval = "interval"
	ScheduleOnce     = "once"
)

// ScheduleConfig configures trigger_schedule.
type ScheduleConfig struct {
	Kind          string `json:"kind"`
	Cron          string `json:"cron,omitempty"`
	TimeZone      string `json:"timezone,omitempty"`
	EverySeconds  int    `json:"every_seconds,omitempty"`
	MaxCount      int    `json:"max_count,omitempty"` // interval: stop after this many; 0: never
	At            string `json:"at,omitempty"`        // once: RFC 3339
	GraceSeconds  int    `json:"grace_seconds"`
	MaxConcurrent int    `json:"max_concurrent"`
}

// CronParser parses the five-field cron expressions schedules use (and
// descriptors such as @daily).
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (c *ScheduleConfig) Check(ch *Checker) {
	switch c.Kind {
	case ScheduleCron:
		if _, err := CronParser.Parse(c.Cron); err != nil || len(c.Cron) > 100 {
			ch.Errorf("cron", "Not a cron expression (five fields: minute hour day month weekday, such as \"0 12 * * *\"): %v.", err)
		}
		if c.TimeZone != "" {
			if _, err := time.LoadLocation(c.TimeZone); err != nil || len(c.TimeZone) > 64 {
				ch.Errorf("timezone", "Unknown time zone %q: use a name such as Europe/Paris.", c.TimeZone)
			}
		}
	case ScheduleInterval:
		if c.EverySeconds < 10 || c.EverySeconds > 366*86400 {
			ch.Errorf("every_seconds", "An interval is between 10 seconds and a year.")
		}
		if c.MaxCount < 0 || c.MaxCount > 1_000_000 {
			ch.Errorf("max_count", "The maximum count is 0 (no maximum) to 1000000.")
		}
	case ScheduleOnce:
		if _, err := time.Parse(time.RFC3339, c.At); err != nil {
			ch.Errorf("at", "Give the date and time in RFC 3339 form, such as 2026-12-24T18:00:00+01:00.")
		}
	default:
		ch.Errorf("kind", "Choose cron, interval or once.")
	}
	if c.GraceSeconds < 0 || c.GraceSeconds > 86400 {
		ch.Errorf("grace_seconds", "The grace period is 0 to 86400 seconds.")
	}
	if c.MaxConcurrent < 1 || c.MaxConcurrent > 100 {
		ch.Errorf("max_concurrent", "Allow 1 to 100 runs at once.")
	}
}

func init() {
	register(&Kind{Type: "trigger_command", Category: CategoryTrigger, Title: "Chat command",
		Summary: "Starts the workflow when someone types its command in chat; it shows in !help like any command.",
		New: func() Config {
			return &CommandConfig{Platforms: slices.Clone(router.Platforms), Permission: "everyone"}
		},
		Run: passTrigger})
	register(&Kind{Type: "trigger_event", Category: CategoryTrigger, Title: "Platform event",
		Summary: "Starts the workflow on a raid, follow, cheer or other platform event that passes its filters.",
		New:     func() Config { return &EventConfig{Platforms: slices.Clone(router.Platforms)} },
		Run:     passTrigger})
	register(&Kind{Type: "trigger_webhook", Category: CategoryTrigger, Title: "Webhook",
		Summary: "Starts the workflow when a signed HTTP request arrives at its webhook URL.",
		New:     func() Config { return &WebhookConfig{Mode: WebhookAsync, TimeoutSecs: 10} },
		Run:     passTrigger})
	register(&Kind{Type: "trigger_schedule", Category: CategoryTrigger, Title: "Schedule",
		Summary: "Starts the workflow on a cron schedule, every so many seconds, or once at a date and time.",
		New: func() Config {
			return &ScheduleConfig{Kind: ScheduleCron, Cron: "0 12 * * *", TimeZone: "UTC", GraceSeconds: 900, MaxConcurrent: 1}
		},
		Run: passTrigger})
}
