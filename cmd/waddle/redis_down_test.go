package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/dbtest"
)

// TestServeRedisDown runs `waddle serve` on a redis-server the test kills
// and starts again. While Redis is down the hub keeps serving on its
// fallbacks (a sign-in's session goes to PostgreSQL and opens pages), and
// /readyz (still 200) and the health page say Redis is down and what runs
// on fallbacks; once it is back they say since when, and new sessions are
// kept in Redis again.
func TestServeRedisDown(t *testing.T) {
	t.Parallel()
	const email, password = "root@example.com", "redis-down-password-1"
	ctx := context.Background()
	rs := dbtest.StartRedisServer(t)
	vars := setVars(testVars(t), "REDIS_URL", rs.URL(), "REDIS_PREFIX", "w:")
	a := openTestApp(t, vars)
	if _, err := a.auth.CreateUser(ctx, email, "", password, true); err != nil {
		t.Fatal(err)
	}
	base, _ := startServe(t, vars)
	direct := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	defer direct.Close()
	sessionsInRedis := func() int {
		keys, _ := direct.Keys(ctx, "w:session:*").Result()
		return len(keys)
	}
	readyz := func() (int, string) {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	redisNotice := func(client *http.Client) (down, back string) {
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(get(t, client, base+"/health")))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(doc.Find(`[data-testid=redis-down]`).Text()), strings.TrimSpace(doc.Find(`[data-testid=redis-back]`).Text())
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				_, body := readyz()
				t.Fatalf("%s: not within 20s (readyz %q)", what, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if st, body := readyz(); st != http.StatusOK || !strings.Contains(body, "redis: ok") {
		t.Fatalf("/readyz with Redis up: %d %q", st, body)
	}
	client := signedInClient(t, base, email, password)
	if n := sessionsInRedis(); n != 1 {
		t.Fatalf("%d sessions in Redis after a sign-in, want 1", n)
	}
	if down, back := redisNotice(client); down != "" || back != "" {
		t.Errorf("health page with Redis never down: %q %q", down, back)
	}

	rs.Stop()
	// The overlay broker's and the router's subscriptions notice at once.
	eventually("/readyz says Redis is down", func() bool {
		_, body := readyz()
		return strings.Contains(body, "redis: down")
	})
	st, body := readyz()
	if st != http.StatusOK || !strings.Contains(body, "Not dialed while down") || !strings.Contains(body, "fallbacks: sessions in PostgreSQL") {
		t.Errorf("/readyz with Redis down: %d %q, want 200 saying it runs on fallbacks", st, body)
	}
	// Sign-in (its throttle in memory, its session in PostgreSQL) and pages keep working.
	during := signedInClient(t, base, email, password)
	down, _ := redisNotice(during)
	if !strings.Contains(down, "Redis is down since") || !strings.Contains(down, "sessions in PostgreSQL") {
		t.Errorf("health page with Redis down: %q", down)
	}

	rs.Start()
	eventually("/readyz says Redis is back", func() bool {
		_, body := readyz()
		return !strings.Contains(body, "redis: down") && strings.Contains(body, "back since")
	})
	if _, back := redisNotice(during); !strings.Contains(back, "Redis came back ") {
		t.Errorf("health page after Redis came back: %q", back)
	}
	eventually("a new session is kept in Redis again", func() bool {
		signedInClient(t, base, email, password)
		return sessionsInRedis() > 0
	})
}
