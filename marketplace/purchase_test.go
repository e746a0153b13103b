package marketplace_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v82"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/marketplace/stripetest"
	"github.com/waddle/waddle/problem"
)

var owner = audit.Actor{UserID: 0, Email: "owner@example.com"}

func TestStripeCheckoutOneTimeAndMonthly(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("buyers")
	once := e.mustModule("trivia", marketplace.PriceOneTime, 499)
	monthly := e.mustModule("raffle", marketplace.PriceMonthly, 300)

	co1, err := e.svc.StartCheckout(ctx, owner, cid, "trivia")
	if err != nil {
		t.Fatal(err)
	}
	co2, err := e.svc.StartCheckout(ctx, owner, cid, "raffle")
	if err != nil {
		t.Fatal(err)
	}
	sessions := e.stripe.Sessions()
	if len(sessions) != 2 {
		t.Fatalf("the fake has %d sessions, want 2", len(sessions))
	}
	s1, s2 := sessions[0], sessions[1]
	if co1.SessionID != s1.ID || co1.URL != s1.URL || co2.SessionID != s2.ID {
		t.Errorf("checkouts %+v %+v do not match the sessions %s %s", co1, co2, s1.ID, s2.ID)
	}
	type got struct {
		Mode, Currency, Product, Interval, Success, Cancel, Ref string
		Amount, Qty                                             int64
		Meta, SubMeta                                           map[string]string
	}
	g := func(s stripetest.Session) got {
		return got{s.Mode, s.Currency, s.ProductName, s.Interval, s.SuccessURL, s.CancelURL, s.ClientReferenceID, s.UnitAmount, s.Quantity, s.Metadata, s.SubscriptionMetadata}
	}
	meta := func(m int64, slug string) map[string]string {
		return map[string]string{"community_id": itoa(cid), "module_id": itoa(m), "module_slug": slug}
	}
	want1 := got{"payment", "usd", "Module trivia", "", hubURL + "/c/" + itoa(cid) + "/marketplace/trivia/paid", hubURL + "/c/" + itoa(cid) + "/marketplace/trivia/cancelled",
		"c" + itoa(cid) + "-m" + itoa(once), 499, 1, meta(once, "trivia"), map[string]string{}}
	if d := cmp.Diff(want1, g(s1)); d != "" {
		t.Errorf("one-time session (-want +got):\n%s", d)
	}
	want2 := got{"subscription", "usd", "Module raffle", "month", hubURL + "/c/" + itoa(cid) + "/marketplace/raffle/paid", hubURL + "/c/" + itoa(cid) + "/marketplace/raffle/cancelled",
		"c" + itoa(cid) + "-m" + itoa(monthly), 300, 1, meta(monthly, "raffle"), meta(monthly, "raffle")}
	if d := cmp.Diff(want2, g(s2)); d != "" {
		t.Errorf("monthly session (-want +got):\n%s", d)
	}
	p := e.purchase(cid, monthly)
	if p.Status != marketplace.PurchasePending || p.Kind != marketplace.PriceMonthly || p.Provider != "stripe" || p.ExpiresAt != nil {
		t.Errorf("purchase after checkout = %+v, want pending monthly on stripe", p)
	}
	if n := e.count("SELECT count(*) FROM marketplace_purchases WHERE checkout_session = $1", co1.SessionID); n != 1 {
		t.Errorf("%d purchases remember session %s, want 1", n, co1.SessionID)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = $1 AND community_id = $2", audit.MarketplaceCheckoutStarted, cid); n != 2 {
		t.Errorf("%d checkouts audited, want 2", n)
	}
}

