package handlers_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/health"
)

// BenchmarkAPIRequestRedisDown is BenchmarkAPIRequest's user-key request
// (key lookup in PostgreSQL, the role's rate limit, JSON out) with Redis
// configured at an address where nothing listens, as after Redis crashed:
// connections are refused at once. Without the breaker every request's rate
// limit check first waits on go-redis's dial retries, then falls back to
// memory; with it (as `waddle serve` runs) the check falls back at once.
func BenchmarkAPIRequestRedisDown(b *testing.B) {
	for _, bc := range []struct {
		name    string
		breaker bool
	}{{"without breaker", false}, {"with breaker", true}} {
		b.Run(bc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			if bc.breaker {
				br := health.NewRedisBreaker(rdb, health.RedisBreakerConfig{})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- br.Run(ctx) }()
				b.Cleanup(func() { cancel(); <-done })
			}
			e := newEnvOn(b, rdb, "bench:", nil)
			b.Cleanup(func() { rdb.Close() })
			u := e.user("bench@example.com", true)
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+e.apiKey(u, "user"))
			for range 5 { // the first requests find out that Redis is down
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
				}
			}
			b.ResetTimer()
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
