package platform_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/waddle/waddle/platform"
)

// FuzzEventSubEvent: no body panics the mapper, and whatever it accepts is a
// valid router event.
func FuzzEventSubEvent(f *testing.F) {
	f.Add([]byte(`{"subscription":{"type":"channel.follow"},"event":{"user_id":"1","user_login":"a","broadcaster_user_login":"b"}}`))
	f.Add([]byte(`{"subscription":{"type":"channel.raid"},"event":{"from_broadcaster_user_id":"1","to_broadcaster_user_login":"b","viewers":-5}}`))
	f.Add([]byte(`{"subscription":{"type":"channel.cheer"},"event":{"is_anonymous":true,"bits":"x"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := platform.EventSubEvent("m1", body, time.Now())
		if err != nil {
			return
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("accepted %q but the router event is invalid: %v", body, err)
		}
	})
}

// FuzzSlackRouterEvent: no payload panics the mapper, and whatever it maps is valid.
func FuzzSlackRouterEvent(f *testing.F) {
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"E1","event":{"type":"message","user":"U1","text":"!hi","channel":"C1"}}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event":{"type":"reaction_added","user":"U1","item":{"channel":"C"}}}`))
	f.Add([]byte(`{"event":{"type":"team_join","user":"not an object"}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, ok, err := platform.SlackRouterEvent(payload)
		if err != nil || !ok {
			return
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("mapped %q to an invalid router event: %v", payload, err)
		}
	})
}

// FuzzVerifyEventSub: no header or body panics the verifier, and nothing
// unsigned is accepted.
func FuzzVerifyEventSub(f *testing.F) {
	f.Add("id", time.Now().Format(time.RFC3339), "sha256=00", "notification", []byte(`{}`))
	f.Fuzz(func(t *testing.T, id, ts, sig, typ string, body []byte) {
		h := http.Header{}
		h.Set("Twitch-Eventsub-Message-Id", id)
		h.Set("Twitch-Eventsub-Message-Timestamp", ts)
		h.Set("Twitch-Eventsub-Message-Signature", sig)
		h.Set("Twitch-Eventsub-Message-Type", typ)
		if _, err := platform.VerifyEventSub("a-secret-for-fuzzing", h, body, time.Now()); err == nil {
			t.Errorf("a message with a made-up signature %q was accepted", sig)
		}
	})
}
