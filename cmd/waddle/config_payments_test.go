package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadPaymentsConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want paymentsConfig
	}{
		{"off by default", nil, paymentsConfig{Provider: "off"}},
		{"stripe when a key is set", map[string]string{"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc"},
			paymentsConfig{Provider: "stripe", StripeKey: "sk_test_abc", WebhookSecret: "whsec_abc"}},
		{"test provider", map[string]string{"PAYMENTS_PROVIDER": "test"}, paymentsConfig{Provider: "test"}},
		{"off despite a key", map[string]string{"PAYMENTS_PROVIDER": "off", "STRIPE_SECRET_KEY": "sk_test_abc"}, paymentsConfig{Provider: "off", StripeKey: "sk_test_abc"}},
		{"custom API", map[string]string{"STRIPE_SECRET_KEY": "rk_live_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "STRIPE_API_URL": "http://127.0.0.1:12111"},
			paymentsConfig{Provider: "stripe", StripeKey: "rk_live_abc", WebhookSecret: "whsec_abc", StripeAPIURL: "http://127.0.0.1:12111"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := loadConfig(configEnv(validVars(c.env)))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got.Payments); d != "" {
				t.Errorf("payments (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadPaymentsConfigRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, wantVar string
		env           map[string]string
	}{
		{"unknown provider", "PAYMENTS_PROVIDER", map[string]string{"PAYMENTS_PROVIDER": "paypal"}},
		{"stripe without key", "STRIPE_SECRET_KEY", map[string]string{"PAYMENTS_PROVIDER": "stripe"}},
		{"publishable key", "STRIPE_SECRET_KEY", map[string]string{"STRIPE_SECRET_KEY": "pk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}},
		{"no webhook secret", "STRIPE_WEBHOOK_SECRET", map[string]string{"STRIPE_SECRET_KEY": "sk_test_abc"}},
		{"bad webhook secret", "STRIPE_WEBHOOK_SECRET", map[string]string{"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "abc"}},
		{"bad API URL", "STRIPE_API_URL", map[string]string{"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc", "STRIPE_API_URL": "api.stripe.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadConfig(configEnv(validVars(c.env)))
			var ce *configError
			if !errors.As(err, &ce) || ce.Var != c.wantVar {
				t.Fatalf("loadConfig = %v, want an error naming %s", err, c.wantVar)
			}
			for _, k := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} {
				if v := c.env[k]; v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("the error shows %s: %v", k, err)
				}
			}
		})
	}
}
