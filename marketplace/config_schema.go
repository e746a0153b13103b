package marketplace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// FieldError is one problem with a manifest (or an install's config),
// named by its JSON path: "commands[2].name", "config.properties.greeting.type".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// Limits of a config schema.
const (
	maxConfigFields  = 30
	maxEnumValues    = 50
	maxConfigString  = 2000
	defaultMaxLength = 500
)

var configName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ParseConfigSchema reads a version's config schema: a JSON Schema object
// {"type": "object", "properties": {...}, "required": [...]} whose
// properties are string, number, boolean, secret, or string with "enum"
// (also written "type": "enum"). Fields keep the order of "properties".
// Every problem is returned, each named by its path under prefix
// ("config"); raw empty or null is a schema with no fields.
func ParseConfigSchema(raw json.RawMessage, prefix string) (ConfigSchema, []FieldError) {
	var out ConfigSchema
	var errs []FieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var top struct {
		Type       string          `json:"type"`
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		bad(prefix, "must be a JSON Schema object: %v", err)
		return out, errs
	}
	if top.Type != "" && top.Type != "object" {
		bad(prefix+".type", `must be "object"`)
	}
	names, props, err := orderedObject(top.Properties)
	if err != nil {
		bad(prefix+".properties", "must be an object of fields: %v", err)
		return out, errs
	}
	if len(names) > maxConfigFields {
		bad(prefix+".properties", "has %d fields; at most %d", len(names), maxConfigFields)
		return out, errs
	}
	index := map[string]int{}
	for i, name := range names {
		path := prefix + ".properties." + name
		if !configName.MatchString(name) {
			bad(path, "a field name has 1 to 64 lower-case letters, digits or underscores and starts with a letter")
		}
		var f ConfigField
		dec := json.NewDecoder(bytes.NewReader(props[i]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			bad(path, "must be a field (type, title, description, default, enum, maxLength, minimum, maximum): %v", err)
			continue
		}
		f.Name = name
		if f.Type == FieldString && len(f.Enum) > 0 {
			f.Type = FieldEnum
		}
		switch f.Type {
		case FieldString, FieldSecret:
			if len(f.Enum) > 0 && f.Type == FieldSecret {
				bad(path+".enum", "a secret cannot have a list of values")
			}
			if f.MaxLength < 0 || f.MaxLength > maxConfigString {
				bad(path+".maxLength", "must be between 1 and %d", maxConfigString)
			}
			if f.MaxLength == 0 {
				f.MaxLength = defaultMaxLength
			}
		case FieldEnum:
			if len(f.Enum) == 0 || len(f.Enum) > maxEnumValues {
				bad(path+".enum", "must list 1 to %d values", maxEnumValues)
			}
			seen := map[string]bool{}
			for j, v := range f.Enum {
				if v == "" || len(v) > 100 || seen[v] {
					bad(fmt.Sprintf("%s.enum[%d]", path, j), "values are 1 to 100 bytes and distinct")
				}
				seen[v] = true
			}
		case FieldNumber:
			if f.Minimum != nil && f.Maximum != nil && *f.Minimum > *f.Maximum {
				bad(path+".minimum", "is above maximum")
			}
		case FieldBoolean:
		case "":
			bad(path+".type", "is missing: string, number, boolean, enum or secret")
			continue
		default:
			bad(path+".type", "%q is not one of string, number, boolean, enum, secret", f.Type)
			continue
		}
		if len(f.Title) > 100 {
			bad(path+".title", "is longer than 100 bytes")
		}
		if len(f.Description) > 500 {
			bad(path+".description", "is longer than 500 bytes")
		}
		if f.Default != nil {
			if f.Type == FieldSecret {
				bad(path+".default", "a secret cannot have a default")
			} else if _, msg := f.Coerce(f.Default); msg != "" {
				bad(path+".default", "%s", msg)
			}
		}
		if f.Title == "" {
			f.Title = strings.ReplaceAll(name, "_", " ")
		}
		index[name] = len(out.Fields)
		out.Fields = append(out.Fields, f)
	}
	for j, r := range top.Required {
		i, ok := index[r]
		if !ok {
			bad(fmt.Sprintf("%s.required[%d]", prefix, j), "names no field: %q", r)
			continue
		}
		out.Fields[i].Required = true
	}
	return out, errs
}

// Coerce checks a value (as JSON decodes it, or a form's string) against
// the field and returns it in the field's type; the message says what is
// wrong, "" when nothing.
func (f ConfigField) Coerce(v any) (any, string) {
	switch f.Type {
	case FieldString, FieldSecret:
		s, ok := v.(string)
		if !ok {
			return nil, "must be text"
		}
		if len(s) > f.MaxLength && f.MaxLength > 0 {
			return nil, fmt.Sprintf("is longer than %d bytes", f.MaxLength)
		}
		return s, ""
	case FieldEnum:
		s, ok := v.(string)
		if !ok {
			return nil, "must be one of the listed values"
		}
		for _, e := range f.Enum {
			if e == s {
				return s, ""
			}
		}
		return nil, fmt.Sprintf("%q is not one of: %s", s, strings.Join(f.Enum, ", "))
	case FieldNumber:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case json.Number:
			p, err := x.Float64()
			if err != nil {
				return nil, "must be a number"
			}
			n = p
		case string:
			if _, err := fmt.Sscan(strings.TrimSpace(x), &n); err != nil {
				return nil, "must be a number"
			}
		default:
			return nil, "must be a number"
		}
		if f.Minimum != nil && n < *f.Minimum {
			return nil, fmt.Sprintf("must be at least %g", *f.Minimum)
		}
		if f.Maximum != nil && n > *f.Maximum {
			return nil, fmt.Sprintf("must be at most %g", *f.Maximum)
		}
		return n, ""
	case FieldBoolean:
		switch x := v.(type) {
		case bool:
			return x, ""
		case string:
			switch x {
			case "true", "on", "1":
				return true, ""
			case "false", "off", "0", "":
				return false, ""
			}
		}
		return nil, "must be true or false"
	}
	return nil, "has an unknown type"
}

// orderedObject splits a JSON object into its keys, in order, and values.
func orderedObject(raw json.RawMessage) ([]string, []json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("not an object")
	}
	var names []string
	var vals []json.RawMessage
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, nil, fmt.Errorf("the field %q appears twice", name)
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		vals = append(vals, v)
	}
	return names, vals, nil
}
