package handlers_test

import (
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/overlay"
)

// streamsOpen reads waddle_overlay_streams_open from e's registry.
func (e *env) streamsOpen(t *testing.T) float64 {
	t.Helper()
	fams, err := e.cfg.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "waddle_overlay_streams_open" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("waddle_overlay_streams_open is not registered")
	return 0
}

func TestOverlayStreamsOpenGauge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.user("root@example.com", true)
	c := e.community(root, "gauge", nil)
	src, token := e.mustOverlay(t, c.ID, overlay.Alerts, "Alerts")
	if got := e.streamsOpen(t); got != 0 {
		t.Fatalf("before any stream: %v open", got)
	}
	// A refused stream (unknown token) is not counted.
	bad := e.openStream(t, "/overlay/not-a-token/events", "")
	if bad.res.StatusCode == 200 {
		t.Fatalf("unknown token: status %d", bad.res.StatusCode)
	}
	s := e.openStream(t, "/overlay/"+token+"/events", "")
	s.next("retry")
	if got := e.streamsOpen(t); got != 1 {
		t.Errorf("one stream open: gauge %v", got)
	}
	// The server ends the stream of a deleted source; the response ends only
	// after the handler returned, so the gauge is down by then.
	if err := e.ov.Delete(t.Context(), audit.Actor{}, c.ID, src.ID); err != nil {
		t.Fatal(err)
	}
	if !s.ended() {
		t.Fatal("the stream of a deleted source did not end")
	}
	if got := e.streamsOpen(t); got != 0 {
		t.Errorf("after the stream ended: gauge %v", got)
	}
}
