package main

import (
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/workflow"
)

// workflowConfig is the workflow engine's settings.
type workflowConfig struct {
	TraceRetention time.Duration // WORKFLOW_TRACE_RETENTION: finished runs and their traces are kept this long
	MaxRunDuration time.Duration // WORKFLOW_MAX_RUN_DURATION: a run's running time, delays excluded
}

// newWorkflows builds the workflow engine, its licensing and its
// scheduler, and adds its job workers.
func newWorkflows(cfg config, a *app, rt *router.Router, ov *overlay.Service, workers *river.Workers, logger *slog.Logger) (*workflow.Service, *workflow.Licensing, *workflow.Scheduler) {
	limits := workflow.DefaultLimits
	limits.MaxDuration = cfg.Workflows.MaxRunDuration
	pub, _ := workflow.ParsePublicKey(cfg.License.PublicKey) // checked by config's Validate; empty: no key is valid
	licensing := workflow.NewLicensing(workflow.LicensingConfig{Pool: a.pool, PublicKey: pub, InstallationKey: cfg.License.Key,
		ServerURL: cfg.License.Server, HTTP: executor.NewHTTPClient(!cfg.AllowPrivate), Logger: logger.With("component", "licence")})
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool, Read: a.replica, Jobs: a.jobs, Limits: limits, Licensing: licensing,
		Env: &workflow.Env{Pool: a.pool, Router: rt, Overlays: workflow.Overlays{Service: ov},
			HTTP: executor.NewHTTPClient(!cfg.AllowPrivate), Logger: logger.With("component", "workflow")},
		Instance: rt.Instance(), Logger: logger.With("component", "workflow")})
	river.AddWorker(workers, &workflow.RunWorker{Service: flows})
	river.AddWorker(workers, &workflow.SweepWorker{Service: flows, Keep: cfg.Workflows.TraceRetention})
	schedules := workflow.NewScheduler(workflow.SchedulerConfig{Service: flows, Logger: logger.With("component", "schedules")})
	return flows, licensing, schedules
}
