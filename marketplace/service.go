package marketplace

import (
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// ErrNotFound is a module, version, install or review that does not exist
// or is not visible to the caller.
var ErrNotFound = problem.New(problem.NotFound, "No such module.")

// ErrNoPayments is a paid module on a server without a payment provider.
var ErrNoPayments = errors.New("payments are not set up on this server")

// Service is the marketplace: the catalogue, installs, reviews, usage and payments.
type Service struct {
	pool     *pgxpool.Pool
	read     *pgxpool.Pool
	box      *secret.Box
	settings *router.Settings
	payments Provider
	baseURL  string
	logger   *slog.Logger
	now      func() time.Time
}

// Config builds a Service.
type Config struct {
	Pool *pgxpool.Pool
	Read *pgxpool.Pool // catalogue lookups and search; the primary when nil
	Box  *secret.Box   // seals config secrets and executor credentials
	// Settings registers installed modules' commands with the router, in the
	// install's transaction, and invalidates every instance's cache.
	Settings *router.Settings
	// Payments is the payment provider for paid modules; nil: paid modules
	// cannot be bought on this server (free ones install as usual).
	Payments Provider
	BaseURL  string // the hub's public address, for checkout return URLs
	Logger   *slog.Logger
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Read == nil {
		cfg.Read = cfg.Pool
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: cfg.Pool, read: cfg.Read, box: cfg.Box, settings: cfg.Settings, payments: cfg.Payments,
		baseURL: cfg.BaseURL, logger: cfg.Logger, now: time.Now}
}

// Module is a module's listing as the catalogue shows it.
type Module struct {
	ID             int64     `json:"id"`
	Slug           string    `json:"slug"`
	Name           string    `json:"name"`
	Summary        string    `json:"summary"`
	Description    string    `json:"description,omitempty"` // Markdown as written
	AuthorID       int64     `json:"author_id,omitempty"`   // 0 for core modules
	AuthorName     string    `json:"author"`
	Homepage       string    `json:"homepage,omitempty"`
	Category       []string  `json:"category"`
	Labels         []string  `json:"labels"`
	Core           bool      `json:"core"`
	Price          Price     `json:"price"`
	Listed         bool      `json:"listed"`
	UnlistedReason string    `json:"unlisted_reason,omitempty"`
	ActiveInstalls int       `json:"active_installs"`
	RatingCount    int       `json:"rating_count"`
	RatingAverage  float64   `json:"rating_average"` // 0 with no ratings
	Latest         string    `json:"latest_version,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Version is one published version of a module.
type Version struct {
	ID           int64        `json:"id"`
	ModuleID     int64        `json:"module_id"`
	Version      string       `json:"version"`
	Manifest     Manifest     `json:"manifest"`
	Capabilities []Capability `json:"capabilities"`
	Changelog    string       `json:"changelog,omitempty"`
	Yanked       bool         `json:"yanked"`
	YankedReason string       `json:"yanked_reason,omitempty"`
	PublishedAt  time.Time    `json:"published_at"`
}
