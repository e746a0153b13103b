package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/workflow"
)

// hookedFlow answers on a webhook: its trigger fans out to two branches
// that join at end, whose output is both branches' copies of the payload.
const hookedFlow = `{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": %q, "timeout_seconds": 5, "respond_node": "end"}},
 {"id": "fan", "type": "flow_parallel", "config": {"branches": 2}},
 {"id": "a", "type": "flow_noop"}, {"id": "b", "type": "flow_noop"},
 {"id": "end", "type": "flow_noop"}
], "connections": [
 {"from": "hook", "from_port": "out", "to": "fan", "to_port": "in"},
 {"from": "fan", "from_port": "branch_1", "to": "a", "to_port": "in"},
 {"from": "fan", "from_port": "branch_2", "to": "b", "to_port": "in"},
 {"from": "fan", "from_port": "done", "to": "end", "to_port": "in"}
]}`

// mustWebhookWorkflow creates and publishes a workflow of community cid
// with a webhook trigger in mode (async or sync).
func (e *env) mustWebhookWorkflow(t testing.TB, cid int64, mode string) int64 {
	t.Helper()
	ctx := context.Background()
	d, err := workflow.ParseDefinition(fmt.Appendf(nil, hookedFlow, mode))
	if err != nil {
		t.Fatal(err)
	}
	w, rep, err := e.flows.Create(ctx, cid, audit.Actor{}, workflow.Input{Name: "hooked " + mode, Definition: d})
	if err != nil || !rep.OK() {
		t.Fatalf("create workflow: %v %v", err, rep.Errors)
	}
	if _, _, err := e.flows.Publish(ctx, cid, w.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	return w.ID
}

// runWorkflowJobs runs the env's queued workflow runs until the test ends.
func (e *env) runWorkflowJobs(t testing.TB) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &workflow.RunWorker{Service: e.flows})
	jobs, err := river.NewClient(riverpgxv5.New(e.pool), &river.Config{Queues: map[string]river.QueueConfig{workflow.Queue: {MaxWorkers: 4}},
		Workers: workers, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jobs.Stop(ctx); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
}

// apiBodyWith is apiBody with extra headers.
func (e *env) apiBodyWith(key, method, path, body string, hdr http.Header) (int, string) {
	e.t.Helper()
	if hdr == nil {
		return e.apiBody(key, method, path, body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, timestampRE.ReplaceAllString(string(b), `"timestamp":""`)
}

// delivery is a webhook request, signed at ts with secret unless sec is "".
type delivery struct {
	body, sec, delivery string
	at                  time.Time
	peer, forwarded     string // RemoteAddr and X-Forwarded-For
}

// deliver sends d to the webhook URL of token through the real router.
func (e *env) deliver(token string, d delivery) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/workflows/webhooks/"+token, strings.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	if d.sec != "" {
		if d.at.IsZero() {
			d.at = time.Now()
		}
		ts := strconv.FormatInt(d.at.Unix(), 10)
		req.Header.Set(workflow.HeaderTimestamp, ts)
		req.Header.Set(workflow.HeaderSignature, workflow.Sign(d.sec, ts, []byte(d.body)))
	}
	if d.delivery != "" {
		req.Header.Set(workflow.HeaderDelivery, d.delivery)
	}
	req.RemoteAddr = "192.0.2.10:4000"
	if d.peer != "" {
		req.RemoteAddr = d.peer
	}
	if d.forwarded != "" {
		req.Header.Set("X-Forwarded-For", d.forwarded)
	}
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	return rec
}

type hookEnv struct {
	*env
	a, b     community.Community
	key      string // a user key of A's admin
	otherKey string // a user key of B's owner
	wf       int64
}

func newHookEnv(t *testing.T, mode string, opts ...envOption) *hookEnv {
	t.Helper()
	e := newEnv(t, opts...)
	root := e.user("root@example.com", true)
	admin := e.user("admin@example.com", false)
	owner := e.user("b-owner@example.com", false)
	x := &hookEnv{env: e}
	x.a = e.community(root, "alpha", map[auth.User]community.Role{admin: community.Admin})
	x.b = e.community(root, "beta", map[auth.User]community.Role{owner: community.Owner})
	x.key, x.otherKey = e.apiKey(admin, auth.RoleUser), e.apiKey(owner, auth.RoleUser)
	x.wf = e.mustWebhookWorkflow(t, x.a.ID, mode)
	return x
}

type createdHook struct {
	ID     int64  `json:"id"`
	Token  string `json:"token"`
	Secret string `json:"secret"`
	URL    string `json:"url"`
	Hint   string `json:"token_hint"`
	Count  int64  `json:"trigger_count"`
}

// hooksPath is the workflow's webhooks' API path (suffix: /{webhookId}),
// naming community A.
func (x *hookEnv) hooksPath(suffix string) string {
	return fmt.Sprintf("/workflows/%d/webhooks%s?community_id=%d", x.wf, suffix, x.a.ID)
}

func (x *hookEnv) create(t *testing.T, body string) createdHook {
	t.Helper()
	st, got := x.apiBody(x.key, "POST", x.hooksPath(""), body)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, got)
	}
	var out struct{ Data createdHook }
	if err := json.Unmarshal([]byte(got), &out); err != nil {
		t.Fatal(err)
	}
	return out.Data
}

