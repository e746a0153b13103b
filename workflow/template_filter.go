package workflow

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The template filters, applied left to right: {{ path | upper | truncate:20 }}.
//
//	upper, lower, trim   the text in upper or lower case, or without surrounding spaces
//	default:"x"          x when the path is missing, null or ""
//	json                 the value as JSON (a string gets its quotes)
//	length               characters of a text, items of an array, keys of an object
//	truncate:N           the first N characters of the text
//	round, round:N       a number rounded to a whole number, or to N decimals (0–10)
//	join, join:", "      an array's items as text joined by the separator (", ")
//	first, last          an array's first or last item, a text's first or last character
type filterSpec struct {
	arg string // "none", "required" or "optional"
	// check checks the argument, when there is one.
	check func(arg any) error
}

const maxTruncate = MaxTemplateOutput

var filters = map[string]filterSpec{
	"upper":    {arg: "none"},
	"lower":    {arg: "none"},
	"trim":     {arg: "none"},
	"json":     {arg: "none"},
	"length":   {arg: "none"},
	"first":    {arg: "none"},
	"last":     {arg: "none"},
	"default":  {arg: "required"},
	"truncate": {arg: "required", check: wholeArg(0, maxTruncate)},
	"round":    {arg: "optional", check: wholeArg(0, 10)},
	"join":     {arg: "optional", check: stringArg},
}

func wholeArg(lo, hi float64) func(any) error {
	return func(a any) error {
		f, ok := a.(float64)
		if !ok || f != math.Trunc(f) || f < lo || f > hi {
			return fmt.Errorf("a whole number from %g to %g", lo, hi)
		}
		return nil
	}
}

func stringArg(a any) error {
	if _, ok := a.(string); !ok {
		return fmt.Errorf("a quoted string")
	}
	return nil
}

// parseFilter parses "name" or "name:arg".
func parseFilter(s string) (filterCall, error) {
	name, rawArg, hasArg := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	f := filterCall{name: name, hasArg: hasArg}
	if name == "" {
		return f, fmt.Errorf("empty filter after \"|\"")
	}
	spec, ok := filters[name]
	if !ok {
		return f, fmt.Errorf("unknown filter %q", name)
	}
	switch {
	case hasArg && spec.arg == "none":
		return f, fmt.Errorf("filter %q takes no argument", name)
	case !hasArg && spec.arg == "required":
		return f, fmt.Errorf("filter %q needs an argument, as in %s:%s", name, name, map[string]string{"default": `"text"`, "truncate": "20"}[name])
	}
	if hasArg {
		arg, err := parseArg(strings.TrimSpace(rawArg))
		if err != nil {
			return f, fmt.Errorf("filter %q: %s", name, err.Error())
		}
		if spec.check != nil {
			if err := spec.check(arg); err != nil {
				return f, fmt.Errorf("filter %q takes %s", name, err.Error())
			}
		}
		f.arg = arg
	}
	return f, nil
}

// applyFilter applies one filter; found says whether the path existed.
func applyFilter(f filterCall, v any, found bool) any {
	switch f.name {
	case "upper":
		return strings.ToUpper(String(v))
	case "lower":
		return strings.ToLower(String(v))
	case "trim":
		return strings.TrimSpace(String(v))
	case "default":
		if !found || v == nil || v == "" {
			return f.arg
		}
		return v
	case "json":
		b, err := json.Marshal(v)
		if err != nil {
			return "null"
		}
		return string(b)
	case "length":
		switch x := v.(type) {
		case nil:
			return 0
		case string:
			return utf8.RuneCountInString(x)
		case map[string]any:
			return len(x)
		}
		if a, ok := asArray(v); ok {
			return len(a)
		}
		return utf8.RuneCountInString(String(v))
	case "truncate":
		n := int(f.arg.(float64))
		s := String(v)
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		i := 0
		for j := range s {
			if i == n {
				return s[:j]
			}
			i++
		}
		return s
	case "round":
		x, ok := number(v)
		if !ok {
			return v
		}
		digits := 0.0
		if f.hasArg {
			digits = f.arg.(float64)
		}
		p := math.Pow(10, digits)
		r := math.Round(x*p) / p
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return x
		}
		return r
	case "join":
		sep := ", "
		if f.hasArg {
			sep = f.arg.(string)
		}
		a, ok := asArray(v)
		if !ok {
			return String(v)
		}
		parts := make([]string, len(a))
		for i, e := range a {
			parts[i] = String(e)
		}
		return strings.Join(parts, sep)
	case "first", "last":
		if s, ok := v.(string); ok {
			if s == "" {
				return ""
			}
			if f.name == "first" {
				r, _ := utf8.DecodeRuneInString(s)
				return string(r)
			}
			r, _ := utf8.DecodeLastRuneInString(s)
			return string(r)
		}
		a, ok := asArray(v)
		if !ok {
			return v
		}
		if len(a) == 0 {
			return nil
		}
		if f.name == "first" {
			return a[0]
		}
		return a[len(a)-1]
	}
	return v
}

// asArray reads a value as an array: []any, or any other slice.
func asArray(v any) ([]any, bool) {
	if a, ok := v.([]any); ok {
		return a, true
	}
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	if rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false // bytes are text, not an array
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}
