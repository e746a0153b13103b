// Package marketplace is the module catalogue: authors publish modules with
// immutable semver versions, each declaring its commands, events, executor,
// config schema and the capabilities it needs; community admins install,
// upgrade, review and pay for them, and the router runs an installed
// version's commands with only the capabilities the admin accepted.
package marketplace

import "encoding/json"

// Capability is something a module's answer may make Waddle do for it.
type Capability string

// The capabilities a version may ask for.
const (
	CapChat        Capability = "chat"         // reply in chat
	CapDM          Capability = "dm"           // private replies (whispers, DMs, ephemeral)
	CapPointsRead  Capability = "points:read"  // the caller's balance is sent with each call
	CapPointsWrite Capability = "points:write" // an answer may change viewers' points
	CapModerate    Capability = "moderate"     // an answer may warn, delete, time out or ban
	CapOverlay     Capability = "overlay"      // an answer may update the community's browser sources
	CapHTTP        Capability = "http"         // an answer may ask Waddle to make an HTTP request for it
	CapButtons     Capability = "buttons"      // an answer may carry buttons and forms
)

// Capabilities lists every capability, in the order the install screen shows them.
var Capabilities = []Capability{CapChat, CapDM, CapPointsRead, CapPointsWrite, CapModerate, CapOverlay, CapHTTP, CapButtons}

// Describe says in plain words what the capability lets a module do.
func (c Capability) Describe() string {
	switch c {
	case CapChat:
		return "can reply in chat"
	case CapDM:
		return "can send private replies (whispers and direct messages)"
	case CapPointsRead:
		return "can see the points of the viewer who runs its commands"
	case CapPointsWrite:
		return "can change viewers' points"
	case CapModerate:
		return "can warn, delete messages, time out and ban"
	case CapOverlay:
		return "can show things on your stream overlays"
	case CapHTTP:
		return "can ask Waddle to call web addresses for it"
	case CapButtons:
		return "can show buttons and forms"
	}
	return "unknown capability " + string(c)
}

// Known reports whether c is a capability.
func (c Capability) Known() bool {
	for _, k := range Capabilities {
		if k == c {
			return true
		}
	}
	return false
}

// Price kinds.
const (
	PriceFree    = "free"
	PriceOneTime = "one_time"
	PriceMonthly = "monthly"
)

// Price is what a community pays for a module.
type Price struct {
	Kind     string `json:"kind"`               // free, one_time, monthly
	Cents    int    `json:"cents,omitempty"`    // in the currency's smallest unit
	Currency string `json:"currency,omitempty"` // ISO 4217, lower case; usd when empty
}

// Manifest is what an author publishes: the module's listing and one
// version. The same JSON goes to POST /api/v1/marketplace/modules (first
// version) and …/modules/{slug}/versions (later ones, where the listing
// fields update the module's listing), and to `waddle module validate`.
type Manifest struct {
	Slug        string   `json:"slug"`
	Name        string   `json:"name"`
	Summary     string   `json:"summary"`
	Description string   `json:"description,omitempty"` // Markdown
	Homepage    string   `json:"homepage,omitempty"`
	Category    []string `json:"category,omitempty"` // a path: ["Games", "Chat games"]
	Labels      []string `json:"labels,omitempty"`
	Price       Price    `json:"price"`

	Version      string          `json:"version"` // semver: 1.2.3, 1.3.0-beta.1
	Commands     []CommandSpec   `json:"commands"`
	Events       []string        `json:"events,omitempty"` // platform event kinds it wants
	Executor     Executor        `json:"executor"`
	Config       json.RawMessage `json:"config,omitempty"` // ConfigSchema as JSON
	Capabilities []Capability    `json:"capabilities"`
	Changelog    string          `json:"changelog,omitempty"`
}

// CommandSpec is a chat command a version adds to the communities that install it.
type CommandSpec struct {
	Name           string   `json:"name"`
	Aliases        []string `json:"aliases,omitempty"`
	Usage          string   `json:"usage,omitempty"`
	Permission     string   `json:"permission,omitempty"` // everyone (default), subscriber, vip, moderator, broadcaster
	UserCooldown   int      `json:"user_cooldown_seconds,omitempty"`
	GlobalCooldown int      `json:"global_cooldown_seconds,omitempty"`
	Platforms      []string `json:"platforms,omitempty"` // all three when empty
}

// Executor kinds.
const (
	ExecBuiltin   = "builtin"
	ExecWebhook   = "webhook"
	ExecOpenWhisk = "openwhisk"
	ExecLambda    = "lambda"
)

// Executor is where a version's commands run.
type Executor struct {
	Kind      string `json:"kind"`                 // builtin, webhook, openwhisk, lambda
	Module    string `json:"module,omitempty"`     // builtin: the built-in module's name
	URL       string `json:"url,omitempty"`        // webhook; OpenWhisk API host
	Namespace string `json:"namespace,omitempty"`  // openwhisk
	Action    string `json:"action,omitempty"`     // openwhisk
	Function  string `json:"function,omitempty"`   // lambda
	Region    string `json:"region,omitempty"`     // lambda
	TimeoutMS int    `json:"timeout_ms,omitempty"` // 100–30000; 3000 when 0
}

// Config field types: a small subset of JSON Schema.
const (
	FieldString  = "string"
	FieldNumber  = "number"
	FieldBoolean = "boolean"
	FieldEnum    = "enum"
	FieldSecret  = "secret"
)

// ConfigSchema is a version's install form, written as a JSON Schema
// object: {"type": "object", "properties": {...}, "required": [...]}.
// Fields keep the order of "properties" in the manifest.
type ConfigSchema struct {
	Fields []ConfigField
}

// ConfigField is one property of the schema.
type ConfigField struct {
	Name        string   `json:"-"`
	Type        string   `json:"type"` // string, number, boolean, enum (or "string" with "enum"), secret
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Default     any      `json:"default,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	MaxLength   int      `json:"maxLength,omitempty"`
	Minimum     *float64 `json:"minimum,omitempty"`
	Maximum     *float64 `json:"maximum,omitempty"`
	Required    bool     `json:"-"`
}
