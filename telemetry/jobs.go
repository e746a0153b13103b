package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/db"
)

// jobsScrapeTimeout bounds the query a scrape runs; a slow database leaves
// the series out of that scrape instead of holding the scrape up.
const jobsScrapeTimeout = 2 * time.Second

// unfinished are the job states the depth counts: work waiting or running.
// Completed, cancelled and discarded jobs are history, kept by River for a
// while, not depth.
var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

// JobsCollector exports the job queue's depth (River's river_job) by queue
// and state, counted by one query on each scrape. Its labels are River's
// queue names and states only: no community, no job arguments.
type JobsCollector struct {
	pool   db.DBTX
	queues []string
	logger *slog.Logger
	depth  *prometheus.Desc
}

// NewJobsCollector returns a collector over the jobs in pool. queues are the
// queues the workers serve: each of their unfinished states is exported, 0 when empty,
// so a dashboard shows an empty queue rather than no data.
func NewJobsCollector(pool db.DBTX, queues []string, logger *slog.Logger) *JobsCollector {
	return &JobsCollector{pool: pool, queues: queues, logger: logger,
		depth: prometheus.NewDesc("waddle_job_queue_depth", "Jobs waiting or running in the job queue, by queue and state (available, pending, retryable, running, scheduled).", []string{"queue", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *JobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth }

// Collect implements prometheus.Collector.
func (c *JobsCollector) Collect(ch chan<- prometheus.Metric) {
	// A scrape carries no context; its own timeout bounds the query.
	ctx, cancel := context.WithTimeout(context.Background(), jobsScrapeTimeout)
	defer cancel()
	rows, err := db.New(c.pool).RiverJobCountByQueueState(ctx)
	if err != nil {
		c.logger.WarnContext(ctx, "count the jobs for the metrics", "err", err)
		return
	}
	type key struct{ queue, state string }
	n := map[key]int64{}
	for _, q := range c.queues {
		for _, s := range unfinished {
			n[key{q, string(s)}] = 0
		}
	}
	for _, r := range rows {
		n[key{r.Queue, r.State}] = r.Jobs
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(v), k.queue, k.state)
	}
}
