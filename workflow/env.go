package workflow

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/router"
)

// Env is what running nodes may use: the services of the rest of Waddle,
// behind the small seams this package declares.
type Env struct {
	Pool     *pgxpool.Pool
	Router   Messenger     // chat messages and modules
	Overlays OverlaySender // browser-source updates
	HTTP     *http.Client  // action_webhook's client, guarded against private addresses
	Logger   *slog.Logger
}

// Messenger sends chat messages to linked channels and runs modules; the
// router implements it.
type Messenger interface {
	Send(ctx context.Context, communityID int64, m router.Message, opts router.Options) (router.Result, error)
	RunModule(ctx context.Context, communityID int64, in router.ModuleRun, opts router.Options) (router.Result, error)
}

// OverlaySender pushes an update to one of a community's browser sources.
type OverlaySender interface {
	SendUpdate(ctx context.Context, communityID int64, source string, kind string, data map[string]any) error
}