func (x *hookEnv) list(t *testing.T, key string) (int, []createdHook, string) {
	t.Helper()
	st, got := x.apiBody(key, "GET", x.hooksPath(""), "")
	var out struct{ Data []createdHook }
	json.Unmarshal([]byte(got), &out)
	return st, out.Data, got
}

func TestWorkflowWebhookAPI(t *testing.T) {
	t.Parallel()
	x := newHookEnv(t, "async")
	h := x.create(t, `{"allow":["203.0.113.0/24"],"rate_per_minute":30}`)
	if len(h.Token) != 32 || len(h.Secret) != 64 || h.URL != x.srv.URL+"/api/v1/workflows/webhooks/"+h.Token {
		t.Fatalf("created %+v: want a 32-hex token, a secret and the full URL", h)
	}
	st, list, raw := x.list(t, x.key)
	if st != 200 || len(list) != 1 || list[0].Hint != h.Token[28:] {
		t.Fatalf("list %d %s", st, raw)
	}
	if strings.Contains(raw, h.Secret) || strings.Contains(raw, h.Token) || strings.Contains(raw, `"secret"`) {
		t.Errorf("the list shows a secret or token: %s", raw)
	}
	// Bad input names its field.
	for body, field := range map[string]string{`{"rate_per_minute":0.5}`: "rate_per_minute", `{"rate_per_minute":2000000}`: "rate_per_minute",
		`{"allow":["nope"]}`: "allow", `{"node":"end"}`: "node"} {
		st, got := x.apiBody(x.key, "POST", x.hooksPath(""), body)
		if st != 400 || !strings.Contains(got, field) {
			t.Errorf("%s: %d %s, want 400 naming %s", body, st, got, field)
		}
	}
	// Another community's key, naming A or its own B: the same 404 as for
	// no workflow, and nothing changes.
	for _, cid := range []int64{x.a.ID, x.b.ID} {
		base := fmt.Sprintf("/workflows/%d/webhooks", x.wf)
		_, want := x.apiBody(x.otherKey, "GET", fmt.Sprintf("/workflows/%d/webhooks?community_id=%d", x.wf+1000, cid), "")
		for _, c := range []struct{ method, path, body string }{
			{"GET", base, ""},
			{"POST", base, "{}"},
			{"DELETE", fmt.Sprintf("%s/%d", base, h.ID), ""},
		} {
			path := fmt.Sprintf("%s?community_id=%d", c.path, cid)
			st, got := x.apiBody(x.otherKey, c.method, path, c.body)
			if st != 404 || got != want {
				t.Errorf("%s %s with B's key: %d %s, want the unknown workflow's 404 %s", c.method, path, st, got, want)
			}
		}
	}
	if n := x.count("SELECT count(*) FROM workflow_webhooks WHERE workflow_id = $1", x.wf); n != 1 {
		t.Errorf("%d webhooks after B's calls, want 1", n)
	}
	// A plain member reads the workflow, so sees its webhooks (hints only),
	// but may not change them.
	member := x.user("member@example.com", false)
	if _, err := x.comm.Invite(context.Background(), community.Actor{User: x.user("boss@example.com", true), Role: community.Owner}, x.a, member.Email, community.Member); err != nil {
		t.Fatal(err)
	}
	mkey := x.apiKey(member, auth.RoleUser)
	if st, list, got := x.list(t, mkey); st != 200 || len(list) != 1 {
		t.Errorf("a member's list: %d %s, want the one webhook", st, got)
	}
	if st, got := x.apiBody(mkey, "POST", x.hooksPath(""), "{}"); st != 403 {
		t.Errorf("a member's create: %d %s, want 403", st, got)
	}
	if st, got := x.apiBody(mkey, "DELETE", x.hooksPath(fmt.Sprintf("/%d", h.ID)), ""); st != 403 {
		t.Errorf("a member's delete: %d %s, want 403", st, got)
	}
	if st, got := x.apiBody(x.key, "DELETE", x.hooksPath(fmt.Sprintf("/%d", h.ID)), ""); st != 200 {
		t.Fatalf("delete: %d %s", st, got)
	}
	if st, got := x.apiBody(x.key, "DELETE", x.hooksPath(fmt.Sprintf("/%d", h.ID)), ""); st != 404 {
		t.Errorf("second delete: %d %s, want 404", st, got)
	}
	if rec := x.deliver(h.Token, delivery{body: `{}`, sec: h.Secret}); rec.Code != 404 {
		t.Errorf("delivery after delete: %d %s, want 404", rec.Code, rec.Body)
	}
	if n := x.count("SELECT count(*) FROM audit_log WHERE community_id = $1 AND action = 'workflow_webhook_changed' AND (coalesce(before::text,'') || coalesce(after::text,'')) NOT LIKE '%' || $2 || '%'", x.a.ID, h.Secret); n != 2 {
		t.Errorf("%d audit entries without the secret, want 2 (created, deleted)", n)
	}
}

