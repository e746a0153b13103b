package audit

// Marketplace purchase actions.
const (
	MarketplaceCheckoutStarted = "marketplace_checkout_started" // target: the module's slug
	MarketplacePurchaseChanged = "marketplace_purchase_changed" // by the payment provider's webhook
)

// marketplacePayActions are the purchases' actions, in Actions.
var marketplacePayActions = []string{MarketplaceCheckoutStarted, MarketplacePurchaseChanged}
