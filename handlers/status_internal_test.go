package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/waddle/waddle/problem"
)

func TestStatusOfProblemCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code problem.Code
		want int
	}{
		{problem.Invalid, http.StatusBadRequest},
		{problem.Unauthorized, http.StatusUnauthorized},
		{problem.PaymentRequired, http.StatusPaymentRequired},
		{problem.Forbidden, http.StatusForbidden},
		{problem.NotFound, http.StatusNotFound},
		{problem.Conflict, http.StatusConflict},
		{problem.TooMany, http.StatusTooManyRequests},
	}
	for _, tc := range cases {
		err := fmt.Errorf("publish: %w", problem.New(tc.code, "No."))
		if got := status(err); got != tc.want {
			t.Errorf("status(%s) = %d, want %d", tc.code, got, tc.want)
		}
	}
	if got := status(errors.New("disk on fire")); got != http.StatusInternalServerError {
		t.Errorf("status(internal) = %d, want 500", got)
	}
}
