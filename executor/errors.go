package executor

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/waddle/waddle/runes"
)

// Errors a call can end with. Check them with errors.Is; the typed ones
// below carry details and also match their sentinel.
var (
	// ErrRequestTooLarge: the body passed to Invoke is over MaxRequestBytes; nothing was sent.
	ErrRequestTooLarge = errors.New("request body too large")
	// ErrInvalidBody: the body passed to Invoke is not a JSON document; nothing was sent.
	ErrInvalidBody = errors.New("request body is not JSON")
	// ErrBlockedAddress: the target resolved to a loopback, private, link-local
	// or reserved address; see BlockedAddressError.
	ErrBlockedAddress = errors.New("address not allowed")
	// ErrCircuitOpen: the target failed too often lately; the call was not sent.
	ErrCircuitOpen = errors.New("circuit open: target is failing, calls are paused")
	// ErrTimeout: no answer within the target's timeout (or OpenWhisk gave up
	// waiting for the activation).
	ErrTimeout = errors.New("timed out")
	// ErrResponseTooLarge: the answer is over Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrBadResponse: the answer is not a JSON document.
	ErrBadResponse = errors.New("response is not JSON")
)

// BlockedAddressError names the address the dial guard refused.
type BlockedAddressError struct {
	Addr netip.Addr
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("address %s not allowed: loopback, private, link-local and reserved addresses are refused", e.Addr)
}

// Unwrap makes errors.Is(err, ErrBlockedAddress) true.
func (e *BlockedAddressError) Unwrap() error { return ErrBlockedAddress }

// StatusError is an answer with an HTTP status that is not a success.
type StatusError struct {
	Code int
	Body string // the start of the answer's body, valid UTF-8, at most maxErrorBody bytes

	retryAfter time.Duration // from Retry-After; -1 when absent
	err        error         // the client library's error, when there is one
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("remote answered HTTP %d", e.Code)
	}
	return fmt.Sprintf("remote answered HTTP %d: %s", e.Code, e.Body)
}

func (e *StatusError) Unwrap() error { return e.err }

// FunctionError is an answer from a function that ran and failed: a Lambda
// FunctionError ("Unhandled", "Handled") or an OpenWhisk application or
// developer error (HTTP 502 with an "error" field).
type FunctionError struct {
	Type    string // Lambda's X-Amz-Function-Error value, or "application error" for OpenWhisk
	Payload string // the start of the error document the function returned
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("remote function failed (%s): %s", e.Type, e.Payload)
}

// maxErrorBody bounds what StatusError and FunctionError keep of a body.
const maxErrorBody = 512

// snippet returns the start of b as valid UTF-8 text of at most maxErrorBody bytes.
func snippet(b []byte) string {
	s := string(b)
	if len(s) > maxErrorBody {
		s = runes.TruncateBytes(s, maxErrorBody) + "…"
	}
	return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
}
