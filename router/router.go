package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/executor"
	"github.com/waddle/waddle/invalidation"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/secret"
)

// Config holds what the router needs.
type Config struct {
	Pool        *pgxpool.Pool // writes
	Read        *pgxpool.Pool // lookups; the primary when nil
	Redis       *redis.Client // cache invalidation across instances; nil on one machine
	RedisPrefix string
	Limiter     *ratelimit.Limiter
	Logger      *slog.Logger
	CacheTTL    time.Duration         // default 60s; changes invalidate at once anyway
	Limits      Limits                // zero: DefaultLimits
	Overlays    OverlaySink           // browser sources; nil: none
	Executor    *executor.Client      // remote modules (#name); nil: off
	Secrets     *secret.Box           // opens the modules' sealed secrets
	Modules     []Module              // built-in modules, each also a built-in command
	Observer    Observer              // told of every handled event; nil: none
	Sender      Sender                // sends to linked channels without an event; nil: Send refuses
	Identities  Identities            // the speaking account's identity, cached; nil: events are handled by account
	Seen        Seen                  // records who spoke where; nil: nothing recorded
	Metrics     prometheus.Registerer // takes the router's metrics (metrics.go); nil: counted, not exported
	Tracer      trace.Tracer          // spans of the events' handling (tracing.go); nil: none
}

// Router is the engine: it handles events (moderation, commands, points)
// with each community's configuration from a cache that Settings invalidates.
type Router struct {
	*cache
	pool     *pgxpool.Pool
	limiter  *ratelimit.Limiter
	logger   *slog.Logger
	limits   Limits
	reg      *registry // built-in modules
	log      *execLog
	paid     paidSet
	owner    int64   // this instance's id in the event ids it claims
	flights  flights // event ids being claimed or handled here
	exec     *executor.Client
	box      *secret.Box
	overlays OverlaySink
	observer Observer
	sender   Sender
	// identities and seen are the identity package's seams (identity.go).
	identities Identities
	seen       Seen
	outbound   sync.WaitGroup // HTTP calls made for modules (capabilities.go)
	metrics    *metrics
	tracer     trace.Tracer // nil: tracing off
}

// cache holds the communities' snapshots and server links, shared by the
// engine and Settings of one instance; a change made through Settings drops
// them here and, through Redis, on every other instance.
type cache struct {
	read    *pgxpool.Pool
	rdb     *redis.Client
	channel string
	logger  *slog.Logger
	ttl     time.Duration

	mu        sync.RWMutex
	snapshots map[int64]*snapshot
	entities  map[entityKey]entityEntry
}

type entityKey struct{ platform, server string }

type entityEntry struct {
	communityID int64 // 0: not linked
	loaded      time.Time
}

// New returns a Router; call Run to start its background work.
func New(cfg Config) *Router {
	if cfg.Read == nil {
		cfg.Read = cfg.Pool
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = time.Minute
	}
	if cfg.Secrets == nil {
		cfg.Secrets, _ = secret.New("")
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	c := &cache{read: cfg.Read, rdb: cfg.Redis, channel: cfg.RedisPrefix + "router:invalidate", logger: cfg.Logger, ttl: cfg.CacheTTL,
		snapshots: map[int64]*snapshot{}, entities: map[entityKey]entityEntry{}}
	r := &Router{cache: c, pool: cfg.Pool, limiter: cfg.Limiter, logger: cfg.Logger, limits: cfg.Limits, exec: cfg.Executor, box: cfg.Secrets, overlays: cfg.Overlays,
		observer: cfg.Observer, sender: cfg.Sender, identities: cfg.Identities, seen: cfg.Seen}
	r.owner = newOwner()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
		r.logger = cfg.Logger
	}
	r.reg = newRegistry(cfg.Modules, cfg.Logger)
	r.log = newExecLog(cfg.Pool, cfg.Logger)
	r.metrics = newMetrics(cfg.Metrics)
	r.tracer = cfg.Tracer
	return r
}

// Run holds the lock that shows other instances this one is alive (its
// claims of event ids stand), listens for cache invalidations from other
// instances and writes the execution log in batches, until ctx ends; then it
// flushes what is left.
func (r *Router) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.holdInstanceLock(ctx)
	}()
	if r.rdb != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.listen(ctx)
		}()
	}
	err := r.log.run(ctx)
	wg.Wait()
	r.outbound.Wait()
	return err
}

