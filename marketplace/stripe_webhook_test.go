package marketplace_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/marketplace/stripetest"
	"github.com/waddle/waddle/problem"
)

func TestStripeWebhookAppliesOnce(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("once")
	m := e.mustModule("dice", marketplace.PriceOneTime, 250)
	co, err := e.svc.StartCheckout(ctx, owner, cid, "dice")
	if err != nil {
		t.Fatal(err)
	}
	done, _ := e.stripe.Complete(co.SessionID)
	for range 2 {
		if err := e.deliver(done); err != nil {
			t.Fatal(err)
		}
	}
	p := e.purchase(cid, m)
	if p.Status != marketplace.PurchaseActive || p.ExpiresAt != nil {
		t.Errorf("one-time purchase after payment = %+v, want active for ever", p)
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events WHERE provider = 'stripe' AND event_id = $1", stripetest.EventID(done)); n != 1 {
		t.Errorf("the event is stored %d times, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM audit_log WHERE action = 'marketplace_purchase_changed' AND community_id = $1", cid); n != 1 {
		t.Errorf("the change is audited %d times, want once", n)
	}
	if _, err := e.svc.StartCheckout(ctx, owner, cid, "dice"); !problem.Is(err, problem.Conflict) {
		t.Errorf("buying a paid module again = %v, want a conflict", err)
	}
}

func TestStripeWebhookRefusals(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("refusals")
	m := e.mustModule("cards", marketplace.PriceOneTime, 250)
	co, err := e.svc.StartCheckout(ctx, owner, cid, "cards")
	if err != nil {
		t.Fatal(err)
	}
	done, _ := e.stripe.Complete(co.SessionID)
	changed := append([]byte(nil), done[:len(done)-1]...)
	changed = append(changed, ' ', '}')
	now := time.Now()
	cases := []struct {
		name   string
		header string
		body   []byte
	}{
		{"wrong secret", stripetest.Signature("whsec_not_ours", done, now), done},
		{"stale timestamp", e.stripe.Sign(done, now.Add(-6*time.Minute)), done},
		{"body changed", e.stripe.Sign(done, now), changed},
		{"no signature", "", done},
		{"malformed header", "t=abc,v1=00", done},
		{"not json", e.stripe.Sign([]byte("{not json"), now), []byte("{not json")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.webhook(c.body, now)
			r.Header.Set("Stripe-Signature", c.header)
			if err := e.svc.ReceiveWebhook(r, c.body); !problem.Is(err, problem.Invalid) {
				t.Errorf("ReceiveWebhook = %v, want it refused as invalid", err)
			}
		})
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events"); n != 0 {
		t.Errorf("%d events stored from refused deliveries, want 0", n)
	}
	if p := e.purchase(cid, m); p.Status != marketplace.PurchasePending {
		t.Errorf("purchase after refused deliveries = %+v, want still pending", p)
	}
	// Within the 5 minutes, an older signature is still good.
	if err := e.svc.ReceiveWebhook(e.webhook(done, now.Add(-4*time.Minute)), done); err != nil {
		t.Errorf("a delivery signed 4 minutes ago: %v", err)
	}
}

func TestWebhookUnknownPurchaseIsAcknowledged(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("strangers")
	e.mustModule("spin", marketplace.PriceMonthly, 100)
	// A session for a community and module this Waddle does not have.
	other := newPayEnv(t)
	oc := other.mustCommunity("elsewhere")
	other.mustModule("spin", marketplace.PriceMonthly, 100)
	other.mustModule("spin2", marketplace.PriceMonthly, 100)
	co, err := other.svc.StartCheckout(ctx, owner, oc, "spin2")
	if err != nil {
		t.Fatal(err)
	}
	done, _ := other.stripe.Complete(co.SessionID)
	// Re-sign it with this env's secret: a delivery Stripe made for some other checkout.
	r := e.webhook(done, time.Now())
	if err := e.svc.ReceiveWebhook(r, done); err != nil {
		t.Fatalf("an event for an unknown purchase = %v, want it acknowledged", err)
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events WHERE event_id = $1", stripetest.EventID(done)); n != 1 {
		t.Errorf("the unknown event is stored %d times, want 1", n)
	}
	if n := e.count("SELECT count(*) FROM marketplace_purchases WHERE community_id = $1", cid); n != 0 {
		t.Errorf("%d purchases made from an unknown event, want 0", n)
	}
}

// A checkout completed before its purchase row was written still counts:
// the row is made from the session's metadata.
func TestCheckoutCompletedWithoutRow(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	cid := e.mustCommunity("early")
	m := e.mustModule("early-bird", marketplace.PriceOneTime, 100)
	if _, err := e.svc.StartCheckout(ctx, owner, cid, "early-bird"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "DELETE FROM marketplace_purchases"); err != nil {
		t.Fatal(err)
	}
	done, _ := e.stripe.Complete(e.stripe.Sessions()[0].ID)
	if err := e.deliver(done); err != nil {
		t.Fatal(err)
	}
	if p := e.purchase(cid, m); p.Status != marketplace.PurchaseActive || p.Kind != marketplace.PriceOneTime {
		t.Errorf("purchase = %+v, want active one-time", p)
	}
}

// An event of another API version is refused: stripe-go would misread it.
func TestStripeWebhookOtherAPIVersion(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	old := []byte(`{"id":"evt_old","object":"event","api_version":"2020-08-27","type":"invoice.paid","data":{"object":{"id":"in_1","object":"invoice"}}}`)
	err := e.deliver(old)
	if !problem.Is(err, problem.Invalid) || !strings.Contains(err.Error(), "2025-08-27.basil") {
		t.Errorf("an event of API version 2020-08-27 = %v, want refused naming the version to set", err)
	}
	// A verified event Waddle does not act on is acknowledged and changes nothing.
	other := []byte(`{"id":"evt_other","object":"event","api_version":"` + stripetest.APIVersion + `","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	if err := e.deliver(other); err != nil {
		t.Errorf("customer.created = %v, want acknowledged", err)
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events"); n != 0 {
		t.Errorf("%d events stored, want 0", n)
	}
}
