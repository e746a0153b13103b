package marketplace

import (
	"context"
	"net/http"
	"time"
)

// Provider takes payments for paid modules. No card data touches Waddle:
// the buyer pays on the provider's page (Checkout) and the provider tells
// Waddle through signed webhooks. Stripe is the real provider (stripe.go); a
// local test provider serves development (testprovider.go).
type Provider interface {
	// Name is the provider's key in marketplace_purchases.provider.
	Name() string
	// Checkout starts a payment and returns the page to send the buyer to.
	Checkout(ctx context.Context, in CheckoutInput) (Checkout, error)
	// Event verifies a webhook request (signature, replay window) and reads
	// the event it carries; an error means the request must be refused. An
	// event of a kind Waddle does not act on has Kind EventIgnored.
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

// Kinds of PaymentEvent.
const (
	EventCheckoutCompleted   = "checkout_completed"     // the buyer paid (or subscribed) on the checkout page
	EventInvoicePaid         = "invoice_paid"           // a subscription's period was paid: extend to PeriodEnd
	EventSubscriptionUpdated = "subscription_updated"   // Status says the subscription's state
	EventSubscriptionDeleted = "subscription_deleted"   // the subscription ended: canceled, runs to its paid end
	EventPaymentFailed       = "invoice_payment_failed" // a renewal's payment failed: past due, runs to its paid end
	EventIgnored             = "ignored"                // verified, but nothing Waddle acts on
)

// MaxWebhookBody bounds a payment webhook's body.
const MaxWebhookBody = 64 << 10

// PaymentEvent is what a provider's webhook says happened.
type PaymentEvent struct {
	ID           string // the provider's event id: applied once
	Kind         string // one of the Event… kinds
	Type         string // the provider's own name of the event, for logs
	SessionID    string
	Customer     string
	Subscription string
	CommunityID  int64     // from the checkout's (or subscription's) metadata, when the event carries it
	ModuleID     int64     // likewise
	Status       string    // the subscription's status, when the event carries it
	PeriodEnd    time.Time // the end of the paid period, when the event carries it
}
