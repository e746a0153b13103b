package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// transformServer answers as the benchmark's flow does, and refuses a
// request that is not the benchmark's.
func transformServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			User   string `json:"user"`
			Amount int    `json:"amount"`
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "want a POST of JSON", http.StatusBadRequest)
			return
		}
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"user": in.User, "points": in.Amount * 10, "note": "thanks " + in.User})
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestBenchNodeRED(t *testing.T) {
	srv, served := transformServer(t)
	out := mustRunWaddle(t, nil, "bench", "nodered", "-url", srv.URL+"/bench", "-c", "4", "-d", "300ms", "-warmup", "100ms")
	if !strings.Contains(out, "4 connections, 300ms measured after 100ms of warm-up") {
		t.Errorf("no heading naming the load in:\n%s", out)
	}
	var row []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "nodered" {
			row = f
		}
	}
	// target req/s p50 p90 p99 max requests errors
	if len(row) != 8 || row[7] != "0" || row[6] == "0" || !strings.HasSuffix(row[2], "ms") || !strings.HasSuffix(row[4], "ms") {
		t.Fatalf("nodered row %q, want 8 columns, requests and no errors, in:\n%s", row, out)
	}
	if served.Load() < 10 {
		t.Errorf("the server answered %d requests", served.Load())
	}
}

func TestBenchJSON(t *testing.T) {
	srv, _ := transformServer(t)
	out := mustRunWaddle(t, nil, "bench", "nodered,url", "-url", srv.URL, "-c", "2", "-d", "200ms", "-warmup", "0", "-json")
	var got []benchResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want one per target named: %s", len(got), out)
	}
	for i, r := range got {
		if want := []string{"nodered", "url"}[i]; r.Target != want {
			t.Errorf("result %d is %q's, want %q's", i, r.Target, want)
		}
		if r.Requests == 0 || r.Errors != 0 || r.RPS <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
			t.Errorf("result %+v: want requests, no errors, 0 < p50 ≤ p99 ≤ max", r)
		}
	}
}

func TestBenchTargetDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no flow here", http.StatusNotFound)
	}))
	defer srv.Close()
	_, err := runWaddle(t, nil, "bench", "nodered", "-url", srv.URL, "-d", "1s")
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no flow here") {
		t.Errorf("err = %v, want the probe's 404 and its body", err)
	}
	gone := srv.URL
	srv.Close()
	_, err = runWaddle(t, nil, "bench", "nodered", "-url", gone, "-d", "1s")
	if err == nil || !strings.Contains(err.Error(), "scripts/nodered.sh start") {
		t.Errorf("err = %v, want a hint to start Node-RED", err)
	}
}

func TestBenchErrorsFailTheRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 { // the probe passes, the load does not
			http.Error(w, "broken", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	out, err := runWaddle(t, nil, "bench", "nodered", "-url", srv.URL, "-c", "2", "-d", "100ms", "-warmup", "0")
	if err == nil || !strings.Contains(err.Error(), "nodered answered") || !strings.Contains(out, "the first: status 500") {
		t.Errorf("err = %v, output:\n%s\nwant the run failed, naming the first error", err, out)
	}
}

func TestBenchBadArgs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no target", nil, "name a target"},
		{"a flag first", []string{"-c", "4"}, "name a target"},
		{"empty target", []string{","}, "name a target"},
		{"unknown target", []string{"redis"}, `unknown target "redis"`},
		{"unknown second target", []string{"url,redis", "-d", "1s"}, `unknown target "redis"`},
		{"zero connections", []string{"nodered", "-c", "0"}, "-c 0"},
		{"too many connections", []string{"nodered", "-c", "20000"}, "-c 20000"},
		{"not a number", []string{"nodered", "-c", "many"}, "-c"},
		{"no duration", []string{"nodered", "-d", "0s"}, "-d 0s"},
		{"negative warm-up", []string{"nodered", "-warmup", "-1s"}, "-warmup -1s"},
		{"no timeout", []string{"nodered", "-timeout", "0s"}, "-timeout 0s"},
		{"bad body", []string{"nodered", "-body", "{nope"}, "-body is not valid JSON"},
		{"not a URL", []string{"nodered", "-url", "127.0.0.1:1880"}, `-url "127.0.0.1:1880"`},
		{"ftp URL", []string{"nodered", "-url", "ftp://127.0.0.1/bench"}, "want an http(s) URL"},
		{"stray argument", []string{"nodered", "-c", "2", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"nodered", "-rate", "5"}, "-rate"},
		{"pid without a target", []string{"nodered", "-pid", "1"}, `-pid "1"`},
		{"pid not a number", []string{"nodered", "-pid", "nodered=x"}, `-pid "nodered=x"`},
		{"pid zero", []string{"nodered", "-pid", "nodered=0"}, `-pid "nodered=0"`},
		{"pid of another target", []string{"nodered", "-pid", "url=1"}, `"url" is not a target of this run`},
		{"pid of no process", []string{"nodered", "-pid", "nodered=2147483647"}, "process 2147483647"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runWaddle(t, nil, append([]string{"bench"}, c.args...)...)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want a usage error naming %q", err, c.want)
			}
		})
	}
}

