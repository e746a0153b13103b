package marketplace_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/marketplace/stripetest"
)

// payEnv is a marketplace on a fresh database, paying through a fake Stripe.
type payEnv struct {
	t      *testing.T
	pool   *pgxpool.Pool
	stripe *stripetest.Server
	svc    *marketplace.Service
}

const hubURL = "http://hub.test"

func newPayEnv(t *testing.T) *payEnv {
	t.Helper()
	pool := dbtest.Pool(t)
	fake := stripetest.New(t)
	svc := marketplace.New(marketplace.Config{Pool: pool, BaseURL: hubURL,
		Payments: marketplace.NewStripe(marketplace.StripeConfig{SecretKey: fake.Key, WebhookSecret: fake.WebhookSecret, APIURL: fake.URL})})
	return &payEnv{t: t, pool: pool, stripe: fake, svc: svc}
}

// mustCommunity inserts a community and returns its id.
func (e *payEnv) mustCommunity(slug string) int64 {
	e.t.Helper()
	var id int64
	if err := e.pool.QueryRow(context.Background(), "INSERT INTO communities (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// mustModule inserts a module with one version at a price and returns its id.
func (e *payEnv) mustModule(slug, kind string, cents int) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	if err := e.pool.QueryRow(ctx, `INSERT INTO marketplace_modules (slug, name, summary, author_name, price_kind, price_cents)
		VALUES ($1, $2, 'A module for tests.', 'Tester', $3, $4) RETURNING id`, slug, "Module "+slug, kind, cents).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO marketplace_versions (module_id, version, major, minor, patch, manifest)
		VALUES ($1, '1.0.0', 1, 0, 0, '{}')`, id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// mustInstall installs a module's first version in a community, as the install service would.
func (e *payEnv) mustInstall(communityID, moduleID int64) {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO marketplace_installs (community_id, module_id, version_id)
		SELECT $1, $2, id FROM marketplace_versions WHERE module_id = $2`, communityID, moduleID); err != nil {
		e.t.Fatal(err)
	}
}

// count runs a count query.
func (e *payEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// webhook is a Stripe delivery of payload signed at at, as a request.
func (e *payEnv) webhook(payload []byte, at time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", strings.NewReader(string(payload)))
	r.Header.Set("Stripe-Signature", e.stripe.Sign(payload, at))
	return r
}

// deliver applies a signed delivery through ReceiveWebhook.
func (e *payEnv) deliver(payload []byte) error {
	e.t.Helper()
	return e.svc.ReceiveWebhook(e.webhook(payload, time.Now()), payload)
}

// purchase reads a purchase back.
func (e *payEnv) purchase(communityID, moduleID int64) marketplace.Purchase {
	e.t.Helper()
	p, err := e.svc.Purchase(context.Background(), communityID, moduleID)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}
