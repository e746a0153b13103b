package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/views"
)

// Paying for modules: owners and admins start a checkout on the payment
// provider's page (buy, renew); the provider tells Waddle what happened
// through its signed webhook (POST /webhooks/stripe), and the checkout
// returns to the paid or cancelled page.

// payments is the server's payment provider, nil when it has none.
func (h *Handler) payments() marketplace.Provider {
	if h.cfg.Marketplace == nil {
		return nil
	}
	return h.cfg.Marketplace.Payments()
}

// stripeWebhook receives Stripe's webhook: no session, no CSRF; the
// signature is the credential. 200 means the event is stored (now or
// before); a bad signature or body is 400, a failure to store it 500, so
// Stripe delivers it again.
func (h *Handler) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	if p := h.payments(); p == nil || p.Name() != "stripe" {
		webhookError(w, http.StatusNotFound, "Stripe is not set up here.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, marketplace.MaxWebhookBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			webhookError(w, http.StatusRequestEntityTooLarge, "The body is larger than 64 KiB.")
			return
		}
		webhookError(w, http.StatusBadRequest, "The body could not be read.")
		return
	}
	if err := h.cfg.Marketplace.ReceiveWebhook(r, body); err != nil {
		h.webhookFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("ok"))
}

// buyModule starts paying for a module (and renewModule renews a lapsed or
// cancelled one: the same checkout) and sends the buyer to the provider's
// page with a 303 (HTMX: HX-Redirect).
func (h *Handler) buyModule(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Marketplace == nil {
		h.fail(w, r, errNotFound)
		return
	}
	co, err := h.cfg.Marketplace.StartCheckout(r.Context(), auditActor(r), membershipOf(r).ID, chiURLParam(r, "slug"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, co.URL)
}

// offer loads the module of the route for the community of the route.
func (h *Handler) offer(r *http.Request) (marketplace.Offer, error) {
	if h.cfg.Marketplace == nil {
		return marketplace.Offer{}, errNotFound
	}
	return h.cfg.Marketplace.Offer(r.Context(), membershipOf(r).ID, chiURLParam(r, "slug"))
}

// paidPage is where a checkout returns after paying: until the provider's
// webhook has arrived it says so and checks again (HTMX polls the status).
func (h *Handler) paidPage(w http.ResponseWriter, r *http.Request) {
	o, err := h.offer(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := membershipOf(r)
	p := views.MarketplacePaidPage{CommunityID: m.ID, Slug: o.Slug, Name: o.Name, Paid: o.Paid}
	if o.Purchase != nil {
		p.ExpiresAt = o.Purchase.ExpiresAt
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.MarketplacePaidStatus(p))
		return
	}
	p.Chrome, p.Nav = h.chrome(r, o.Name+" · "+m.Name, "communities"), h.botNav(r, "marketplace")
	h.render(w, r, http.StatusOK, views.MarketplacePaid(p))
}

// cancelledPage is where a checkout the buyer gave up returns.
func (h *Handler) cancelledPage(w http.ResponseWriter, r *http.Request) {
	o, err := h.offer(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := membershipOf(r)
	h.render(w, r, http.StatusOK, views.MarketplaceCancelled(views.MarketplaceCancelledPage{
		Chrome: h.chrome(r, o.Name+" · "+m.Name, "communities"), Nav: h.botNav(r, "marketplace"),
		CommunityID: m.ID, Slug: o.Slug, Name: o.Name, CanManage: m.Role.CanManage() && o.Payments}))
}

// pricePanel answers the price and buy or renew panel of a module for the
// community of the route, as an HTMX fragment (the module page may load it
// with hx-get, or render marketplacePrice's view itself).
func (h *Handler) pricePanel(w http.ResponseWriter, r *http.Request) {
	p, err := h.marketplacePrice(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.MarketplacePricePanel(p))
}

// marketplacePrice is the price panel of a module page for the community of
// the route (catalog's module page shows it); a module that does not exist
// is ErrNotFound.
func (h *Handler) marketplacePrice(r *http.Request) (views.MarketplacePrice, error) {
	o, err := h.offer(r)
	if err != nil {
		return views.MarketplacePrice{}, err
	}
	m := membershipOf(r)
	p := views.MarketplacePrice{CommunityID: m.ID, Slug: o.Slug, Name: o.Name, Kind: o.Price.Kind, Cents: o.Price.Cents, Currency: o.Price.Currency,
		Paid: o.Paid, CanManage: m.Role.CanManage(), PaymentsOn: o.Payments}
	if o.Purchase != nil {
		p.Status, p.ExpiresAt = o.Purchase.Status, o.Purchase.ExpiresAt
	}
	return p, nil
}

// lapsedBanner lists the community's paid modules that are not paid for,
// for the banner of the overview and the installed-modules page. A failure
// leaves the banner out: the page still works without it.
func (h *Handler) lapsedBanner(r *http.Request) []views.MarketplaceLapsed {
	if h.cfg.Marketplace == nil {
		return nil
	}
	m := membershipOf(r)
	us, err := h.cfg.Marketplace.Lapsed(r.Context(), m.ID)
	if err != nil {
		h.logger.WarnContext(r.Context(), "list lapsed modules", "err", err)
		return nil
	}
	out := make([]views.MarketplaceLapsed, 0, len(us))
	for _, u := range us {
		out = append(out, views.MarketplaceLapsed{CommunityID: m.ID, Slug: u.Slug, Name: u.Name, Lapsed: u.Lapsed(),
			CanRenew: m.Role.CanManage() && h.payments() != nil})
	}
	return out
}

// testCheckoutPage is the test payment provider's checkout page
// (PAYMENTS_PROVIDER=test, development only; 404 otherwise). Owners and
// admins of the purchase's community may pay or cancel.
func (h *Handler) testCheckoutPage(w http.ResponseWriter, r *http.Request) {
	co, c, ok := h.testCheckout(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, views.MarketplaceTestCheckout(views.MarketplaceTestCheckoutPage{Chrome: h.chrome(r, "Test checkout", "communities"),
		Session: co.Session, Community: c.Name, Module: co.Name, Kind: co.Price.Kind, Cents: co.Price.Cents, Currency: co.Price.Currency}))
}

// testCheckout loads the session of the route for an owner or admin of its community.
func (h *Handler) testCheckout(w http.ResponseWriter, r *http.Request) (marketplace.TestCheckout, community.Membership, bool) {
	if h.cfg.Marketplace == nil {
		h.fail(w, r, errNotFound)
		return marketplace.TestCheckout{}, community.Membership{}, false
	}
	co, err := h.cfg.Marketplace.TestCheckout(r.Context(), chiURLParam(r, "session"))
	if err != nil {
		h.fail(w, r, err)
		return co, community.Membership{}, false
	}
	u, _ := userOf(r)
	m, err := h.comm.Access(r.Context(), u, co.CommunityID)
	if err != nil {
		h.fail(w, r, err)
		return co, m, false
	}
	if !m.Role.CanManage() {
		h.fail(w, r, problem.New(problem.Forbidden, "Only owners and admins of the community pay for its modules."))
		return co, m, false
	}
	return co, m, true
}

// payTestCheckout completes a test checkout with a signed event through the
// webhook's code, then returns to the paid page.
func (h *Handler) payTestCheckout(w http.ResponseWriter, r *http.Request) {
	co, _, ok := h.testCheckout(w, r)
	if !ok {
		return
	}
	if _, err := h.cfg.Marketplace.PayTestCheckout(r.Context(), co.Session); err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, marketplace.PaidPath(co.CommunityID, co.Slug))
}

// cancelTestCheckout gives a test checkout up, as the buyer may on a provider's page.
func (h *Handler) cancelTestCheckout(w http.ResponseWriter, r *http.Request) {
	co, _, ok := h.testCheckout(w, r)
	if !ok {
		return
	}
	seeOther(w, r, marketplace.CancelledPath(co.CommunityID, co.Slug))
}
