package marketplace_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/marketplace/stripetest"
	"github.com/waddle/waddle/router"
)

// A paid module bought through Stripe runs on both instances; when its
// subscription lapses its command answers the one line on both, and the
// signed invoice.paid webhook brings it back on both at once (the payment
// invalidates every instance's cache; the test does not).
func TestLapsedModuleRenewedByStripeWebhook(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	fake := stripetest.New(t)
	pay := marketplace.New(marketplace.Config{Pool: e.pool, Box: e.box, Settings: e.st, BaseURL: hubURL,
		Payments: marketplace.NewStripe(marketplace.StripeConfig{SecretKey: fake.Key, WebhookSecret: fake.WebhookSecret, APIURL: fake.URL})})
	deliver := func(payload []byte) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", strings.NewReader(string(payload)))
		r.Header.Set("Stripe-Signature", fake.Sign(payload, time.Now()))
		if err := pay.ReceiveWebhook(r, payload); err != nil {
			t.Fatal(err)
		}
	}
	srv := newModuleServer(t, "s", echo)
	id := e.mustModule("pro", marketplace.PriceMonthly, "s", installManifest("pro", "1.0.0", srv.URL, caps(marketplace.CapChat), "pro"))

	co, err := pay.StartCheckout(ctx, e.admin, e.cid, "pro")
	if err != nil {
		t.Fatal(err)
	}
	done, err := fake.Complete(co.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	deliver(done)
	if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "pro", Accept: caps(marketplace.CapChat)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "pro runs", func() bool { return replies(e.say(r, "!pro")) == "pro v1.0.0" })
	}

	// The month passes unpaid (time is moved by moving the expiry; the
	// router compares it with the clock when the command runs).
	if _, err := e.pool.Exec(ctx, "UPDATE marketplace_purchases SET expires_at = now() - interval '1 minute' WHERE module_id = $1", id); err != nil {
		t.Fatal(err)
	}
	e.st.Invalidate(ctx, e.cid)
	line := "@viewer " + router.LapsedLine
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "the lapsed line", func() bool { return replies(e.say(r, "!pro")) == line })
	}
	if l, err := pay.Lapsed(ctx, e.cid); err != nil || len(l) != 1 || !l[0].Lapsed() {
		t.Fatalf("Lapsed = %+v, %v, want pro", l, err)
	}

	renewed, err := fake.Renew(fake.Subscriptions()[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	deliver(renewed)
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "pro runs again", func() bool { return replies(e.say(r, "!pro")) == "pro v1.0.0" })
	}
	if l, _ := pay.Lapsed(ctx, e.cid); len(l) != 0 {
		t.Errorf("Lapsed after renewal = %+v, want none", l)
	}
}