// listen drops snapshots that another instance changed.
func (r *cache) listen(ctx context.Context) {
	invalidation.Follow(ctx, r.rdb, r.channel, r.dropAll, func(payload string) {
		if payload == "entities" {
			r.mu.Lock()
			r.entities = map[entityKey]entityEntry{}
			r.mu.Unlock()
			return
		}
		if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
			r.drop(id)
		}
	})
}

// dropAll forgets every cached snapshot and server link.
func (r *cache) dropAll() {
	r.mu.Lock()
	r.snapshots = map[int64]*snapshot{}
	r.entities = map[entityKey]entityEntry{}
	r.mu.Unlock()
}

func (r *cache) drop(communityID int64) {
	r.mu.Lock()
	delete(r.snapshots, communityID)
	r.mu.Unlock()
}

// invalidate forgets a community's cached commands and rules here and on every instance.
func (r *cache) invalidate(ctx context.Context, communityID int64) {
	r.drop(communityID)
	if r.rdb != nil {
		if err := r.rdb.Publish(ctx, r.channel, strconv.FormatInt(communityID, 10)).Err(); err != nil {
			r.logger.WarnContext(ctx, "could not tell other instances of a change; they pick it up when their cache expires", "err", err)
		}
	}
}

func (r *cache) invalidateEntities(ctx context.Context) {
	r.mu.Lock()
	r.entities = map[entityKey]entityEntry{}
	r.mu.Unlock()
	if r.rdb != nil {
		if err := r.rdb.Publish(ctx, r.channel, "entities").Err(); err != nil {
			r.logger.WarnContext(ctx, "could not tell other instances of a change", "err", err)
		}
	}
}

// ErrNotLinked answers an event from a server no community has linked.
var ErrNotLinked = problem.New(problem.NotFound, "This server or channel is not linked to a community.")

// community resolves the event's server to its community's snapshot.
func (r *cache) community(ctx context.Context, platform, server string) (*snapshot, error) {
	k := entityKey{platform, server}
	r.mu.RLock()
	e, ok := r.entities[k]
	r.mu.RUnlock()
	if !ok || time.Since(e.loaded) > r.ttl {
		row, err := db.New(r.read).EntityResolve(ctx, db.EntityResolveParams{Platform: platform, Server: server})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			e = entityEntry{loaded: time.Now()}
		case err != nil:
			return nil, fmt.Errorf("resolve %s server %q: %w", platform, server, err)
		default:
			e = entityEntry{communityID: row.CommunityID, loaded: time.Now()}
		}
		r.mu.Lock()
		if len(r.entities) > 100_000 {
			r.entities = map[entityKey]entityEntry{}
		}
		r.entities[k] = e
		r.mu.Unlock()
	}
	if e.communityID == 0 {
		return nil, ErrNotLinked
	}
	return r.snapshot(ctx, e.communityID)
}

// snapshot returns the community's commands and rules, from the cache when fresh.
func (r *cache) snapshot(ctx context.Context, communityID int64) (*snapshot, error) {
	r.mu.RLock()
	s := r.snapshots[communityID]
	r.mu.RUnlock()
	if s != nil && time.Since(s.loaded) < r.ttl {
		return s, nil
	}
	s, err := loadSnapshot(ctx, r.read, communityID)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.snapshots[communityID] = s
	r.mu.Unlock()
	return s, nil
}

// Options change how one event is handled.
type Options struct {
	DryRun bool // store nothing, spend no cooldown, call no remote module; list what would change
	// Dedup claims the event id (per community) before handling it and
	// stores the answer with the event's effects, so an id seen in the last
	// 24 hours is answered with its first answer instead of being handled
	// again, even when both deliveries arrive at once. The HTTP event API and
	// platform webhooks set it; a bot whose platform never redelivers (IRC
	// chat) need not pay for it.
	Dedup bool
}

