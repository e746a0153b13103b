package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/waddle/waddle/marketplace"
)

// paymentsConfig is how paid marketplace modules are paid for (README,
// Payments). The keys are secrets: never logged.
type paymentsConfig struct {
	Provider      string // PAYMENTS_PROVIDER: stripe, test or off; default stripe when STRIPE_SECRET_KEY is set, else off
	StripeKey     string // STRIPE_SECRET_KEY
	WebhookSecret string // STRIPE_WEBHOOK_SECRET: the signing secret of the webhook endpoint BASE_URL/webhooks/stripe
	StripeAPIURL  string // STRIPE_API_URL: Stripe's API when empty
}

func loadPayments(get func(k, def string) string) paymentsConfig {
	p := paymentsConfig{StripeKey: get("STRIPE_SECRET_KEY", ""), WebhookSecret: get("STRIPE_WEBHOOK_SECRET", ""), StripeAPIURL: get("STRIPE_API_URL", "")}
	def := "off"
	if p.StripeKey != "" {
		def = "stripe"
	}
	p.Provider = strings.ToLower(get("PAYMENTS_PROVIDER", def))
	return p
}

// validate names the payment variable that is wrong.
func (p paymentsConfig) validate() error {
	switch p.Provider {
	case "off", "test":
	case "stripe":
		if p.StripeKey == "" {
			return &configError{"STRIPE_SECRET_KEY", "is not set, but PAYMENTS_PROVIDER is stripe: copy the secret key from the Stripe dashboard's API keys page"}
		}
		if !strings.HasPrefix(p.StripeKey, "sk_") && !strings.HasPrefix(p.StripeKey, "rk_") {
			return &configError{"STRIPE_SECRET_KEY", "does not start with sk_ or rk_: copy the secret (or restricted) key from the Stripe dashboard, not the publishable pk_ key"}
		}
		if !strings.HasPrefix(p.WebhookSecret, "whsec_") {
			return &configError{"STRIPE_WEBHOOK_SECRET", "is not set or does not start with whsec_: copy the signing secret of the webhook endpoint BASE_URL/webhooks/stripe from the Stripe dashboard"}
		}
	default:
		return &configError{"PAYMENTS_PROVIDER", fmt.Sprintf("is %q: want stripe, test or off", p.Provider)}
	}
	if p.StripeAPIURL != "" {
		u, err := url.Parse(p.StripeAPIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &configError{"STRIPE_API_URL", fmt.Sprintf("is %q: want an http:// or https:// URL such as https://api.stripe.com", p.StripeAPIURL)}
		}
	}
	return nil
}

// provider builds the payment provider; nil when payments are off.
func (p paymentsConfig) provider(baseURL string, logger *slog.Logger) marketplace.Provider {
	switch p.Provider {
	case "stripe":
		return marketplace.NewStripe(marketplace.StripeConfig{SecretKey: p.StripeKey, WebhookSecret: p.WebhookSecret, APIURL: p.StripeAPIURL,
			Logger: logger.With("component", "stripe")})
	case "test":
		logger.Warn("payments use the TEST provider: for development only, no money moves (PAYMENTS_PROVIDER=test)")
		return marketplace.NewTestProvider(baseURL)
	}
	return nil
}
