package executor

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/problem"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	hook := Target{Kind: Webhook, URL: "https://bot.example.com/hook", Secret: "k"}
	ow := Target{Kind: OpenWhisk, URL: "https://openwhisk.example.com", Secret: "uuid:key", Action: "dice"}
	fn := Target{Kind: Lambda, Function: "dice", Region: "us-east-1", AccessKeyID: awsKey, SecretAccessKey: awsSecret}
	with := func(t Target, f func(*Target)) Target { f(&t); return t }
	cases := []struct {
		name      string
		target    Target
		wantField string // "": valid
	}{
		{name: "webhook", target: hook},
		{name: "webhook over http with port and query", target: with(hook, func(t *Target) { t.URL = "http://bot.example.com:8080/h?x=1" })},
		{name: "webhook max timeout", target: with(hook, func(t *Target) { t.Timeout = 30 * time.Second })},
		{name: "openwhisk", target: ow},
		{name: "openwhisk package action and namespace", target: with(ow, func(t *Target) { t.Namespace = "guest@example.com_dev"; t.Action = "tools/dice" })},
		{name: "lambda", target: fn},
		{name: "lambda ARN without region", target: with(fn, func(t *Target) {
			t.Function = "arn:aws:lambda:eu-west-1:123456789012:function:dice:prod"
			t.Region = ""
		})},
		{name: "lambda with endpoint", target: with(fn, func(t *Target) { t.URL = "http://localstack:4566" })},
		{name: "lambda server credentials", target: with(fn, func(t *Target) { t.AccessKeyID, t.SecretAccessKey = "", "" })},

		{name: "unknown kind", target: with(hook, func(t *Target) { t.Kind = "ftp" }), wantField: "Kind"},
		{name: "negative timeout", target: with(hook, func(t *Target) { t.Timeout = -time.Second }), wantField: "Timeout"},
		{name: "timeout over 30s", target: with(hook, func(t *Target) { t.Timeout = 31 * time.Second }), wantField: "Timeout"},
		{name: "no URL", target: with(hook, func(t *Target) { t.URL = "" }), wantField: "URL"},
		{name: "not http", target: with(hook, func(t *Target) { t.URL = "file:///etc/passwd" }), wantField: "URL"},
		{name: "no host", target: with(hook, func(t *Target) { t.URL = "https:///hook" }), wantField: "URL"},
		{name: "relative URL", target: with(hook, func(t *Target) { t.URL = "/hook" }), wantField: "URL"},
		{name: "credentials in URL", target: with(hook, func(t *Target) { t.URL = "https://u:p@example.com/" }), wantField: "URL"},
		{name: "unparsable URL", target: with(hook, func(t *Target) { t.URL = "https://exa mple.com/%zz" }), wantField: "URL"},
		{name: "URL too long", target: with(hook, func(t *Target) { t.URL = "https://example.com/" + strings.Repeat("a", 2100) }), wantField: "URL"},
		{name: "webhook without secret", target: with(hook, func(t *Target) { t.Secret = "" }), wantField: "Secret"},
		{name: "webhook secret too long", target: with(hook, func(t *Target) { t.Secret = strings.Repeat("k", 2000) }), wantField: "Secret"},
		{name: "openwhisk secret without colon", target: with(ow, func(t *Target) { t.Secret = "uuidkey" }), wantField: "Secret"},
		{name: "openwhisk secret without key", target: with(ow, func(t *Target) { t.Secret = "uuid:" }), wantField: "Secret"},
		{name: "openwhisk no action", target: with(ow, func(t *Target) { t.Action = "" }), wantField: "Action"},
		{name: "openwhisk action with path", target: with(ow, func(t *Target) { t.Action = "a/b/c" }), wantField: "Action"},
		{name: "openwhisk action traversal", target: with(ow, func(t *Target) { t.Action = "../admin" }), wantField: "Action"},
		{name: "openwhisk bad namespace", target: with(ow, func(t *Target) { t.Namespace = "a/b" }), wantField: "Namespace"},
		{name: "lambda no function", target: with(fn, func(t *Target) { t.Function = "" }), wantField: "Function"},
		{name: "lambda bad function", target: with(fn, func(t *Target) { t.Function = "../../2015-03-31/functions" }), wantField: "Function"},
		{name: "lambda no region", target: with(fn, func(t *Target) { t.Region = "" }), wantField: "Region"},
		{name: "lambda region with a host in it", target: with(fn, func(t *Target) { t.Region = "evil.example.com/x" }), wantField: "Region"},
		{name: "lambda key without secret", target: with(fn, func(t *Target) { t.SecretAccessKey = "" }), wantField: "AccessKeyID"},
		{name: "lambda bad key", target: with(fn, func(t *Target) { t.AccessKeyID = "not a key" }), wantField: "AccessKeyID"},
		{name: "lambda bad endpoint", target: with(fn, func(t *Target) { t.URL = "localstack:4566" }), wantField: "URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.target.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			p := problem.As(err)
			if p == nil || p.Code != problem.Invalid || p.Field != tc.wantField {
				t.Fatalf("Validate = %v, want an invalid-%s problem", err, tc.wantField)
			}
		})
	}
}

func FuzzTargetValidate(f *testing.F) {
	f.Add("webhook", "https://bot.example.com/hook", "k", "", "", "", "", "", "", int64(0))
	f.Add("openwhisk", "https://ow.example.com", "u:k", "guest", "pkg/act", "", "", "", "", int64(3000))
	f.Add("lambda", "", "", "", "", "arn:aws:lambda:eu-west-1:123456789012:function:f:1", "", awsKey, awsSecret, int64(30000))
	f.Add("lambda", "http://[::1]:1/", "", "", "", "f", "us-east-1", "", "", int64(-1))
	f.Add("webhook", "http://%41:80/", "\xff", "", "", "", "", "", "", int64(1<<62))
	f.Fuzz(func(t *testing.T, kind, rawURL, secret, ns, action, function, region, key, secretKey string, timeoutMS int64) {
		tg := Target{Kind: Kind(kind), URL: rawURL, Secret: secret, Namespace: ns, Action: action,
			Function: function, Region: region, AccessKeyID: key, SecretAccessKey: secretKey,
			Timeout: time.Duration(timeoutMS) * time.Millisecond}
		err := tg.Validate()
		if err != nil {
			if p := problem.As(err); p == nil || p.Field == "" {
				t.Fatalf("Validate = %v, want a problem naming a field", err)
			}
			return
		}
		// A valid target has what Invoke relies on.
		if tg.timeout() <= 0 || tg.timeout() > MaxTimeout {
			t.Fatalf("valid target with timeout %s", tg.timeout())
		}
		if tg.URL != "" {
			u, err := url.Parse(tg.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Fatalf("valid target with URL %q", tg.URL)
			}
		}
		if tg.Kind == Lambda && tg.region() == "" {
			t.Fatal("valid Lambda target without a region")
		}
		_ = tg.label()
		_ = tg.key()
		if tg.Kind == OpenWhisk {
			if _, err := url.Parse(openWhiskURL(tg)); err != nil {
				t.Fatalf("valid OpenWhisk target gives a bad URL: %v", err)
			}
		}
	})
}
