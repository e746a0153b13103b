package handlers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/handlers"
)

const eventSubSecret = "eventsub-secret-for-tests"

func withEventSub(c *handlers.Config) { c.EventSubSecret = eventSubSecret }

// eventSubReq is one EventSub request as Twitch sends it, signed with secret at ts.
type eventSubReq struct {
	msgType, id, subType, body string
	secret                     string    // "": eventSubSecret
	ts                         time.Time // zero: now
	sig                        string    // "": computed; "-": none
}

func (e *env) eventSub(r eventSubReq) (int, http.Header, string) {
	e.t.Helper()
	if r.secret == "" {
		r.secret = eventSubSecret
	}
	if r.ts.IsZero() {
		r.ts = time.Now()
	}
	ts := r.ts.UTC().Format(time.RFC3339Nano)
	if r.sig == "" {
		mac := hmac.New(sha256.New, []byte(r.secret))
		mac.Write([]byte(r.id + ts + r.body))
		r.sig = "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/twitch/eventsub", strings.NewReader(r.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Twitch-Eventsub-Message-Id", r.id)
	req.Header.Set("Twitch-Eventsub-Message-Retry", "0")
	req.Header.Set("Twitch-Eventsub-Message-Type", r.msgType)
	req.Header.Set("Twitch-Eventsub-Message-Timestamp", ts)
	req.Header.Set("Twitch-Eventsub-Subscription-Type", r.subType)
	req.Header.Set("Twitch-Eventsub-Subscription-Version", "1")
	if r.sig != "-" {
		req.Header.Set("Twitch-Eventsub-Message-Signature", r.sig)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

const followBody = `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled","cost":0,` +
	`"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch/eventsub"},` +
	`"created_at":"2019-11-16T10:11:12.634234626Z"},"event":{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User",` +
	`"broadcaster_user_id":"1337","broadcaster_user_login":"duckchan","broadcaster_user_name":"DuckChan","followed_at":"2020-07-15T18:16:11.17106713Z"}}`

const challengeBody = `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending",` +
	`"type":"channel.follow","version":"2","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch/eventsub"},` +
	`"created_at":"2019-11-16T10:11:12.634234626Z"}}`

func TestEventSubSignatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEventSub)
	now := time.Now()
	cases := []struct {
		name       string
		req        eventSubReq
		wantStatus int
	}{
		{"good", eventSubReq{}, http.StatusOK},
		{"wrong secret", eventSubReq{secret: "another-secret-entirely"}, http.StatusForbidden},
		{"missing signature", eventSubReq{sig: "-"}, http.StatusForbidden},
		{"garbage signature", eventSubReq{sig: "sha256=00ff"}, http.StatusForbidden},
		{"other algorithm", eventSubReq{sig: "sha1=" + strings.Repeat("ab", 20)}, http.StatusForbidden},
		{"stale", eventSubReq{ts: now.Add(-11 * time.Minute)}, http.StatusForbidden},
		{"future", eventSubReq{ts: now.Add(2 * time.Minute)}, http.StatusForbidden},
		{"nine minutes old", eventSubReq{ts: now.Add(-9 * time.Minute)}, http.StatusOK},
		{"unknown message type", eventSubReq{msgType: "bogus"}, http.StatusBadRequest},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req
			r.id = fmt.Sprintf("sig-%d", i)
			r.subType, r.body = "channel.follow", challengeBody
			if r.msgType == "" {
				r.msgType = "webhook_callback_verification"
			}
			st, _, body := e.eventSub(r)
			if st != c.wantStatus {
				t.Errorf("status %d (%s), want %d", st, body, c.wantStatus)
			}
			if st != http.StatusOK && strings.Contains(body, "pogchamp") {
				t.Errorf("a refused challenge was answered: %q", body)
			}
		})
	}
	// The signature covers the body: a body changed after signing is refused.
	req := eventSubReq{msgType: "notification", id: "tampered", subType: "channel.follow", body: followBody}
	mac := hmac.New(sha256.New, []byte(eventSubSecret))
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	mac.Write([]byte(req.id + ts + strings.Replace(followBody, "cool_user", "evil_user", 1)))
	req.sig, req.ts = "sha256="+hex.EncodeToString(mac.Sum(nil)), mustParse(t, ts)
	if st, _, body := e.eventSub(req); st != http.StatusForbidden {
		t.Errorf("tampered body: status %d (%s)", st, body)
	}
	if n := e.count("SELECT count(*) FROM platform_deliveries"); n != 0 {
		t.Errorf("%d deliveries stored from refused requests", n)
	}
}

