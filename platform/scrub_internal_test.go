package platform

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScrubPayload(t *testing.T) {
	t.Parallel()
	in := `{"token":"v","team":{"id":"T1"},"event_time":1700000000123456789,"text":"a <b> & c",` +
		`"event":{"type":"function_executed","bot_access_token":"xwfp-1","inputs":{"client_secret":"s","n":1.50}},` +
		`"response_urls":[{"response_url":"https://hooks.slack.com/x"}],"actions":[{"trigger_id":"T","value":"keep"}],` +
		`"interactivity":{"interactivity_pointer":"p","keep":true},"response_url":"https://hooks.slack.com/y","trigger_id":"TR"}`
	cases := []struct {
		name string
		when scrubWhen
		want string
	}{
		{"on receive", scrubOnReceive, `{"team":{"id":"T1"},"event_time":1700000000123456789,"text":"a <b> & c",` +
			`"event":{"type":"function_executed","inputs":{"n":1.50}},` +
			`"response_urls":[{"response_url":"https://hooks.slack.com/x"}],"actions":[{"trigger_id":"T","value":"keep"}],` +
			`"interactivity":{"interactivity_pointer":"p","keep":true},"response_url":"https://hooks.slack.com/y","trigger_id":"TR"}`},
		{"once processed", scrubOnProcessed, `{"team":{"id":"T1"},"event_time":1700000000123456789,"text":"a <b> & c",` +
			`"event":{"type":"function_executed","inputs":{"n":1.50}},"actions":[{"value":"keep"}],"interactivity":{"keep":true}}`},
	}
	for _, c := range cases {
		got, err := scrubPayload([]byte(in), c.when)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if diff := cmp.Diff(decodeNumbers(t, c.want), decodeNumbers(t, string(got))); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n%s", c.name, diff, got)
		}
	}
	// Nothing to drop: the payload comes back as it was.
	clean := `{"subscription":{"type":"channel.follow"},"event":{"user_id":"1"}}`
	if got, err := scrubPayload([]byte(clean), scrubOnProcessed); err != nil || string(got) != clean {
		t.Errorf("a clean payload: %s, %v", got, err)
	}
	if _, err := scrubPayload([]byte(`{"token":`), scrubOnReceive); err == nil {
		t.Error("malformed JSON: no error")
	}
}

func decodeNumbers(t *testing.T, s string) any {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}
