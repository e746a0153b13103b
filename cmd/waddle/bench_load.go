package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"net/http"
	"sync"
	"time"
)

// loadTestConfig is one load test: how many workers send requests in a loop, for
// how long, and how each request is made.
type loadTestConfig struct {
	Workers  int           // concurrent workers, each with its own connection (default 64)
	Duration time.Duration // measured time (default 10 s)
	Warmup   time.Duration // time before it, not measured (default 2 s; negative: none)
	Timeout  time.Duration // one request's limit (default 10 s)
	// Build makes each request afresh (a new body, a new signature).
	Build func() (*http.Request, error)
	// Transport, when set, is used instead of one made for the workers
	// (tests pass an httptest server's).
	Transport http.RoundTripper
}

// loadResult is what a load test measured in its measured window.
type loadResult struct {
	Requests  int64         // answered requests completed in the window, errors included
	Errors    int64         // of those: a status outside 2xx, or no answer
	Status    map[int]int64 // the statuses outside 2xx, counted
	Failures  int64         // requests with no answer (connection or timeout), among Errors
	FirstErr  string        // the first error seen, to say what went wrong
	Elapsed   time.Duration // the measured window
	TotalOK   int64         // 2xx answers over the whole run, warm-up included
	Total     int64         // requests completed over the whole run, warm-up included
	Latencies histogram     // of every request completed in the window
}