// Result is what the router decided for one event.
type Result struct {
	EventID   string         `json:"id"`
	Responses []Response     `json:"responses"`
	HandledBy string         `json:"handled_by,omitempty"` // "command !so", "rule 3 (contains)", "points"
	Points    []PointsChange `json:"points,omitempty"`
	Changes   []string       `json:"changes,omitempty"` // what was (or, in a dry run, would be) changed
	Duration  time.Duration  `json:"duration_ns"`
	Duplicate bool           `json:"duplicate,omitempty"` // answered again from the first handling
	// Commands are the commands the event ran, in order (also in a dry run;
	// not in a stored answer).
	Commands []CommandRun `json:"-"`
}

// PointsChange is one award or deduction.
type PointsChange struct {
	User    string `json:"user"`
	Delta   int64  `json:"delta"`
	Reason  string `json:"reason"`
	Balance int64  `json:"balance"`
}

// Change is how the change appears in Result.Changes.
func (pc PointsChange) Change() string {
	return fmt.Sprintf("points of %s %+d (%s)", pc.User, pc.Delta, pc.Reason)
}

// Handle runs one event through moderation, commands and points. The event
// must be valid (Event.Validate).
//
// Its database effects (points, counters, quotes, command changes) are
// written in one transaction, after which overlay updates and cache
// invalidations go out. With Dedup the event id is claimed first (see
// claim.go): a delivery of an id that another one is handling, here or on
// another instance, waits for it and returns its answer, marked Duplicate;
// the answer and the execution-log rows are stored with the effects, so a
// crash leaves an event either wholly processed (and answered again when it
// is retried) or not at all.
func (r *Router) Handle(ctx context.Context, ev Event, opts Options) (Result, error) {
	ctx, span := r.startSpan(ctx, "router.handle", ev)
	res, err := r.handle(ctx, ev, opts)
	endSpan(span, err)
	return res, err
}

func (r *Router) handle(ctx context.Context, ev Event, opts Options) (Result, error) {
	start := time.Now()
	s, err := r.community(ctx, ev.Platform, ev.Server)
	if err != nil {
		r.lookupFailed(err)
		return Result{EventID: ev.ID}, err
	}
	if opts.Dedup && !opts.DryRun && ev.ID != "" {
		var out BatchItem
		r.handleClaimed(ctx, []claimItem{{s: s, ev: ev, out: &out}}, 1)
		return out.Result, out.Err
	}
	h := r.newHandling(ctx, s, ev, opts.DryRun)
	defer h.rollback(ctx)
	return h.finish(ctx, start)
}

func (r *Router) newHandling(ctx context.Context, s *snapshot, ev Event, dry bool) *handling {
	return &handling{ctx: ctx, r: r, s: s, ev: ev, dry: dry, res: Result{EventID: ev.ID, Responses: []Response{}}}
}

// finish runs the event and commits its effects; then come overlays and
// cache invalidations, unless the batch it belongs to stores its answer.
func (h *handling) finish(ctx context.Context, start time.Time) (Result, error) {
	if err := h.run(ctx); err != nil {
		h.failed(ctx)
		h.r.metrics.failed(ErrKindEvent)
		return Result{EventID: h.ev.ID}, err
	}
	h.res.Duration = time.Since(start)
	h.res.Commands = h.ran
	if err := h.commit(ctx); err != nil {
		h.r.metrics.failed(ErrKindEvent)
		return Result{EventID: h.ev.ID}, err
	}
	if !h.dry {
		h.r.metrics.handled(h.ev.Platform, h.ev.Kind, h.res.Duration.Seconds())
	}
	if !h.batched {
		h.afterCommit(ctx)
	}
	return h.res, nil
}

// handling is the state of one event on its way through.
type handling struct {
	ctx context.Context // for the execution log queue
	r   *Router
	s   *snapshot
	ev  Event
	dry bool
	res Result
	by  *audit.Actor // the hub user behind a simulated event; nil for chat

	tx       pgx.Tx        // the event's transaction, once it has one
	claimed  bool          // this instance claimed the event's id: its answer is stored with its effects
	batched  bool          // claimed, without effects: its batch stores the answer and the executions
	reconfig bool          // a chat command changed the community's commands
	toldTx   bool          // the TxObserver was told in the transaction
	earned   *PointsChange // batched: the points it earns, written by its batch
	paidKey  string        // the chat points gate it took, given back if it fails
	identity int64         // the speaking account's identity; 0: unknown (identity.go)

	executions []db.CommandExecutionInsertParams
	ran        []CommandRun // the commands it ran, for the Observer

	mu    sync.Mutex // res and executions, written by modules run in parallel
	local sync.Mutex // one built-in module at a time: they share tx
	err   error      // a failed write that the template it happened in could not return
}

