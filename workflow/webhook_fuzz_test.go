package workflow

import (
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
