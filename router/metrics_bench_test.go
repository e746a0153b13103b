package router

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMetricsPerCommand is what the metrics add to one chat command on
// the hot path: an event counted with its latency, and the command's
// outcome with its own. It must not allocate.
func BenchmarkMetricsPerCommand(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.ran(Twitch, "ok", 0.0012)
		m.handled(Twitch, ChatMessage, 0.0031)
	}
}

func TestMetricsPerCommandDoNotAllocate(t *testing.T) {
	m := newMetrics(nil)
	if n := testing.AllocsPerRun(100, func() {
		m.ran(Twitch, "ok", 0.0012)
		m.handled(Twitch, ChatMessage, 0.0031)
		m.ran("elsewhere", "odd", 0.1) // an unknown platform or outcome falls to "other"
	}); n != 0 {
		t.Errorf("%v allocations per command", n)
	}
}

func TestTracingOffDoesNotAllocate(t *testing.T) {
	r := &Router{} // no tracer: tracing is off
	ev := Event{Platform: Twitch, Kind: ChatMessage}
	ctx := t.Context()
	if n := testing.AllocsPerRun(100, func() {
		c, span := r.startSpan(ctx, "router.handle", ev)
		if c != ctx {
			t.Fatal("tracing off changed the context")
		}
		endSpan(span, errTest)
	}); n != 0 {
		t.Errorf("%v allocations per event with tracing off", n)
	}
}

var errTest = errors.New("test")
