package executor

import (
	"context"
	"io"
)

// Send makes an HTTP call a module asked for, through the guarded client
// (loopback, private and metadata addresses refused at dial time unless the
// operator allows them), and reads at most the answer's first bytes: the
// caller does not wait for what the call says, only that it was made.
func (c *Client) Send(ctx context.Context, method, url string, body []byte) error {
	req, err := newRequest(ctx, method, url, body)
	if err != nil {
		return err
	}
	resp, err := c.guarded.Do(req)
	if err != nil {
		return withoutURL(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return c.statusError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, c.maxResp))
	return nil
}
