package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// benchBody is the payload every target gets: the same transform on both
// sides turns it into {"user":"alice","points":50,"note":"thanks alice"}.
const benchBody = `{"user":"alice","amount":5}`

// benchOptions are the flags of `waddle bench`.
type benchOptions struct {
	load    loadTestConfig
	url     string // the nodered target's URL
	body    []byte
	asJSON  bool
	getenv  func(string) string // for targets that need Waddle's configuration (loadConfig)
	targets []string
	pids    map[string]int // -pid: a target's server process, to measure its CPU time
}

// benchSide is one target of a run: a name for the report, the request it
// sends, and what to do around the load.
type benchSide struct {
	name  string
	build func() (*http.Request, error)
	// drain, when set, runs after the load and returns once everything the
	// target accepted is done (asynchronous webhooks: every run completed
	// and traced); accepted counts the 2xx answers, warm-up included.
	drain func(ctx context.Context, accepted int64) error
	// close, when set, releases what the target set up.
	close func()
	// pid, when set, is the server's process: its CPU time is reported.
	pid int
}

// benchTarget is a target that sends build's requests.
func benchTarget(name string, build func() (*http.Request, error)) benchSide {
	return benchSide{name: name, build: build}
}

// newBenchSide sets up the target a `waddle bench` run names.
func newBenchSide(_ context.Context, name string, o benchOptions) (benchSide, error) {
	switch name {
	case "nodered", "url": // url: the same request to any -url
		return benchPost(name, o.url, o.body, nil), nil
	}
	return benchSide{}, &usageError{fmt.Sprintf("bench: unknown target %q: want nodered or url", name)}
}

// benchPost posts body as JSON to u. sign, when set, adds headers to each
// request (a webhook's timestamp and HMAC signature, made afresh each time).
func benchPost(name, u string, body []byte, sign func(req *http.Request, body []byte)) benchSide {
	return benchTarget(name, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if sign != nil {
			sign(req, body)
		}
		return req, nil
	})
}

