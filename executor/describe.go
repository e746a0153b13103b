package executor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Preview is what Invoke would send, for the hub's dry-run simulator.
// Secrets are redacted; the webhook signature is shown, since it reveals
// nothing about the secret.
type Preview struct {
	Method string
	URL    string
	Header http.Header
	Body   string
}

const redacted = "[redacted]"

// Describe returns what Invoke would send to t, without sending it.
func (c *Client) Describe(t Target, body []byte) (Preview, error) {
	if err := c.ValidateTarget(t); err != nil {
		return Preview{}, err
	}
	if len(body) > MaxRequestBytes {
		return Preview{}, fmt.Errorf("describe %s: %d bytes, limit %d: %w", t.label(), len(body), MaxRequestBytes, ErrRequestTooLarge)
	}
	// The request is built, never sent: no context is consulted for I/O.
	ctx := context.Background()
	var req *http.Request
	var err error
	switch t.Kind {
	case Webhook:
		req, err = c.webhookRequest(ctx, t, body)
	case OpenWhisk:
		req, err = openWhiskRequest(ctx, t, body)
	case Lambda:
		req, err = describeLambda(ctx, t, body)
	}
	if err != nil {
		return Preview{}, fmt.Errorf("describe %s: %w", t.label(), err)
	}
	h := req.Header.Clone()
	if v := h.Get("Authorization"); v != "" {
		if scheme, _, ok := strings.Cut(v, " "); ok {
			h.Set("Authorization", scheme+" "+redacted)
		} else {
			h.Set("Authorization", redacted)
		}
	}
	if h.Get("X-Amz-Security-Token") != "" {
		h.Set("X-Amz-Security-Token", redacted)
	}
	return Preview{Method: req.Method, URL: req.URL.String(), Header: h, Body: string(body)}, nil
}

// errCaptured stops the SDK once it has built and signed the request.
var errCaptured = errors.New("request captured")

type captureClient struct{ req *http.Request }

func (c *captureClient) Do(req *http.Request) (*http.Response, error) {
	c.req = req
	return nil, errCaptured
}

// describeLambda has the SDK build and sign the Invoke request, and catches
// it instead of sending it. Without the target's own keys it signs with
// placeholder keys: the Authorization header is redacted anyway, and the
// server's credentials are not fetched for a preview.
func describeLambda(ctx context.Context, t Target, body []byte) (*http.Request, error) {
	key, secret := t.AccessKeyID, t.SecretAccessKey
	if key == "" {
		key, secret = "AKIAPREVIEWPREVIEW00", "preview"
	}
	cfg := aws.Config{Region: t.region(), Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")}
	capture := &captureClient{}
	_, err := newLambdaClient(cfg, t, capture).Invoke(ctx, lambdaInput(t, body))
	if capture.req == nil {
		return nil, fmt.Errorf("build Lambda request: %w", err)
	}
	return capture.req, nil
}
