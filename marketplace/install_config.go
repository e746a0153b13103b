package marketplace

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// ConfigErrors are the problems of an install's config, each named
// "config.<field>". It unwraps to a problem naming the first, so a handler
// that knows nothing of it still answers 400.
type ConfigErrors []FieldError

func (e ConfigErrors) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap is the problem a handler answers with.
func (e ConfigErrors) Unwrap() error {
	if len(e) == 0 {
		return nil
	}
	return problem.Invalidf(e[0].Path, "%s", e.Error())
}

// Field is the message for one config field, "" when it has none.
func (e ConfigErrors) Field(name string) string {
	for _, f := range e {
		if f.Path == "config."+name {
			return f.Message
		}
	}
	return ""
}

var prefixRe = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// normPrefix checks the prefix an admin installs under: "fun" turns the
// module's !trivia into !fun_trivia.
func normPrefix(p string) (string, error) {
	p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), "_")
	if p == "" {
		return "", nil
	}
	if !prefixRe.MatchString(p) {
		return "", problem.Invalidf("prefix", "A prefix has 1 to 16 lower-case letters or digits; \"fun\" turns !trivia into !fun_trivia.")
	}
	return p, nil
}

// prefixed is a module's command name as the community types it.
func prefixed(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "_" + name
}

// storedVersion is a stored version with its manifest and schema read.
type storedVersion struct {
	row      db.MarketplaceVersion
	manifest Manifest
	schema   ConfigSchema
}

func readVersion(row db.MarketplaceVersion) (storedVersion, error) {
	pv := storedVersion{row: row}
	if err := json.Unmarshal(row.Manifest, &pv.manifest); err != nil {
		return pv, fmt.Errorf("read the manifest of version %s: %w", row.Version, err)
	}
	schema, errs := ParseConfigSchema(pv.manifest.Config, "config")
	if len(errs) > 0 {
		return pv, fmt.Errorf("the config schema of version %s: %w", row.Version, errs[0])
	}
	pv.schema = schema
	return pv, nil
}

// commands are the version's commands under prefix, for the router.
func (pv storedVersion) commands(prefix string) []router.InstallCommand {
	out := make([]router.InstallCommand, 0, len(pv.manifest.Commands))
	for _, c := range pv.manifest.Commands {
		ic := router.InstallCommand{Name: prefixed(prefix, strings.ToLower(c.Name)), Platforms: c.Platforms,
			Permission: c.Permission, UserCooldown: c.UserCooldown, GlobalCooldown: c.GlobalCooldown}
		if ic.Permission == "" {
			ic.Permission = router.Everyone
		}
		for _, a := range c.Aliases {
			ic.Aliases = append(ic.Aliases, prefixed(prefix, strings.ToLower(a)))
		}
		out = append(out, ic)
	}
	return out
}

// missingCaps are the version's capabilities that are neither granted nor accepted.
func missingCaps(need []string, granted []string, accept []Capability) []Capability {
	var out []Capability
	for _, c := range need {
		if slices.Contains(granted, c) || slices.Contains(accept, Capability(c)) {
			continue
		}
		out = append(out, Capability(c))
	}
	return out
}

func capNames(cs []Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// resolveConfig checks the values given for a schema and fills the rest
// from the values kept (old plain values and secrets, where the schema still
// allows them) and the defaults. A form's empty string leaves a field as it
// was (a secret keeps its value). It returns the plain values and the secrets.
func resolveConfig(schema ConfigSchema, given, oldPlain, oldSecrets map[string]any) (map[string]any, map[string]any, error) {
	plain, secrets := map[string]any{}, map[string]any{}
	var errs ConfigErrors
	known := map[string]bool{}
	for _, f := range schema.Fields {
		known[f.Name] = true
		path := "config." + f.Name
		v, ok := given[f.Name]
		if s, isStr := v.(string); ok && isStr && s == "" && f.Type != FieldBoolean && f.Type != FieldString {
			ok = false
		}
		if !ok {
			if f.Type == FieldSecret {
				v, ok = oldSecrets[f.Name]
			} else {
				v, ok = oldPlain[f.Name]
			}
			if ok {
				if _, msg := f.Coerce(v); msg != "" {
					ok = false // the new schema no longer allows the old value
				}
			}
		}
		if !ok && f.Default != nil {
			v, ok = f.Default, true
		}
		if !ok {
			if f.Required {
				errs = append(errs, FieldError{Path: path, Message: "is required"})
			}
			continue
		}
		val, msg := f.Coerce(v)
		if msg != "" {
			errs = append(errs, FieldError{Path: path, Message: msg})
			continue
		}
		if f.Required && val == "" {
			errs = append(errs, FieldError{Path: path, Message: "is required"})
			continue
		}
		if f.Type == FieldSecret {
			secrets[f.Name] = val
		} else {
			plain[f.Name] = val
		}
	}
	var unknown []string
	for k := range given {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, FieldError{Path: "config." + k, Message: "is not a setting of this module"})
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return plain, secrets, nil
}
