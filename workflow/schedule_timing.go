package workflow

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/waddle/waddle/db"
)

// timing is a schedule's settings made ready to compute fire times.
type timing struct {
	kind  string
	cron  cron.Schedule
	loc   *time.Location
	every time.Duration
	at    time.Time
}

// timingOf compiles a checked schedule configuration.
func timingOf(c *ScheduleConfig) (timing, error) {
	t := timing{kind: c.Kind, loc: time.UTC}
	switch c.Kind {
	case ScheduleCron:
		if c.TimeZone != "" {
			loc, err := time.LoadLocation(c.TimeZone)
			if err != nil {
				return t, fmt.Errorf("time zone %q: %w", c.TimeZone, err)
			}
			t.loc = loc
		}
		s, err := CronParser.Parse(c.Cron)
		if err != nil {
			return t, fmt.Errorf("cron %q: %w", c.Cron, err)
		}
		t.cron = s
	case ScheduleInterval:
		if c.EverySeconds <= 0 {
			return t, fmt.Errorf("interval of %d seconds", c.EverySeconds)
		}
		t.every = time.Duration(c.EverySeconds) * time.Second
	case ScheduleOnce:
		at, err := time.Parse(time.RFC3339, c.At)
		if err != nil {
			return t, fmt.Errorf("time %q: %w", c.At, err)
		}
		t.at = at.Truncate(time.Second)
	default:
		return t, fmt.Errorf("schedule kind %q", c.Kind)
	}
	return t, nil
}

// first is the first fire time after now, for a schedule set up now.
func (t timing) first(now time.Time) (time.Time, bool) {
	switch t.kind {
	case ScheduleCron:
		next := t.cron.Next(now.In(t.loc))
		return next.UTC(), !next.IsZero()
	case ScheduleInterval:
		return now.Truncate(time.Second).Add(t.every).UTC(), true
	default:
		return t.at.UTC(), t.at.After(now)
	}
}

// next is the first fire time after after, prev being the last one (an
// interval keeps its phase).
func (t timing) next(prev, after time.Time) (time.Time, bool) {
	switch t.kind {
	case ScheduleCron:
		next := t.cron.Next(after.In(t.loc))
		return next.UTC(), !next.IsZero()
	case ScheduleInterval:
		if after.Before(prev) {
			return prev, true
		}
		k := after.Sub(prev)/t.every + 1
		return prev.Add(k * t.every).UTC(), true
	default:
		return time.Time{}, false
	}
}

// sameTiming reports whether a stored schedule fires at the times a
// configuration asks for (so publishing again keeps its next fire time and
// count).
func sameTiming(row db.WorkflowSchedule, c *ScheduleConfig) bool {
	if row.Kind != c.Kind {
		return false
	}
	switch c.Kind {
	case ScheduleCron:
		return row.Cron == c.Cron && row.Timezone == zoneOr(c.TimeZone)
	case ScheduleInterval:
		return int(row.EverySeconds) == c.EverySeconds && int(row.MaxCount) == c.MaxCount
	default:
		at, err := time.Parse(time.RFC3339, c.At)
		return err == nil && row.At != nil && row.At.Equal(at.Truncate(time.Second))
	}
}

func zoneOr(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

// configOf turns a stored schedule back into its configuration.
func configOf(row db.WorkflowSchedule) *ScheduleConfig {
	c := &ScheduleConfig{Kind: row.Kind, Cron: row.Cron, TimeZone: row.Timezone, EverySeconds: int(row.EverySeconds),
		MaxCount: int(row.MaxCount), GraceSeconds: int(row.GraceSeconds), MaxConcurrent: int(row.MaxConcurrent)}
	if row.At != nil {
		c.At = row.At.UTC().Format(time.RFC3339)
	}
	return c
}

// atOf is a once schedule's time, for its row.
func atOf(c *ScheduleConfig) *time.Time {
	if c.Kind != ScheduleOnce {
		return nil
	}
	at, err := time.Parse(time.RFC3339, c.At)
	if err != nil {
		return nil
	}
	at = at.Truncate(time.Second).UTC()
	return &at
}
