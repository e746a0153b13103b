package workflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Webhook delivery headers and limits.
const (
	HeaderTimestamp = "X-Waddle-Timestamp" // unix seconds
	HeaderSignature = "X-Waddle-Signature" // sha256=<hex HMAC-SHA256 of timestamp + "." + body>
	HeaderDelivery  = "X-Waddle-Delivery"  // optional: a repeated id is answered again, not run again

	MaxDeliveryBody    = 1 << 20 // bytes
	WebhookClockSkew   = 5 * time.Minute
	maxDeliveryID      = 100
	maxWebhookHeader   = 200
	webhookCacheMaxLen = 10000
)

// WebhookHeaders are the request headers a delivery's payload keeps (under
// "headers", lowercased); no others, so no credentials reach a run.
var WebhookHeaders = []string{"Content-Type", "User-Agent", HeaderDelivery, HeaderTimestamp, "X-Request-Id"}

// ReceiveRequest is one delivery to a webhook URL.
type ReceiveRequest struct {
	Body       []byte
	Timestamp  string // X-Waddle-Timestamp
	Signature  string // X-Waddle-Signature
	DeliveryID string // X-Waddle-Delivery; empty: every delivery runs
	ClientIP   netip.Addr
	Headers    map[string]string // the request's headers; only WebhookHeaders are kept
}

// ReceiveAnswer is what became of a delivery.
type ReceiveAnswer struct {
	Mode       string // async or sync
	RunID      int64
	Repeated   bool   // the delivery id was seen before: RunID is the first delivery's run
	Status     string // the run's status: queued (async), or where the wait left it (sync)
	Output     any    // sync: the answering node's output
	OutputJSON []byte // sync: Output's encoding, when known
	Error      string // sync: why the run failed
	FailedNode string
}

var (
	errWebhookNotPublished = problem.New(problem.Conflict, "The workflow is not published: publish it to receive webhooks.")
	errWebhookNoTimestamp  = problem.New(problem.Unauthorized, "Missing "+HeaderTimestamp+" header: send the unix time in seconds, and sign it with the body.")
	errWebhookNoSignature  = problem.New(problem.Unauthorized, "Missing "+HeaderSignature+" header: send sha256=<hex HMAC-SHA256 of timestamp + \".\" + body> made with the webhook's secret.")
	errWebhookStale        = problem.New(problem.Unauthorized, "Stale timestamp: "+HeaderTimestamp+" must be within 5 minutes of the server's clock.")
	errWebhookBadSignature = problem.New(problem.Unauthorized, "Bad signature: "+HeaderSignature+" does not match HMAC-SHA256 of timestamp + \".\" + body with this webhook's secret.")
	errWebhookAddress      = problem.New(problem.Forbidden, "This webhook does not accept deliveries from your address.")
	errWebhookBody         = problem.Invalidf("body", "The body must be a JSON object or array.")
	errWebhookBodyTooLarge = problem.Invalidf("body", "The body is too large (at most 1 MiB).")
	errWebhookDelivery     = problem.Invalidf(HeaderDelivery, "%s is at most %d visible ASCII characters.", HeaderDelivery, maxDeliveryID)
)

