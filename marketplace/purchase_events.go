package marketplace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
)

// Payments reports the server's payment provider, nil when it has none.
func (s *Service) Payments() Provider { return s.payments }

// ReceiveWebhook verifies a payment provider's webhook delivery and applies
// its event. nil means the event is stored (or was before) and may be
// acknowledged; a problem error means the delivery is refused.
func (s *Service) ReceiveWebhook(r *http.Request, body []byte) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	ev, err := s.payments.Event(r, body)
	if err != nil {
		return err
	}
	if ev.Kind == EventIgnored {
		s.logger.DebugContext(r.Context(), "payment event ignored", "provider", s.payments.Name(), "event", ev.ID, "type", ev.Type)
		return nil
	}
	return s.ApplyPaymentEvent(r.Context(), ev)
}

type purchaseState struct {
	Status       string     `json:"status"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	Subscription string     `json:"subscription,omitempty"`
	Event        string     `json:"event,omitempty"`
}

// ApplyPaymentEvent applies a verified event of the server's provider to the
// purchase it concerns, once: the event's id is stored in the same
// transaction as the change, so a redelivery does nothing. An event for no
// known purchase is stored and logged, not an error. Every instance's router
// is told of a change at once.
func (s *Service) ApplyPaymentEvent(ctx context.Context, ev PaymentEvent) error {
	if s.payments == nil {
		return errPaymentsOff
	}
	prov := s.payments.Name()
	var changed int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		n, err := q.MarketplacePaymentEventInsert(ctx, db.MarketplacePaymentEventInsertParams{Provider: prov, EventID: ev.ID})
		if err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		if n == 0 {
			s.logger.InfoContext(ctx, "payment event already applied", "provider", prov, "event", ev.ID)
			return nil
		}
		row, found, err := findPurchase(ctx, q, prov, ev)
		if err != nil {
			return err
		}
		if !found {
			s.logger.WarnContext(ctx, "payment event for no known purchase", "provider", prov, "event", ev.ID, "type", ev.Type,
				"session", ev.SessionID, "subscription", ev.Subscription, "community", ev.CommunityID, "module", ev.ModuleID)
			return nil
		}
		next := nextPurchase(row, ev, s.now())
		if next.Status == row.Status && equalTime(next.ExpiresAt, row.ExpiresAt) && next.CheckoutSession == row.CheckoutSession &&
			next.ProviderCustomer == row.ProviderCustomer && next.ProviderSubscription == row.ProviderSubscription {
			return nil
		}
		if err := q.MarketplacePurchaseUpdate(ctx, db.MarketplacePurchaseUpdateParams{CommunityID: row.CommunityID, ModuleID: row.ModuleID,
			Status: next.Status, ExpiresAt: next.ExpiresAt, CheckoutSession: next.CheckoutSession, ProviderCustomer: next.ProviderCustomer,
			ProviderSubscription: next.ProviderSubscription}); err != nil {
			return fmt.Errorf("update purchase: %w", err)
		}
		changed = row.CommunityID
		return audit.Record(ctx, tx, audit.Actor{Name: prov + " webhook"}, audit.Entry{CommunityID: row.CommunityID,
			Action: audit.MarketplacePurchaseChanged, Target: fmt.Sprintf("module %d", row.ModuleID),
			Before: purchaseState{Status: row.Status, ExpiresAt: row.ExpiresAt, Subscription: row.ProviderSubscription},
			After:  purchaseState{Status: next.Status, ExpiresAt: next.ExpiresAt, Subscription: next.ProviderSubscription, Event: ev.Type}})
	})
	if err != nil {
		return fmt.Errorf("apply %s event %s: %w", prov, ev.ID, err)
	}
	if changed != 0 && s.settings != nil {
		s.settings.Invalidate(ctx, changed)
	}
	return nil
}

// findPurchase locks the purchase an event concerns. A checkout is found by
// its session, else by its metadata (a second checkout may have replaced the
// session; a paid one still counts), creating the row if the checkout
// completed before it was written. A subscription's event is found by the
// subscription, else by its metadata while the purchase has no subscription
// yet (its invoice came before the checkout's event); an event of an older,
// replaced subscription matches nothing.
func findPurchase(ctx context.Context, q *db.Queries, prov string, ev PaymentEvent) (db.MarketplacePurchase, bool, error) {
	var row db.MarketplacePurchase
	var err error
	byMeta := func() (db.MarketplacePurchase, error) {
		if ev.CommunityID == 0 {
			return db.MarketplacePurchase{}, pgx.ErrNoRows
		}
		return q.MarketplacePurchaseForUpdate(ctx, db.MarketplacePurchaseForUpdateParams{CommunityID: ev.CommunityID, ModuleID: ev.ModuleID})
	}
	if ev.Kind == EventCheckoutCompleted {
		row, err = q.MarketplacePurchaseBySessionForUpdate(ctx, db.MarketplacePurchaseBySessionForUpdateParams{Provider: prov, CheckoutSession: ev.SessionID})
		if errors.Is(err, pgx.ErrNoRows) {
			row, err = byMeta()
		}
		if errors.Is(err, pgx.ErrNoRows) && ev.CommunityID != 0 {
			row, err = q.MarketplacePurchaseCreatePending(ctx, db.MarketplacePurchaseCreatePendingParams{Provider: prov,
				CommunityID: ev.CommunityID, ModuleID: ev.ModuleID})
			if errors.Is(err, pgx.ErrNoRows) { // written meanwhile, or no such community or module
				row, err = byMeta()
			}
		}
	} else {
		row, err = q.MarketplacePurchaseBySubscriptionForUpdate(ctx, db.MarketplacePurchaseBySubscriptionForUpdateParams{Provider: prov,
			ProviderSubscription: ev.Subscription})
		if errors.Is(err, pgx.ErrNoRows) {
			row, err = byMeta()
			if err == nil && (row.ProviderSubscription != "" || row.Kind != PriceMonthly || row.Provider != prov) {
				return db.MarketplacePurchase{}, false, nil
			}
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return db.MarketplacePurchase{}, false, nil
	}
	if err != nil {
		return db.MarketplacePurchase{}, false, fmt.Errorf("find purchase: %w", err)
	}
	return row, true, nil
}

// nextPurchase is the purchase after the event.
func nextPurchase(row db.MarketplacePurchase, ev PaymentEvent, now time.Time) db.MarketplacePurchase {
	next := row
	if ev.Customer != "" {
		next.ProviderCustomer = ev.Customer
	}
	if ev.Subscription != "" {
		next.ProviderSubscription = ev.Subscription
	}
	fallback := now.AddDate(0, 1, 0).Add(SubscriptionGrace) // until the period's invoice says when it ends
	switch ev.Kind {
	case EventCheckoutCompleted:
		next.Status = PurchaseActive
		next.CheckoutSession = ev.SessionID
		if row.Kind == PriceOneTime {
			next.ExpiresAt = nil
			break
		}
		switch {
		case !ev.PeriodEnd.IsZero():
			next.ExpiresAt = later(row.ExpiresAt, ev.PeriodEnd.Add(SubscriptionGrace))
		case row.ExpiresAt != nil && row.ExpiresAt.After(now) && row.ProviderSubscription == ev.Subscription && row.Status == PurchaseActive:
			// this subscription's invoice came first and set the period
		default:
			next.ExpiresAt = &fallback
		}
	case EventInvoicePaid:
		next.Status = PurchaseActive
		end := fallback
		if !ev.PeriodEnd.IsZero() {
			end = ev.PeriodEnd.Add(SubscriptionGrace)
		}
		if row.Status == PurchaseActive || row.Status == PurchasePastDue || row.Status == PurchaseCanceled {
			next.ExpiresAt = later(row.ExpiresAt, end)
		} else {
			next.ExpiresAt = &end
		}
	case EventSubscriptionUpdated:
		switch ev.Status {
		case "active", "trialing":
			if row.ExpiresAt != nil { // never active without a paid period: the invoice or checkout sets it
				next.Status = PurchaseActive
			}
		case "past_due", "unpaid", "paused":
			next.Status = PurchasePastDue
		case "canceled":
			next.Status = PurchaseCanceled
		case "incomplete_expired":
			next.Status = PurchaseExpired
		}
	case EventSubscriptionDeleted:
		next.Status = PurchaseCanceled
	case EventPaymentFailed:
		next.Status = PurchasePastDue
	}
	if next.Status != PurchasePending && next.Status != PurchaseActive && row.Kind == PriceMonthly && next.ExpiresAt == nil {
		next.ExpiresAt = &now // a subscription without a paid period ends now, never "for ever"
	}
	return next
}

// later returns the later of a and b (a may be nil).
func later(a *time.Time, b time.Time) *time.Time {
	if a != nil && a.After(b) {
		return a
	}
	return &b
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
