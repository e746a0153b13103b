package telemetry_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/telemetry"
)

type probeArgs struct{}

func (probeArgs) Kind() string { return "telemetry.probe" }

// depths gathers reg's waddle_job_queue_depth series as queue/state → jobs.
func depths(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "waddle_job_queue_depth" {
			continue
		}
		for _, m := range f.GetMetric() {
			var queue, state string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "queue":
					queue = l.GetValue()
				case "state":
					state = l.GetValue()
				default:
					t.Errorf("unexpected label %s=%s", l.GetName(), l.GetValue())
				}
			}
			got[queue+"/"+state] = m.GetGauge().GetValue()
		}
	}
	return got
}

func TestJobsCollectorCountsByQueueAndState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"default", "default", "workflow", "imports"} {
		if _, err := jobs.Insert(ctx, probeArgs{}, &river.InsertOpts{Queue: q}); err != nil {
			t.Fatal(err)
		}
	}
	// A finished job is history, not depth.
	done, err := jobs.Insert(ctx, probeArgs{}, &river.InsertOpts{Queue: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1", done.Job.ID); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewJobsCollector(pool, []string{"default", "workflow"}, slog.New(slog.DiscardHandler)))
	got := depths(t, reg)
	want := map[string]float64{"default/available": 2, "workflow/available": 1, "imports/available": 1,
		"default/running": 0, "workflow/retryable": 0, "default/scheduled": 0}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got["default/completed"]; ok {
		t.Errorf("finished jobs exported as depth: %v", got)
	}
	// The served queues show every unfinished state; another queue only what it holds.
	if n := len(got); n != 2*5+1 {
		t.Errorf("%d series, want %d: %v", n, 2*5+1, got)
	}
}

func TestJobsCollectorLeavesSeriesOutWhenTheQueryFails(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	pool.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewJobsCollector(pool, []string{"default"}, slog.New(slog.DiscardHandler)))
	if diff := cmp.Diff(map[string]float64{}, depths(t, reg)); diff != "" {
		t.Errorf("series after a failed query (-want +got):\n%s", diff)
	}
}