// benchResult is one target's figures, as printed.
type benchResult struct {
	Target     string        `json:"target"`
	RPS        float64       `json:"requests_per_second"`
	Requests   int64         `json:"requests"`
	Errors     int64         `json:"errors"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	FirstError string        `json:"first_error,omitempty"`
	// With a drain: how long after the load until all was done, and the
	// 2xx answers per second from the start of the load to then.
	Drain      time.Duration `json:"drain_ns,omitempty"`
	Accepted   int64         `json:"accepted,omitempty"`
	EndToEndPS float64       `json:"end_to_end_per_second,omitempty"`
	// With a pid: the server's CPU time over the whole load (warm-up and
	// drain included), and the requests it answered in that time.
	CPU         time.Duration `json:"cpu_ns,omitempty"`
	CPURequests int64         `json:"cpu_requests,omitempty"`
}

// bench is `waddle bench TARGET[,TARGET…] [flags]`: a load test of each
// target in turn, in the same run, then their figures side by side.
func bench(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseBenchArgs(args, getenv)
	if err != nil {
		return err
	}
	// Every target is set up before any is loaded, so a bad one fails at once.
	var sides []benchSide
	defer func() {
		for _, s := range sides {
			if s.close != nil {
				s.close()
			}
		}
	}()
	for _, name := range o.targets {
		side, err := newBenchSide(ctx, name, o)
		if err != nil {
			return err
		}
		if pid, ok := o.pids[name]; ok {
			side.pid = pid
		}
		sides = append(sides, side)
	}
	var results []benchResult
	for _, side := range sides {
		r, err := benchRun(ctx, side, o.load)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if o.asJSON {
		return json.NewEncoder(stdout).Encode(results)
	}
	return printBench(stdout, o.load, results)
}

func parseBenchArgs(args []string, getenv func(string) string) (benchOptions, error) {
	o := benchOptions{getenv: getenv}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return o, &usageError{"bench: name a target, e.g. waddle bench nodered"}
	}
	for _, t := range strings.Split(args[0], ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.targets = append(o.targets, t)
		}
	}
	fs := newFlagSet("bench")
	fs.IntVar(&o.load.Workers, "c", 64, "concurrent connections")
	fs.DurationVar(&o.load.Duration, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&o.load.Warmup, "warmup", 2*time.Second, "warm-up before it, not measured")
	fs.DurationVar(&o.load.Timeout, "timeout", 10*time.Second, "one request's time limit")
	fs.StringVar(&o.url, "url", "http://127.0.0.1:1880/bench", "the nodered target's URL (scripts/nodered.sh start)")
	body := fs.String("body", benchBody, "the JSON body every request carries")
	fs.BoolVar(&o.asJSON, "json", false, "print the figures as JSON")
	pids := fs.String("pid", "", "TARGET=PID[,…]: report the CPU time of a target's server process (Linux)")
	if err := fs.Parse(args[1:]); err != nil {
		return o, &usageError{"bench: " + err.Error()}
	}
	switch {
	case fs.NArg() > 0:
		return o, &usageError{fmt.Sprintf("bench: unexpected argument %q: flags come after the targets", fs.Arg(0))}
	case len(o.targets) == 0:
		return o, &usageError{"bench: name a target, e.g. waddle bench nodered"}
	case o.load.Workers < 1 || o.load.Workers > 10000:
		return o, &usageError{fmt.Sprintf("bench: -c %d: want 1 to 10000 connections", o.load.Workers)}
	case o.load.Duration <= 0:
		return o, &usageError{fmt.Sprintf("bench: -d %s: want a positive duration such as 10s", o.load.Duration)}
	case o.load.Warmup < 0:
		return o, &usageError{fmt.Sprintf("bench: -warmup %s: want 0 or a positive duration", o.load.Warmup)}
	case o.load.Timeout <= 0:
		return o, &usageError{fmt.Sprintf("bench: -timeout %s: want a positive duration", o.load.Timeout)}
	case !json.Valid([]byte(*body)):
		return o, &usageError{"bench: -body is not valid JSON"}
	}
	if o.load.Warmup == 0 {
		o.load.Warmup = -1 // none, rather than loadTest's default
	}
	if u, err := url.Parse(o.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, &usageError{fmt.Sprintf("bench: -url %q: want an http(s) URL such as http://127.0.0.1:1880/bench", o.url)}
	}
	o.body = []byte(*body)
	pidOf, err := parseBenchPIDs(*pids, o.targets)
	o.pids = pidOf
	return o, err
}

// parseBenchPIDs reads -pid nodered=123,webhook-sync=456.
func parseBenchPIDs(v string, targets []string) (map[string]int, error) {
	pids := map[string]int{}
	if v == "" {
		return pids, nil
	}
	for _, kv := range strings.Split(v, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(kv), "=")
		pid, err := strconv.Atoi(num)
		if !ok || err != nil || pid < 1 {
			return nil, &usageError{fmt.Sprintf("bench: -pid %q: want TARGET=PID, such as nodered=1234", kv)}
		}
		if !slices.Contains(targets, name) {
			return nil, &usageError{fmt.Sprintf("bench: -pid %q: %q is not a target of this run", kv, name)}
		}
		if _, err := procCPU(pid); err != nil {
			return nil, &usageError{fmt.Sprintf("bench: -pid %q: %v", kv, err)}
		}
		pids[name] = pid
	}
	return pids, nil
}

// procCPU is a process's CPU time, user and system, from /proc (Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// pid (comm) state ppid … utime stime: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("read the CPU time of process %d: /proc/%d/stat is not as expected", pid, pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("read the CPU time of process %d: /proc/%d/stat is not as expected", pid, pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: /proc/%d/stat is not as expected", pid, pid)
	}
	// In clock ticks of USER_HZ, which Linux fixes at 100 a second for /proc.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// benchRun checks that one request to the target succeeds, then load-tests
// it and, for a target with a drain, waits for it.
func benchRun(ctx context.Context, side benchSide, load loadTestConfig) (benchResult, error) {
	if err := benchProbe(ctx, side, load.Timeout); err != nil {
		return benchResult{}, err
	}
	load.Build = side.build
	var cpu0 time.Duration
	if side.pid > 0 {
		var err error
		if cpu0, err = procCPU(side.pid); err != nil {
			return benchResult{}, fmt.Errorf("bench %s: %w", side.name, err)
		}
	}
	start := time.Now()
	res, err := loadTest(ctx, load)
	if err != nil {
		return benchResult{}, fmt.Errorf("bench %s: %w", side.name, err)
	}
	r := benchResult{
		Target: side.name, RPS: res.RPS(), Requests: res.Requests, Errors: res.Errors,
		P50: res.Percentile(50), P90: res.Percentile(90), P99: res.Percentile(99),
		Max: time.Duration(res.Latencies.Max()), FirstError: res.FirstErr,
	}
	if side.drain != nil {
		loaded := time.Now()
		if err := side.drain(ctx, res.TotalOK); err != nil {
			return r, fmt.Errorf("bench %s: wait for what it accepted: %w", side.name, err)
		}
		r.Drain = time.Since(loaded)
		r.Accepted = res.TotalOK
		r.EndToEndPS = float64(res.TotalOK) / time.Since(start).Seconds()
	}
	if side.pid > 0 {
		cpu1, err := procCPU(side.pid)
		if err != nil {
			return r, fmt.Errorf("bench %s: %w", side.name, err)
		}
		r.CPU, r.CPURequests = cpu1-cpu0, res.Total
	}
	return r, nil
}

// benchProbe sends one request and wants a 2xx answer, so a target that is
// down or misconfigured fails with the reason instead of a page of errors.
func benchProbe(ctx context.Context, side benchSide, timeout time.Duration) error {
	req, err := side.build()
	if err != nil {
		return fmt.Errorf("bench %s: build a request: %w", side.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req = req.WithContext(ctx)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench %s: %s %s: %w (is it running? for nodered: scripts/nodered.sh start)", side.name, req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("bench %s: %s %s answered %s: %s", side.name, req.Method, req.URL, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

func printBench(w io.Writer, load loadTestConfig, results []benchResult) error {
	warm := load.Warmup
	if warm < 0 {
		warm = 0
	}
	fmt.Fprintf(w, "%d connections, %s measured after %s of warm-up\n\n", load.Workers, load.Duration, warm)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\treq/s\tp50\tp90\tp99\tmax\trequests\terrors\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%d\t\n", r.Target, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), r.Requests, r.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var errs []error
	for _, r := range results {
		if r.Drain > 0 || r.Accepted > 0 {
			fmt.Fprintf(w, "%s: all %d accepted done %s after the load: %.0f/s end to end\n", r.Target, r.Accepted, ms(r.Drain), r.EndToEndPS)
		}
		if r.CPURequests > 0 {
			perSec := 0.0
			if r.CPU > 0 {
				perSec = float64(r.CPURequests) / r.CPU.Seconds()
			}
			fmt.Fprintf(w, "%s: its server used %.2fs of CPU for %d requests (warm-up included): %.0f req per CPU-second\n",
				r.Target, r.CPU.Seconds(), r.CPURequests, perSec)
		}
		if r.Errors > 0 {
			fmt.Fprintf(w, "%s: %d errors, the first: %s\n", r.Target, r.Errors, r.FirstError)
			errs = append(errs, fmt.Errorf("%s answered %d requests with errors", r.Target, r.Errors))
		}
	}
	return errors.Join(errs...)
}

// ms prints a latency in milliseconds, two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
