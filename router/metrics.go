package router

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Error kinds counted by waddle_errors_total.
const (
	ErrKindEvent             = "event"              // an event failed (database, Redis, a module's internal error)
	ErrKindNotLinked         = "not_linked"         // an event from a server no community has linked
	ErrKindModule            = "module_error"       // a module failed while running a command
	ErrKindModuleTimeout     = "module_timeout"     // a module ran out of time
	ErrKindCapabilityRefused = "capability_refused" // a module's output was refused for want of a capability
)

// metrics are the router's Prometheus series. Their labels take a few
// fixed values (platform, kind, outcome), so every child is made once in
// newMetrics and the hot path reads a map that never changes: no lock, no
// label hashing, no allocation.
type metrics struct {
	events   map[metricKey]prometheus.Counter // platform, kind
	commands map[metricKey]prometheus.Counter // platform, outcome
	latency  map[string]prometheus.Observer   // platform: an event's handling
	cmdTime  map[string]prometheus.Observer   // platform: a command's run
	errs     map[string]prometheus.Counter    // error kind
	vecs     []prometheus.Collector           // registered
	other    struct {
		event, command   prometheus.Counter
		latency, cmdTime prometheus.Observer
	}
}

type metricKey struct{ a, b string }

// commandOutcomes are the outcomes of the execution log (Outcomes) and
// "lapsed", an installed module whose subscription ended.
var commandOutcomes = append(append([]string{}, Outcomes...), "lapsed")

// newMetrics makes the router's series and registers them with reg, when
// not nil.
func newMetrics(reg prometheus.Registerer) *metrics {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waddle_router_events_total",
		Help: "Events the router handled, by platform and kind (dry runs of the simulator excluded)."}, []string{"platform", "kind"})
	commands := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waddle_router_commands_total",
		Help: "Commands the router ran, by platform and outcome (ok, denied, rate_limited, refused, error, lapsed)."}, []string{"platform", "outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waddle_router_handle_duration_seconds",
		Help:    "Time from an event's arrival at the router to its decision (moderation, commands, points), by platform.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"platform"})
	cmdTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "waddle_router_command_duration_seconds",
		Help:    "Time a command took from its parsing to its outcome (permission, limits, the module or response), by platform.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"platform"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waddle_errors_total",
		Help: "Errors by kind: event, not_linked, module_error, module_timeout, capability_refused."}, []string{"kind"})
	m := &metrics{events: map[metricKey]prometheus.Counter{}, commands: map[metricKey]prometheus.Counter{},
		latency: map[string]prometheus.Observer{}, cmdTime: map[string]prometheus.Observer{}, errs: map[string]prometheus.Counter{},
		vecs: []prometheus.Collector{events, commands, latency, cmdTime, errs}}
	for _, p := range Platforms {
		for _, k := range Kinds {
			m.events[metricKey{p, string(k)}] = events.WithLabelValues(p, string(k))
		}
		for _, o := range commandOutcomes {
			m.commands[metricKey{p, o}] = commands.WithLabelValues(p, o)
		}
		m.latency[p] = latency.WithLabelValues(p)
		m.cmdTime[p] = cmdTime.WithLabelValues(p)
	}
	for _, k := range []string{ErrKindEvent, ErrKindNotLinked, ErrKindModule, ErrKindModuleTimeout, ErrKindCapabilityRefused} {
		m.errs[k] = errs.WithLabelValues(k)
	}
	m.other.event = events.WithLabelValues("other", "other")
	m.other.command = commands.WithLabelValues("other", "other")
	m.other.latency = latency.WithLabelValues("other")
	m.other.cmdTime = cmdTime.WithLabelValues("other")
	if reg != nil {
		reg.MustRegister(m.vecs...)
	}
	return m
}

// handled counts an event whose decision took seconds.
func (m *metrics) handled(platform string, kind Kind, seconds float64) {
	c, ok := m.events[metricKey{platform, string(kind)}]
	if !ok {
		c = m.other.event
	}
	c.Inc()
	o, ok := m.latency[platform]
	if !ok {
		o = m.other.latency
	}
	o.Observe(seconds)
}

// ran counts a command's run, which took seconds.
func (m *metrics) ran(platform, outcome string, seconds float64) {
	c, ok := m.commands[metricKey{platform, outcome}]
	if !ok {
		c = m.other.command
	}
	c.Inc()
	o, ok := m.cmdTime[platform]
	if !ok {
		o = m.other.cmdTime
	}
	o.Observe(seconds)
}

// failed counts an error of a kind (the ErrKind constants).
func (m *metrics) failed(kind string) {
	m.errs[kind].Inc()
}

// moduleFailed counts a module's failure, telling a timeout apart.
func (m *metrics) moduleFailed(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		m.failed(ErrKindModuleTimeout)
		return
	}
	m.failed(ErrKindModule)
}

// lookupFailed counts an event whose community could not be found.
func (r *Router) lookupFailed(err error) {
	if errors.Is(err, ErrNotLinked) {
		r.metrics.failed(ErrKindNotLinked)
		return
	}
	r.metrics.failed(ErrKindEvent)
}
