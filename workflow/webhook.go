package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/secret"
)

// Incoming webhook limits.
const (
	WebhookRateDefault  = 60      // deliveries a minute, unless set
	WebhookRateMax      = 1000000 // the highest per-minute limit (a busy shop, or a load test)
	MaxWebhooksPerFlow  = 20      // webhooks one workflow may have
	maxWebhookAllow     = 50      // allowlist entries
	webhookCacheTTL     = 5 * time.Second
	webhookFlushEvery   = time.Second
	webhookTokenBytes   = 16 // 32 hex characters
	webhookSecretBytes  = 32
	webhookTokenHintLen = 4
)

// ErrWebhookNotFound answers for a webhook that does not exist (or was
// deleted, or is another community's).
var ErrWebhookNotFound = problem.New(problem.NotFound, "There is no such webhook here.")

// IncomingWebhook is one of a workflow's webhooks, without its secret or token.
type IncomingWebhook struct {
	ID              int64      `json:"id"`
	WorkflowID      int64      `json:"workflow_id"`
	Node            string     `json:"node"`
	TokenHint       string     `json:"token_hint"` // the token's last 4 characters
	Allow           []string   `json:"allow"`
	RatePerMinute   int        `json:"rate_per_minute"`
	TriggerCount    int64      `json:"trigger_count"`
	LastTriggeredAt *time.Time `json:"last_triggered_at"`
	CreatedAt       time.Time  `json:"created_at"`
}

// WebhookInput is what a user gives to create a webhook.
type WebhookInput struct {
	Node          string   `json:"node"`  // the trigger_webhook node; empty: the workflow's only one
	Allow         []string `json:"allow"` // addresses and CIDRs that may call it; empty: any
	RatePerMinute int      `json:"rate_per_minute"`
}

// Webhooks creates workflows' webhooks and receives their deliveries.
type Webhooks struct {
	svc     *Service
	pool    *pgxpool.Pool
	box     *secret.Box
	limiter *ratelimit.Limiter
	logger  *slog.Logger
	now     func() time.Time

	cache webhookCache

	mu      sync.Mutex
	pending map[int64]*webhookCount // deliveries not yet added to the table
}

// WebhooksConfig builds Webhooks.
type WebhooksConfig struct {
	Service *Service
	Pool    *pgxpool.Pool
	Secrets *secret.Box        // seals and opens the signing secrets
	Limiter *ratelimit.Limiter // per-webhook limits (Redis when it has it); nil: in memory
	Logger  *slog.Logger
}

type webhookCount struct {
	cid  int64
	n    int64
	last time.Time
}

// NewWebhooks returns Webhooks; they follow the service's publishing so
// that a published or drafted workflow's webhooks see it at once.
func NewWebhooks(cfg WebhooksConfig) *Webhooks {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.New(nil, "", cfg.Logger)
	}
	if cfg.Pool == nil {
		cfg.Pool = cfg.Service.pool
	}
	wh := &Webhooks{svc: cfg.Service, pool: cfg.Pool, box: cfg.Secrets, limiter: cfg.Limiter, logger: cfg.Logger, now: time.Now,
		cache: webhookCache{entries: map[string]*webhookEntry{}}, pending: map[int64]*webhookCount{}}
	cfg.Service.OnPublish(func(_ context.Context, _ pgx.Tx, w *Workflow, _ *Definition) error {
		wh.cache.dropWorkflow(w.ID)
		return nil
	})
	return wh
}

