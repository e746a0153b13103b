package marketplace_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
)

func TestTestProvider(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	ctx := context.Background()
	e.svc = marketplace.New(marketplace.Config{Pool: e.pool, BaseURL: hubURL, Payments: marketplace.NewTestProvider(hubURL)})
	cid := e.mustCommunity("devs")
	m := e.mustModule("devmod", marketplace.PriceOneTime, 100)
	co, err := e.svc.StartCheckout(ctx, owner, cid, "devmod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(co.URL, hubURL+"/marketplace/test-checkout/tcs_") {
		t.Fatalf("test checkout URL %q is not on the hub", co.URL)
	}
	// A forged event: not signed with the provider's key.
	forged := []byte(`{"id":"tev_forged","kind":"checkout_completed","session":"` + co.SessionID + `"}`)
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(string(forged)))
	r.Header.Set("Waddle-Test-Signature", "t="+itoa(time.Now().Unix())+",v1=00")
	if err := e.svc.ReceiveWebhook(r, forged); !problem.Is(err, problem.Invalid) {
		t.Errorf("forged test event = %v, want refused", err)
	}
	if _, err := e.svc.PayTestCheckout(ctx, co.SessionID); err != nil {
		t.Fatal(err)
	}
	if p := e.purchase(cid, m); p.Status != marketplace.PurchaseActive || p.ExpiresAt != nil {
		t.Errorf("after the test payment = %+v, want active for ever", p)
	}
	if n := e.count("SELECT count(*) FROM marketplace_payment_events WHERE provider = 'test'"); n != 1 {
		t.Errorf("%d test events stored, want 1", n)
	}
	// A server with another provider has no test checkout.
	stripeSvc := newPayEnv(t).svc
	if _, err := stripeSvc.PayTestCheckout(ctx, co.SessionID); !problem.Is(err, problem.NotFound) {
		t.Errorf("PayTestCheckout on a Stripe server = %v, want not found", err)
	}
	off := marketplace.New(marketplace.Config{Pool: dbtest.Pool(t)})
	if _, err := off.TestCheckout(ctx, co.SessionID); !problem.Is(err, problem.NotFound) {
		t.Errorf("TestCheckout without payments = %v, want not found", err)
	}
}
