package router

import (
	"context"
	"strings"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/problem"
)

// SimulatorServer is the server of events typed in the chat simulator (hub
// or terminal) for a community that named none: no platform's server, so
// nothing is posted back to a real chat.
const SimulatorServer = "simulator"

// Simulate handles an event typed in the hub's chat simulator for a community,
// whether or not it has linked a server. The event's platform fields are filled in.
// Changes it makes (not in a dry run) are recorded in the audit log as by's,
// made through the simulator as the event's user.
func (r *Router) Simulate(ctx context.Context, by audit.Actor, communityID int64, ev Event, dryRun bool) (Result, error) {
	start := time.Now()
	ev.User.Name = strings.TrimSpace(ev.User.Name)
	if ev.User.Name == "" || len(ev.User.Name) > 50 {
		return Result{}, problem.Invalidf("user.name", "Give the simulated user a name of 1 to 50 characters.")
	}
	if ev.Server == "" {
		ev.Server = SimulatorServer
	}
	if ev.Channel == "" {
		ev.Channel = "simulator"
	}
	if ev.User.ID == "" {
		ev.User.ID = "sim:" + strings.ToLower(ev.User.Name)
	}
	if err := ev.Validate(); err != nil {
		return Result{}, err
	}
	s, err := r.snapshot(ctx, communityID)
	if err != nil {
		return Result{}, err
	}
	h := r.newHandling(ctx, s, ev, dryRun)
	h.by = &by
	defer h.rollback(ctx)
	res, err := h.finish(ctx, start)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}
