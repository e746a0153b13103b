package marketplace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"

	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// Limits of a manifest.
const (
	MaxManifestBytes = 256 << 10
	maxName          = 100
	maxSummary       = 200
	maxDescription   = 20000
	maxHomepage      = 500
	maxCategoryDepth = 3
	maxCategoryPart  = 40
	maxLabels        = 10
	maxCommands      = 20
	maxAliases       = 10
	maxUsage         = 200
	maxCooldown      = 86400
	maxChangelog     = 10000
	maxPriceCents    = 100000000
	minTimeoutMS     = 100
	maxTimeoutMS     = 30000
)

var (
	slugPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	commandPattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	labelPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,29}$`)
	currencyCode   = regexp.MustCompile(`^[a-z]{3}$`)
)

// reservedSlugs are pages of the catalogue, not modules.
var reservedSlugs = []string{"publish", "developers", "installed", "results", "new"}

// ParseManifest decodes raw strictly: a field the manifest does not have,
// or a value of the wrong JSON type, is an error named by its path. A
// manifest that decodes is then checked with ValidateManifest; every
// problem found is returned.
func ParseManifest(raw []byte) (Manifest, []FieldError) {
	var m Manifest
	if len(raw) > MaxManifestBytes {
		return m, []FieldError{{Path: "", Message: fmt.Sprintf("the manifest is %d bytes; at most %d", len(raw), MaxManifestBytes)}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return m, []FieldError{{Path: "", Message: "is not JSON: " + err.Error()}}
	}
	if dec.More() {
		return m, []FieldError{{Path: "", Message: "has more after the manifest's closing brace"}}
	}
	var errs []FieldError
	checkShape(doc, manifestType, "", &errs)
	if len(errs) > 0 {
		return m, errs
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, []FieldError{{Path: "", Message: "is not a manifest: " + err.Error()}}
	}
	return m, ValidateManifest(&m)
}

// ValidateManifest checks every field of m, naming each problem by its
// JSON path ("commands[1].aliases[0]", "price.cents").
func ValidateManifest(m *Manifest) []FieldError {
	v := &validator{}
	v.listing(m)
	v.version(m)
	v.commands(m.Commands)
	v.events(m.Events)
	v.executor(m.Executor)
	if _, errs := ParseConfigSchema(m.Config, "config"); len(errs) > 0 {
		v.errs = append(v.errs, errs...)
	}
	v.capabilities(m.Capabilities)
	if n := utf8.RuneCountInString(m.Changelog); n > maxChangelog {
		v.bad("changelog", "is %d characters; at most %d", n, maxChangelog)
	}
	return v.errs
}

// Problem turns errs into the error handlers show: Invalid, naming the
// first path, with every error in the message.
func Problem(errs []FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return &ManifestError{Errors: errs}
}

// ManifestError is a manifest refused for the errors it lists.
type ManifestError struct {
	Errors []FieldError
}

func (e *ManifestError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.Error()
	}
	return "invalid manifest: " + strings.Join(parts, "; ")
}

// Unwrap makes a ManifestError a problem.Invalid for handlers that know no better.
func (e *ManifestError) Unwrap() error {
	return &problem.Error{Code: problem.Invalid, Field: e.Errors[0].Path, Message: e.Error()}
}

type validator struct{ errs []FieldError }

func (v *validator) bad(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) text(path, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && n == 0:
		v.bad(path, "is required")
	case n < min:
		v.bad(path, "is %d characters; at least %d", n, min)
	case n > max:
		v.bad(path, "is %d characters; at most %d", n, max)
	}
}

func (v *validator) listing(m *Manifest) {
	if !slugPattern.MatchString(m.Slug) {
		v.bad("slug", "must be 2 to 63 lower-case letters, digits or hyphens, starting with a letter or digit")
	} else if slices.Contains(reservedSlugs, m.Slug) {
		v.bad("slug", "%q is reserved for the hub's own pages", m.Slug)
	}
	v.text("name", strings.TrimSpace(m.Name), 1, maxName)
	v.text("summary", strings.TrimSpace(m.Summary), 1, maxSummary)
	v.text("description", m.Description, 0, maxDescription)
	if m.Homepage != "" {
		u, err := url.Parse(m.Homepage)
		switch {
		case len(m.Homepage) > maxHomepage:
			v.bad("homepage", "is longer than %d characters", maxHomepage)
		case err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil:
			v.bad("homepage", "must be an https:// address")
		}
	}
	if len(m.Category) > maxCategoryDepth {
		v.bad("category", "has %d levels; at most %d", len(m.Category), maxCategoryDepth)
	}
	for i, c := range m.Category {
		if n := utf8.RuneCountInString(strings.TrimSpace(c)); n < 1 || n > maxCategoryPart || c != strings.TrimSpace(c) {
			v.bad(fmt.Sprintf("category[%d]", i), "a level is 1 to %d characters without surrounding spaces", maxCategoryPart)
		}
	}
	if len(m.Labels) > maxLabels {
		v.bad("labels", "has %d labels; at most %d", len(m.Labels), maxLabels)
	}
	for i, l := range m.Labels {
		if !labelPattern.MatchString(l) {
			v.bad(fmt.Sprintf("labels[%d]", i), "a label is one lower-case word (letters, digits, hyphens; at most 30)")
		} else if slices.Contains(m.Labels[:i], l) {
			v.bad(fmt.Sprintf("labels[%d]", i), "%q is listed twice", l)
		}
	}
	p := m.Price
	switch p.Kind {
	case PriceFree:
		if p.Cents != 0 {
			v.bad("price.cents", "must be 0 (or left out) for a free module")
		}
	case PriceOneTime, PriceMonthly:
		if p.Cents <= 0 || p.Cents > maxPriceCents {
			v.bad("price.cents", "must be between 1 and %d for a paid module", maxPriceCents)
		}
	case "":
		v.bad("price.kind", "is required: free, one_time or monthly")
	default:
		v.bad("price.kind", "%q is not one of free, one_time, monthly", p.Kind)
	}
	if p.Currency != "" && !currencyCode.MatchString(p.Currency) {
		v.bad("price.currency", "must be a three-letter lower-case currency code such as usd")
	}
}

type semverVersion = semver.Version

// parseVersion reads a strict semver MAJOR.MINOR.PATCH[-prerelease].
func parseVersion(s string) (*semver.Version, error) {
	if len(s) < 5 || len(s) > 64 {
		return nil, fmt.Errorf("must be 5 to 64 characters")
	}
	sv, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("is not a semantic version MAJOR.MINOR.PATCH[-prerelease]: %w", err)
	}
	if sv.Metadata() != "" {
		return nil, fmt.Errorf("must not carry build metadata (+%s)", sv.Metadata())
	}
	if sv.Major() > 1<<30 || sv.Minor() > 1<<30 || sv.Patch() > 1<<30 {
		return nil, fmt.Errorf("has a number too large")
	}
	return sv, nil
}

func (v *validator) version(m *Manifest) {
	if m.Version == "" {
		v.bad("version", "is required, e.g. 1.0.0")
		return
	}
	if _, err := parseVersion(m.Version); err != nil {
		v.bad("version", "%v", err)
	}
}

func (v *validator) commands(cmds []CommandSpec) {
	if len(cmds) == 0 || len(cmds) > maxCommands {
		v.bad("commands", "must list 1 to %d commands", maxCommands)
	}
	seen := map[string]string{}
	name := func(path, n string) {
		if !commandPattern.MatchString(n) {
			v.bad(path, "a name has 1 to 32 lower-case letters, digits or underscores")
			return
		}
		if first, ok := seen[n]; ok {
			v.bad(path, "%q is already used by %s", n, first)
			return
		}
		seen[n] = path
	}
	for i, c := range cmds {
		at := fmt.Sprintf("commands[%d]", i)
		name(at+".name", c.Name)
		if len(c.Aliases) > maxAliases {
			v.bad(at+".aliases", "at most %d aliases", maxAliases)
		}
		for j, a := range c.Aliases {
			name(fmt.Sprintf("%s.aliases[%d]", at, j), a)
		}
		if utf8.RuneCountInString(c.Usage) > maxUsage {
			v.bad(at+".usage", "is longer than %d characters", maxUsage)
		}
		if c.Permission != "" && !slices.Contains(router.Permissions, c.Permission) {
			v.bad(at+".permission", "%q is not one of %s", c.Permission, strings.Join(router.Permissions, ", "))
		}
		if c.UserCooldown < 0 || c.UserCooldown > maxCooldown {
			v.bad(at+".user_cooldown_seconds", "must be between 0 and %d", maxCooldown)
		}
		if c.GlobalCooldown < 0 || c.GlobalCooldown > maxCooldown {
			v.bad(at+".global_cooldown_seconds", "must be between 0 and %d", maxCooldown)
		}
		for j, p := range c.Platforms {
			path := fmt.Sprintf("%s.platforms[%d]", at, j)
			if !slices.Contains(router.Platforms, p) {
				v.bad(path, "%q is not one of %s", p, strings.Join(router.Platforms, ", "))
			} else if slices.Contains(c.Platforms[:j], p) {
				v.bad(path, "%q is listed twice", p)
			}
		}
	}
}

func (v *validator) events(kinds []string) {
	for i, k := range kinds {
		path := fmt.Sprintf("events[%d]", i)
		if !slices.Contains(router.Kinds, router.Kind(k)) {
			v.bad(path, "%q is not an event kind", k)
		} else if slices.Contains(kinds[:i], k) {
			v.bad(path, "%q is listed twice", k)
		}
	}
}

// BuiltinNames lists the built-in modules a core manifest may name.
func BuiltinNames() []string {
	var names []string
	for _, m := range append(modules.All(), modules.Identity(nil)...) {
		names = append(names, m.Declaration().Name)
	}
	return names
}

// executorFields maps executor.Target's field names to the manifest's.
var executorFields = map[string]string{"URL": "url", "Namespace": "namespace", "Action": "action", "Function": "function",
	"Region": "region", "Timeout": "timeout_ms", "Kind": "kind"}

func (v *validator) executor(e Executor) {
	t := executor.Target{Kind: executor.Kind(e.Kind), URL: e.URL, Namespace: e.Namespace, Action: e.Action,
		Function: e.Function, Region: e.Region, Timeout: time.Duration(e.TimeoutMS) * time.Millisecond}
	if e.TimeoutMS != 0 && (e.TimeoutMS < minTimeoutMS || e.TimeoutMS > maxTimeoutMS) {
		v.bad("executor.timeout_ms", "must be between %d and %d", minTimeoutMS, maxTimeoutMS)
		t.Timeout = 0
	}
	switch e.Kind {
	case ExecBuiltin:
		if !slices.Contains(BuiltinNames(), e.Module) {
			v.bad("executor.module", "%q is not a built-in module (%s)", e.Module, strings.Join(BuiltinNames(), ", "))
		}
		if e.URL != "" || e.Action != "" || e.Function != "" {
			v.bad("executor", "a built-in executor names only its module")
		}
		return
	case ExecWebhook:
		t.Secret = "signing secret made at publishing"
	case ExecOpenWhisk:
		t.Secret = "user:key given at publishing"
	case ExecLambda:
	case "":
		v.bad("executor.kind", "is required: builtin, webhook, openwhisk or lambda")
		return
	default:
		v.bad("executor.kind", "%q is not one of builtin, webhook, openwhisk, lambda", e.Kind)
		return
	}
	if e.Module != "" {
		v.bad("executor.module", "only a built-in executor names a module")
	}
	if err := t.Validate(); err != nil {
		p := problem.As(err)
		if p == nil {
			v.bad("executor", "%v", err)
			return
		}
		field, ok := executorFields[p.Field]
		if !ok {
			field = strings.ToLower(p.Field)
		}
		v.bad("executor."+field, "%s", p.Message)
		return
	}
	if e.URL != "" {
		// Publishing is for everyone: calls go over TLS, except to a server
		// on this machine (development, tests).
		if u, _ := url.Parse(e.URL); u.Scheme != "https" && !loopbackHost(u.Hostname()) {
			v.bad("executor.url", "must start with https:// (http:// only for localhost)")
		}
	}
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) capabilities(caps []Capability) {
	for i, c := range caps {
		path := fmt.Sprintf("capabilities[%d]", i)
		if !c.Known() {
			v.bad(path, "%q is not a capability (%s)", c, capabilityList())
		} else if slices.Contains(caps[:i], c) {
			v.bad(path, "%q is listed twice", c)
		}
	}
}

func capabilityList() string {
	s := make([]string, len(Capabilities))
	for i, c := range Capabilities {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
