package marketplace

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

var (
	manifestType = reflect.TypeFor[Manifest]()
	rawType      = reflect.TypeFor[json.RawMessage]()
)

// checkShape compares a decoded JSON document with the Go type it will be
// decoded into, naming by path every field the type does not have and
// every value of the wrong JSON type. (encoding/json's own errors name
// neither the index in an array nor every problem at once.)
func checkShape(doc any, t reflect.Type, path string, errs *[]FieldError) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if doc == nil {
		return // null leaves the zero value
	}
	if t == rawType {
		return // the config schema: ParseConfigSchema checks it
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			bad("must be an object")
			return
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
		}
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			sub := join(path, k)
			if !ok {
				*errs = append(*errs, FieldError{Path: sub, Message: "is not a manifest field"})
				continue
			}
			checkShape(obj[k], ft, sub, errs)
		}
	case reflect.Slice:
		arr, ok := doc.([]any)
		if !ok {
			bad("must be an array")
			return
		}
		for i, x := range arr {
			checkShape(x, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.String:
		if _, ok := doc.(string); !ok {
			bad("must be a string")
		}
	case reflect.Int:
		n, ok := doc.(json.Number)
		if !ok {
			bad("must be a number")
			return
		}
		if _, err := n.Int64(); err != nil || len(n) > 12 {
			bad("must be a whole number")
		}
	case reflect.Bool:
		if _, ok := doc.(bool); !ok {
			bad("must be true or false")
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