// Receive checks a delivery to the webhook whose URL token is token and
// starts its workflow's run: asynchronous webhooks answer once the run is
// stored, synchronous ones once it ends (or their wait does).
func (wh *Webhooks) Receive(ctx context.Context, token string, req ReceiveRequest) (ReceiveAnswer, error) {
	if !isWebhookToken(token) {
		return ReceiveAnswer{}, ErrWebhookNotFound
	}
	e, err := wh.lookup(ctx, token)
	if err != nil {
		return ReceiveAnswer{}, err
	}
	if len(e.allow) > 0 && !allowed(e.allow, req.ClientIP) {
		return ReceiveAnswer{}, errWebhookAddress
	}
	now := wh.now()
	if err := checkSignature(e.secret, req, now); err != nil {
		return ReceiveAnswer{}, err
	}
	if !validDelivery(req.DeliveryID) {
		return ReceiveAnswer{}, errWebhookDelivery
	}
	// A lease: most deliveries of a busy webhook are counted without a round trip to Redis.
	if res := wh.limiter.TakeLeased(ctx, e.limitKey, e.rate, time.Minute); !res.Allowed {
		return ReceiveAnswer{}, &problem.Error{Code: problem.TooMany, RetryAfter: res.RetryAfter,
			Message: fmt.Sprintf("This webhook takes at most %d deliveries a minute.", e.rate)}
	}
	if len(req.Body) > MaxDeliveryBody {
		return ReceiveAnswer{}, errWebhookBodyTooLarge
	}
	body := bytes.TrimSpace(req.Body)
	var decoded any
	if len(body) == 0 || (body[0] != '{' && body[0] != '[') || json.Unmarshal(body, &decoded) != nil {
		return ReceiveAnswer{}, errWebhookBody
	}
	if e.version == 0 {
		return ReceiveAnswer{}, errWebhookNotPublished
	}
	if e.cfg == nil {
		return ReceiveAnswer{}, problem.New(problem.Conflict,
			"The workflow is not published with the webhook trigger %q: publish a version that has it, or delete this webhook.", e.node)
	}
	payload, raw := webhookPayload(body, decoded, req.Headers, now)
	start := StartRequest{CommunityID: e.cid, WorkflowID: e.wid, Version: e.version, Kind: TriggerWebhook, Node: e.node,
		Payload: payload, PayloadJSON: raw}
	if req.DeliveryID != "" {
		start.DedupKey = "webhook:" + strconv.FormatInt(e.id, 10) + ":" + req.DeliveryID
	}
	if e.cfg.Mode != WebhookSync {
		st, err := wh.svc.Start(ctx, start)
		if err != nil {
			return ReceiveAnswer{}, err
		}
		if st.New {
			wh.count(e.cid, e.id, now)
		}
		ans := ReceiveAnswer{Mode: WebhookAsync, RunID: st.RunID, Repeated: !st.New, Status: RunQueued}
		if !st.New {
			ans.Status = ""
		}
		return ans, nil
	}
	wait := time.Duration(max(e.cfg.TimeoutSecs, 1)) * time.Second
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out, err := wh.svc.RunInline(rctx, start, e.cfg.RespondNode, nil)
	if err != nil {
		return ReceiveAnswer{}, err
	}
	wh.count(e.cid, e.id, now)
	return ReceiveAnswer{Mode: WebhookSync, RunID: out.RunID, Status: out.Status, Output: out.Output, OutputJSON: out.OutputJSON,
		Error: out.Error, FailedNode: out.Node}, nil
}

// webhookPayload is a delivery as its run reads it: {{ trigger.body.… }},
// {{ trigger.headers.… }} and {{ trigger.received_at }}; decoded is body
// decoded. It returns the payload and its encoding, made here rather than
// by encoding the payload (what json.Marshal would make, keys in order).
func webhookPayload(body []byte, decoded any, headers map[string]string, at time.Time) (map[string]any, []byte) {
	kept := map[string]any{}
	for _, name := range WebhookHeaders {
		if v, ok := headers[name]; ok && v != "" {
			kept[strings.ToLower(name)] = truncate(v, maxWebhookHeader)
		}
	}
	received := at.UTC().Format(time.RFC3339Nano)
	var buf bytes.Buffer
	buf.Grow(len(body) + 256)
	buf.WriteString(`{"body":`)
	json.Compact(&buf, body) // valid: decoded from it
	buf.WriteString(`,"headers":`)
	hj, _ := json.Marshal(kept) // strings only
	buf.Write(hj)
	buf.WriteString(`,"received_at":"`)
	buf.WriteString(received) // digits, letters and punctuation only
	buf.WriteString(`"}`)
	return map[string]any{"body": decoded, "headers": kept, "received_at": received}, buf.Bytes()
}

