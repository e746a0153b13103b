package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogramPercentilesExact(t *testing.T) {
	// 1…100 ns, shuffled: below subCount every value has its own bucket.
	var h histogram
	for _, v := range rand.New(rand.NewPCG(1, 2)).Perm(100) {
		h.Record(int64(v + 1))
	}
	cases := []struct {
		q    float64
		want int64
	}{{0, 1}, {1, 1}, {50, 50}, {90, 90}, {99, 99}, {99.5, 100}, {100, 100}}
	for _, c := range cases {
		if got := h.Percentile(c.q); got != c.want {
			t.Errorf("p%v of 1…100 = %d, want %d", c.q, got, c.want)
		}
	}
	if h.Count() != 100 || h.Mean() != 50 || h.Max() != 100 {
		t.Errorf("count %d, mean %d, max %d; want 100, 50, 100", h.Count(), h.Mean(), h.Max())
	}
}

func TestHistogramPercentilesLarge(t *testing.T) {
	// 1 ms … 1000 ms: p50 is 500 ms and p99 990 ms, to within 0.8 %.
	var h histogram
	for i := int64(1000); i >= 1; i-- {
		h.Record(i * int64(time.Millisecond))
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{{50, 500 * time.Millisecond}, {90, 900 * time.Millisecond}, {99, 990 * time.Millisecond}, {100, time.Second}}
	for _, c := range cases {
		got := time.Duration(h.Percentile(c.q))
		if diff := got - c.want; diff < -c.want/125 || diff > c.want/125 {
			t.Errorf("p%v = %s, want %s ± 0.8%%", c.q, got, c.want)
		}
	}
	if h.Max() != int64(time.Second) {
		t.Errorf("max = %d, want exactly %d", h.Max(), time.Second)
	}
}

func TestHistogramSkewed(t *testing.T) {
	// 98 fast answers and 2 slow ones: p50 is fast, p99 slow.
	var h histogram
	for range 98 {
		h.Record(int64(2 * time.Millisecond))
	}
	h.Record(int64(300 * time.Millisecond))
	h.Record(int64(400 * time.Millisecond))
	if got := time.Duration(h.Percentile(50)); got < 1980*time.Microsecond || got > 2020*time.Microsecond {
		t.Errorf("p50 = %s, want 2ms", got)
	}
	if got := time.Duration(h.Percentile(99)); got < 297*time.Millisecond || got > 303*time.Millisecond {
		t.Errorf("p99 = %s, want 300ms", got)
	}
	if got := time.Duration(h.Percentile(100)); got != 400*time.Millisecond {
		t.Errorf("p100 = %s, want exactly the max, 400ms", got)
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every value falls in a bucket whose range holds it, buckets are in
	// order, and a bucket is at most 1/64 of its values wide.
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<20 + 12345, histMax - 1, histMax} {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi || i >= histBuckets {
			t.Errorf("value %d: bucket %d holds %d…%d (of %d buckets)", v, i, lo, hi, histBuckets)
		}
		if i < prev {
			t.Errorf("value %d: bucket %d comes before the previous value's %d", v, i, prev)
		}
		if v >= subCount && (hi-lo+1)*64 > lo {
			t.Errorf("value %d: bucket %d…%d is wider than 1/64", v, lo, hi)
		}
		prev = i
	}
	for i := 1; i < histBuckets; i++ {
		_, hi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != hi+1 {
			t.Fatalf("bucket %d starts at %d, the one before ends at %d: want no gap or overlap", i, lo, hi)
		}
	}
}

func TestHistogramBadValuesAndMerge(t *testing.T) {
	var a, b histogram
	if a.Percentile(99) != 0 || a.Mean() != 0 {
		t.Errorf("an empty histogram: p99 %d, mean %d; want 0", a.Percentile(99), a.Mean())
	}
	a.Record(-5)          // counts as 0
	b.Record(1 << 62)     // beyond the range: counts as the largest
	b.Record(histMax + 1) // likewise
	a.Merge(&b)
	a.Merge(&histogram{}) // an empty one changes nothing
	if a.Count() != 3 || a.Percentile(0) != 0 || a.Max() != histMax {
		t.Errorf("count %d, p0 %d, max %d; want 3, 0, %d", a.Count(), a.Percentile(0), a.Max(), histMax)
	}
	if got := a.Percentile(150); got != histMax {
		t.Errorf("p150 = %d, want it taken as p100, %d", got, histMax)
	}
	if got := a.Percentile(-3); got != 0 {
		t.Errorf("p-3 = %d, want it taken as p0, 0", got)
	}
}

// postTo builds POST requests to u.
func postTo(u string) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		return http.NewRequest(http.MethodPost, u, strings.NewReader(benchBody))
	}
}