func TestWorkflowWebhookDeliveries(t *testing.T) {
	t.Parallel()
	x := newHookEnv(t, "async")
	x.runWorkflowJobs(t)
	h := x.create(t, "")
	runs := func() int { return x.count("SELECT count(*) FROM workflow_runs WHERE workflow_id = $1", x.wf) }

	rec := x.deliver(h.Token, delivery{body: `{"buyer":"ann"}`, sec: h.Secret, delivery: "evt-1"})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("good delivery: %d %s", rec.Code, rec.Body)
	}
	var ok struct {
		Data struct {
			RunID    int64 `json:"run_id"`
			Repeated bool  `json:"repeated"`
		}
	}
	json.Unmarshal(rec.Body.Bytes(), &ok)
	if ok.Data.RunID == 0 {
		t.Fatalf("no run id: %s", rec.Body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := x.flows.GetRun(context.Background(), x.a.ID, ok.Data.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == workflow.RunSucceeded {
			if len(r.Traces) != 5 {
				t.Errorf("%d traces, want 5", len(r.Traces))
			}
			break
		}
		if r.Status == workflow.RunFailed || time.Now().After(deadline) {
			t.Fatalf("run %s: %s", r.Status, r.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
	again := x.deliver(h.Token, delivery{body: `{"buyer":"ann"}`, sec: h.Secret, delivery: "evt-1"})
	var rep struct {
		Data struct {
			RunID    int64 `json:"run_id"`
			Repeated bool  `json:"repeated"`
		}
	}
	json.Unmarshal(again.Body.Bytes(), &rep)
	if again.Code != 202 || rep.Data.RunID != ok.Data.RunID || !rep.Data.Repeated || runs() != 1 {
		t.Fatalf("replayed delivery: %d %s, %d runs; want run %d again and one run", again.Code, again.Body, runs(), ok.Data.RunID)
	}

	cases := []struct {
		name  string
		token string
		d     delivery
		want  int
		says  string
	}{
		{"bad signature", h.Token, delivery{body: `{}`, sec: "not-the-secret"}, 401, "Bad signature"},
		{"stale timestamp", h.Token, delivery{body: `{}`, sec: h.Secret, at: time.Now().Add(-6 * time.Minute)}, 401, "Stale timestamp"},
		{"future timestamp", h.Token, delivery{body: `{}`, sec: h.Secret, at: time.Now().Add(6 * time.Minute)}, 401, "Stale timestamp"},
		{"no headers", h.Token, delivery{body: `{}`}, 401, "Missing X-Waddle-Timestamp"},
		{"too large", h.Token, delivery{body: `{"a":"` + strings.Repeat("x", workflow.MaxDeliveryBody) + `"}`, sec: h.Secret}, 413, "too large"},
		{"not json", h.Token, delivery{body: `buyer=ann`, sec: h.Secret}, 400, "JSON object or array"},
		{"unknown token", strings.Repeat("0", 32), delivery{body: `{}`, sec: h.Secret}, 404, "no such webhook"},
		{"not a token", "nope", delivery{body: `{}`, sec: h.Secret}, 404, "no such webhook"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := x.deliver(c.token, c.d)
			if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.says) || !strings.Contains(rec.Body.String(), `"success":false`) {
				t.Errorf("%d %s, want %d saying %q", rec.Code, rec.Body, c.want, c.says)
			}
		})
	}
	if n := runs(); n != 1 {
		t.Errorf("%d runs after the refused deliveries, want 1", n)
	}
	for i := range 3 {
		if rec := x.deliver(h.Token, delivery{body: fmt.Sprintf(`[%d]`, i), sec: h.Secret}); rec.Code != 202 {
			t.Fatalf("delivery %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if _, list, raw := x.list(t, x.key); len(list) != 1 || list[0].Count != 4 || !strings.Contains(raw, `"last_triggered_at":"`) {
		t.Errorf("list %s: want 4 deliveries counted and a last-triggered time", raw)
	}
	// Taken back to draft: 409, and no run.
	if _, err := x.flows.SetStatus(context.Background(), x.a.ID, x.wf, audit.Actor{}, workflow.StatusDraft); err != nil {
		t.Fatal(err)
	}
	if rec := x.deliver(h.Token, delivery{body: `{}`, sec: h.Secret}); rec.Code != 409 || !strings.Contains(rec.Body.String(), "not published") {
		t.Errorf("drafted: %d %s, want 409 not published", rec.Code, rec.Body)
	}
	if n := runs(); n != 4 {
		t.Errorf("%d runs, want 4", n)
	}
}

func TestWorkflowWebhookRateLimit(t *testing.T) {
	t.Parallel()
	x := newHookEnv(t, "async")
	h := x.create(t, `{"rate_per_minute":5}`)
	for i := range 5 {
		if rec := x.deliver(h.Token, delivery{body: `{}`, sec: h.Secret}); rec.Code != 202 {
			t.Fatalf("delivery %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := x.deliver(h.Token, delivery{body: `{}`, sec: h.Secret})
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("sixth delivery: %d (Retry-After %q) %s, want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if n := x.count("SELECT count(*) FROM workflow_runs WHERE workflow_id = $1", x.wf); n != 5 {
		t.Errorf("%d runs, want 5", n)
	}
}

func TestWorkflowWebhookAllowlist(t *testing.T) {
	t.Parallel()
	proxies := func(c *handlers.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }
	x := newHookEnv(t, "async", proxies)
	h := x.create(t, `{"allow":["203.0.113.0/24","2001:db8::1"]}`)
	cases := []struct {
		name            string
		peer, forwarded string
		want            int
	}{
		{"allowed peer", "203.0.113.7:5000", "", 202},
		{"allowed IPv6 peer", "[2001:db8::1]:5000", "", 202},
		{"another address", "198.51.100.7:5000", "", 403},
		{"forwarded by a stranger", "198.51.100.7:5000", "203.0.113.7", 403},
		{"forwarded by a trusted proxy", "10.1.2.3:5000", "203.0.113.7", 202},
		{"a trusted proxy forwarding another address", "10.1.2.3:5000", "198.51.100.7", 403},
		{"a spoofed first hop through a trusted proxy", "10.1.2.3:5000", "203.0.113.7, 198.51.100.7", 403},
		{"the proxy itself", "10.1.2.3:5000", "", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := x.deliver(h.Token, delivery{body: `{}`, sec: h.Secret, peer: c.peer, forwarded: c.forwarded})
			if rec.Code != c.want {
				t.Errorf("%d %s, want %d", rec.Code, rec.Body, c.want)
			}
		})
	}
}

func TestWorkflowWebhookSyncAnswersWithTheRespondNode(t *testing.T) {
	t.Parallel()
	x := newHookEnv(t, "sync")
	h := x.create(t, "{}")
	rec := x.deliver(h.Token, delivery{body: `{"order":42}`, sec: h.Secret})
	if rec.Code != 200 {
		t.Fatalf("sync delivery: %d %s", rec.Code, rec.Body)
	}
	var out []struct {
		Body    map[string]int    `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %s is not the respond node's array: %v", rec.Body, err)
	}
	if len(out) != 2 || out[0].Body["order"] != 42 || out[1].Headers["content-type"] != "application/json" {
		t.Errorf("answer %s, want end's output: both branches' copies of the payload", rec.Body)
	}
	id, _ := strconv.ParseInt(rec.Header().Get("X-Waddle-Run-Id"), 10, 64)
	if id == 0 {
		t.Fatal("no X-Waddle-Run-Id")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := x.flows.GetRun(context.Background(), x.a.ID, id)
		if err == nil && r.Status == workflow.RunSucceeded && len(r.Traces) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d not stored with its trace: %v %+v", id, err, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkflowWebhookSyncRunStillGoing(t *testing.T) {
	t.Parallel()
	x := newHookEnv(t, "sync")
	d, err := workflow.ParseDefinition([]byte(`{"nodes": [
 {"id": "hook", "type": "trigger_webhook", "config": {"mode": "sync", "timeout_seconds": 2}},
 {"id": "wait", "type": "action_delay", "config": {"seconds": 3600}}],
 "connections": [{"from": "hook", "from_port": "out", "to": "wait", "to_port": "in"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wf, rep, err := x.flows.Create(ctx, x.a.ID, audit.Actor{}, workflow.Input{Name: "slow", Definition: d})
	if err != nil || !rep.OK() {
		t.Fatalf("create: %v %v", err, rep.Errors)
	}
	if _, _, err := x.flows.Publish(ctx, x.a.ID, wf.ID, audit.Actor{}); err != nil {
		t.Fatal(err)
	}
	_, token, sec, err := x.hooks.Create(ctx, x.a.ID, wf.ID, audit.Actor{}, workflow.WebhookInput{})
	if err != nil {
		t.Fatal(err)
	}
	rec := x.deliver(token, delivery{body: `{}`, sec: sec})
	var ans struct {
		Data struct {
			RunID  int64  `json:"run_id"`
			Status string `json:"status"`
		}
	}
	json.Unmarshal(rec.Body.Bytes(), &ans)
	if rec.Code != http.StatusAccepted || ans.Data.RunID == 0 || ans.Data.Status == workflow.RunSucceeded {
		t.Fatalf("a run waiting at an hour's delay: %d %s, want 202 with its run id", rec.Code, rec.Body)
	}
	r, err := x.flows.GetRun(ctx, x.a.ID, ans.Data.RunID)
	if err != nil || (r.Status != workflow.RunWaiting && r.Status != workflow.RunRunning && r.Status != workflow.RunQueued) {
		t.Errorf("stored run: %v %+v, want it still going", err, r)
	}
}