// Sign returns the signature header's value for a delivery: what a sender
// computes (exported for tests and the API's examples).
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func checkSignature(secret []byte, req ReceiveRequest, now time.Time) error {
	if req.Timestamp == "" {
		return errWebhookNoTimestamp
	}
	if req.Signature == "" {
		return errWebhookNoSignature
	}
	if len(req.Timestamp) > 12 {
		return errWebhookStale
	}
	ts, err := strconv.ParseInt(req.Timestamp, 10, 64)
	if err != nil || ts < 0 {
		return problem.New(problem.Unauthorized, "%s must be the unix time in seconds, such as %d.", HeaderTimestamp, now.Unix())
	}
	if d := now.Sub(time.Unix(ts, 0)); d > WebhookClockSkew || d < -WebhookClockSkew {
		return errWebhookStale
	}
	hexSig, ok := strings.CutPrefix(req.Signature, "sha256=")
	if !ok {
		return problem.New(problem.Unauthorized, "Bad signature: %s is sha256=<hex digest>.", HeaderSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errWebhookBadSignature
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(req.Timestamp))
	m.Write([]byte{'.'})
	m.Write(req.Body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return errWebhookBadSignature
	}
	return nil
}

func isWebhookToken(s string) bool {
	if len(s) != 2*webhookTokenBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func validDelivery(s string) bool {
	if len(s) > maxDeliveryID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func allowed(list []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// webhookEntry is what a delivery needs of its webhook and workflow, kept
// for a few seconds so a burst costs no lookups.
type webhookEntry struct {
	missing  bool // no webhook has this token
	id       int64
	cid      int64
	wid      int64
	node     string
	secret   []byte
	allow    []netip.Prefix
	rate     int
	limitKey string         // its sliding-window limit's key
	version  int32          // the published version; 0: not published
	cfg      *WebhookConfig // the node's configuration in that version; nil: not a webhook trigger there
	expires  time.Time
}

// webhookCache holds entries by token hash. A deletion or a change of the
// workflow's published state drops them; gen stops a lookup that began
// before a drop from storing what it read, and quiet keeps a workflow's
// entries out for a moment after a change of its published state (the
// publish hook runs before its transaction commits).
type webhookCache struct {
	mu      sync.Mutex
	entries map[string]*webhookEntry
	gen     uint64
	quiet   map[int64]time.Time // workflow id → no caching until then
	loads   singleflight.Group
}

const webhookQuiet = 2 * time.Second

func (c *webhookCache) get(key string, now time.Time) (*webhookEntry, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && now.Before(e.expires) {
		return e, c.gen
	}
	return nil, c.gen
}

func (c *webhookCache) put(key string, e *webhookEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if until, ok := c.quiet[e.wid]; ok {
		if time.Now().Before(until) {
			return
		}
		delete(c.quiet, e.wid)
	}
	if len(c.entries) >= webhookCacheMaxLen {
		clear(c.entries)
	}
	c.entries[key] = e
}

func (c *webhookCache) drop(match func(*webhookEntry) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if match(e) {
			delete(c.entries, k)
		}
	}
}

func (c *webhookCache) dropWorkflow(wid int64) {
	c.mu.Lock()
	if c.quiet == nil || len(c.quiet) > webhookCacheMaxLen {
		c.quiet = map[int64]time.Time{}
	}
	c.quiet[wid] = time.Now().Add(webhookQuiet)
	c.mu.Unlock()
	c.drop(func(e *webhookEntry) bool { return e.missing || e.wid == wid })
}

func (c *webhookCache) dropWebhook(id int64) {
	c.drop(func(e *webhookEntry) bool { return e.missing || e.id == id })
}

// lookup returns the webhook whose token this is, from the cache or the
// database (one load per token at a time).
func (wh *Webhooks) lookup(ctx context.Context, token string) (*webhookEntry, error) {
	hash := hashToken(token)
	key := string(hash)
	e, gen := wh.cache.get(key, wh.now())
	if e == nil {
		v, err, _ := wh.cache.loads.Do(key, func() (any, error) {
			e, err := wh.load(context.WithoutCancel(ctx), hash)
			if err != nil {
				return nil, err
			}
			e.expires = wh.now().Add(webhookCacheTTL)
			wh.cache.put(key, e, gen)
			return e, nil
		})
		if err != nil {
			return nil, err
		}
		e = v.(*webhookEntry)
	}
	if e.missing {
		return nil, ErrWebhookNotFound
	}
	return e, nil
}

func (wh *Webhooks) load(ctx context.Context, hash []byte) (*webhookEntry, error) {
	q := db.New(wh.pool)
	row, err := q.WorkflowWebhookByToken(ctx, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return &webhookEntry{missing: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up webhook: %w", err)
	}
	sec, err := wh.box.Open(row.SecretSealed)
	if err != nil {
		return nil, fmt.Errorf("open the secret of webhook %d: %w", row.ID, err)
	}
	_, allow, err := parseAllow(row.Allow)
	if err != nil {
		return nil, fmt.Errorf("allowlist of webhook %d: %w", row.ID, err)
	}
	e := &webhookEntry{id: row.ID, cid: row.CommunityID, wid: row.WorkflowID, node: row.NodeID, secret: sec, allow: allow, rate: int(row.RatePerMinute),
		limitKey: "wfhook:" + strconv.FormatInt(row.ID, 10)}
	pub, err := q.WorkflowPublishedOne(ctx, db.WorkflowPublishedOneParams{CommunityID: row.CommunityID, ID: row.WorkflowID})
	if errors.Is(err, pgx.ErrNoRows) {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the published version of workflow %d: %w", row.WorkflowID, err)
	}
	e.version = pub.Version
	var d Definition
	if err := json.Unmarshal(pub.Definition, &d); err != nil {
		return nil, fmt.Errorf("decode version %d of workflow %d: %w", pub.Version, row.WorkflowID, err)
	}
	for _, n := range d.Nodes {
		if n.ID != row.NodeID || n.Type != "trigger_webhook" || n.Disabled {
			continue
		}
		k, _ := KindOf(n.Type)
		cfg, err := DecodeConfig(k, n.Config)
		if err != nil {
			return nil, fmt.Errorf("decode the webhook trigger of workflow %d: %w", row.WorkflowID, err)
		}
		if wc, ok := cfg.(*WebhookConfig); ok {
			e.cfg = wc
		}
	}
	return e, nil
}