func (h *handling) changed(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res.Changes = append(h.res.Changes, fmt.Sprintf(format, args...))
}

func (h *handling) run(ctx context.Context) error {
	h.person(ctx)
	if h.ev.Kind == ChatMessage || h.ev.Kind == AppMention {
		if stop, err := h.moderate(ctx); err != nil || stop {
			return err
		}
		if inv, ok := ParseCommand(h.s.prefix, h.ev.Text); ok {
			if err := h.command(ctx, inv); err != nil {
				return err
			}
		}
	}
	if h.ev.Kind == ButtonClick || h.ev.Kind == ModalSubmit {
		// A button's or form's id is the command it runs, as a module set it:
		// "!vote yes" or "#poll close 3". Form fields arrive in Data.
		if inv, ok := ParseCommand(h.s.prefix, h.ev.Text); ok {
			if err := h.command(ctx, inv); err != nil {
				return err
			}
		}
	}
	if h.ev.Kind == SlashCommand {
		inv := Invocation{}
		if name, rest, _ := cutSpace(h.ev.Text); validName(name) {
			inv = Invocation{Name: name, Raw: rest, Args: SplitArgs(rest)}
			if err := h.command(ctx, inv); err != nil {
				return err
			}
		}
	}
	if h.err != nil {
		return h.err
	}
	if err := h.reputeResponses(ctx); err != nil {
		return err
	}
	h.alert()
	return h.award(ctx)
}

// OverlaySink receives the overlay updates of handled events (the overlay package).
type OverlaySink interface {
	Deliver(ctx context.Context, communityID int64, kind string, data map[string]any) error
}

// alertKinds are the platform events that show an alert on browser sources.
var alertKinds = map[Kind]string{Follow: "amount", Subscribe: "months", GiftSub: "count", Cheer: "bits", Raid: "viewers"}

// alert adds an overlay alert response for follows, subscriptions, gifts, cheers and raids.
func (h *handling) alert() {
	amountKey, ok := alertKinds[h.ev.Kind]
	if !ok {
		return
	}
	h.res.Responses = append(h.res.Responses, Response{Overlay: &Overlay{Kind: "alert",
		Data: map[string]any{"event": string(h.ev.Kind), "user": h.ev.User.Shown(), "amount": h.ev.dataInt(amountKey)}}})
}

// toOverlays sends the event's overlay updates, and chat lines, to the
// community's browser sources, once its effects are committed: a duplicate
// delivery, answered from the first, shows nothing again.
func (h *handling) toOverlays(ctx context.Context) {
	if h.dry || h.r.overlays == nil {
		return
	}
	for _, r := range h.res.Responses {
		if r.Overlay == nil {
			continue
		}
		// A browser source that cannot take an update does not fail the event.
		if err := h.r.overlays.Deliver(ctx, h.s.communityID, r.Overlay.Kind, r.Overlay.Data); err != nil {
			h.r.logger.WarnContext(ctx, "overlay update", "err", err, "kind", r.Overlay.Kind)
			continue
		}
		h.changed("overlay %s shown", r.Overlay.Kind)
	}
	if len(h.res.Points) > 0 {
		if err := h.r.overlays.Deliver(ctx, h.s.communityID, "leaderboard", nil); err != nil {
			h.r.logger.WarnContext(ctx, "overlay leaderboard", "err", err)
		}
	}
	if h.ev.Kind == ChatMessage && h.ev.Text != "" {
		if err := h.r.overlays.Deliver(ctx, h.s.communityID, "chat", map[string]any{"user": h.ev.User.Shown(), "message": h.ev.Text}); err != nil {
			h.r.logger.WarnContext(ctx, "overlay chat line", "err", err)
		}
	}
}

type limitSpec = ratelimit.Limit

func (r *Router) takeAll(ctx context.Context, limits []limitSpec) (bool, time.Duration) {
	return r.limiter.TakeAll(ctx, limits)
}
