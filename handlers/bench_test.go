package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/handlers"
	"github.com/waddle/waddle/router"
)

// BenchmarkAPIRequest measures one authenticated /api/v1 request end to end:
// key lookup by hash in PostgreSQL, the role's rate limit in Redis, JSON out.
func BenchmarkAPIRequest(b *testing.B) {
	e := newEnv(b)
	u := e.user("bench@example.com", true)
	adminKey := e.apiKey(u, "admin") // admin keys have no rate limit by default
	userKey := e.apiKey(u, "user")   // user keys: 1000 a minute, so most answers here are 429
	for _, bc := range []struct{ name, key string }{{"admin key", adminKey}, {"user key", userKey}} {
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+bc.key)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					res.Body.Close()
					if res.StatusCode != 200 && res.StatusCode != 429 {
						b.Errorf("status %d", res.StatusCode)
					}
				}
			})
		})
	}
}

// BenchmarkEventsBatch posts batches of 100 chat commands to POST /api/v1/events
// (each event de-duplicated by id in PostgreSQL, run through the router, and
// answered) from 4 parallel clients, and reports events per second.
func BenchmarkEventsBatch(b *testing.B) {
	e := newEnv(b, func(c *handlers.Config) { c.APIRateLimits = map[string]int{} })
	ctx := context.Background()
	root := e.user("bench@example.com", true)
	const channels = 20
	for i := range channels {
		c := e.community(root, fmt.Sprintf("bench%d", i), nil)
		if _, err := e.settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, fmt.Sprintf("chan%d", i), ""); err != nil {
			b.Fatal(err)
		}
		if _, err := e.settings.CreateCommand(ctx, audit.Actor{}, c.ID, router.CommandInput{Name: "hi", Response: "hi {user}", Permission: router.Everyone, Enabled: true}); err != nil {
			b.Fatal(err)
		}
	}
	key := e.apiKey(root, "trigger")
	var seq atomic.Int64
	batch := func() []byte {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for j := range 100 {
			if j > 0 {
				buf.WriteByte(',')
			}
			n := seq.Add(1)
			fmt.Fprintf(&buf, `{"id":"e%d","platform":"twitch","kind":"chat_message","server":"chan%d","channel":"c","user":{"id":"u%d","name":"viewer"},"text":"!hi"}`, n, n%channels, n%5000)
		}
		buf.WriteByte(']')
		return buf.Bytes()
	}
	start := time.Now()
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/events", bytes.NewReader(batch()))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "events/s")
}
