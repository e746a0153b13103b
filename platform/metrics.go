package platform

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the bots' states and send queues to Prometheus.
type Collector struct {
	bots                                    []*Status
	up, depth, sent, dropped, failed, limit *prometheus.Desc
	state                                   *prometheus.Desc
}

// states are the values of waddle_bot_state's state label.
var states = []string{StateOff, StateStarting, StateConnected, StateReconnecting, StateDegraded, StateStopped}

// NewCollector returns a collector over the bots' statuses.
func NewCollector(bots ...*Status) *Collector {
	l := []string{"platform"}
	return &Collector{bots: bots,
		up:      prometheus.NewDesc("waddle_bot_connected", "1 when the platform's bot is connected.", l, nil),
		depth:   prometheus.NewDesc("waddle_outbox_depth", "Messages waiting in the platform's send queues.", l, nil),
		sent:    prometheus.NewDesc("waddle_outbox_sent_total", "Messages the platform accepted.", l, nil),
		dropped: prometheus.NewDesc("waddle_outbox_dropped_total", "Messages dropped because a send queue was full, or left at shutdown.", l, nil),
		failed:  prometheus.NewDesc("waddle_outbox_failed_total", "Messages the platform refused.", l, nil),
		limit:   prometheus.NewDesc("waddle_outbox_rate_limited_total", "Too-many-requests answers from the platform.", l, nil),
		state: prometheus.NewDesc("waddle_bot_state", "1 for the state the platform's bot is in (off, starting, connected, reconnecting, degraded, stopped), 0 for the others.",
			[]string{"platform", "state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.depth, c.sent, c.dropped, c.failed, c.limit, c.state} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.bots {
		s := b.Snapshot()
		up := 0.0
		if s.State == StateConnected {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, s.Platform)
		for _, st := range states {
			v := 0.0
			if s.State == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, s.Platform, st)
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Queue.Depth), s.Platform)
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(s.Queue.Sent), s.Platform)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Queue.Dropped), s.Platform)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.Queue.Failed), s.Platform)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.CounterValue, float64(s.Queue.RateLimited), s.Platform)
	}
}