func TestStartCheckoutRefusals(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("refused")
	e.mustModule("freebie", marketplace.PriceFree, 0)
	paid := e.mustModule("paidup", marketplace.PriceOneTime, 100)
	hidden := e.mustModule("hidden", marketplace.PriceOneTime, 100)
	if _, err := e.pool.Exec(ctx, "UPDATE marketplace_modules SET listed = false WHERE id = $1", hidden); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "INSERT INTO marketplace_purchases (community_id, module_id, kind, status, provider) VALUES ($1, $2, 'one_time', 'active', 'stripe')", cid, paid); err != nil {
		t.Fatal(err)
	}
	off := marketplace.New(marketplace.Config{Pool: e.pool, BaseURL: hubURL})
	cases := []struct {
		name string
		svc  *marketplace.Service
		slug string
		code problem.Code
	}{
		{"free module", e.svc, "freebie", problem.Invalid},
		{"already paid", e.svc, "paidup", problem.Conflict},
		{"no such module", e.svc, "nothing-here", problem.NotFound},
		{"unlisted and not installed", e.svc, "hidden", problem.NotFound},
		{"payments off", off, "freebie", problem.Conflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.svc.StartCheckout(ctx, owner, cid, c.slug)
			if !problem.Is(err, c.code) {
				t.Errorf("StartCheckout(%s) = %v, want a %s problem", c.slug, err, c.code)
			}
		})
	}
	if n := len(e.stripe.Sessions()); n != 0 {
		t.Errorf("the fake has %d sessions after refusals, want 0", n)
	}
	// An unlisted module may still be paid for by a community that has it.
	e.mustInstall(cid, hidden)
	if _, err := e.svc.StartCheckout(ctx, owner, cid, "hidden"); err != nil {
		t.Errorf("checkout of an installed unlisted module: %v", err)
	}
}

func TestStripeRefusesWrongKey(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	cid := e.mustCommunity("wrongkey")
	m := e.mustModule("keyed", marketplace.PriceMonthly, 100)
	svc := marketplace.New(marketplace.Config{Pool: e.pool, BaseURL: hubURL,
		Payments: marketplace.NewStripe(marketplace.StripeConfig{SecretKey: "sk_test_wrong", APIURL: e.stripe.URL})})
	_, err := svc.StartCheckout(context.Background(), owner, cid, "keyed")
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 401 {
		t.Fatalf("checkout with a wrong key = %v, want Stripe's 401", err)
	}
	if _, err := e.svc.Purchase(context.Background(), cid, m); !errors.Is(err, marketplace.ErrNoPurchase) {
		t.Errorf("a refused checkout stored a purchase: %v", err)
	}
}