func mustParse(t *testing.T, ts string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestEventSubChallenge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEventSub)
	st, hdr, body := e.eventSub(eventSubReq{msgType: "webhook_callback_verification", id: "c1", subType: "channel.follow", body: challengeBody})
	if st != http.StatusOK || body != "pogchamp-kappa-360noscope-vohiyo" {
		t.Errorf("challenge answered %d %q, want 200 with the bare challenge", st, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	if st, _, _ := e.eventSub(eventSubReq{msgType: "webhook_callback_verification", id: "c2", body: `{"challenge":""}`}); st != http.StatusBadRequest {
		t.Errorf("empty challenge: status %d", st)
	}
}

func TestEventSubRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEventSub)
	body := `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"authorization_revoked","type":"channel.follow","cost":1,"version":"2",` +
		`"condition":{"broadcaster_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch/eventsub"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	st, _, out := e.eventSub(eventSubReq{msgType: "revocation", id: "rev-1", subType: "channel.follow", body: body})
	if st != http.StatusNoContent {
		t.Fatalf("revocation: status %d (%s)", st, out)
	}
	list, err := db.New(e.pool).RevocationList(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range list {
		got = append(got, []string{r.Platform, r.Subscription, r.Kind, r.Reason, r.Server})
	}
	want := [][]string{{"twitch", "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "channel.follow", "authorization_revoked", "1337"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revocations (-want +got):\n%s", diff)
	}
}

func TestEventSubNotification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEventSub)
	ctx := context.Background()
	notify := func(id, body string) (int, string) {
		st, _, out := e.eventSub(eventSubReq{msgType: "notification", id: id, subType: "channel.follow", body: body})
		return st, out
	}
	jobs := func() int {
		return e.count(`SELECT count(*) FROM river_job j JOIN platform_deliveries d ON (j.args->>'delivery_id')::bigint = d.id
			WHERE j.kind = 'platform.eventsub' AND d.platform = 'twitch'`)
	}

	// When the job cannot be queued, the delivery is not stored either (one
	// transaction) and Twitch is not told it was accepted, so it sends it again.
	if _, err := e.pool.Exec(ctx, "ALTER TABLE river_job RENAME TO river_job_away"); err != nil {
		t.Fatal(err)
	}
	st, _ := notify("n1", followBody)
	if _, err := e.pool.Exec(ctx, "ALTER TABLE river_job_away RENAME TO river_job"); err != nil {
		t.Fatal(err)
	}
	if st != http.StatusInternalServerError {
		t.Errorf("with the job queue unusable: status %d, want 500", st)
	}
	if n := e.count("SELECT count(*) FROM platform_deliveries"); n != 0 {
		t.Errorf("%d deliveries stored without their job", n)
	}

	if st, out := notify("n1", followBody); st != http.StatusNoContent {
		t.Fatalf("notification: status %d (%s)", st, out)
	}
	var d db.PlatformDelivery
	if err := e.pool.QueryRow(ctx, "SELECT id, platform, message_id, kind, payload FROM platform_deliveries").Scan(&d.ID, &d.Platform, &d.MessageID, &d.Kind, &d.Payload); err != nil {
		t.Fatal(err)
	}
	if d.Platform != "twitch" || d.MessageID != "n1" || d.Kind != "channel.follow" || !bytes.Contains(d.Payload, []byte(`"cool_user"`)) {
		t.Errorf("stored %+v", d)
	}
	if n := jobs(); n != 1 {
		t.Errorf("%d jobs queued, want 1", n)
	}

	// A redelivery is acknowledged and ignored.
	if st, out := notify("n1", followBody); st != http.StatusNoContent {
		t.Errorf("redelivery: status %d (%s)", st, out)
	}
	if n, j := e.count("SELECT count(*) FROM platform_deliveries"), jobs(); n != 1 || j != 1 {
		t.Errorf("after a redelivery: %d deliveries and %d jobs, want 1 and 1", n, j)
	}

	// Bad input is refused with a 4xx and nothing is stored.
	for _, bad := range []struct{ name, body string }{
		{"not JSON", "{not json"},
		{"unknown subscription type", strings.Replace(followBody, `"type":"channel.follow"`, `"type":"channel.update"`, 1)},
		{"no event", `{"subscription":{"id":"x","type":"channel.follow"}}`},
	} {
		if st, out := notify("bad-"+bad.name, bad.body); st != http.StatusBadRequest {
			t.Errorf("%s: status %d (%s), want 400", bad.name, st, out)
		}
	}
	if n := e.count("SELECT count(*) FROM platform_deliveries"); n != 1 {
		t.Errorf("%d deliveries after bad input, want 1", n)
	}

	// Bodies are limited to 1 MiB.
	big := `{"subscription":{"type":"channel.follow"},"event":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`
	if st, _ := notify("big", big); st != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", st)
	}
}

func TestEventSubOffWithoutSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, _, _ := e.eventSub(eventSubReq{msgType: "webhook_callback_verification", id: "c1", body: challengeBody, secret: "any-secret-at-all"})
	if st != http.StatusNotFound {
		t.Errorf("without TWITCH_EVENTSUB_SECRET: status %d, want 404", st)
	}
	if st, _, _ := e.eventSub(eventSubReq{msgType: "notification", id: "n1", body: followBody, secret: "any-secret-at-all"}); st != http.StatusNotFound {
		t.Errorf("notification without TWITCH_EVENTSUB_SECRET: status %d, want 404", st)
	}
	if n := e.count("SELECT count(*) FROM platform_deliveries"); n != 0 {
		t.Errorf("%d deliveries stored with the endpoint off", n)
	}
}
