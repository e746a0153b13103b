package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"golang.org/x/sync/errgroup"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/auth"
	slackbot "github.com/waddle/waddle/bots/slack"
	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/health"
	"github.com/waddle/waddle/identity"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/mail"
	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/overlay"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/telemetry"
	"github.com/waddle/waddle/timers"
	"github.com/waddle/waddle/workflow"
)

// serve runs the hub, API and job workers until ctx ends, then shuts down in
// order: stop taking requests and let in-flight ones finish, let running jobs
// finish, then close the pools. ln, when not nil, is used instead of LISTEN_ADDR.
func serve(ctx context.Context, cfg config, logger *slog.Logger, ln net.Listener) error {
	if ln != nil {
		defer ln.Close() // also when start-up fails before serving
	}
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	if err := db.MigrateUp(ctx, a.pool, logger.With("component", "migrate")); err != nil {
		return err
	}

	workers := river.NewWorkers()
	mailers := a.auth.MailComposers()
	maps.Copy(mailers, a.comm.MailComposers())
	river.AddWorker(workers, &mail.SendWorker{Sender: a.sender, Compose: mailers, Logger: logger.With("component", "mail")})
	river.AddWorker(workers, &auth.ResetRequestWorker{Service: a.auth})
	river.AddWorker(workers, &auth.SweepWorker{Service: a.auth})
	river.AddWorker(workers, &router.SweepWorker{Pool: a.pool})
	ov := overlay.New(overlay.Config{Pool: a.pool, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Logger: logger.With("component", "overlay")})
	sender := &botSender{}          // the bots need the router: they join the sender once built
	observer := &workflowObserver{} // so do the workflows
	directory := &botDirectory{}    // filled with the bots too
	binder := &pendingBinder{}      // imported balances waiting for their viewer; the importer joins below
	lines := timers.NewLines(timers.LinesConfig{Pool: a.pool, Logger: logger.With("component", "timers")})
	observer.Timers = lines
	var lbls *labels.Service                                                                   // the roles of labels and the labels know each other
	groups := labels.NewGroups(labels.GroupsConfig{Pool: a.pool, Jobs: a.jobs, Logger: logger, // the bots join once built
		LabelsChanged: func(ctx context.Context, cid int64) { lbls.Invalidate(ctx, cid) }})
	lbls = labels.New(labels.Config{Pool: a.pool, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Roles: groups, Logger: logger})
	ids := identity.NewService(identity.Config{Pool: a.pool, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Logger: logger,
		Limiter: a.limiter, Sender: sender, Directory: directory, OnSeen: binder.seen,
		Merges: labels.MergeFollower{Labels: lbls, Roles: groups}})
	extra := append(modules.Identity(ids), modules.Labelling(lbls)...)
	reg := prometheus.NewRegistry()
	rt := router.New(router.Config{Modules: append(modules.All(), extra...), Identities: ids, Seen: ids, Pool: a.pool, Read: a.replica, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Overlays: ov,
		Limiter: a.limiter, Logger: logger.With("component", "router"), Executor: a.exec, Secrets: a.secrets, Sender: sender, Observer: observer, Metrics: reg,
		Tracer: a.tracing.Tracer("github.com/waddle/waddle/router")})
	settings := router.NewSettings(rt)
	logins := &twitchLogins{} // the Twitch bot joins below
	imports := importer.New(importer.Config{Pool: a.pool, Jobs: a.jobs, Commands: settings, Resolver: logins, Logger: logger})
	binder.imports = imports
	river.AddWorker(workers, &importer.ApplyWorker{Service: imports})
	bots, err := newBots(cfg, a, rt, settings, logger)
	if err != nil {
		return err
	}
	sender.bots = bots.senders
	directory.bots = bots.senders
	logins.bots = bots.senders
	deliveries := platform.NewDeliveries(a.pool, a.jobs)
	var slackBot slackbot.Responder // nil when the Slack bot is off: responses are dropped with a log line
	if bots.slack != nil {
		slackBot = bots.slack
	}
	slackWorker := slackbot.NewWorker(deliveries, rt, slackBot, logger.With("component", "slack"))
	river.AddWorker(workers, slackWorker)
	var twitchChat twitch.ChatResponder // nil when the Twitch bot is off: chat responses are dropped with a log line
	if bots.twitch != nil {
		twitchChat = bots.twitch
	}
	river.AddWorker(workers, &twitch.EventSubWorker{Deliveries: deliveries, Router: rt, Chat: twitchChat, Logger: logger.With("component", "twitch")})
	for p, g := range bots.givers {
		groups.SetGiver(p, g)
	}
	river.AddWorker(workers, &labels.RoleWorker{Groups: groups})
	flows, licensing, triggers, schedules := newWorkflows(cfg, a, rt, settings, observer, ov, workers, logger)
	flowHooks := newWorkflowWebhooks(a, flows, logger)
	timerSvc := timers.New(timers.Config{Pool: a.pool})
	timerFire := timers.NewScheduler(timers.SchedulerConfig{Pool: a.pool, Poster: rt, Logger: logger.With("component", "timers")})
	runner, err := river.NewClient(riverpgxv5.New(a.pool), &river.Config{
		Logger:  logger.With("component", "jobs"),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}, workflow.Queue: {MaxWorkers: 10}},
		Workers: workers,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(auth.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return auth.SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return router.SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return workflow.SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}

	var breaker *health.RedisBreaker // every user of Redis falls back at once while it is down
	if a.redis != nil {
		breaker = health.NewRedisBreaker(a.redis, health.RedisBreakerConfig{Logger: logger.With("component", "redis")})
	}
	sessions := auth.NewSessionStore(a.pool, a.redis, cfg.RedisPrefix+"session:", logger.With("component", "sessions"))
	if err := a.auth.PasskeysOff(); err != nil {
		logger.WarnContext(ctx, "passkeys are off", "err", err)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	readPool := a.pool
	if a.replica != nil {
		readPool = a.replica
	}
	reg.MustRegister(platform.NewCollector(bots.statuses...),
		telemetry.NewJobsCollector(a.pool, []string{river.QueueDefault, workflow.Queue}, logger.With("component", "metrics")))
	market := marketplace.New(marketplace.Config{Pool: a.pool, Read: readPool, Box: a.secrets, Settings: settings,
		Payments: cfg.Payments.provider(cfg.BaseURL, logger), BaseURL: cfg.BaseURL, Logger: logger.With("component", "marketplace")})
	// The marketplace lists the plain built-ins; the label commands belong to
	// the labels feature and are not installable modules.
	var core []router.Declaration
	for _, m := range modules.All() {
		core = append(core, m.Declaration())
	}
	if err := market.SyncCore(ctx, core); err != nil {
		return fmt.Errorf("list the built-in modules in the marketplace: %w", err)
	}
	hcfg := handlers.Config{
		Marketplace:    market,
		Identity:       ids,
		Labels:         lbls,
		Groups:         groups,
		Router:         rt,
		Settings:       settings,
		Overlays:       ov,
		Workflows:      flows,
		Schedules:      schedules,
		Timers:         timerSvc,
		WorkflowAccess: workflow.NewPermissions(a.pool),
		Licensing:      licensing,
		Auth:           a.auth,
		Communities:    a.comm,
		Audit:          audit.Log{Pool: readPool},
		Health: health.Checker{Primary: a.pool, Replica: a.replica, Redis: a.redis, Breaker: breaker, Fallbacks: []health.Fallback{sessions, a.limiter}, MailMode: a.mailVia, Jobs: a.jobs,
			EventSub: cfg.EventSubSecret != "", EventSubTransport: bots.eventSubTransport, Slack: cfg.SlackSigning != "", Bots: bots.statuses, Leases: bots.leases},
		Limiter:         a.limiter,
		Sessions:        sessions,
		Logger:          logger.With("component", "http"),
		Registry:        reg,
		EventSub:        twitch.NewEventSub(deliveries, logger.With("component", "twitch")),
		EventSubSecret:  cfg.EventSubSecret,
		Tokens:          bots.tokens,
		Links:           bots.links,
		TwitchBotLogin:  cfg.Twitch.BotLogin,
		DiscordAppID:    cfg.Discord.AppID,
		BaseURL:         cfg.BaseURL,
		SessionIdle:     cfg.SessionIdle,
		SessionLifetime: cfg.SessionLifetime,
		CORSOrigins:     cfg.CORSOrigins,
		TrustedProxies:  cfg.TrustedProxies,
		MetricsNetworks: cfg.MetricsNetworks,
		APIRateLimits:   cfg.APIRateLimits,
	}
	// The optional receivers and OAuth clients are interfaces there: set only
	// the ones that are on, so that off stays nil.
	if r := slackbot.NewReceiver(slackbot.ReceiverConfig{Deliveries: deliveries, SigningSecret: cfg.SlackSigning, Prompts: bots.slackFast,
		Logger: logger.With("component", "slack")}); r != nil {
		hcfg.Slack = r
	}
	if bots.twitchOAuth != nil {
		hcfg.TwitchOAuth = bots.twitchOAuth
	}
	if bots.slackOAuth != nil {
		hcfg.SlackOAuth = bots.slackOAuth
	}
	hcfg.AccountOAuth = accountOAuth(cfg, bots) // config_discord_oauth.go
	hcfg.WorkflowWebhooks = flowHooks
	hcfg.Imports, hcfg.NightbotAPI, hcfg.StreamElementsAPI = imports, cfg.Imports.nightbotAPI(), cfg.Imports.streamElementsAPI()
	h := handlers.New(hcfg)

	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
			return &configError{"LISTEN_ADDR", fmt.Sprintf("cannot be listened on: %v", err)}
		}
	}
	srv := &http.Server{
		Handler:           a.tracing.Handler(h), // h itself when tracing is off
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	g, gctx := errgroup.WithContext(ctx)
	// The router stops after the HTTP server and the bots, so events accepted
	// by in-flight requests and chat are logged before the execution log's
	// last flush.
	routerCtx, stopRouter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRouter()
	var botsRunning sync.WaitGroup
	for _, run := range bots.runs {
		botsRunning.Add(1)
		g.Go(func() error {
			defer botsRunning.Done()
			return run(gctx)
		})
	}
	// Slack modals open from the prompt lane, apart from the job workers;
	// it routes, so the router outlives it like the bots.
	botsRunning.Add(1)
	g.Go(func() error {
		defer botsRunning.Done()
		return slackWorker.RunPrompts(gctx, bots.slackFast)
	})
	if breaker != nil {
		g.Go(func() error { return breaker.Run(gctx) })
	}
	g.Go(func() error {
		if err := ov.Run(gctx); err != nil {
			return fmt.Errorf("overlays: %w", err)
		}
		return nil
	})
	g.Go(func() error { return flows.Run(gctx) })
	g.Go(func() error { return lbls.Run(gctx) }) // drops label searches other instances changed
	g.Go(func() error { return triggers.Run(gctx) })
	g.Go(func() error { return flowHooks.Run(gctx) })
	g.Go(func() error { return schedules.Run(gctx) })
	g.Go(func() error { return timerFire.Run(gctx) })
	g.Go(func() error { return imports.RunResumer(gctx, 5*time.Second) }) // queues imports whose worker died again
	g.Go(func() error { return lines.Run(routerCtx) })                    // counts until the router stops, then flushes once more
	// Sightings are written until the router stops, then once more.
	g.Go(func() error { return ids.Run(routerCtx) })
	g.Go(func() error {
		if err := rt.Run(routerCtx); err != nil {
			return fmt.Errorf("router: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		logger.InfoContext(ctx, "waddle hub listening", "addr", ln.Addr().String(), "url", cfg.BaseURL)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		// Start's context ending is River's abrupt stop, cancelling running jobs;
		// the graceful stop is runner.Stop below, so Start gets no cancellation.
		if err := runner.Start(context.WithoutCancel(gctx)); err != nil {
			if gctx.Err() != nil {
				return nil // stopped before the workers were up
			}
			return fmt.Errorf("start job workers: %w", err)
		}
		<-gctx.Done()
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := runner.Stop(stopCtx); err != nil {
			logger.WarnContext(ctx, "jobs did not finish in time; cancelling them", "err", err)
			cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
			defer cancel()
			if err := runner.StopAndCancel(cancelCtx); err != nil {
				return fmt.Errorf("stop job workers: %w", err)
			}
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		logger.InfoContext(ctx, "shutting down: finishing in-flight requests")
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), cfg.ShutdownTimeout)
		defer cancel()
		defer func() {
			botsRunning.Wait()
			stopRouter()
		}()
		if err := srv.Shutdown(shutCtx); err != nil {
			return fmt.Errorf("http shutdown: %w", err)
		}
		// Synchronous webhooks answered just now have their runs still to write.
		if err := flows.Drain(shutCtx); err != nil {
			return err
		}
		return nil
	})
	err = g.Wait()
	logger.InfoContext(context.WithoutCancel(ctx), "stopped")
	return err
}