// The fake refuses what Stripe refuses, so a wrong client fails.
func TestFakeStripeRefusesBadSessions(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	sc := stripe.NewClient(e.stripe.Key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(e.stripe.URL),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})))
	item := func(interval string) []*stripe.CheckoutSessionCreateLineItemParams {
		pd := &stripe.CheckoutSessionCreateLineItemPriceDataParams{Currency: stripe.String("usd"), UnitAmount: stripe.Int64(100),
			ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("X")}}
		if interval != "" {
			pd.Recurring = &stripe.CheckoutSessionCreateLineItemPriceDataRecurringParams{Interval: stripe.String(interval)}
		}
		return []*stripe.CheckoutSessionCreateLineItemParams{{PriceData: pd, Quantity: stripe.Int64(1)}}
	}
	ok := "https://hub.example/ok"
	cases := []struct {
		name   string
		params *stripe.CheckoutSessionCreateParams
		param  string
	}{
		{"no mode", &stripe.CheckoutSessionCreateParams{LineItems: item(""), SuccessURL: &ok}, "mode"},
		{"no line items", &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"), SuccessURL: &ok}, "line_items[0][quantity]"},
		{"no product name", &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"), SuccessURL: &ok, LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1), PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{Currency: stripe.String("usd"), UnitAmount: stripe.Int64(1)}}}},
			"line_items[0][price_data][product_data][name]"},
		{"subscription without interval", &stripe.CheckoutSessionCreateParams{Mode: stripe.String("subscription"), LineItems: item(""), SuccessURL: &ok}, "line_items"},
		{"payment with interval", &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"), LineItems: item("month"), SuccessURL: &ok}, "line_items"},
		{"no success url", &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"), LineItems: item("")}, "success_url"},
		{"bad mode", &stripe.CheckoutSessionCreateParams{Mode: stripe.String("gift"), LineItems: item(""), SuccessURL: &ok}, "mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sc.V1CheckoutSessions.Create(context.Background(), c.params)
			var se *stripe.Error
			if !errors.As(err, &se) || se.HTTPStatusCode != 400 || se.Param != c.param || se.Type != stripe.ErrorTypeInvalidRequest {
				t.Fatalf("Create = %v, want Stripe's 400 invalid_request_error naming %s", err, c.param)
			}
		})
	}
}

func TestLapseAndRenewal(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("renewers")
	m := e.mustModule("quiz", marketplace.PriceMonthly, 500)
	e.mustInstall(cid, m)
	if l, _ := e.svc.Lapsed(ctx, cid); len(l) != 1 || l[0].Lapsed() {
		t.Fatalf("Lapsed before any purchase = %+v, want the module, never paid", l)
	}
	co, err := e.svc.StartCheckout(ctx, owner, cid, "quiz")
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.stripe.Complete(co.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.deliver(done); err != nil {
		t.Fatal(err)
	}
	p := e.purchase(cid, m)
	if p.Status != marketplace.PurchaseActive || p.ExpiresAt == nil || p.ExpiresAt.Before(time.Now().AddDate(0, 1, -1)) {
		t.Fatalf("purchase after checkout = %+v, want active for about a month", p)
	}
	if l, _ := e.svc.Lapsed(ctx, cid); len(l) != 0 {
		t.Fatalf("Lapsed after paying = %+v, want none", l)
	}
	subs := e.stripe.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("the fake has %d subscriptions, want 1", len(subs))
	}
	// The month passes without a renewal.
	if _, err := e.pool.Exec(ctx, "UPDATE marketplace_purchases SET expires_at = now() - interval '1 hour' WHERE community_id = $1", cid); err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.Lapsed(ctx, cid)
	if err != nil || len(l) != 1 || !l[0].Lapsed() || l[0].Slug != "quiz" {
		t.Fatalf("Lapsed after expiry = %+v, %v, want quiz, lapsed", l, err)
	}
	if e.purchase(cid, m).Paid(time.Now()) {
		t.Fatal("an expired purchase is paid")
	}
	paid, err := e.stripe.Renew(subs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.deliver(paid); err != nil {
		t.Fatal(err)
	}
	sub, _ := e.stripe.Subscription(subs[0].ID)
	p = e.purchase(cid, m)
	if want := sub.PeriodEnd.Add(marketplace.SubscriptionGrace); p.Status != marketplace.PurchaseActive || p.ExpiresAt == nil || !p.ExpiresAt.Equal(want) {
		t.Fatalf("purchase after invoice.paid = %+v, want active until %v", p, want)
	}
	if l, _ := e.svc.Lapsed(ctx, cid); len(l) != 0 {
		t.Errorf("Lapsed after renewal = %+v, want none", l)
	}
}

func TestSubscriptionFailureAndCancel(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("failing")
	m := e.mustModule("poll", marketplace.PriceMonthly, 200)
	co, err := e.svc.StartCheckout(ctx, owner, cid, "poll")
	if err != nil {
		t.Fatal(err)
	}
	done, _ := e.stripe.Complete(co.SessionID)
	if err := e.deliver(done); err != nil {
		t.Fatal(err)
	}
	before := e.purchase(cid, m)
	sub := e.stripe.Subscriptions()[0]
	failed, _ := e.stripe.FailRenewal(sub.ID)
	if err := e.deliver(failed); err != nil {
		t.Fatal(err)
	}
	p := e.purchase(cid, m)
	if p.Status != marketplace.PurchasePastDue || !p.ExpiresAt.Equal(*before.ExpiresAt) || !p.Paid(time.Now()) {
		t.Errorf("after a failed payment = %+v, want past_due, still paid until %v", p, before.ExpiresAt)
	}
	if !p.Paid(time.Now()) || p.Paid(before.ExpiresAt.Add(time.Second)) {
		t.Error("a past-due purchase must run until its expiry, and not after")
	}
	// Past due or canceled, the module may be paid for again.
	canceled, _ := e.stripe.Cancel(sub.ID)
	if err := e.deliver(canceled); err != nil {
		t.Fatal(err)
	}
	p = e.purchase(cid, m)
	if p.Status != marketplace.PurchaseCanceled || !p.ExpiresAt.Equal(*before.ExpiresAt) {
		t.Errorf("after cancelling = %+v, want canceled until %v", p, before.ExpiresAt)
	}
	if _, err := e.svc.StartCheckout(ctx, owner, cid, "poll"); err != nil {
		t.Errorf("renewing a canceled subscription: %v", err)
	}
	// Events of the old subscription do not touch the new one's purchase.
	again, _ := e.stripe.Complete(e.stripe.Sessions()[1].ID)
	if err := e.deliver(again); err != nil {
		t.Fatal(err)
	}
	renewed := e.purchase(cid, m)
	old, _ := e.stripe.Cancel(sub.ID)
	if err := e.deliver(old); err != nil {
		t.Fatal(err)
	}
	if p := e.purchase(cid, m); p.Status != marketplace.PurchaseActive || !p.ExpiresAt.Equal(*renewed.ExpiresAt) {
		t.Errorf("an old subscription's event changed the renewed purchase: %+v", p)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
