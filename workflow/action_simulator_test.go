package workflow

import (
	"strings"
	"testing"
)

// A run started from the chat simulator answers "in the trigger's channel"
// without posting anywhere: the simulator never posts to a real chat.
func TestChatMessageFromTheSimulatorIsShownNotSent(t *testing.T) {
	x := &Exec{Scope: map[string]any{
		"trigger": map[string]any{"platform": "twitch", "server": "simulator", "channel": "simulator", "user": map[string]any{"display_name": "Ann"}},
	}, Env: &Env{}} // no Router: a send would fail the test
	res, err := runNode(t, "action_chat_message", `{"target": "trigger", "text": "Thanks {{ trigger.user.display_name }}!"}`, x)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := res.Output.(map[string]any)
	if out["sent"] != false || out["text"] != "Thanks Ann!" {
		t.Fatalf("output %v, want the message shown, not sent", res.Output)
	}
	if len(x.Notes) == 0 || !strings.Contains(x.Notes[0], "chat simulator") {
		t.Errorf("notes %v: the trace should say why nothing was posted", x.Notes)
	}
}
