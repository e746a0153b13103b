package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// invokeLambda calls the Invoke API (RequestResponse) through the AWS SDK,
// whose own retries are off: invokeWithRetry decides. A FunctionError in
// the output is a *FunctionError carrying the payload; an API error is a
// *StatusError with the service's status.
func (c *Client) invokeLambda(ctx context.Context, t Target, body []byte) ([]byte, error) {
	cfg, err := c.awsConfig(ctx, t)
	if err != nil {
		return nil, err
	}
	lc := newLambdaClient(cfg, t, c.lambdaHTTP(t))
	out, err := lc.Invoke(ctx, lambdaInput(t, body))
	if err != nil {
		return nil, c.lambdaError(err)
	}
	if out.FunctionError != nil {
		return nil, &FunctionError{Type: *out.FunctionError, Payload: snippet(out.Payload)}
	}
	if !json.Valid(out.Payload) {
		return nil, fmt.Errorf("payload %q: %w", snippet(out.Payload), ErrBadResponse)
	}
	return out.Payload, nil
}

func lambdaInput(t Target, body []byte) *lambda.InvokeInput {
	return &lambda.InvokeInput{
		FunctionName:   aws.String(t.Function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        body,
	}
}

func newLambdaClient(cfg aws.Config, t Target, httpClient lambda.HTTPClient) *lambda.Client {
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.Region = t.region()
		o.HTTPClient = httpClient
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		if t.URL != "" {
			o.BaseEndpoint = aws.String(t.URL)
		}
	})
}

// awsConfig is the community's own keys when the target has them, in a
// config that reads nothing from this server's environment; otherwise this
// server's default AWS config, when the operator allowed it.
func (c *Client) awsConfig(ctx context.Context, t Target) (aws.Config, error) {
	if t.AccessKeyID != "" {
		return aws.Config{
			Region:      t.region(),
			Credentials: credentials.NewStaticCredentialsProvider(t.AccessKeyID, t.SecretAccessKey, ""),
		}, nil
	}
	c.awsMu.Lock()
	defer c.awsMu.Unlock()
	if c.awsCfg == nil {
		// The SDK's own HTTP client, not the guarded one: credentials may come
		// from the instance metadata service at 169.254.169.254.
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
		}
		c.awsCfg = &cfg
	}
	return *c.awsCfg, nil
}

// lambdaHTTP is the HTTP client for t's Lambda calls. A user-chosen endpoint
// goes through the dial guard; AWS's own endpoint, whose host is built from
// a validated region name, does not (it may resolve to a private VPC
// endpoint). Either way answers are capped and redirects not followed.
func (c *Client) lambdaHTTP(t Target) lambda.HTTPClient {
	hc := c.unguarded
	if t.URL != "" {
		hc = c.guarded
	}
	return &cappedClient{hc: hc, max: c.maxResp}
}

// lambdaError turns an SDK error into ours where there is one.
func (c *Client) lambdaError(err error) error {
	if errors.Is(err, ErrResponseTooLarge) || errors.Is(err, ErrBlockedAddress) {
		return err
	}
	var re interface {
		HTTPStatusCode() int
		HTTPResponse() *smithyhttp.Response
	}
	if !errors.As(err, &re) || re.HTTPStatusCode() == 0 {
		return err // no answer: the request failed to go or to come back
	}
	se := &StatusError{Code: re.HTTPStatusCode(), retryAfter: -1, err: err}
	if resp := re.HTTPResponse(); resp != nil && resp.Response != nil {
		se.retryAfter = retryAfter(resp.Header, c.now())
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		se.Body = snippet([]byte(apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()))
	}
	return se
}

// cappedClient caps response bodies at max bytes (ErrResponseTooLarge).
type cappedClient struct {
	hc  *http.Client
	max int64
}

func (c *cappedClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > c.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%d bytes, limit %d: %w", resp.ContentLength, c.max, ErrResponseTooLarge)
	}
	resp.Body = cappedBody{cappedReader: &cappedReader{r: resp.Body, limit: c.max}, Closer: resp.Body}
	return resp, nil
}
