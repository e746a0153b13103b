package workflow

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// FuzzWebhookSignature: no timestamp, signature or body panics the check,
// and only the right signature over the exact timestamp and body passes.
func FuzzWebhookSignature(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add(ts, Sign("s3cret", ts, []byte(`{"a":1}`)), []byte(`{"a":1}`))
	f.Add("", "", []byte{})
	f.Add("-1", "sha256=", []byte("x"))
	f.Add("99999999999999999999", "sha256=zz", []byte(nil))
	f.Add(ts+" ", "SHA256=00", []byte(`[]`))
	f.Fuzz(func(t *testing.T, timestamp, signature string, body []byte) {
		err := checkSignature([]byte("s3cret"), ReceiveRequest{Body: body, Timestamp: timestamp, Signature: signature}, now)
		if err == nil && signature != Sign("s3cret", timestamp, body) {
			t.Fatalf("accepted %q for %q.%q", signature, timestamp, body)
		}
		good := ReceiveRequest{Body: body, Timestamp: ts, Signature: Sign("s3cret", ts, body)}
		if err := checkSignature([]byte("s3cret"), good, now); err != nil {
			t.Fatalf("refused a good signature: %v", err)
		}
	})
}

// FuzzWebhookAllow: an allowlist entry is refused or normalized to one
// that parses back to itself; nothing panics.
func FuzzWebhookAllow(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24", "2001:db8::1", "::ffff:10.0.0.1", "::ffff:10.0.0.0/104", "fe80::1%eth0", "1.2.3.4/33", "", "/", "10.0.0.1/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, prefixes, err := parseAllow([]string{s})
		if err != nil {
			return
		}
		again, _, err := parseAllow(out)
		if err != nil || again[0] != out[0] {
			t.Fatalf("%q normalized to %q, which gives %q, %v", s, out[0], again, err)
		}
		if !allowed(prefixes, prefixes[0].Addr()) {
			t.Fatalf("%q does not allow its own address %s", s, prefixes[0].Addr())
		}
	})
}

// FuzzWebhookPayload: the payload's encoding, made by hand, decodes to the
// payload itself, as the encoding json.Marshal makes would.
func FuzzWebhookPayload(f *testing.F) {
	f.Add([]byte(`{"user":"alice","amount":5}`), "application/json", "Go <1.0> & \"x\"")
	f.Add([]byte(" [1, 2.5e3, {\"a\": [null, true, \"\\u00e9\\n\"]}]\n"), "", "")
	f.Add([]byte(`{"html":"<b>&amp;</b>","\u2028":"line"}`), "text/plain; charset=utf-8", "bot/1.0")
	f.Fuzz(func(t *testing.T, body []byte, contentType, agent string) {
		var decoded any
		if json.Unmarshal(body, &decoded) != nil {
			return
		}
		headers := map[string]string{"Content-Type": contentType, "User-Agent": agent, "Authorization": "secret"}
		payload, raw := webhookPayload(body, decoded, headers, time.Unix(1_800_000_000, 123).In(time.FixedZone("x", 3600)))
		var got, want any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("encoding %q does not decode: %v", raw, err)
		}
		enc, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(enc, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("encoding %s decodes to %v, want %v", raw, got, want)
		}
		if !jsonValues(payload) {
			t.Fatalf("payload %#v holds more than JSON values", payload)
		}
		if h := payload["headers"].(map[string]any); h["authorization"] != nil || h["user-agent"] != nil && agent == "" {
			t.Fatalf("headers kept: %v", h)
		}
	})
}
