package workflow

import (
	"context"
	"strings"
	"testing"
	"time"
)

func runDelayNode(t *testing.T, raw string, scope map[string]any) (Result, *Exec, error) {
	t.Helper()
	k, cfg := mustConfig(t, "action_delay", raw)
	x := &Exec{Node: &Node{ID: "d1"}, Scope: scope}
	res, err := k.Run(context.Background(), x, cfg)
	return res, x, err
}

func TestDelayWaits(t *testing.T) {
	t.Parallel()
	scope := map[string]any{"vars": map[string]any{"wait": 12.5, "text": "30", "list": []any{2.0}}}
	cases := []struct {
		name, raw string
		want      time.Duration
	}{
		{"fixed", `{"seconds":90}`, 90 * time.Second},
		{"zero", `{"seconds":0}`, 0},
		{"30 days", `{"seconds":2592000}`, 30 * 24 * time.Hour},
		{"from a variable", `{"from":"vars.wait"}`, 12500 * time.Millisecond},
		{"from a template", `{"from":"{{ vars.wait }}"}`, 12500 * time.Millisecond},
		{"from a string", `{"from":"vars.text"}`, 30 * time.Second},
		{"from a list item", `{"from":"vars.list.0"}`, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := runDelayNode(t, tc.raw, scope)
			if err != nil {
				t.Fatal(err)
			}
			if res.Wait != tc.want || outputOf(t, res)["waited_seconds"] != tc.want.Seconds() {
				t.Errorf("wait %s, output %v; want %s", res.Wait, res.Output, tc.want)
			}
		})
	}
}

func TestDelayFromABadVariable(t *testing.T) {
	t.Parallel()
	scope := map[string]any{"vars": map[string]any{"word": "soon", "huge": 1e12, "neg": -1.0}}
	cases := []struct{ name, from, want string }{
		{"missing", "vars.nope", "missing"},
		{"not a number", "vars.word", "not a number"},
		{"too long", "vars.huge", "30 days"},
		{"negative", "vars.neg", "30 days"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, x, err := runDelayNode(t, `{"from":"`+tc.from+`"}`, scope)
			if err == nil || !strings.HasPrefix(err.Error(), "from:") || !strings.Contains(err.Error(), tc.want) || res.Wait != 0 {
				t.Errorf("err = %v, wait %s; want an error on from saying %q", err, res.Wait, tc.want)
			}
			if tc.name == "missing" && (len(x.Missing) != 1 || x.Missing[0] != "vars.nope") {
				t.Errorf("missing %v", x.Missing)
			}
		})
	}
}

func TestDelayBadConfig(t *testing.T) {
	t.Parallel()
	testBadConfigs(t, "action_delay", []badConfig{
		{"neither", `{}`, "seconds"},
		{"both", `{"seconds":5,"from":"vars.wait"}`, "from"},
		{"negative", `{"seconds":-1}`, "seconds"},
		{"over 30 days", `{"seconds":2592001}`, "seconds"},
		{"bad path", `{"from":"vars..wait"}`, "from"},
		{"not a path", `{"from":"wait a minute"}`, "from"},
	})
	if k, _ := KindOf("action_delay"); k.Effect {
		t.Error("action_delay touches nothing outside the run; Effect must be false")
	}
}

// TestActionKindsRegistered: the five actions are in the palette's action
// category, and all but the delay are checkpointed as effects.
func TestActionKindsRegistered(t *testing.T) {
	t.Parallel()
	for typ, effect := range map[string]bool{"action_chat_message": true, "action_module": true, "action_browser_source": true,
		"action_webhook": true, "action_delay": false} {
		k, ok := KindOf(typ)
		if !ok || k.Category != CategoryAction || k.Effect != effect || k.Run == nil || len(k.Inputs) != 1 || k.Title == "" {
			t.Errorf("%s: %+v", typ, k)
		}
	}
}
