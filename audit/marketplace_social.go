package audit

// Marketplace review moderation by global admins (hub-wide: no community).
const (
	MarketplaceReviewHidden   = "marketplace_review_hidden" // target: the module and the reviewer
	MarketplaceReviewUnhidden = "marketplace_review_unhidden"
)

// marketplaceSocialActions are the reviews' actions, in Actions.
var marketplaceSocialActions = []string{MarketplaceReviewHidden, MarketplaceReviewUnhidden}
