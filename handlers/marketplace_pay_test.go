package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/marketplace/stripetest"
)

// withPayments serves the marketplace with provider (made for the hub's address).
func withPayments(provider func(baseURL string) marketplace.Provider) envOption {
	return func(cfg *handlers.Config) {
		cfg.Marketplace = marketplace.New(marketplace.Config{Pool: cfg.Health.Primary, Settings: cfg.Settings, BaseURL: cfg.BaseURL,
			Payments: provider(cfg.BaseURL)})
	}
}

// withStripe pays through the fake Stripe.
func withStripe(fake *stripetest.Server) envOption {
	return withPayments(func(string) marketplace.Provider {
		return marketplace.NewStripe(marketplace.StripeConfig{SecretKey: fake.Key, WebhookSecret: fake.WebhookSecret, APIURL: fake.URL})
	})
}

// mustPaidModule inserts a paid module with one version, installed in cid when install is set.
func (e *env) mustPaidModule(slug, kind string, cents int, cid int64, install bool) int64 {
	e.t.Helper()
	ctx := context.Background()
	var id int64
	if err := e.pool.QueryRow(ctx, `INSERT INTO marketplace_modules (slug, name, summary, author_name, price_kind, price_cents)
		VALUES ($1, $2, 'A paid module.', 'Tester', $3, $4) RETURNING id`, slug, "Module "+slug, kind, cents).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO marketplace_versions (module_id, version, major, minor, patch, manifest) VALUES ($1, '1.0.0', 1, 0, 0, '{}')`, id); err != nil {
		e.t.Fatal(err)
	}
	if install {
		if _, err := e.pool.Exec(ctx, `INSERT INTO marketplace_installs (community_id, module_id, version_id)
			SELECT $1, $2, id FROM marketplace_versions WHERE module_id = $2`, cid, id); err != nil {
			e.t.Fatal(err)
		}
	}
	return id
}

// deliver posts a signed Stripe delivery to the hub's webhook.
func (e *env) deliverStripe(fake *stripetest.Server, payload []byte, at time.Time) int {
	e.t.Helper()
	res, err := fake.Deliver(e.srv.URL+"/webhooks/stripe", payload, at)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestBuyAndRenewPermissions(t *testing.T) {
	t.Parallel()
	fake := stripetest.New(t)
	e := newEnv(t, withStripe(fake))
	root := e.user("root@example.com", true)
	owner := e.user("owner@example.com", false)
	admin := e.user("admin@example.com", false)
	member := e.user("member@example.com", false)
	stranger := e.user("stranger@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{owner: community.Owner, admin: community.Admin, member: community.Member})
	b := e.community(root, "beta", map[auth.User]community.Role{stranger: community.Owner})
	e.mustPaidModule("trivia", marketplace.PriceMonthly, 300, a.ID, true)
	e.mustPaidModule("freebie", marketplace.PriceFree, 0, a.ID, true)
	cases := []struct {
		name, who, slug, action string
		wantStatus              int
	}{
		{"owner buys", owner.Email, "trivia", "buy", http.StatusSeeOther},
		{"admin renews", admin.Email, "trivia", "renew", http.StatusSeeOther},
		{"member refused", member.Email, "trivia", "buy", http.StatusForbidden},
		{"member refused renew", member.Email, "trivia", "renew", http.StatusForbidden},
		{"other community's owner", stranger.Email, "trivia", "buy", http.StatusNotFound},
		{"no such module", owner.Email, "no-such-module", "buy", http.StatusNotFound},
		{"free module", owner.Email, "freebie", "buy", http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(fake.Sessions())
			res := e.signedIn(c.who).post(fmt.Sprintf("/c/%d/marketplace/%s/%s", a.ID, c.slug, c.action), nil, nil)
			if res.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", res.StatusCode, c.wantStatus, res.body)
			}
			sessions := fake.Sessions()
			if c.wantStatus != http.StatusSeeOther {
				if len(sessions) != before {
					t.Errorf("a refused request started a checkout")
				}
				return
			}
			if len(sessions) != before+1 || res.Header.Get("Location") != sessions[len(sessions)-1].URL {
				t.Errorf("Location %q, want the new session's page", res.Header.Get("Location"))
			}
		})
	}
	if n := e.count("SELECT count(*) FROM marketplace_purchases WHERE community_id = $1", b.ID); n != 0 {
		t.Errorf("%d purchases in beta, want 0", n)
	}
	// HTMX gets HX-Redirect instead of a 303.
	res := e.signedIn(owner.Email).post(fmt.Sprintf("/c/%d/marketplace/trivia/buy", a.ID), nil, http.Header{"Hx-Request": {"true"}})
	if res.StatusCode != http.StatusNoContent || !strings.HasPrefix(res.Header.Get("HX-Redirect"), "https://checkout.stripe.com/") {
		t.Errorf("HTMX buy: status %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
}

func TestStripeWebhookRoute(t *testing.T) {
	t.Parallel()
	fake := stripetest.New(t)
	e := newEnv(t, withStripe(fake))
	root := e.user("root@example.com", true)
	owner := e.user("owner@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{owner: community.Owner})
	mid := e.mustPaidModule("raffle", marketplace.PriceMonthly, 300, a.ID, true)
	hub := e.signedIn(owner.Email)
	overview := func() string {
		res := hub.get(fmt.Sprintf("/c/%d", a.ID), nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("overview: status %d", res.StatusCode)
		}
		return res.doc(t).Find(`[data-testid="marketplace-lapsed"]`).Text()
	}
	if got := overview(); !strings.Contains(got, "Module raffle is not paid for") {
		t.Errorf("overview banner before paying = %q", got)
	}
	if res := hub.post(fmt.Sprintf("/c/%d/marketplace/raffle/buy", a.ID), nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("buy: status %d", res.StatusCode)
	}
	paidURL := fmt.Sprintf("/c/%d/marketplace/raffle/paid", a.ID)
	if d := hub.get(paidURL, nil).doc(t); d.Find(`[data-testid="pay-status"]`).AttrOr("data-paid", "") != "false" ||
		!strings.Contains(d.Text(), "Payment received — it may take a moment") {
		t.Errorf("paid page before the webhook: %q", d.Find(`[data-testid="pay-status"]`).Text())
	}
	done, _ := fake.Complete(fake.Sessions()[0].ID)

	// Refused: bad signature, stale, too large; nothing stored.
	bad, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/stripe", strings.NewReader(string(done)))
	bad.Header.Set("Stripe-Signature", stripetest.Signature("whsec_wrong", done, time.Now()))
	res, err := http.DefaultClient.Do(bad)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad signature: status %d, want 400", res.StatusCode)
	}
	if st := e.deliverStripe(fake, done, time.Now().Add(-10*time.Minute)); st != http.StatusBadRequest {
		t.Errorf("stale delivery: status %d, want 400", st)
	}
	huge := []byte(`{"id":"evt_x","pad":"` + strings.Repeat("x", marketplace.MaxWebhookBody) + `"}`)
	if st := e.deliverStripe(fake, huge, time.Now()); st != http.StatusRequestEntityTooLarge {
		t.Errorf("huge delivery: status %d, want 413", st)
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events"); n != 0 {
		t.Fatalf("%d events stored from refused deliveries", n)
	}
	// Good, twice: stored once.
	for range 2 {
		if st := e.deliverStripe(fake, done, time.Now()); st != http.StatusOK {
			t.Fatalf("delivery: status %d, want 200", st)
		}
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events"); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
	if d := hub.get(paidURL, http.Header{"Hx-Request": {"true"}}).doc(t); d.Find(`[data-testid="pay-status"]`).AttrOr("data-paid", "") != "true" {
		t.Errorf("paid status after the webhook: %q", d.Text())
	}
	if got := overview(); got != "" {
		t.Errorf("overview banner after paying = %q, want none", got)
	}
	// The month passes: the banner offers renewal to managers only.
	if _, err := e.pool.Exec(context.Background(), "UPDATE marketplace_purchases SET expires_at = now() - interval '1 minute' WHERE module_id = $1", mid); err != nil {
		t.Fatal(err)
	}
	d := hub.get(fmt.Sprintf("/c/%d", a.ID), nil).doc(t)
	banner := d.Find(`[data-testid="lapsed-raffle"]`)
	if !strings.Contains(banner.Text(), "Module raffle's subscription has expired — its commands answer with a notice until renewed") ||
		banner.Find(`form[action="/c/`+fmt.Sprint(a.ID)+`/marketplace/raffle/renew"] [data-testid="renew"]`).Length() != 1 {
		t.Errorf("lapsed banner = %q", banner.Text())
	}
	installed := hub.get(fmt.Sprintf("/c/%d/marketplace/installed", a.ID), nil)
	if installed.StatusCode != http.StatusOK || installed.doc(t).Find(`[data-testid="lapsed-raffle"] [data-testid="renew"]`).Length() != 1 {
		t.Errorf("installed page: status %d, no renew banner", installed.StatusCode)
	}
	renewed, _ := fake.Renew(fake.Subscriptions()[0].ID)
	if st := e.deliverStripe(fake, renewed, time.Now()); st != http.StatusOK {
		t.Fatalf("invoice.paid: status %d", st)
	}
	if got := overview(); got != "" {
		t.Errorf("overview banner after renewal = %q, want none", got)
	}
}

func TestStripeWebhookOffWithoutStripe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fake := stripetest.New(t)
	done := []byte(`{"id":"evt_1","object":"event"}`)
	if st := e.deliverStripe(fake, done, time.Now()); st != http.StatusNotFound {
		t.Errorf("webhook without Stripe: status %d, want 404", st)
	}
}

func TestTestProviderCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPayments(func(base string) marketplace.Provider { return marketplace.NewTestProvider(base) }))
	root := e.user("root@example.com", true)
	owner := e.user("owner@example.com", false)
	member := e.user("member@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{owner: community.Owner, member: community.Member})
	mid := e.mustPaidModule("quiz", marketplace.PriceMonthly, 300, a.ID, true)
	hub := e.signedIn(owner.Email)
	res := hub.post(fmt.Sprintf("/c/%d/marketplace/quiz/buy", a.ID), nil, nil)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.Path, "/marketplace/test-checkout/") || loc.Host != strings.TrimPrefix(e.srv.URL, "http://") {
		t.Fatalf("buy: status %d, Location %q, want this hub's test checkout", res.StatusCode, loc)
	}
	page := hub.get(loc.Path, nil)
	if page.StatusCode != http.StatusOK || page.doc(t).Find(`[data-testid="test-module"]`).Text() != "Module quiz" {
		t.Fatalf("test checkout page: status %d", page.StatusCode)
	}
	if res := e.signedIn(member.Email).post(loc.Path+"/pay", nil, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member paying: status %d, want 403", res.StatusCode)
	}
	if res := hub.post(loc.Path+"/pay", nil, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != marketplace.PaidPath(a.ID, "quiz") {
		t.Fatalf("pay: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if n := e.count("SELECT count(*) FROM marketplace_purchases WHERE module_id = $1 AND status = 'active' AND expires_at > now() + interval '27 days'", mid); n != 1 {
		t.Errorf("the test payment did not activate a month's subscription")
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events WHERE provider = 'test'"); n != 1 {
		t.Errorf("%d test events stored, want 1", n)
	}
	if res := hub.get("/marketplace/test-checkout/tcs_nosuchsession", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown session: status %d, want 404", res.StatusCode)
	}
}

// On a server with Stripe (or none), the test checkout does not exist.
func TestTestCheckoutRefusedOutsideTestMode(t *testing.T) {
	t.Parallel()
	fake := stripetest.New(t)
	e := newEnv(t, withStripe(fake))
	root := e.user("root@example.com", true)
	a := e.community(root, "alpha", nil)
	mid := e.mustPaidModule("quiz", marketplace.PriceOneTime, 300, a.ID, true)
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO marketplace_purchases (community_id, module_id, kind, status, provider, checkout_session)
		VALUES ($1, $2, 'one_time', 'pending', 'test', 'tcs_left_over')`, a.ID, mid); err != nil {
		t.Fatal(err)
	}
	hub := e.signedIn(root.Email)
	for _, p := range []string{"", "/pay"} {
		var res response
		if p == "" {
			res = hub.get("/marketplace/test-checkout/tcs_left_over", nil)
		} else {
			res = hub.post("/marketplace/test-checkout/tcs_left_over"+p, nil, nil)
		}
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("test checkout%s outside test mode: status %d, want 404", p, res.StatusCode)
		}
	}
	if n := e.count("SELECT count(*) FROM marketplace_purchases WHERE status = 'active'"); n != 0 {
		t.Error("a test checkout was paid outside test mode")
	}
}

