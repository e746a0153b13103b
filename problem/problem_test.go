package problem_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/problem"
)

func TestAsAndIsThroughWrapping(t *testing.T) {
	t.Parallel()
	invalid := problem.Invalidf("email", "%q is not an email address.", "x")
	tooMany := &problem.Error{Code: problem.TooMany, Message: "Slow down.", RetryAfter: 90 * time.Second}
	cases := []struct {
		name     string
		err      error
		want     *problem.Error // nil: internal
		wantCode problem.Code
	}{
		{name: "bare", err: invalid, want: invalid, wantCode: problem.Invalid},
		{name: "wrapped once", err: fmt.Errorf("create user: %w", invalid), want: invalid, wantCode: problem.Invalid},
		{name: "wrapped twice", err: fmt.Errorf("handler: %w", fmt.Errorf("sign in: %w", tooMany)), want: tooMany, wantCode: problem.TooMany},
		{name: "joined with an internal error", err: errors.Join(errors.New("disk on fire"), fmt.Errorf("x: %w", tooMany)), want: tooMany, wantCode: problem.TooMany},
		{name: "internal", err: errors.New("connection refused")},
		{name: "internal wrapped", err: fmt.Errorf("load user: %w", errors.New("connection refused"))},
		{name: "flattened with %v is internal", err: fmt.Errorf("create user: %v", invalid)},
		{name: "nil", err: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := problem.As(tc.err)
			if got != tc.want {
				t.Fatalf("As = %#v, want %#v", got, tc.want)
			}
			for _, code := range []problem.Code{problem.Invalid, problem.Unauthorized, problem.Forbidden, problem.NotFound, problem.Conflict, problem.TooMany, problem.PaymentRequired} {
				if want := tc.want != nil && code == tc.wantCode; problem.Is(tc.err, code) != want {
					t.Errorf("Is(%s) = %v, want %v", code, !want, want)
				}
			}
			if tc.want != nil && got.RetryAfter != tc.want.RetryAfter {
				t.Errorf("RetryAfter = %v, want %v", got.RetryAfter, tc.want.RetryAfter)
			}
		})
	}
}

func TestConstructors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		err     *problem.Error
		want    problem.Error
		wantMsg string
	}{
		{
			name:    "New formats the message and has no field",
			err:     problem.New(problem.NotFound, "No community %q.", "ducks"),
			want:    problem.Error{Code: problem.NotFound, Message: `No community "ducks".`},
			wantMsg: `No community "ducks".`,
		},
		{
			name:    "Invalidf names the field in Error()",
			err:     problem.Invalidf("password", "At least %d characters.", 8),
			want:    problem.Error{Code: problem.Invalid, Field: "password", Message: "At least 8 characters."},
			wantMsg: "password: At least 8 characters.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, *tc.err); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if got := tc.err.Error(); got != tc.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tc.wantMsg)
			}
		})
	}
}