// RPS is the answered requests per second in the measured window.
func (r loadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile is a latency percentile of the window (q from 0 to 100).
func (r loadResult) Percentile(q float64) time.Duration {
	return time.Duration(r.Latencies.Percentile(q))
}

func (c *loadTestConfig) defaults() error {
	if c.Workers == 0 {
		c.Workers = 64
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	switch {
	case c.Workers < 1 || c.Workers > 10000:
		return fmt.Errorf("load test: %d workers: want 1 to 10000", c.Workers)
	case c.Duration < 0:
		return fmt.Errorf("load test: duration %s: want a positive duration", c.Duration)
	case c.Timeout < 0:
		return fmt.Errorf("load test: timeout %s: want a positive duration", c.Timeout)
	case c.Build == nil:
		return errors.New("load test: no request builder")
	}
	return nil
}

// loadTest sends requests from cfg.Workers workers until the warm-up and the
// measured time are over, and measures the requests that completed in the
// measured window. A request still in flight when the window closes is
// waited for but not counted. It fails when ctx ends first, or when the
// builder fails.
func loadTest(ctx context.Context, cfg loadTestConfig) (loadResult, error) {
	if err := cfg.defaults(); err != nil {
		return loadResult{}, err
	}
	rt := cfg.Transport
	if rt == nil {
		t := newLoadTransport(cfg.Workers)
		defer t.CloseIdleConnections()
		rt = t
	}
	client := &http.Client{
		Transport: rt,
		Timeout:   cfg.Timeout,
		// A redirect is an answer to count, not one to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	start := time.Now()
	from := start.Add(cfg.Warmup)
	until := from.Add(cfg.Duration)
	workers := make([]loadWorker, cfg.Workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.conn.timeout = cfg.Timeout
			defer w.conn.close()
			if err := w.run(ctx, &cfg, client, from, until); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return loadResult{}, err
	}
	res := loadResult{Elapsed: cfg.Duration, Status: map[int]int64{}}
	for i := range workers {
		w := &workers[i]
		res.Requests += w.requests
		res.Errors += w.errors
		res.Failures += w.failures
		res.TotalOK += w.totalOK
		res.Total += w.total
		for code, n := range w.status {
			res.Status[code] += n
		}
		if res.FirstErr == "" {
			res.FirstErr = w.firstErr
		}
		res.Latencies.Merge(&w.hist)
	}
	return res, nil
}

// newLoadTransport keeps one idle connection per worker, so every worker
// reuses its connection as a load tool's does, without compression or HTTP/2.
func newLoadTransport(workers int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        workers * 2,
		MaxIdleConnsPerHost: workers * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// loadWorker is one worker's counts, merged when all have stopped, so the
// hot path shares nothing.
type loadWorker struct {
	requests, errors, failures, totalOK, total int64
	status                                     map[int]int64
	firstErr                                   string
	hist                                       histogram
	conn                                       loadConn // for http:// targets
}

// doHTTP sends req through net/http: for https, and for a test's transport.
func doHTTP(ctx context.Context, client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	// Read the whole answer, so the connection is reused.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

func (w *loadWorker) run(ctx context.Context, cfg *loadTestConfig, client *http.Client, from, until time.Time) error {
	for ctx.Err() == nil {
		sent := time.Now()
		if !sent.Before(until) {
			return nil
		}
		req, err := cfg.Build()
		if err != nil {
			return fmt.Errorf("build a request: %w", err)
		}
		var code int
		if req.URL.Scheme == "http" && cfg.Transport == nil {
			code, err = w.conn.do(ctx, req)
		} else {
			code, err = doHTTP(ctx, client, req)
		}
		done := time.Now()
		if ctx.Err() != nil {
			return nil
		}
		w.total++
		ok := err == nil && code >= 200 && code < 300
		if ok {
			w.totalOK++
		}
		if done.Before(from) || done.After(until) {
			continue
		}
		w.requests++
		w.hist.Record(int64(done.Sub(sent)))
		if ok {
			continue
		}
		w.errors++
		if err != nil {
			w.failures++
			if w.firstErr == "" {
				w.firstErr = err.Error()
			}
			continue
		}
		if w.status == nil {
			w.status = map[int]int64{}
		}
		w.status[code]++
		if w.firstErr == "" {
			w.firstErr = fmt.Sprintf("status %d", code)
		}
	}
	return nil
}

// histogram counts values (nanoseconds here) in log-linear buckets, as HDR
// histograms do: values below subCount exactly, larger ones in buckets at
// most 1/64 of their value wide (a bucket's middle is within 0.8 % of any
// value in it), so its memory is fixed (18 KB) however many values it holds.
type histogram struct {
	counts   [histBuckets]int64
	n        int64
	sum      int64
	min, max int64
}

const (
	subBits     = 7
	subCount    = 1 << subBits // exact values below this; sub-buckets per power of two above
	maxShift    = 33           // values up to 2^(subBits+maxShift) ns, about 18 minutes
	histBuckets = subCount + maxShift*(subCount/2)
	histMax     = int64(1)<<(subBits+maxShift) - 1
)

// bucketOf maps a value to its bucket: v itself below subCount, then for
// each power of two 2^k (k ≥ subBits) subCount/2 buckets of width 2^(k-subBits+1).
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits // ≥ 1: v>>shift is in [subCount/2, subCount)
	return subCount + (shift-1)*(subCount/2) + int(v>>shift) - subCount/2
}

// bucketRange is the lowest and the highest value a bucket holds.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := (i-subCount)/(subCount/2) + 1
	top := int64((i-subCount)%(subCount/2) + subCount/2)
	return top << shift, (top+1)<<shift - 1
}

// Record adds one value; a negative one counts as 0 and a huge one as the
// largest the histogram holds.
func (h *histogram) Record(v int64) {
	v = max(0, min(v, histMax))
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds another histogram's values.
func (h *histogram) Merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is how many values it holds.
func (h *histogram) Count() int64 { return h.n }

// Mean is their average, exactly.
func (h *histogram) Mean() int64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / h.n
}

// Max is the largest value recorded, exactly.
func (h *histogram) Max() int64 { return h.max }

// Percentile is the value at or below which q percent of the values lie
// (nearest rank): exact below subCount and for the smallest and largest
// value, else the middle of its bucket within those two. 0 when it is empty.
func (h *histogram) Percentile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	q = max(0, min(q, 100))
	rank := int64(math.Ceil(q * float64(h.n) / 100))
	switch {
	case rank <= 1:
		return h.min
	case rank >= h.n:
		return h.max
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return max(h.min, min(lo+(hi-lo)/2, h.max))
		}
	}
	return h.max
}
