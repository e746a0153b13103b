package slackbot_test

import (
	"testing"

	slackbot "github.com/waddle/waddle/bots/slack"
)

// FuzzSlackRouterEvent: no payload panics the mapper, and whatever it maps is valid.
func FuzzSlackRouterEvent(f *testing.F) {
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"E1","event":{"type":"message","user":"U1","text":"!hi","channel":"C1"}}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event":{"type":"reaction_added","user":"U1","item":{"channel":"C"}}}`))
	f.Add([]byte(`{"event":{"type":"team_join","user":"not an object"}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, ok, err := slackbot.RouterEvent(payload)
		if err != nil || !ok {
			return
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("mapped %q to an invalid router event: %v", payload, err)
		}
	})
}