func TestBenchSigned(t *testing.T) {
	// Every request gets its own headers from sign, over the body it carries.
	seen := map[string]bool{}
	var dup atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(b)
		if r.Header.Get("X-Sig") != hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("X-Id")
		if seen[id] {
			dup.Add(1)
		}
		seen[id] = true // one worker below: no race
	}))
	defer srv.Close()
	var n atomic.Int64
	side := benchPost("signed", srv.URL, []byte(benchBody), func(req *http.Request, body []byte) {
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(body)
		req.Header.Set("X-Sig", hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-Id", strconv.FormatInt(n.Add(1), 10))
	})
	r, err := benchRun(t.Context(), side, loadTestConfig{Workers: 1, Duration: 100 * time.Millisecond, Warmup: -1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Errors != 0 || dup.Load() != 0 {
		t.Errorf("%d requests, %d errors (first %q), %d repeated ids: want every request signed and its own", r.Requests, r.Errors, r.FirstError, dup.Load())
	}
}

func TestBenchServerCPU(t *testing.T) {
	// The server runs in this process: its CPU time is this process's.
	srv, _ := transformServer(t)
	pid := strconv.Itoa(os.Getpid())
	out := mustRunWaddle(t, nil, "bench", "url,nodered", "-url", srv.URL, "-c", "2", "-d", "300ms", "-warmup", "0", "-pid", "url="+pid, "-json")
	var got []benchResult
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 {
		t.Fatalf("%v, %d results in:\n%s", err, len(got), out)
	}
	if u := got[0]; u.CPU <= 0 || u.CPU > 10*time.Second || u.CPURequests < u.Requests {
		t.Errorf("url: CPU %s for %d requests (%d measured): want some CPU, and every request counted", u.CPU, u.CPURequests, u.Requests)
	}
	if n := got[1]; n.CPU != 0 || n.CPURequests != 0 {
		t.Errorf("nodered, with no -pid: CPU %s for %d requests, want none", n.CPU, n.CPURequests)
	}
	out = mustRunWaddle(t, nil, "bench", "url", "-url", srv.URL, "-c", "2", "-d", "200ms", "-warmup", "0", "-pid", "url="+pid)
	if !strings.Contains(out, "url: its server used ") || !strings.Contains(out, " req per CPU-second") {
		t.Errorf("no CPU line in:\n%s", out)
	}
}

func TestProcCPU(t *testing.T) {
	// Busy-loop until the process has used 200 ms more CPU: that takes at
	// least 200 ms of wall time on one goroutine, shared with the test's
	// other goroutines over at most NumCPU cores.
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var used time.Duration
	for used < 200*time.Millisecond {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("after 30 s of busy loop, %s of CPU", used)
		}
		for s := time.Now(); time.Since(s) < 5*time.Millisecond; { // burn
		}
		after, err := procCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after < before+used {
			t.Fatalf("CPU time went back from %s to %s", before+used, after)
		}
		used = after - before
	}
	if wall := time.Since(start); used > wall*time.Duration(runtime.NumCPU())+20*time.Millisecond {
		t.Errorf("%s of CPU in %s on %d cores: the unit is wrong", used, wall, runtime.NumCPU())
	}
	if _, err := procCPU(-1); err == nil {
		t.Error("no error for process -1")
	}
}

func TestBenchDrain(t *testing.T) {
	srv, served := transformServer(t)
	side := benchPost("async", srv.URL, []byte(benchBody), nil)
	var drained atomic.Int64
	side.drain = func(ctx context.Context, accepted int64) error {
		time.Sleep(50 * time.Millisecond) // the runs still going
		drained.Store(accepted)
		return nil
	}
	r, err := benchRun(t.Context(), side, loadTestConfig{Workers: 2, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The probe is answered but not accepted by the load.
	if got := drained.Load(); got != served.Load()-1 || r.Accepted != got || got <= r.Requests {
		t.Errorf("drain got %d accepted, result %d, served %d (one of them the probe), measured %d: want all the load's 2xx, warm-up included",
			got, r.Accepted, served.Load(), r.Requests)
	}
	if r.Drain < 50*time.Millisecond || r.EndToEndPS <= 0 || r.EndToEndPS >= float64(r.Accepted)/0.3 {
		t.Errorf("drain %s, end to end %.0f/s: want ≥ 50ms, and fewer per second than over the 300 ms of load alone", r.Drain, r.EndToEndPS)
	}

	side.drain = func(context.Context, int64) error { return errors.New("runs failed") }
	if _, err := benchRun(t.Context(), side, loadTestConfig{Workers: 1, Duration: 50 * time.Millisecond, Warmup: -1, Timeout: time.Second}); err == nil || !strings.Contains(err.Error(), "runs failed") {
		t.Errorf("err = %v, want the drain's failure", err)
	}
}
