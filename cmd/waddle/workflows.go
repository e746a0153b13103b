package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/timers"
	"github.com/waddle/waddle/workflow"
)

// workflowConfig is the workflow engine's settings.
type workflowConfig struct {
	TraceRetention time.Duration // WORKFLOW_TRACE_RETENTION: finished runs and their traces are kept this long
	MaxRunDuration time.Duration // WORKFLOW_MAX_RUN_DURATION: a run's running time, delays excluded
}

// newWorkflows builds the workflow engine, its licensing, its trigger
// index and its scheduler, adds its job workers, and makes the index the
// router's observer.
func newWorkflows(cfg config, a *app, rt *router.Router, settings *router.Settings, observer *workflowObserver, ov *overlay.Service,
	workers *river.Workers, logger *slog.Logger) (*workflow.Service, *workflow.Licensing, *workflow.Triggers, *workflow.Scheduler) {
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
	triggers := workflow.NewTriggers(workflow.TriggersConfig{Service: flows, Commands: settings, Logger: logger.With("component", "workflow")})
	observer.Triggers = triggers
	schedules := workflow.NewScheduler(workflow.SchedulerConfig{Service: flows, Logger: logger.With("component", "schedules")})
	return flows, licensing, triggers, schedules
}

// workflowObserver is the router's Observer: the workflows' trigger index,
// and the timers' chat line counter.
//
// The router is built before the workflow engine (which runs its nodes
// through it), so it gets this at construction and newWorkflows fills the
// index in before anything runs, as botSender's bots are: no setter on the
// router, and no lock, since Triggers is never written again.
type workflowObserver struct {
	Triggers *workflow.Triggers // nil: no workflows, nothing observed
	Timers   *timers.Lines      // counts chat lines, follows streams; nil: none
}

func (o *workflowObserver) Observed(ctx context.Context, h router.Handled) {
	if o.Timers != nil {
		o.Timers.Observed(ctx, h)
	}
	if o.Triggers != nil {
		o.Triggers.Observed(ctx, h)
	}
}

func (o *workflowObserver) Wants(cid int64, kind router.Kind, cmds []router.CommandRun) bool {
	return o.Triggers != nil && o.Triggers.Wants(cid, kind, cmds)
}

// ObservedTx tells the workflows in the event's transaction; the router
// then does not call Observed, so the timers count the event here too (in
// memory only, before the commit: a rolled-back event may count a line).
func (o *workflowObserver) ObservedTx(ctx context.Context, tx pgx.Tx, h router.Handled) error {
	if o.Timers != nil {
		o.Timers.Observed(ctx, h)
	}
	return o.Triggers.ObservedTx(ctx, tx, h)
}

// newWorkflowWebhooks builds the workflows' webhooks: secrets sealed with
// TOKEN_ENCRYPTION_KEY, per-webhook limits in Redis when it is configured.
func newWorkflowWebhooks(a *app, flows *workflow.Service, logger *slog.Logger) *workflow.Webhooks {
	return workflow.NewWebhooks(workflow.WebhooksConfig{Service: flows, Pool: a.pool, Secrets: a.secrets, Limiter: a.limiter,
		Logger: logger.With("component", "workflow-webhooks")})
}
