package marketplace

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// TestProvider is a payment provider FOR DEVELOPMENT ONLY
// (PAYMENTS_PROVIDER=test): no money moves. Its checkout page is on Waddle
// itself (/marketplace/test-checkout/{session}), where Pay produces an event
// signed with the provider's own random key (HMAC-SHA256, as Stripe signs)
// and runs it through the same code as a real webhook. Nothing outside the
// process can sign for it, and the page answers 404 unless the server runs
// this provider.
type TestProvider struct {
	key     []byte
	baseURL string
}

// TestProviderName is the test provider's name in marketplace_purchases.provider.
const TestProviderName = "test"

// testSignatureHeader carries the test provider's signature.
const testSignatureHeader = "Waddle-Test-Signature"

// NewTestProvider returns the development provider for a hub at baseURL.
func NewTestProvider(baseURL string) *TestProvider {
	key := make([]byte, 32)
	rand.Read(key)
	return &TestProvider{key: key, baseURL: strings.TrimRight(baseURL, "/")}
}

// Name is "test".
func (p *TestProvider) Name() string { return TestProviderName }

// TestCheckoutPath is the test provider's checkout page of a session.
func TestCheckoutPath(session string) string {
	return "/marketplace/test-checkout/" + url.PathEscape(session)
}

// Checkout makes a session whose page is the test checkout page.
func (p *TestProvider) Checkout(_ context.Context, in CheckoutInput) (Checkout, error) {
	if in.Price.Kind != PriceOneTime && in.Price.Kind != PriceMonthly {
		return Checkout{}, fmt.Errorf("test checkout: price kind %q is not paid", in.Price.Kind)
	}
	id := "tcs_" + randomHex(12)
	return Checkout{SessionID: id, URL: p.baseURL + TestCheckoutPath(id)}, nil
}

type testEvent struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	Session      string `json:"session"`
	Subscription string `json:"subscription,omitempty"`
	CommunityID  int64  `json:"community_id"`
	ModuleID     int64  `json:"module_id"`
	PeriodEnd    int64  `json:"period_end,omitempty"`
}

func (p *TestProvider) sign(body []byte, t time.Time) string {
	mac := hmac.New(sha256.New, p.key)
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// Event verifies the test provider's own signature, at most 5 minutes old.
func (p *TestProvider) Event(r *http.Request, body []byte) (PaymentEvent, error) {
	h := r.Header.Get(testSignatureHeader)
	ts, sig, ok := strings.Cut(h, ",v1=")
	ts, ok2 := strings.CutPrefix(ts, "t=")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || !ok2 || err != nil {
		return PaymentEvent{}, problem.New(problem.Invalid, "The test signature is missing or malformed.")
	}
	if time.Since(time.Unix(sec, 0)) > StripeWebhookTolerance {
		return PaymentEvent{}, problem.New(problem.Invalid, "The test signature is older than 5 minutes.")
	}
	if !hmac.Equal([]byte(p.sign(body, time.Unix(sec, 0))), []byte("t="+ts+",v1="+sig)) {
		return PaymentEvent{}, problem.New(problem.Invalid, "The test signature does not match.")
	}
	var ev testEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		return PaymentEvent{}, problem.New(problem.Invalid, "The test event could not be read.")
	}
	out := PaymentEvent{ID: ev.ID, Kind: ev.Kind, Type: "test." + ev.Kind, SessionID: ev.Session, Subscription: ev.Subscription,
		CommunityID: ev.CommunityID, ModuleID: ev.ModuleID}
	if ev.PeriodEnd > 0 {
		out.PeriodEnd = time.Unix(ev.PeriodEnd, 0).UTC()
	}
	return out, nil
}

// signedCompletion is the signed event of a paid test checkout.
func (p *TestProvider) signedCompletion(ctx context.Context, session string, communityID, moduleID int64, kind string) (*http.Request, []byte, error) {
	ev := testEvent{ID: "tev_" + randomHex(12), Kind: EventCheckoutCompleted, Session: session, CommunityID: communityID, ModuleID: moduleID}
	if kind == PriceMonthly {
		ev.Subscription = "tsub_" + randomHex(10)
		ev.PeriodEnd = time.Now().AddDate(0, 1, 0).Unix()
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/marketplace/test-checkout/"+url.PathEscape(session)+"/pay", bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	r.Header.Set(testSignatureHeader, p.sign(body, time.Now()))
	return r, body, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestCheckout is a session of the test provider, for its checkout page.
type TestCheckout struct {
	Session     string
	CommunityID int64
	ModuleID    int64
	Slug, Name  string
	Price       Price
	Kind        string
}

// errNotTestMode answers the test checkout on a server with another provider.
var errNotTestMode = problem.New(problem.NotFound, "Not found.")

// TestCheckout returns a test provider's session; ErrNotFound when the
// server does not run the test provider or has no such session.
func (s *Service) TestCheckout(ctx context.Context, session string) (TestCheckout, error) {
	if _, ok := s.payments.(*TestProvider); !ok {
		return TestCheckout{}, errNotTestMode
	}
	r, err := db.New(s.pool).MarketplacePurchaseBySession(ctx, db.MarketplacePurchaseBySessionParams{Provider: TestProviderName, CheckoutSession: session})
	if errors.Is(err, pgx.ErrNoRows) {
		return TestCheckout{}, ErrNotFound
	}
	if err != nil {
		return TestCheckout{}, fmt.Errorf("load test checkout: %w", err)
	}
	return TestCheckout{Session: session, CommunityID: r.CommunityID, ModuleID: r.ModuleID, Slug: r.Slug, Name: r.Name,
		Price: Price{Kind: r.PriceKind, Cents: int(r.PriceCents), Currency: r.Currency}, Kind: r.Kind}, nil
}

// PayTestCheckout completes a test checkout as its provider's webhook would:
// a signed event through ReceiveWebhook. Only on a server running the test
// provider.
func (s *Service) PayTestCheckout(ctx context.Context, session string) (TestCheckout, error) {
	tp, ok := s.payments.(*TestProvider)
	if !ok {
		return TestCheckout{}, errNotTestMode
	}
	co, err := s.TestCheckout(ctx, session)
	if err != nil {
		return TestCheckout{}, err
	}
	r, body, err := tp.signedCompletion(ctx, session, co.CommunityID, co.ModuleID, co.Kind)
	if err != nil {
		return TestCheckout{}, err
	}
	return co, s.ReceiveWebhook(r, body)
}