// hashToken is how a token is stored and looked up.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// parseAllow checks and normalizes an allowlist: each entry an address or
// a CIDR.
func parseAllow(in []string) ([]string, []netip.Prefix, error) {
	if len(in) > maxWebhookAllow {
		return nil, nil, problem.Invalidf("allow", "allow: an allowlist has at most %d entries.", maxWebhookAllow)
	}
	out := make([]string, 0, len(in))
	prefixes := make([]netip.Prefix, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				return nil, nil, problem.Invalidf("allow", "allow: %q is not an address or a CIDR such as 203.0.113.0/24.", truncate(s, 60))
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, nil, problem.Invalidf("allow", "allow: %q is not an address or a CIDR such as 203.0.113.0/24.", truncate(s, 60))
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		prefixes = append(prefixes, p)
		if p.IsSingleIP() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	return out, prefixes, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// webhookNode finds the trigger_webhook node a webhook starts from.
func webhookNode(d *Definition, id string) (string, error) {
	if id == "" {
		var found []string
		for _, n := range d.Nodes {
			if n.Type == "trigger_webhook" {
				found = append(found, n.ID)
			}
		}
		switch len(found) {
		case 0:
			return "", problem.Invalidf("node", "node: the workflow has no webhook trigger; add a Webhook node first.")
		case 1:
			return found[0], nil
		}
		return "", problem.Invalidf("node", "node: the workflow has %d webhook triggers; name the one this webhook starts (%s).", len(found), strings.Join(found, ", "))
	}
	for _, n := range d.Nodes {
		if n.ID == id {
			if n.Type != "trigger_webhook" {
				return "", problem.Invalidf("node", "node: %q is a %s, not a webhook trigger.", truncate(id, 60), n.Type)
			}
			return id, nil
		}
	}
	return "", problem.Invalidf("node", "node: the workflow has no node %q.", truncate(id, 60))
}

// Create makes a webhook for a workflow's trigger_webhook node. The token
// (the URL's last part) and the signing secret are returned this once: the
// token is stored hashed and the secret sealed.
func (wh *Webhooks) Create(ctx context.Context, cid, workflowID int64, by audit.Actor, in WebhookInput) (IncomingWebhook, string, string, error) {
	allow, _, err := parseAllow(in.Allow)
	if err != nil {
		return IncomingWebhook{}, "", "", err
	}
	if in.RatePerMinute == 0 {
		in.RatePerMinute = WebhookRateDefault
	}
	if in.RatePerMinute < 1 || in.RatePerMinute > WebhookRateMax {
		return IncomingWebhook{}, "", "", problem.Invalidf("rate_per_minute", "rate_per_minute: the limit is 1 to %d deliveries a minute.", WebhookRateMax)
	}
	w, err := wh.svc.Get(ctx, cid, workflowID)
	if err != nil {
		return IncomingWebhook{}, "", "", err
	}
	node, err := webhookNode(&w.Definition, strings.TrimSpace(in.Node))
	if err != nil && w.Version > 0 { // the draft may have moved on: the published version counts too
		if d, verr := wh.svc.Version(ctx, cid, workflowID, w.Version); verr == nil {
			if n, perr := webhookNode(&d, strings.TrimSpace(in.Node)); perr == nil {
				node, err = n, nil
			}
		}
	}
	if err != nil {
		return IncomingWebhook{}, "", "", err
	}
	token, sec := randomHex(webhookTokenBytes), randomHex(webhookSecretBytes)
	sealed, err := wh.box.Seal([]byte(sec))
	if errors.Is(err, secret.ErrNoKey) {
		return IncomingWebhook{}, "", "", problem.New(problem.Conflict, "Webhook secrets are stored encrypted, and this server has no TOKEN_ENCRYPTION_KEY: ask its operator to set one.")
	}
	if err != nil {
		return IncomingWebhook{}, "", "", fmt.Errorf("seal the webhook secret: %w", err)
	}
	var out IncomingWebhook
	err = pgx.BeginFunc(ctx, wh.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		// Lock the workflow, so that two creations cannot both pass the count.
		if _, err := q.WorkflowGetForUpdate(ctx, db.WorkflowGetForUpdateParams{CommunityID: cid, ID: workflowID}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("load workflow %d: %w", workflowID, err)
		}
		n, err := q.WorkflowWebhookCount(ctx, db.WorkflowWebhookCountParams{CommunityID: cid, WorkflowID: workflowID})
		if err != nil {
			return fmt.Errorf("count webhooks: %w", err)
		}
		if n >= MaxWebhooksPerFlow {
			return problem.New(problem.Conflict, "A workflow has at most %d webhooks; delete one first.", MaxWebhooksPerFlow)
		}
		row, err := q.WorkflowWebhookInsert(ctx, db.WorkflowWebhookInsertParams{CommunityID: cid, WorkflowID: workflowID, NodeID: node,
			TokenHash: hashToken(token), TokenHint: token[len(token)-webhookTokenHintLen:], SecretSealed: sealed, Allow: allow,
			RatePerMinute: int32(in.RatePerMinute), CreatedBy: userRef(by.UserID)})
		if err != nil {
			return fmt.Errorf("insert webhook: %w", err)
		}
		out = webhookFromRow(row)
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowWebhook, Target: w.Name,
			After: map[string]any{"webhook": row.ID, "node": node, "token": "…" + out.TokenHint, "secret": audit.SecretSet,
				"allow": allow, "rate_per_minute": in.RatePerMinute}})
	})
	if err != nil {
		return IncomingWebhook{}, "", "", err
	}
	return out, token, sec, nil
}

