package executor

import "net/http"

// NewHTTPClient returns a client for other outbound HTTP to user-configured
// URLs (workflow webhooks): with guard, its dialer refuses loopback,
// private, link-local and metadata addresses (an operator's AllowPrivate
// turns guard off). Like the executor's own, it uses no proxy from the
// environment and follows no redirects.
func NewHTTPClient(guard bool) *http.Client { return newHTTPClient(guard) }
