// Package problem is the error vocabulary shared by the domain packages: an
// error a user may see carries a Code and a Message written for them; any
// other error is internal, logged, and shown to the user only as "something
// went wrong".
package problem

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error a user may see; handlers map it to an HTTP status.
type Code string

// The codes.
const (
	Invalid         Code = "invalid"          // bad input: 400
	Unauthorized    Code = "unauthorized"     // not signed in or bad credentials: 401
	Forbidden       Code = "forbidden"        // signed in but not allowed: 403
	NotFound        Code = "not_found"        // 404
	Conflict        Code = "conflict"         // the state does not allow it: 409
	TooMany         Code = "rate_limited"     // 429
	PaymentRequired Code = "payment_required" // beyond the free plan; a licence allows it: 402
)

// Error is an error meant for the user.
type Error struct {
	Code       Code
	Field      string        // the input field at fault, when there is one
	Message    string        // a sentence for the user
	RetryAfter time.Duration // with TooMany
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// New returns an Error with the given code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf reports bad input in one field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns the user-facing error inside err, or nil when err is internal.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Is reports whether err is a user-facing error with the given code.
func Is(err error, code Code) bool {
	e := As(err)
	return e != nil && e.Code == code
}