// List returns a workflow's webhooks, with their trigger counts (this
// instance's deliveries not yet written included).
func (wh *Webhooks) List(ctx context.Context, cid, workflowID int64) ([]IncomingWebhook, error) {
	if _, err := wh.svc.Get(ctx, cid, workflowID); err != nil {
		return nil, err
	}
	rows, err := db.New(wh.pool).WorkflowWebhookList(ctx, db.WorkflowWebhookListParams{CommunityID: cid, WorkflowID: workflowID})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]IncomingWebhook, 0, len(rows))
	wh.mu.Lock()
	defer wh.mu.Unlock()
	for _, row := range rows {
		h := webhookFromRow(row)
		if p := wh.pending[h.ID]; p != nil {
			h.TriggerCount += p.n
			if h.LastTriggeredAt == nil || p.last.After(*h.LastTriggeredAt) {
				last := p.last
				h.LastTriggeredAt = &last
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// Delete removes a webhook: its URL answers 404 from then on.
func (wh *Webhooks) Delete(ctx context.Context, cid, workflowID, webhookID int64, by audit.Actor) error {
	err := pgx.BeginFunc(ctx, wh.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		w, err := q.WorkflowGet(ctx, db.WorkflowGetParams{CommunityID: cid, ID: workflowID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load workflow %d: %w", workflowID, err)
		}
		row, err := q.WorkflowWebhookDelete(ctx, db.WorkflowWebhookDeleteParams{CommunityID: cid, WorkflowID: workflowID, ID: webhookID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrWebhookNotFound
		}
		if err != nil {
			return fmt.Errorf("delete webhook %d: %w", webhookID, err)
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: cid, Action: audit.WorkflowWebhook, Target: w.Name,
			Before: map[string]any{"webhook": row.ID, "node": row.NodeID, "token": "…" + row.TokenHint, "secret": audit.SecretSet}})
	})
	if err != nil {
		return err
	}
	wh.cache.dropWebhook(webhookID)
	wh.mu.Lock()
	delete(wh.pending, webhookID)
	wh.mu.Unlock()
	return nil
}

func webhookFromRow(row db.WorkflowWebhook) IncomingWebhook {
	allow := row.Allow
	if allow == nil {
		allow = []string{}
	}
	return IncomingWebhook{ID: row.ID, WorkflowID: row.WorkflowID, Node: row.NodeID, TokenHint: row.TokenHint, Allow: allow,
		RatePerMinute: int(row.RatePerMinute), TriggerCount: row.TriggerCount, LastTriggeredAt: row.LastTriggeredAt, CreatedAt: row.CreatedAt}
}

// count notes one delivery that started a run; Flush writes it.
func (wh *Webhooks) count(cid, id int64, at time.Time) {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	p := wh.pending[id]
	if p == nil {
		p = &webhookCount{cid: cid}
		wh.pending[id] = p
	}
	p.n++
	if at.After(p.last) {
		p.last = at
	}
}

// Flush adds the deliveries counted since the last flush to the webhooks'
// trigger counts and last-triggered times, in one statement.
func (wh *Webhooks) Flush(ctx context.Context) error {
	wh.mu.Lock()
	pending := wh.pending
	wh.pending = map[int64]*webhookCount{}
	wh.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	var p db.WorkflowWebhookCountAddParams
	for id, c := range pending {
		p.CommunityIds = append(p.CommunityIds, c.cid)
		p.Ids = append(p.Ids, id)
		p.Counts = append(p.Counts, c.n)
		p.Ats = append(p.Ats, c.last)
	}
	if err := db.New(wh.pool).WorkflowWebhookCountAdd(ctx, p); err != nil {
		wh.mu.Lock() // keep them for the next flush
		for id, c := range pending {
			if now := wh.pending[id]; now != nil {
				now.n += c.n
				if c.last.After(now.last) {
					now.last = c.last
				}
			} else {
				wh.pending[id] = c
			}
		}
		wh.mu.Unlock()
		return fmt.Errorf("add webhook trigger counts: %w", err)
	}
	return nil
}

// Run writes the trigger counts every second until ctx ends, then a last
// time.
func (wh *Webhooks) Run(ctx context.Context) error {
	t := time.NewTicker(webhookFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := wh.Flush(fctx); err != nil {
				wh.logger.WarnContext(fctx, "webhook trigger counts lost at shutdown", "err", err)
			}
			return nil
		case <-t.C:
			if err := wh.Flush(ctx); err != nil && ctx.Err() == nil {
				wh.logger.WarnContext(ctx, "write webhook trigger counts", "err", err)
			}
		}
	}
}
