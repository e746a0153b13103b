package workflow_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/secret"
	"github.com/waddle/waddle/workflow"
)

const hookFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "%s", "timeout_seconds": 5, "respond_node": "%s"}},
 {"id": "fan", "type": "flow_parallel", "config": {"branches": 2}},
 {"id": "a", "type": "flow_noop"}, {"id": "b", "type": "flow_noop"},
 {"id": "end", "type": "flow_noop"}
], "connections": [
 {"from": "hook", "from_port": "out", "to": "fan", "to_port": "in"},
 {"from": "fan", "from_port": "branch_1", "to": "a", "to_port": "in"},
 {"from": "fan", "from_port": "branch_2", "to": "b", "to_port": "in"},
 {"from": "fan", "from_port": "done", "to": "end", "to_port": "in"}
]}`

func hookDef(t *testing.T, mode, respond string) workflow.Definition {
	t.Helper()
	return def(t, strings.Replace(strings.Replace(hookFlow, "%s", mode, 1), "%s", respond, 1))
}

func newBox(t *testing.T) *secret.Box {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func newWebhooks(t *testing.T, h *harness) *workflow.Webhooks {
	t.Helper()
	rdb, prefix := dbtest.Redis(t)
	return workflow.NewWebhooks(workflow.WebhooksConfig{Service: h.svc, Pool: h.pool, Secrets: newBox(t),
		Limiter: ratelimit.New(rdb, prefix, nil)})
}

// signed is a delivery signed now with secret.
func signed(secret, body string, at time.Time) workflow.ReceiveRequest {
	ts := strconv.FormatInt(at.Unix(), 10)
	return workflow.ReceiveRequest{Body: []byte(body), Timestamp: ts, Signature: workflow.Sign(secret, ts, []byte(body)),
		ClientIP: netip.MustParseAddr("198.51.100.7"), Headers: map[string]string{"Content-Type": "application/json", "Authorization": "Bearer x"}}
}

func TestWebhookCreateStoresHashAndSealedSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	wh := newWebhooks(t, h)
	ctx := context.Background()
	w := h.publish(t, "hooked", hookDef(t, "async", ""))
	hook, token, sec, err := wh.Create(ctx, h.cid, w.ID, h.by, workflow.WebhookInput{Allow: []string{" 203.0.113.0/24 ", "::ffff:198.51.100.7"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 32 || len(sec) != 64 {
		t.Fatalf("token %q (want 32 hex), secret of %d characters (want 64)", token, len(sec))
	}
	if _, err := hex.DecodeString(token + sec); err != nil {
		t.Fatalf("token and secret are not hex: %v", err)
	}
	if hook.Node != "hook" || hook.RatePerMinute != 60 || hook.TokenHint != token[28:] {
		t.Errorf("webhook %+v: want node hook, 60 a minute, hint %s", hook, token[28:])
	}
	if got := strings.Join(hook.Allow, ","); got != "203.0.113.0/24,198.51.100.7" {
		t.Errorf("allow %s, want the normalized entries", got)
	}
	var hash, sealed []byte
	if err := h.pool.QueryRow(ctx, "SELECT token_hash, secret_sealed FROM workflow_webhooks WHERE id = $1", hook.ID).Scan(&hash, &sealed); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(token)); string(hash) != string(want[:]) {
		t.Error("the token is not stored as its sha256")
	}
	if strings.Contains(string(sealed), sec) {
		t.Error("the secret is stored in the clear")
	}
	var audits string
	if err := h.pool.QueryRow(ctx, "SELECT string_agg(coalesce(before::text, '') || coalesce(after::text, ''), ' ') FROM audit_log WHERE action = 'workflow_webhook_changed'").Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(audits, sec) || strings.Contains(audits, token) || !strings.Contains(audits, token[28:]) {
		t.Errorf("audit %s: want the token hint, never the token or secret", audits)
	}
	list, err := wh.List(ctx, h.cid, w.ID)
	if err != nil || len(list) != 1 || list[0].ID != hook.ID {
		t.Fatalf("list %+v, %v", list, err)
	}
	if _, err := wh.List(ctx, h.cid+1, w.ID); !problem.Is(err, problem.NotFound) {
		t.Errorf("another community lists: %v, want not found", err)
	}
	if err := wh.Delete(ctx, h.cid+1, w.ID, hook.ID, h.by); !problem.Is(err, problem.NotFound) {
		t.Errorf("another community deletes: %v, want not found", err)
	}
	// A delivery works, then the deletion ends the URL at once (the cache too).
	if _, err := wh.Receive(ctx, token, signed(sec, `{"a":1}`, time.Now())); err != nil {
		t.Fatalf("receive before delete: %v", err)
	}
	if err := wh.Delete(ctx, h.cid, w.ID, hook.ID, h.by); err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Receive(ctx, token, signed(sec, `{"a":1}`, time.Now())); err != workflow.ErrWebhookNotFound {
		t.Errorf("receive after delete: %v, want not found", err)
	}
	if err := wh.Delete(ctx, h.cid, w.ID, hook.ID, h.by); err != workflow.ErrWebhookNotFound {
		t.Errorf("second delete: %v, want not found", err)
	}
}

func TestWebhookCreateRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	wh := newWebhooks(t, h)
	ctx := context.Background()
	w := h.publish(t, "hooked", hookDef(t, "async", ""))
	cases := []struct {
		name  string
		wid   int64
		in    workflow.WebhookInput
		field string
	}{
		{"not a webhook node", w.ID, workflow.WebhookInput{Node: "end"}, "node"},
		{"unknown node", w.ID, workflow.WebhookInput{Node: "nope"}, "node"},
		{"rate too high", w.ID, workflow.WebhookInput{RatePerMinute: workflow.WebhookRateMax + 1}, "rate_per_minute"},
		{"negative rate", w.ID, workflow.WebhookInput{RatePerMinute: -1}, "rate_per_minute"},
		{"bad address", w.ID, workflow.WebhookInput{Allow: []string{"10.0.0.300"}}, "allow"},
		{"bad cidr", w.ID, workflow.WebhookInput{Allow: []string{"10.0.0.0/33"}}, "allow"},
		{"unknown workflow", w.ID + 1000, workflow.WebhookInput{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := wh.Create(ctx, h.cid, tc.wid, h.by, tc.in)
			p := problem.As(err)
			if p == nil {
				t.Fatalf("err %v, want a problem", err)
			}
			if tc.field == "" {
				if p.Code != problem.NotFound {
					t.Errorf("code %s, want not found", p.Code)
				}
				return
			}
			if p.Code != problem.Invalid || p.Field != tc.field {
				t.Errorf("problem %+v, want invalid %s", p, tc.field)
			}
		})
	}
	var n int
	if err := h.pool.QueryRow(ctx, "SELECT count(*) FROM workflow_webhooks").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d webhooks stored (%v), want none", n, err)
	}
}

func TestWebhookReceiveAsyncRunsOnceAndCounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	wh := newWebhooks(t, h)
	ctx := context.Background()
	w := h.publish(t, "hooked", hookDef(t, "async", ""))
	hook, token, sec, err := wh.Create(ctx, h.cid, w.ID, h.by, workflow.WebhookInput{})
	if err != nil {
		t.Fatal(err)
	}
	req := signed(sec, `{"buyer":"ann","points":500}`, time.Now())
	req.DeliveryID = "d-1"
	first, err := wh.Receive(ctx, token, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Mode != workflow.WebhookAsync || first.RunID == 0 || first.Repeated {
		t.Fatalf("answer %+v", first)
	}
	again, err := wh.Receive(ctx, token, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.RunID != first.RunID || !again.Repeated {
		t.Errorf("repeated delivery: %+v, want run %d again", again, first.RunID)
	}
	run := h.waitRun(t, first.RunID)
	if run.Status != workflow.RunSucceeded || run.TriggerKind != workflow.TriggerWebhook || run.TriggerNode != "hook" {
		t.Fatalf("run %s %s %s: %s", run.Status, run.TriggerKind, run.TriggerNode, run.Error)
	}
	trig := asJSON(run.Trigger)
	if !strings.Contains(trig, `"body":{"buyer":"ann","points":500}`) || !strings.Contains(trig, `"content-type":"application/json"`) ||
		strings.Contains(trig, "Bearer") || !strings.Contains(trig, `"received_at"`) {
		t.Errorf("trigger payload %s: want the body, the safe headers only, the time", trig)
	}
	var runs int
	if err := h.pool.QueryRow(ctx, "SELECT count(*) FROM workflow_runs WHERE workflow_id = $1", w.ID).Scan(&runs); err != nil || runs != 1 {
		t.Errorf("%d runs (%v), want 1", runs, err)
	}
	// A second delivery without an id runs again.
	if _, err := wh.Receive(ctx, token, signed(sec, `[1,2]`, time.Now())); err != nil {
		t.Fatal(err)
	}
	list, _ := wh.List(ctx, h.cid, w.ID)
	if len(list) != 1 || list[0].TriggerCount != 2 || list[0].LastTriggeredAt == nil {
		t.Errorf("listed before the flush: %+v, want 2 deliveries counted", list)
	}
	if err := wh.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	row, err := db.New(h.pool).WorkflowWebhookList(ctx, db.WorkflowWebhookListParams{CommunityID: h.cid, WorkflowID: w.ID})
	if err != nil || len(row) != 1 || row[0].ID != hook.ID || row[0].TriggerCount != 2 || row[0].LastTriggeredAt == nil {
		t.Fatalf("stored %+v (%v), want trigger_count 2", row, err)
	}
	if list, _ := wh.List(ctx, h.cid, w.ID); list[0].TriggerCount != 2 {
		t.Errorf("listed after the flush: %d, want 2 (not counted twice)", list[0].TriggerCount)
	}
}

func TestWebhookReceiveRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	wh := newWebhooks(t, h)
	ctx := context.Background()
	w := h.publish(t, "hooked", hookDef(t, "async", ""))
	_, token, sec, err := wh.Create(ctx, h.cid, w.ID, h.by, workflow.WebhookInput{Allow: []string{"198.51.100.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mod := func(f func(*workflow.ReceiveRequest)) workflow.ReceiveRequest {
		r := signed(sec, `{"a":1}`, now)
		f(&r)
		return r
	}
	cases := []struct {
		name  string
		token string
		req   workflow.ReceiveRequest
		code  problem.Code
		says  string
	}{
		{"unknown token", strings.Repeat("ab", 16), mod(func(*workflow.ReceiveRequest) {}), problem.NotFound, "no such webhook"},
		{"malformed token", "x'; drop", mod(func(*workflow.ReceiveRequest) {}), problem.NotFound, "no such webhook"},
		{"bad signature", token, mod(func(r *workflow.ReceiveRequest) { r.Signature = workflow.Sign("other", r.Timestamp, r.Body) }), problem.Unauthorized, "bad signature"},
		{"body changed", token, mod(func(r *workflow.ReceiveRequest) { r.Body = []byte(`{"a":2}`) }), problem.Unauthorized, "bad signature"},
		{"signature not hex", token, mod(func(r *workflow.ReceiveRequest) { r.Signature = "sha256=zz" }), problem.Unauthorized, "bad signature"},
		{"no scheme", token, mod(func(r *workflow.ReceiveRequest) { r.Signature = strings.TrimPrefix(r.Signature, "sha256=") }), problem.Unauthorized, "sha256="},
		{"stale", token, signed(sec, `{"a":1}`, now.Add(-6*time.Minute)), problem.Unauthorized, "stale timestamp"},
		{"future", token, signed(sec, `{"a":1}`, now.Add(6*time.Minute)), problem.Unauthorized, "stale timestamp"},
		{"timestamp not a number", token, mod(func(r *workflow.ReceiveRequest) { r.Timestamp = "yesterday" }), problem.Unauthorized, "unix time"},
		{"no timestamp", token, mod(func(r *workflow.ReceiveRequest) { r.Timestamp = "" }), problem.Unauthorized, "missing x-waddle-timestamp"},
		{"no signature", token, mod(func(r *workflow.ReceiveRequest) { r.Signature = "" }), problem.Unauthorized, "missing x-waddle-signature"},
		{"other address", token, mod(func(r *workflow.ReceiveRequest) { r.ClientIP = netip.MustParseAddr("203.0.113.9") }), problem.Forbidden, "address"},
		{"no address", token, mod(func(r *workflow.ReceiveRequest) { r.ClientIP = netip.Addr{} }), problem.Forbidden, "address"},
		{"not json", token, signed(sec, `hello`, now), problem.Invalid, "json object or array"},
		{"json string", token, signed(sec, `"hello"`, now), problem.Invalid, "json object or array"},
		{"broken json", token, signed(sec, `{"a":`, now), problem.Invalid, "json object or array"},
		{"long delivery id", token, mod(func(r *workflow.ReceiveRequest) { r.DeliveryID = strings.Repeat("d", 101) }), problem.Invalid, "x-waddle-delivery"},
		{"delivery id with a space", token, mod(func(r *workflow.ReceiveRequest) { r.DeliveryID = "a b" }), problem.Invalid, "x-waddle-delivery"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wh.Receive(ctx, tc.token, tc.req)
			p := problem.As(err)
			if p == nil || p.Code != tc.code || !strings.Contains(strings.ToLower(p.Message), tc.says) {
				t.Fatalf("err %v, want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
	var runs int
	if err := h.pool.QueryRow(ctx, "SELECT count(*) FROM workflow_runs").Scan(&runs); err != nil || runs != 0 {
		t.Errorf("%d runs (%v), want none", runs, err)
	}
	// Taken back to draft: 409, seen at once despite the cache.
	if _, err := wh.Receive(ctx, token, signed(sec, `{"a":1}`, now)); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	if _, err := h.svc.SetStatus(ctx, h.cid, w.ID, h.by, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	_, err = wh.Receive(ctx, token, signed(sec, `{"a":1}`, now))
	if p := problem.As(err); p == nil || p.Code != problem.Conflict || !strings.Contains(p.Message, "not published") {
		t.Errorf("drafted: %v, want 409 not published", err)
	}
}

func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	wh := newWebhooks(t, h)
	ctx := context.Background()
	w := h.publish(t, "hooked", hookDef(t, "async", ""))
	_, token, sec, err := wh.Create(ctx, h.cid, w.ID, h.by, workflow.WebhookInput{RatePerMinute: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := wh.Receive(ctx, token, signed(sec, `{}`, time.Now())); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	_, err = wh.Receive(ctx, token, signed(sec, `{}`, time.Now()))
	p := problem.As(err)
	if p == nil || p.Code != problem.TooMany || p.RetryAfter <= 0 {
		t.Fatalf("fourth delivery: %v, want 429 with a retry time", err)
	}
	// Unsigned deliveries do not use the webhook's allowance up.
	bad := signed("wrong", `{}`, time.Now())
	if _, err := wh.Receive(ctx, token, bad); !problem.Is(err, problem.Unauthorized) {
		t.Errorf("unsigned: %v, want 401 before the limit", err)
	}
}

func TestWebhookSyncAnswersWithTheRespondNode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	wh := newWebhooks(t, h)
	ctx := context.Background()
	w := h.publish(t, "hooked", hookDef(t, "sync", "end"))
	_, token, sec, err := wh.Create(ctx, h.cid, w.ID, h.by, workflow.WebhookInput{Node: "hook"})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := wh.Receive(ctx, token, signed(sec, `{"n":7}`, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if ans.Mode != workflow.WebhookSync || ans.Status != workflow.RunSucceeded || ans.RunID == 0 {
		t.Fatalf("answer %+v", ans)
	}
	// end gets the parallel node's done: both branches' copies of the payload
	out := asJSON(ans.Output)
	if strings.Count(out, `"body":{"n":7}`) != 2 || !strings.HasPrefix(out, "[") {
		t.Errorf("output %s, want the respond node's: two copies of the payload", out)
	}
	run := h.waitRun(t, ans.RunID)
	if run.Status != workflow.RunSucceeded || len(run.Traces) != 5 {
		t.Errorf("stored run %s with %d traces, want succeeded with 5", run.Status, len(run.Traces))
	}
	// With a delivery id: a repeat is answered from the stored run.
	req := signed(sec, `{"n":8}`, time.Now())
	req.DeliveryID = "sync-1"
	first, err := wh.Receive(ctx, token, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := wh.Receive(ctx, token, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.RunID != first.RunID || asJSON(again.Output) != asJSON(first.Output) {
		t.Errorf("repeat %+v, want run %d's answer %s", again, first.RunID, asJSON(first.Output))
	}
}
