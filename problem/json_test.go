package problem_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/problem"
)

func TestJSONNamesTheFieldNotGoTypes(t *testing.T) {
	t.Parallel()
	type inner struct {
		Roles []string `json:"roles"`
	}
	type doc struct {
		Email string    `json:"email"`
		Count int8      `json:"count"`
		User  inner     `json:"user"`
		At    time.Time `json:"at"`
	}
	cases := []struct {
		raw, field, want string
	}{
		{`{"email": 42}`, "email", `The field "email" must be a string, not a number.`},
		{`{"count": 300}`, "count", `The field "count" must be a whole number from -128 to 127, not 300.`},
		{`{"user": {"roles": "mod"}}`, "user.roles", `The field "user.roles" must be an array, not a string.`},
		{`"hello"`, "", `The body must be an object, not a string.`},
		{`{"at": "yesterday"}`, "", `The body has a time that is not in RFC 3339 form, such as 2026-11-25T12:00:00Z.`},
		{`{"email": }`, "", `The body is not valid JSON: invalid character '}' looking for beginning of value (at byte 11).`},
		{`{"email": "a@b.c", "colour": "red"}`, "", `The body has a field it does not take: "colour".`},
	}
	for _, tc := range cases {
		var d doc
		dec := json.NewDecoder(strings.NewReader(tc.raw))
		dec.DisallowUnknownFields()
		err := problem.JSON(dec.Decode(&d), "body")
		p := problem.As(err)
		if p == nil || p.Code != problem.Invalid || p.Field != tc.field || p.Message != tc.want {
			t.Errorf("%s: %#v, want field %q and %q", tc.raw, err, tc.field, tc.want)
		}
		if p != nil && (strings.Contains(p.Message, "Go ") || strings.Contains(p.Message, "doc")) {
			t.Errorf("%s: %q names a Go type", tc.raw, p.Message)
		}
	}
	// Not about the JSON: stays internal, for the log.
	if err := problem.JSON(errors.New("connection reset"), "body"); problem.As(err) != nil {
		t.Errorf("a read error became a user error: %v", err)
	}
}
