package twitch_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/waddle/waddle/bots/twitch"
)

// FuzzEventSubEvent: no body panics the mapper, and whatever it accepts is a
// valid router event.
func FuzzEventSubEvent(f *testing.F) {
	f.Add([]byte(`{"subscription":{"type":"channel.follow"},"event":{"user_id":"1","user_login":"a","broadcaster_user_login":"b"}}`))
	f.Add([]byte(`{"subscription":{"type":"channel.raid"},"event":{"from_broadcaster_user_id":"1","to_broadcaster_user_login":"b","viewers":-5}}`))
	f.Add([]byte(`{"subscription":{"type":"channel.cheer"},"event":{"is_anonymous":true,"bits":"x"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := twitch.EventSubEvent("m1", body, time.Now())
		if err != nil {
			return
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("accepted %q but the router event is invalid: %v", body, err)
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
		if _, err := twitch.VerifyEventSub("a-secret-for-fuzzing", h, body, time.Now()); err == nil {
			t.Errorf("a message with a made-up signature %q was accepted", sig)
		}
	})
}
