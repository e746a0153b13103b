package marketplace

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
)

// Purchase statuses.
const (
	PurchasePending  = "pending"  // a checkout was started and not completed
	PurchaseActive   = "active"   // paid: for ever (one-time) or until ExpiresAt (monthly)
	PurchasePastDue  = "past_due" // a renewal's payment failed: runs until ExpiresAt while the provider retries
	PurchaseCanceled = "canceled" // the subscription ended: runs until ExpiresAt
	PurchaseExpired  = "expired"  // the provider gave the subscription up before it was ever paid
)

// SubscriptionGrace is added to the end of each paid period: the provider
// bills the next period when one ends, and its invoice.paid may come some
// hours later; the module keeps running meanwhile.
const SubscriptionGrace = 48 * time.Hour

// ErrNoPurchase is a community that has not bought the module.
var ErrNoPurchase = problem.New(problem.NotFound, "This community has not bought this module.")

// errPaymentsOff is a checkout on a server without a payment provider.
var errPaymentsOff = problem.New(problem.Conflict, "Paid modules cannot be bought on this Waddle: no payment provider is set up.")

// Purchase is what a community bought of a module.
type Purchase struct {
	CommunityID int64      `json:"community_id"`
	ModuleID    int64      `json:"module_id"`
	Kind        string     `json:"kind"` // one_time or monthly
	Status      string     `json:"status"`
	ExpiresAt   *time.Time `json:"expires_at"` // nil: never (one-time)
	Provider    string     `json:"provider"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Paid reports whether the purchase pays for the module at now. The router
// applies the same rule: status active, past_due or canceled, and
// expires_at NULL or after now.
func (p Purchase) Paid(now time.Time) bool { return paid(p.Status, p.ExpiresAt, now) }

func paid(status string, expires *time.Time, now time.Time) bool {
	switch status {
	case PurchaseActive, PurchasePastDue, PurchaseCanceled:
		return expires == nil || expires.After(now)
	}
	return false
}

func toPurchase(r db.MarketplacePurchase) Purchase {
	return Purchase{CommunityID: r.CommunityID, ModuleID: r.ModuleID, Kind: r.Kind, Status: r.Status, ExpiresAt: r.ExpiresAt,
		Provider: r.Provider, UpdatedAt: r.UpdatedAt}
}

// Offer is a paid module as one community may buy it: its price and what the
// community has of it.
type Offer struct {
	ModuleID int64
	Slug     string
	Name     string
	Price    Price
	Purchase *Purchase // nil: never bought
	Paid     bool      // the purchase pays for the module now
	Payments bool      // this server can take payments
}

// Offer returns what community communityID may buy of the module slug.
func (s *Service) Offer(ctx context.Context, communityID int64, slug string) (Offer, error) {
	q := db.New(s.pool)
	m, err := q.MarketplacePurchaseModuleBySlug(ctx, slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return Offer{}, ErrNotFound
	}
	if err != nil {
		return Offer{}, fmt.Errorf("load module %q: %w", slug, err)
	}
	o := Offer{ModuleID: m.ID, Slug: m.Slug, Name: m.Name, Price: Price{Kind: m.PriceKind, Cents: int(m.PriceCents), Currency: m.Currency},
		Payments: s.payments != nil}
	p, err := s.Purchase(ctx, communityID, m.ID)
	switch {
	case err == nil:
		o.Purchase, o.Paid = &p, p.Paid(s.now())
	case !errors.Is(err, ErrNoPurchase):
		return Offer{}, err
	}
	return o, nil
}

// Purchase returns what community communityID bought of module moduleID, or ErrNoPurchase.
func (s *Service) Purchase(ctx context.Context, communityID, moduleID int64) (Purchase, error) {
	r, err := db.New(s.pool).MarketplacePurchaseGet(ctx, db.MarketplacePurchaseGetParams{CommunityID: communityID, ModuleID: moduleID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Purchase{}, ErrNoPurchase
	}
	if err != nil {
		return Purchase{}, fmt.Errorf("load purchase: %w", err)
	}
	return toPurchase(r), nil
}

// Unpaid is a paid module installed in a community that is not paid for:
// never bought, or lapsed.
type Unpaid struct {
	ModuleID  int64
	Slug      string
	Name      string
	Price     Price
	Status    string     // the purchase's status; "" when never bought
	ExpiresAt *time.Time // when its last paid period ended, if it had one
}

// Lapsed reports whether the module had a paid period that has ended (as
// opposed to never having been paid for).
func (u Unpaid) Lapsed() bool { return u.ExpiresAt != nil }

// Lapsed lists the paid modules installed in a community that are not paid
// for now: their commands answer with a notice instead of running.
func (s *Service) Lapsed(ctx context.Context, communityID int64) ([]Unpaid, error) {
	rows, err := db.New(s.pool).MarketplacePurchaseUnpaid(ctx, db.MarketplacePurchaseUnpaidParams{CommunityID: communityID, At: s.now()})
	if err != nil {
		return nil, fmt.Errorf("list unpaid modules: %w", err)
	}
	out := make([]Unpaid, 0, len(rows))
	for _, r := range rows {
		out = append(out, Unpaid{ModuleID: r.ID, Slug: r.Slug, Name: r.Name, Price: Price{Kind: r.PriceKind, Cents: int(r.PriceCents), Currency: r.Currency},
			Status: r.Status, ExpiresAt: r.ExpiresAt})
	}
	return out, nil
}

// PaidPath and CancelledPath are the hub pages the provider's checkout returns to.
func PaidPath(communityID int64, slug string) string {
	return fmt.Sprintf("/c/%d/marketplace/%s/paid", communityID, url.PathEscape(slug))
}

// CancelledPath is where a checkout the buyer gave up returns to.
func CancelledPath(communityID int64, slug string) string {
	return fmt.Sprintf("/c/%d/marketplace/%s/cancelled", communityID, url.PathEscape(slug))
}

type checkoutState struct {
	Kind    string `json:"kind"`
	Cents   int    `json:"cents"`
	Session string `json:"session"`
}

// StartCheckout starts paying for a module for a community (owners and
// admins; routes check the role): a free module, or one already paid for
// (and not past due or canceled), is refused. The purchase is stored as
// pending with the checkout's session, and the checkout's page returned.
func (s *Service) StartCheckout(ctx context.Context, by audit.Actor, communityID int64, slug string) (Checkout, error) {
	if s.payments == nil {
		return Checkout{}, errPaymentsOff
	}
	q := db.New(s.pool)
	m, err := q.MarketplacePurchaseModuleBySlug(ctx, slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return Checkout{}, ErrNotFound
	}
	if err != nil {
		return Checkout{}, fmt.Errorf("load module %q: %w", slug, err)
	}
	if m.PriceKind == PriceFree {
		return Checkout{}, problem.New(problem.Invalid, "%s is free: install it, there is nothing to pay.", m.Name)
	}
	var had *Purchase
	switch p, err := s.Purchase(ctx, communityID, m.ID); {
	case err == nil:
		had = &p
		if p.Status == PurchaseActive && p.Paid(s.now()) {
			return Checkout{}, problem.New(problem.Conflict, "%s is already paid for in this community.", m.Name)
		}
	case !errors.Is(err, ErrNoPurchase):
		return Checkout{}, err
	}
	if !m.Listed && had == nil {
		installed, err := q.MarketplacePurchaseInstalled(ctx, db.MarketplacePurchaseInstalledParams{CommunityID: communityID, ModuleID: m.ID})
		if err != nil {
			return Checkout{}, fmt.Errorf("load install: %w", err)
		}
		if !installed {
			return Checkout{}, ErrNotFound // unlisted: only communities that have it may pay for it
		}
	}
	price := Price{Kind: m.PriceKind, Cents: int(m.PriceCents), Currency: m.Currency}
	co, err := s.payments.Checkout(ctx, CheckoutInput{CommunityID: communityID, ModuleID: m.ID, ModuleSlug: m.Slug, ModuleName: m.Name,
		Price: price, SuccessURL: s.baseURL + PaidPath(communityID, m.Slug), CancelURL: s.baseURL + CancelledPath(communityID, m.Slug)})
	if err != nil {
		return Checkout{}, fmt.Errorf("start checkout of %q: %w", slug, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := db.New(tx).MarketplacePurchaseStartCheckout(ctx, db.MarketplacePurchaseStartCheckoutParams{CommunityID: communityID,
			ModuleID: m.ID, Kind: m.PriceKind, Provider: s.payments.Name(), CheckoutSession: co.SessionID}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, by, audit.Entry{CommunityID: communityID, Action: audit.MarketplaceCheckoutStarted, Target: m.Slug,
			After: checkoutState{Kind: m.PriceKind, Cents: int(m.PriceCents), Session: co.SessionID}})
	})
	if err != nil {
		return Checkout{}, fmt.Errorf("store checkout of %q: %w", slug, err)
	}
	return co, nil
}