func TestPricePanel(t *testing.T) {
	t.Parallel()
	fake := stripetest.New(t)
	e := newEnv(t, withStripe(fake))
	root := e.user("root@example.com", true)
	owner := e.user("owner@example.com", false)
	member := e.user("member@example.com", false)
	a := e.community(root, "alpha", map[auth.User]community.Role{owner: community.Owner, member: community.Member})
	mid := e.mustPaidModule("raffle", marketplace.PriceMonthly, 300, a.ID, true)
	e.mustPaidModule("freebie", marketplace.PriceFree, 0, a.ID, false)
	panel := func(c *client, slug string) (price, status, button string) {
		t.Helper()
		res := c.get(fmt.Sprintf("/c/%d/marketplace/%s/price", a.ID, slug), http.Header{"Hx-Request": {"true"}})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("price panel: status %d", res.StatusCode)
		}
		d := res.doc(t)
		return d.Find(`[data-testid="price"]`).Text(), strings.Join(strings.Fields(d.Find(`[data-testid="purchase-status"]`).Text()), " "),
			strings.TrimSpace(d.Find(`form button`).Text())
	}
	hub, viewer := e.signedIn(owner.Email), e.signedIn(member.Email)
	if p, s, b := panel(hub, "raffle"); p != "$3.00 a month" || s != "Not bought by this community." || b != "Subscribe for $3.00 a month" {
		t.Errorf("owner's panel before buying = %q %q %q", p, s, b)
	}
	if _, _, b := panel(viewer, "raffle"); b != "" {
		t.Errorf("a member sees the button %q", b)
	}
	if p, s, b := panel(hub, "freebie"); p != "Free" || s != "" || b != "" {
		t.Errorf("free module's panel = %q %q %q", p, s, b)
	}
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO marketplace_purchases (community_id, module_id, kind, status, provider, expires_at)
		VALUES ($1, $2, 'monthly', 'canceled', 'stripe', now() - interval '1 day')`, a.ID, mid); err != nil {
		t.Fatal(err)
	}
	if _, s, b := panel(hub, "raffle"); !strings.HasPrefix(s, "The subscription has expired") || b != "Renew for $3.00 a month" {
		t.Errorf("lapsed panel = %q %q", s, b)
	}
	// The module page in the workspace shows the panel; the hub-wide one only the price.
	page := hub.get(fmt.Sprintf("/c/%d/marketplace/raffle", a.ID), nil)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("module page: status %d", page.StatusCode)
	}
	if b := strings.TrimSpace(page.doc(t).Find(`[data-testid="marketplace-price"] form button`).Text()); b != "Renew for $3.00 a month" {
		t.Errorf("module page's buy button = %q", b)
	}
	if n := hub.get("/marketplace/raffle", nil).doc(t).Find(`[data-testid="marketplace-price"]`).Length(); n != 0 {
		t.Errorf("the hub-wide module page shows %d buy panels, want 0", n)
	}
	if res := hub.get(fmt.Sprintf("/c/%d/marketplace/nothing/price", a.ID), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("panel of no module: status %d, want 404", res.StatusCode)
	}
}
