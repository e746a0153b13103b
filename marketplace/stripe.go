package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/waddle/waddle/problem"
)

// StripeWebhookTolerance is how old a signed Stripe delivery may be: older
// ones are refused as replays.
const StripeWebhookTolerance = 300 * time.Second

// StripeConfig configures the Stripe provider.
type StripeConfig struct {
	SecretKey     string // STRIPE_SECRET_KEY: sk_live_… or sk_test_… (or a restricted key that may create Checkout Sessions)
	WebhookSecret string // STRIPE_WEBHOOK_SECRET: whsec_… of the webhook endpoint
	APIURL        string // STRIPE_API_URL: Stripe's API when empty; a local fake in tests
	HTTPClient    *http.Client
	Logger        *slog.Logger
}

// Stripe is the Stripe provider: Stripe Checkout for payments and
// subscriptions, and Stripe's signed webhooks for what happened to them.
type Stripe struct {
	client        *stripe.Client
	webhookSecret string
}

// NewStripe returns the Stripe provider.
func NewStripe(cfg StripeConfig) *Stripe {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	bc := &stripe.BackendConfig{HTTPClient: cfg.HTTPClient, LeveledLogger: stripeLogger{cfg.Logger}, MaxNetworkRetries: stripe.Int64(2)}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	return &Stripe{client: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc))),
		webhookSecret: cfg.WebhookSecret}
}

// Name is "stripe".
func (s *Stripe) Name() string { return "stripe" }

// Checkout creates a Stripe Checkout Session: a payment for a one-time
// price, a subscription billed monthly for a monthly one. The community and
// module ride in the metadata of the session and of the subscription, so
// every later event names them.
func (s *Stripe) Checkout(ctx context.Context, in CheckoutInput) (Checkout, error) {
	meta := map[string]string{
		"community_id": strconv.FormatInt(in.CommunityID, 10),
		"module_id":    strconv.FormatInt(in.ModuleID, 10),
		"module_slug":  in.ModuleSlug,
	}
	cur := in.Price.Currency
	if cur == "" {
		cur = "usd"
	}
	price := &stripe.CheckoutSessionCreateLineItemPriceDataParams{
		Currency:    stripe.String(cur),
		UnitAmount:  stripe.Int64(int64(in.Price.Cents)),
		ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(in.ModuleName)},
	}
	params := &stripe.CheckoutSessionCreateParams{
		LineItems:         []*stripe.CheckoutSessionCreateLineItemParams{{PriceData: price, Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(in.SuccessURL),
		CancelURL:         stripe.String(in.CancelURL),
		ClientReferenceID: stripe.String(fmt.Sprintf("c%d-m%d", in.CommunityID, in.ModuleID)),
		Metadata:          meta,
	}
	switch in.Price.Kind {
	case PriceOneTime:
		params.Mode = stripe.String(string(stripe.CheckoutSessionModePayment))
		params.PaymentIntentData = &stripe.CheckoutSessionCreatePaymentIntentDataParams{Metadata: meta}
	case PriceMonthly:
		params.Mode = stripe.String(string(stripe.CheckoutSessionModeSubscription))
		price.Recurring = &stripe.CheckoutSessionCreateLineItemPriceDataRecurringParams{Interval: stripe.String("month")}
		params.SubscriptionData = &stripe.CheckoutSessionCreateSubscriptionDataParams{Metadata: meta}
	default:
		return Checkout{}, fmt.Errorf("stripe checkout: price kind %q is not paid", in.Price.Kind)
	}
	sess, err := s.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return Checkout{}, fmt.Errorf("stripe checkout: %w", err)
	}
	if sess.ID == "" || sess.URL == "" {
		return Checkout{}, errors.New("stripe checkout: the session has no id or url")
	}
	return Checkout{SessionID: sess.ID, URL: sess.URL}, nil
}

