package audit

// A hub user's own platform accounts, linked from the account page.
const (
	AccountLinked   = "platform_account_linked"   // target: "Twitch duckchan (id 200)"
	AccountUnlinked = "platform_account_unlinked" // target: the same
)

var identityHubActions = []string{AccountLinked, AccountUnlinked}
