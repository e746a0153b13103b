package handlers_test

import (
	"net/http"
	"testing"
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
