package main

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/overlay"
)

// TestShutdownEndsOverlayStreams: an OBS page's open event stream must not
// hold a shutdown until SHUTDOWN_TIMEOUT.
func TestShutdownEndsOverlayStreams(t *testing.T) {
	t.Parallel()
	_, prefix := dbtest.Redis(t)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix, "SHUTDOWN_TIMEOUT", "20s")
	baseURL, stop := startServe(t, vars)

	a := openTestApp(t, vars)
	ctx := context.Background()
	c, err := db.New(a.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "stream", Name: "Stream"})
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := overlay.New(overlay.Config{Pool: a.pool, Logger: slog.New(slog.DiscardHandler)}).Create(ctx, audit.Actor{}, c.ID, overlay.Alerts, "Alerts")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(baseURL + "/overlay/" + token + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "retry:") {
		t.Fatalf("stream started with %q, %v", line, err)
	}

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("serve took %v to stop with a stream open, want under 5s", d)
	}
}