func TestLoadTestCountsRequests(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		time.Sleep(time.Millisecond)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	res, err := loadTest(t.Context(), loadTestConfig{Workers: 4, Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond, Build: postTo(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || len(res.Status) != 0 {
		t.Errorf("errors %d (%v, first %q), want none", res.Errors, res.Status, res.FirstErr)
	}
	// 4 workers at ≥ 1 ms a request for 400 ms: at most 1,600, and surely
	// over 100 (a worker that ran one request only would give 4).
	if res.Requests < 100 || res.Requests > 1600 {
		t.Errorf("%d requests measured, want 100 to 1,600", res.Requests)
	}
	// The warm-up's requests were served but not measured.
	if n := served.Load(); n <= res.Requests || res.TotalOK != n {
		t.Errorf("served %d, measured %d, 2xx in all %d: want more served than measured, and every one a 2xx", n, res.Requests, res.TotalOK)
	}
	if res.Latencies.Count() != res.Requests {
		t.Errorf("%d latencies for %d requests", res.Latencies.Count(), res.Requests)
	}
	if p50 := res.Percentile(50); p50 < time.Millisecond || p50 > 200*time.Millisecond {
		t.Errorf("p50 %s: the server sleeps 1 ms, so want 1 ms to 200 ms", p50)
	}
	if rps := res.RPS(); rps != float64(res.Requests)/0.4 {
		t.Errorf("req/s %.1f, want requests / 0.4 s = %.1f", rps, float64(res.Requests)/0.4)
	}
}

func TestLoadTestCountsErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 0:
			http.Error(w, "broken", http.StatusInternalServerError)
		case 1:
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer srv.Close()
	res, err := loadTest(t.Context(), loadTestConfig{Workers: 2, Duration: 300 * time.Millisecond, Warmup: -1, Build: postTo(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 40 {
		t.Fatalf("only %d requests in 300 ms", res.Requests)
	}
	// A quarter are 500s and a quarter 429s, give or take the requests in
	// flight when the window closed.
	if got := res.Status[500] + res.Status[429]; res.Errors != got || got < res.Requests/2-4 || got > res.Requests/2+4 {
		t.Errorf("errors %d (%v) of %d requests: want half of them, all 500 or 429", res.Errors, res.Status, res.Requests)
	}
	if res.Status[500] == 0 || res.Status[429] == 0 || res.Failures != 0 {
		t.Errorf("statuses %v, failures %d: want both 500s and 429s and no failed connection", res.Status, res.Failures)
	}
	if !strings.HasPrefix(res.FirstErr, "status ") {
		t.Errorf("first error %q, want a status", res.FirstErr)
	}
}

func TestLoadTestServerGone(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	res, err := loadTest(t.Context(), loadTestConfig{Workers: 2, Duration: 100 * time.Millisecond, Warmup: -1, Build: postTo(u)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != res.Requests || res.Failures != res.Requests || !strings.Contains(res.FirstErr, "connect") {
		t.Errorf("requests %d, errors %d, failures %d, first %q: want every request failed to connect", res.Requests, res.Errors, res.Failures, res.FirstErr)
	}
}

func TestLoadTestBadConfig(t *testing.T) {
	ok := postTo("http://127.0.0.1:1/")
	cases := []struct {
		name string
		cfg  loadTestConfig
		want string
	}{
		{"no builder", loadTestConfig{}, "no request builder"},
		{"negative workers", loadTestConfig{Workers: -1, Build: ok}, "-1 workers"},
		{"too many workers", loadTestConfig{Workers: 10001, Build: ok}, "10001 workers"},
		{"negative duration", loadTestConfig{Duration: -time.Second, Build: ok}, "duration -1s"},
		{"negative timeout", loadTestConfig{Timeout: -time.Second, Build: ok}, "timeout -1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadTest(t.Context(), c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestLoadTestBuilderFails(t *testing.T) {
	var calls atomic.Int64
	_, err := loadTest(t.Context(), loadTestConfig{Workers: 3, Duration: time.Minute, Warmup: -1, Build: func() (*http.Request, error) {
		if calls.Add(1) > 5 {
			return nil, context.DeadlineExceeded
		}
		return http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	}})
	if err == nil || !strings.Contains(err.Error(), "build a request") {
		t.Errorf("err = %v, want the builder's failure, well before the minute is over", err)
	}
}

func TestLoadTestCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := loadTest(ctx, loadTestConfig{Workers: 2, Duration: time.Minute, Build: postTo(srv.URL)})
	if err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("err = %v after %s: want the context's end, at once", err, time.Since(start))
	}
}
