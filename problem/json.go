package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// JSON says what is wrong with a JSON document (what: "body",
// "event") in the terms of the JSON sent — the field and the type it needs —
// never in encoding/json's, which name our Go types ("Go struct field
// inviteJSON.email of type string"). An error that is not about the JSON
// itself stays internal.
func JSON(err error, what string) error {
	if p := As(err); p != nil {
		return p // a type's own UnmarshalJSON said what is wrong
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return New(Invalid, "The %s is not valid JSON: %s (at byte %d).", what, syn.Error(), syn.Offset)
	case errors.As(err, new(*time.ParseError)):
		return New(Invalid, "The %s has a time that is not in RFC 3339 form, such as 2026-11-25T12:00:00Z.", what)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// A decoder that disallows unknown fields says so only in words.
		return New(Invalid, "The %s has a field it does not take: %s.", what, strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return New(Invalid, "The %s is not valid JSON: it ends before the JSON value does.", what)
	case errors.As(err, &typ):
		got := typ.Value
		if n, ok := strings.CutPrefix(got, "number "); ok {
			got = n
		} else if name, ok := jsonKindNames[got]; ok {
			got = name
		}
		if typ.Field == "" {
			return New(Invalid, "The %s must be %s, not %s.", what, jsonTypeName(typ.Type), got)
		}
		return Invalidf(typ.Field, "The field %q must be %s, not %s.", typ.Field, jsonTypeName(typ.Type), got)
	}
	return fmt.Errorf("read JSON body: %w", err)
}

// jsonKindNames names the kinds of JSON value encoding/json reports.
var jsonKindNames = map[string]string{"string": "a string", "number": "a number", "bool": "true or false", "array": "an array", "object": "an object"}

// jsonTypeName says which JSON value a Go type takes, with the range of an integer.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return fmt.Sprintf("a whole number from %d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
