package marketplace

import (
	"context"
	"net/http"
	"time"
)

// Provider takes payments for paid modules. No card data touches Waddle:
// the buyer pays on the provider's page (Checkout) and the provider tells
// Waddle through signed webhooks. Stripe is the real provider; a local test
// provider serves development and tests.
type Provider interface {
	// Name is the provider's key in marketplace_purchases.provider.
	Name() string
	// Checkout starts a payment and returns the page to send the buyer to.
	Checkout(ctx context.Context, in CheckoutInput) (Checkout, error)
	// Event verifies a webhook request (signature, replay window) and reads
	// the event it carries; an error means the request must be refused.
	Event(r *http.Request, body []byte) (PaymentEvent, error)
}

// CheckoutInput is one purchase to pay for.
type CheckoutInput struct {
	CommunityID int64
	ModuleID    int64
	ModuleSlug  string
	ModuleName  string
	Price       Price
	SuccessURL  string
	CancelURL   string
}

// Checkout is a started payment.
type Checkout struct {
	SessionID string
	URL       string // the provider's payment page
}

// PaymentEvent is what a provider's webhook says happened.
type PaymentEvent struct {
	ID           string // the provider's event id: applied once
	Kind         string // checkout_completed, invoice_paid, subscription_updated, subscription_deleted, invoice_payment_failed
	SessionID    string
	Customer     string
	Subscription string
	CommunityID  int64 // from the checkout's metadata, when the event carries it
	ModuleID     int64
	Status       string    // the subscription's status, when the event carries it
	PeriodEnd    time.Time // the end of the paid period, when the event carries it
}
