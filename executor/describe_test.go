package executor

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	srv := newServer(t, jsonHandler(http.StatusOK, `{}`))
	body := `{"command":"!dice"}`
	cases := []struct {
		name       string
		target     Target
		wantURL    string
		wantHeader map[string]string // "" value: present, any value
		secrets    []string
		check      func(t *testing.T, p Preview)
	}{
		{
			name:    "webhook",
			target:  webhookTarget(srv.URL + "/hook"),
			wantURL: srv.URL + "/hook",
			wantHeader: map[string]string{
				"Content-Type":    "application/json",
				HeaderTimestamp:   strconv.FormatInt(now.Unix(), 10),
				HeaderSignature:   "",
				"Authorization":   "-",
				"X-Waddle-Secret": "-",
			},
			secrets: []string{"s3cret-webhook-key"},
			check: func(t *testing.T, p Preview) {
				if err := VerifySignature("s3cret-webhook-key", p.Header, []byte(p.Body), now, 0); err != nil {
					t.Errorf("signature in preview does not verify: %v", err)
				}
			},
		},
		{
			name:    "openwhisk",
			target:  Target{Kind: OpenWhisk, URL: srv.URL, Secret: owUser + ":" + owKey, Namespace: "guest", Action: "tools/dice", Timeout: 2 * time.Second},
			wantURL: srv.URL + "/api/v1/namespaces/guest/actions/tools/dice?blocking=true&result=true&timeout=2000",
			wantHeader: map[string]string{
				"Content-Type":  "application/json",
				"Authorization": "Basic [redacted]",
			},
			secrets: []string{owKey, owUser},
		},
		{
			name:    "lambda at AWS",
			target:  Target{Kind: Lambda, Function: "dice", Region: "eu-west-1", AccessKeyID: awsKey, SecretAccessKey: awsSecret},
			wantURL: "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/dice/invocations",
			wantHeader: map[string]string{
				"Authorization":         "AWS4-HMAC-SHA256 [redacted]",
				"X-Amz-Invocation-Type": "RequestResponse",
				"X-Amz-Date":            "",
			},
			secrets: []string{awsSecret, awsKey},
		},
		{
			name:    "lambda at an endpoint",
			target:  lambdaTarget(srv.URL, "dice"),
			wantURL: srv.URL + "/2015-03-31/functions/dice/invocations",
			wantHeader: map[string]string{
				"Authorization":         "AWS4-HMAC-SHA256 [redacted]",
				"X-Amz-Invocation-Type": "RequestResponse",
			},
			secrets: []string{awsSecret, awsKey},
		},
	}
	c := New(Config{Now: func() time.Time { return now }})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := c.Describe(tc.target, []byte(body))
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if p.Method != http.MethodPost || p.URL != tc.wantURL || p.Body != body {
				t.Errorf("preview = %s %s %s, want POST %s %s", p.Method, p.URL, p.Body, tc.wantURL, body)
			}
			for name, want := range tc.wantHeader {
				got, present := p.Header.Get(name), len(p.Header.Values(name)) > 0
				switch {
				case want == "-" && present:
					t.Errorf("header %s = %q, want none", name, got)
				case want == "" && !present:
					t.Errorf("header %s missing", name)
				case want != "" && want != "-" && got != want:
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			for _, secret := range tc.secrets {
				for name, values := range p.Header {
					if strings.Contains(strings.Join(values, " "), secret) {
						t.Errorf("header %s shows a secret", name)
					}
				}
				if strings.Contains(p.URL, secret) {
					t.Errorf("URL shows a secret")
				}
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if n := srv.hits.Load(); n != 0 {
			t.Errorf("server got %d requests, want 0: Describe must not send", n)
		}
	})
}

func TestDescribeLambdaWithServerCredentials(t *testing.T) {
	t.Parallel()
	// The preview is signed with placeholder keys: the server's credentials
	// are neither loaded nor shown.
	c := New(Config{AmbientAWSCredentials: true})
	p, err := c.Describe(Target{Kind: Lambda, Function: "arn:aws:lambda:us-west-2:123456789012:function:dice:live"}, []byte(`{}`))
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	wantURL := "https://lambda.us-west-2.amazonaws.com/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A123456789012%3Afunction%3Adice%3Alive/invocations"
	if p.URL != wantURL || p.Header.Get("Authorization") != "AWS4-HMAC-SHA256 [redacted]" {
		t.Errorf("preview = %s with Authorization %q, want %s, redacted", p.URL, p.Header.Get("Authorization"), wantURL)
	}
	if c.awsCfg != nil {
		t.Error("Describe loaded the server's AWS config")
	}
}
