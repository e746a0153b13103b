package workflow

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// lookup walks the keys through maps and arrays.
func lookup(scope map[string]any, keys []string) (any, bool) {
	var cur any = scope
	for _, k := range keys {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[k]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) || k[0] == '+' {
				return nil, false
			}
			cur = c[i]
		default:
			next, ok := lookupReflect(cur, k)
			if !ok {
				return nil, false
			}
			cur = next
		}
	}
	return cur, true
}

// lookupReflect steps into other maps, slices and structs (through their
// JSON form), so a node's typed output reads like the JSON it is stored as.
func lookupReflect(cur any, k string) (any, bool) {
	if cur == nil {
		return nil, false
	}
	rv := reflect.ValueOf(cur)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer:
	default:
		return nil, false
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, false
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil, false
	}
	switch v.(type) {
	case map[string]any, []any:
		return lookup(map[string]any{"v": v}, []string{"v", k})
	}
	return nil, false
}

// String renders a value as text: strings as they are, integral numbers
// without a fraction, null as nothing, maps and arrays as JSON.
func String(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "" // null, or not JSON (a cycle, a function): nothing to show
	}
	return string(b)
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// number reads a value as a number: a JSON number, or a string that is one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x)
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}
