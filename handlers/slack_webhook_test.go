package handlers_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/platform"
)

const slackTestSecret = "e3b0c44298fc1c149afbf4c8996fb924"

// withSlack turns the Slack Events API on, as SLACK_SIGNING_SECRET does.
func withSlack(secret string) envOption {
	return func(c *handlers.Config) {
		c.Slack = slackbot.NewReceiver(slackbot.ReceiverConfig{Deliveries: platform.NewDeliveries(c.Health.Primary, c.Health.Jobs), SigningSecret: secret, Logger: c.Logger})
	}
}

// slackSign returns Slack's signature headers for body, made with secret at ts.
func slackSign(secret string, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", stamp, body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}

func slackCallback(eventID string) []byte {
	return []byte(`{"token":"legacy","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"` + eventID +
		`","event_time":1700000000,"event":{"type":"message","channel":"C1","user":"U1","text":"!hello","ts":"1.0"}}`)
}

// slackPost sends body to the Events API endpoint with hdr.
func (e *env) slackPost(body []byte, hdr http.Header) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/slack/events", bytes.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{Response: res, body: string(b)}
}

func (e *env) slackStored() (deliveries, jobs int) {
	e.t.Helper()
	return e.count("SELECT count(*) FROM platform_deliveries WHERE platform = 'slack'"),
		e.count("SELECT count(*) FROM river_job WHERE kind = $1", slackbot.DeliveryArgs{}.Kind())
}

func TestSlackEventsSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSlack(slackTestSecret))
	body := slackCallback("EvSig")
	now := time.Now()
	noSig := slackSign(slackTestSecret, now, body)
	noSig.Del("X-Slack-Signature")
	noStamp := slackSign(slackTestSecret, now, body)
	noStamp.Del("X-Slack-Request-Timestamp")
	tampered := slackSign(slackTestSecret, now, body)
	sig := []byte(tampered.Get("X-Slack-Signature"))
	if sig[len(sig)-1] == '0' { // one hex digit off, still 32 bytes
		sig[len(sig)-1] = '1'
	} else {
		sig[len(sig)-1] = '0'
	}
	tampered.Set("X-Slack-Signature", string(sig))
	notHex := slackSign(slackTestSecret, now, body)
	notHex.Set("X-Slack-Signature", "v0=zz")
	cases := []struct {
		name       string
		hdr        http.Header
		body       []byte
		wantStatus int
	}{
		{"wrong secret", slackSign("another-signing-secret", now, body), body, http.StatusUnauthorized},
		{"body changed after signing", slackSign(slackTestSecret, now, body), append(bytes.Clone(body), ' '), http.StatusUnauthorized},
		{"tampered signature", tampered, body, http.StatusUnauthorized},
		{"signature not hex", notHex, body, http.StatusUnauthorized},
		{"missing signature", noSig, body, http.StatusUnauthorized},
		{"missing timestamp", noStamp, body, http.StatusUnauthorized},
		{"no headers", http.Header{}, body, http.StatusUnauthorized},
		{"stale timestamp", slackSign(slackTestSecret, now.Add(-6*time.Minute), body), body, http.StatusUnauthorized},
		{"timestamp from the future", slackSign(slackTestSecret, now.Add(6*time.Minute), body), body, http.StatusUnauthorized},
		{"good, four minutes old", slackSign(slackTestSecret, now.Add(-4*time.Minute), body), body, http.StatusOK},
	}
	for _, c := range cases {
		res := e.slackPost(c.body, c.hdr)
		if res.StatusCode != c.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", c.name, res.StatusCode, res.body, c.wantStatus)
		}
		deliveries, jobs := e.slackStored()
		if want := 0; c.wantStatus == http.StatusOK {
			want = 1
			if deliveries != want || jobs != want {
				t.Errorf("%s: %d deliveries and %d jobs stored, want %d", c.name, deliveries, jobs, want)
			}
		} else if deliveries != want || jobs != want {
			t.Errorf("%s: %d deliveries and %d jobs stored by a rejected request, want none", c.name, deliveries, jobs)
		}
	}
}

func TestSlackEventsURLVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSlack(slackTestSecret))
	body := []byte(`{"token":"legacy","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	res := e.slackPost(body, slackSign(slackTestSecret, time.Now(), body))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", res.StatusCode, res.body)
	}
	var got struct{ Challenge string }
	if err := json.Unmarshal([]byte(res.body), &got); err != nil || got.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("answer %q (%v), want the challenge echoed as JSON", res.body, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	// An unsigned challenge is refused like any other request.
	if res := e.slackPost(body, http.Header{}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned challenge: status %d, want 401", res.StatusCode)
	}
}

func TestSlackEventsStoresAndQueuesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSlack(slackTestSecret))
	body := slackCallback("Ev06ABCDEF")
	res := e.slackPost(body, slackSign(slackTestSecret, time.Now(), body))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", res.StatusCode, res.body)
	}
	if n := e.count(`SELECT count(*) FROM platform_deliveries d JOIN river_job j ON (j.args->>'delivery_id')::bigint = d.id
		WHERE d.platform = 'slack' AND d.message_id = 'Ev06ABCDEF' AND d.kind = 'message' AND d.processed_at IS NULL
		AND j.kind = $1 AND j.state = 'available'`, slackbot.DeliveryArgs{}.Kind()); n != 1 {
		t.Fatalf("stored delivery with its queued job: %d, want 1", n)
	}

	// Slack retries (it did not see the 200 in time): acknowledged, nothing new.
	hdr := slackSign(slackTestSecret, time.Now(), body)
	hdr.Set("X-Slack-Retry-Num", "1")
	hdr.Set("X-Slack-Retry-Reason", "http_timeout")
	if res := e.slackPost(body, hdr); res.StatusCode != http.StatusOK {
		t.Errorf("retry: status %d (%s), want 200", res.StatusCode, res.body)
	}

	// Retries that arrive together, while another is being stored, are all acknowledged once.
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	other := slackCallback("Ev06GHIJKL")
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/slack/events", bytes.NewReader(other))
			req.Header = slackSign(slackTestSecret, time.Now(), other)
			req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(i))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("concurrent delivery %d: status %d, want 200", i, st)
		}
	}
	if deliveries, jobs := e.slackStored(); deliveries != 2 || jobs != 2 {
		t.Errorf("%d deliveries and %d jobs, want 2 and 2 (one per event_id)", deliveries, jobs)
	}
}

func TestSlackEventsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSlack(slackTestSecret))
	big := append([]byte(`{"type":"event_callback","event_id":"EvBig","team_id":"T1","event":{"type":"message","text":"`),
		bytes.Repeat([]byte("a"), platform.WebhookMaxBody)...)
	big = append(big, `"}}`...)
	cases := []struct {
		name       string
		body       []byte
		wantStatus int
	}{
		{"oversized body", big, http.StatusRequestEntityTooLarge},
		{"malformed JSON", []byte(`{"type":"event_callback",`), http.StatusBadRequest},
		// Types Slack may add later are acknowledged and dropped: Slack disables an
		// app whose deliveries mostly fail (issue 11).
		{"unknown request type", []byte(`{"type":"something_new"}`), http.StatusOK},
		{"unknown inner event type", []byte(`{"type":"event_callback","event_id":"EvX","team_id":"T1","event":{"type":"no_such_event"}}`), http.StatusOK},
		{"no event_id", []byte(`{"type":"event_callback","team_id":"T1","event":{"type":"message","user":"U1","text":"hi"}}`), http.StatusBadRequest},
		{"challenge without challenge", []byte(`{"type":"url_verification"}`), http.StatusBadRequest},
		{"NUL escape", []byte(`{"type":"event_callback","event_id":"EvNul","team_id":"T1","event":{"type":"message","user":"U1","text":"a\u0000b"}}`), http.StatusBadRequest},
	}
	for _, c := range cases {
		res := e.slackPost(c.body, slackSign(slackTestSecret, time.Now(), c.body))
		if res.StatusCode != c.wantStatus {
			t.Errorf("%s: status %d (%.200s), want %d", c.name, res.StatusCode, res.body, c.wantStatus)
		}
	}
	if deliveries, jobs := e.slackStored(); deliveries != 0 || jobs != 0 {
		t.Errorf("%d deliveries and %d jobs stored from bad input, want none", deliveries, jobs)
	}
	// Slack's own notice that it dropped events is acknowledged.
	notice := []byte(`{"token":"legacy","type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"}`)
	if res := e.slackPost(notice, slackSign(slackTestSecret, time.Now(), notice)); res.StatusCode != http.StatusOK {
		t.Errorf("app_rate_limited: status %d (%s), want 200", res.StatusCode, res.body)
	}
}

func TestSlackEventsOffWithoutSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := slackCallback("EvOff")
	res := e.slackPost(body, slackSign(slackTestSecret, time.Now(), body))
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("status %d (%s), want 404", res.StatusCode, res.body)
	}
	if deliveries, jobs := e.slackStored(); deliveries != 0 || jobs != 0 {
		t.Errorf("%d deliveries and %d jobs stored, want none", deliveries, jobs)
	}
}
