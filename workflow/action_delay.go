package workflow

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// MaxDelay is the longest action_delay waits.
const MaxDelay = 30 * 24 * time.Hour

// Delay is action_delay's configuration: a fixed number of seconds, or the
// path of a number of seconds in the run's scope ("vars.wait").
type Delay struct {
	Seconds *float64 `json:"seconds,omitempty"`
	From    string   `json:"from,omitempty"`
}

// Check names the field at fault.
func (cfg *Delay) Check(c *Checker) {
	switch {
	case cfg.Seconds == nil && cfg.From == "":
		c.Errorf("seconds", "Give the seconds to wait, or a variable to read them from.")
	case cfg.Seconds != nil && cfg.From != "":
		c.Errorf("from", "Give either seconds or from, not both.")
	case cfg.Seconds != nil:
		if err := checkDelay(*cfg.Seconds); err != "" {
			c.Errorf("seconds", "%s", err)
		}
	default:
		path := delayPath(cfg.From)
		if !validPath(path) {
			c.Errorf("from", "Give the path of a number of seconds, e.g. vars.wait or trigger.data.seconds.")
			return
		}
		c.Template("from", "{{ "+path+" }}", 300)
	}
}

// checkDelay says what is wrong with a number of seconds, or "".
func checkDelay(s float64) string {
	if math.IsNaN(s) || s < 0 || s > MaxDelay.Seconds() {
		return fmt.Sprintf("A delay is 0 to %.0f seconds (30 days).", MaxDelay.Seconds())
	}
	return ""
}

// delayPath takes "{{ vars.wait }}" or "vars.wait" to "vars.wait".
func delayPath(from string) string {
	s := strings.TrimSpace(from)
	if inner, ok := strings.CutPrefix(s, "{{"); ok {
		if inner, ok := strings.CutSuffix(inner, "}}"); ok {
			s = strings.TrimSpace(inner)
		}
	}
	return s
}

func init() {
	register(&Kind{
		Type:     "action_delay",
		Category: CategoryAction,
		Title:    "Delay",
		Summary:  "Waits a fixed time, or a number of seconds from a variable; a long wait frees its worker and resumes later.",
		New:      func() Config { return &Delay{} },
		Run:      runDelay,
	})
}

func runDelay(_ context.Context, x *Exec, c Config) (Result, error) {
	cfg := c.(*Delay)
	var secs float64
	if cfg.Seconds != nil {
		secs = *cfg.Seconds
	} else {
		path := delayPath(cfg.From)
		v, ok := lookupPath(x.Scope, path)
		if !ok {
			x.Missing = append(x.Missing, path)
			return Result{}, fmt.Errorf("from: %s is missing", path)
		}
		n, ok := number(v)
		if !ok {
			return Result{}, fmt.Errorf("from: %s is not a number of seconds", path)
		}
		secs = n
	}
	if err := checkDelay(secs); err != "" {
		field := "from"
		if cfg.Seconds != nil {
			field = "seconds"
		}
		return Result{}, fmt.Errorf("%s: %s", field, err)
	}
	d := time.Duration(secs * float64(time.Second))
	return Result{Output: map[string]any{"waited_seconds": secs}, Wait: d}, nil
}