// Event verifies the Stripe-Signature header (HMAC-SHA256 with the webhook
// secret, compared in constant time, at most StripeWebhookTolerance old)
// and reads the event.
func (s *Stripe) Event(r *http.Request, body []byte) (PaymentEvent, error) {
	ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), s.webhookSecret,
		webhook.ConstructEventOptions{Tolerance: StripeWebhookTolerance})
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader):
		return PaymentEvent{}, problem.New(problem.Invalid, "The Stripe-Signature header is missing or malformed.")
	case errors.Is(err, webhook.ErrNoValidSignature):
		return PaymentEvent{}, problem.New(problem.Invalid, "The Stripe signature does not match: check STRIPE_WEBHOOK_SECRET.")
	case errors.Is(err, webhook.ErrTooOld):
		return PaymentEvent{}, problem.New(problem.Invalid, "The Stripe signature is older than 5 minutes.")
	case err != nil && !json.Valid(body):
		return PaymentEvent{}, problem.New(problem.Invalid, "The event is not valid JSON.")
	case err != nil:
		// Signed, but not an event this stripe-go reads: the endpoint's API version differs.
		return PaymentEvent{}, problem.New(problem.Invalid, "The event could not be read: set the webhook endpoint's API version to %s.", stripe.APIVersion)
	}
	out := PaymentEvent{ID: ev.ID, Type: string(ev.Type), Kind: EventIgnored}
	if ev.ID == "" || ev.Data == nil {
		return PaymentEvent{}, problem.New(problem.Invalid, "The event has no id or data.")
	}
	raw := ev.Data.Raw
	bad := func(err error) (PaymentEvent, error) {
		return PaymentEvent{}, problem.New(problem.Invalid, "The %s event's object could not be read: %s.", ev.Type, err.Error())
	}
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(raw, &cs); err != nil {
			return bad(err)
		}
		if cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid {
			return out, nil // a delayed payment method: async_payment_succeeded follows
		}
		out.Kind, out.SessionID = EventCheckoutCompleted, cs.ID
		if cs.Customer != nil {
			out.Customer = cs.Customer.ID
		}
		if cs.Subscription != nil {
			out.Subscription = cs.Subscription.ID
		}
		out.CommunityID, out.ModuleID = metaIDs(cs.Metadata)
	case stripe.EventTypeInvoicePaid, stripe.EventTypeInvoicePaymentFailed:
		var inv stripe.Invoice
		if err := json.Unmarshal(raw, &inv); err != nil {
			return bad(err)
		}
		if inv.Parent == nil || inv.Parent.SubscriptionDetails == nil || inv.Parent.SubscriptionDetails.Subscription == nil {
			return out, nil // not a subscription's invoice
		}
		out.Kind = EventInvoicePaid
		if ev.Type == stripe.EventTypeInvoicePaymentFailed {
			out.Kind = EventPaymentFailed
		}
		out.Subscription = inv.Parent.SubscriptionDetails.Subscription.ID
		out.CommunityID, out.ModuleID = metaIDs(inv.Parent.SubscriptionDetails.Metadata)
		if inv.Customer != nil {
			out.Customer = inv.Customer.ID
		}
		if inv.Lines != nil {
			for _, l := range inv.Lines.Data {
				if l.Period != nil && l.Period.End > 0 {
					if end := time.Unix(l.Period.End, 0).UTC(); end.After(out.PeriodEnd) {
						out.PeriodEnd = end
					}
				}
			}
		}
	case stripe.EventTypeCustomerSubscriptionUpdated, stripe.EventTypeCustomerSubscriptionDeleted:
		var sub stripe.Subscription
		if err := json.Unmarshal(raw, &sub); err != nil {
			return bad(err)
		}
		out.Kind = EventSubscriptionUpdated
		if ev.Type == stripe.EventTypeCustomerSubscriptionDeleted {
			out.Kind = EventSubscriptionDeleted
		}
		out.Subscription, out.Status = sub.ID, string(sub.Status)
		out.CommunityID, out.ModuleID = metaIDs(sub.Metadata)
		if sub.Customer != nil {
			out.Customer = sub.Customer.ID
		}
		if sub.Items != nil {
			for _, it := range sub.Items.Data {
				if end := time.Unix(it.CurrentPeriodEnd, 0).UTC(); it.CurrentPeriodEnd > 0 && end.After(out.PeriodEnd) {
					out.PeriodEnd = end
				}
			}
		}
	}
	if out.Kind != EventIgnored && out.Kind != EventCheckoutCompleted && out.Subscription == "" {
		return PaymentEvent{}, problem.New(problem.Invalid, "The %s event names no subscription.", ev.Type)
	}
	return out, nil
}

// metaIDs reads the community and module Waddle put in a checkout's metadata.
func metaIDs(m map[string]string) (communityID, moduleID int64) {
	c, err1 := strconv.ParseInt(m["community_id"], 10, 64)
	mod, err2 := strconv.ParseInt(m["module_id"], 10, 64)
	if err1 != nil || err2 != nil || c <= 0 || mod <= 0 {
		return 0, 0
	}
	return c, mod
}

// stripeLogger routes stripe-go's log lines into slog.
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Infof(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Warnf(format string, v ...any)  { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Errorf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }
