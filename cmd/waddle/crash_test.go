package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/router"
)

// crashAnswer is one event's answer from POST /api/v1/events.
type crashAnswer struct {
	ID        string            `json:"id"`
	Status    int               `json:"status"`
	Responses []router.Response `json:"responses"`
	HandledBy string            `json:"handled_by"`
	Points    []struct {
		User    string `json:"user"`
		Delta   int64  `json:"delta"`
		Reason  string `json:"reason"`
		Balance int64  `json:"balance"`
	} `json:"points"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error"`
}

// TestCrashMidStreamProcessesEachEventOnce streams batches of events to
// `waddle serve` running as a process, kills it with SIGKILL mid-stream,
// restarts it and sends every event again with the same id. Each event's
// effects (points, a command's counter, a !give) are then in the database
// exactly once, every event answered before the kill is answered again with
// the same answer, and every command answered before the kill is in the
// execution log, which was read before the restart.
func TestCrashMidStreamProcessesEachEventOnce(t *testing.T) {
	t.Parallel()
	bin := buildWaddle(t)
	_, prefix := dbtest.Redis(t)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "API_RATE_LIMITS", "trigger=0",
		"WADDLE_ADMIN_PASSWORD", testAdminPassword)

	// A community with a linked channel, a text command, a {count} command
	// and a trigger key, as the hub makes them.
	mustRunWaddle(t, vars, "admin", "create", "--email", "admin@example.com", "--admin")
	a := openTestApp(t, vars)
	ctx := t.Context()
	admin := mustSignIn(t, a, "admin@example.com", testAdminPassword)
	c, err := a.comm.Create(ctx, admin, "", "ducks", community.Settings{Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Logger: slog.New(slog.DiscardHandler)})
	settings := router.NewSettings(rt)
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", ""); err != nil {
		t.Fatal(err)
	}
	for _, in := range []router.CommandInput{{Name: "hi", Response: "hi {user}"}, {Name: "tick", Response: "tick {count}"}} {
		in.Permission, in.Enabled = router.Everyone, true
		if _, err := settings.CreateCommand(ctx, audit.Actor{}, c.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	_, key, err := a.auth.CreateAPIKey(ctx, admin, "", "crash test", "trigger")
	if err != nil {
		t.Fatal(err)
	}

	// 8,000 events: follows, and one in 16 each of !tick, !hi and a
	// moderator's !give to bank; every event from a user (and channel) of
	// its own, and each command carrying its event id, so the execution log
	// names it.
	const total, batchSize, conns = 8000, 20, 8
	var events []string
	kinds := map[string]string{}
	for i := range total {
		id := fmt.Sprintf("ev%05d", i)
		switch i % 16 {
		case 4:
			events, kinds[id] = append(events, crashChat(id, "ticker", nil, "!tick "+id)), "tick"
		case 8:
			events, kinds[id] = append(events, crashChat(id, "hey", nil, "!hi "+id)), "hi"
		case 12:
			events, kinds[id] = append(events, crashChat(id, "mod", []string{"moderator"}, "!give bank 1 "+id)), "give"
		default:
			events, kinds[id] = append(events, fmt.Sprintf(`{"id":%q,"platform":"twitch","kind":"follow","server":"duckchan","user":{"id":"fan-%s","name":"fan%s"}}`, id, id, id)), "follow"
		}
	}
	var batches [][]string
	for i := 0; i < len(events); i += batchSize {
		batches = append(batches, events[i:min(i+batchSize, len(events))])
	}

	srv := startWaddleProcess(t, bin, vars)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	// bank follows first, so a !give finds it.
	bank := `{"id":"bank","platform":"twitch","kind":"follow","server":"duckchan","user":{"id":"bank","name":"bank"}}`
	if _, err := postBatch(client, srv.base, key, []string{bank}); err != nil {
		t.Fatal(err)
	}

	// Stream over 8 connections; kill the server once a quarter of the
	// batches are answered.
	var (
		mu        sync.Mutex
		acked     = map[string]crashAnswer{} // answered before the kill
		answered  atomic.Int64
		failed    atomic.Int64 // in flight when the server died
		started   atomic.Int64
		killed    = make(chan struct{})
		killOnce  sync.Once
		killedAt  time.Time
		streamBeg = time.Now()
	)
	kill := func() {
		killOnce.Do(func() {
			killedAt = time.Now()
			close(killed)
			srv.kill(t)
		})
	}
	next := make(chan []string)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				select {
				case <-killed:
					continue // taken from the queue as the server died: never sent
				default:
				}
				started.Add(1)
				as, err := postBatch(client, srv.base, key, b)
				if err != nil {
					select {
					case <-killed:
						failed.Add(1)
					default:
						t.Errorf("before the kill: %v", err)
					}
					continue
				}
				mu.Lock()
				for _, a := range as {
					acked[a.ID] = a
				}
				mu.Unlock()
				if answered.Add(1) >= int64(len(batches)/4) {
					kill()
				}
			}
		}()
	}
feed:
	for _, b := range batches {
		select {
		case next <- b:
		case <-killed:
			break feed
		}
	}
	close(next)
	wg.Wait()
	kill()
	inFlight := failed.Load()
	unsent := int64(len(batches)) - started.Load()

	// Before the restart: every event answered is stored, with its effects
	// and, for a command, its execution-log row.
	logged := executionLogByEvent(t, a)
	for id, ans := range acked {
		if ans.Status != http.StatusOK {
			t.Fatalf("event %s answered %d before the kill: %s", id, ans.Status, ans.Error)
		}
		if k := kinds[id]; k != "follow" && logged[id] != 1 {
			t.Errorf("%s %s was answered before the kill, but has %d execution-log rows", k, id, logged[id])
		}
	}
	if n := countRows(t, a, "SELECT count(*) FROM processed_events WHERE result IS NOT NULL AND event_id <> 'bank'"); n < len(acked) {
		t.Errorf("%d answers stored, fewer than the %d events answered before the kill", n, len(acked))
	}

	// Restart and send everything again, with the same ids.
	restartBeg := time.Now()
	srv = startWaddleProcess(t, bin, vars)
	restart := time.Since(restartBeg)
	again := map[string]crashAnswer{}
	next = make(chan []string)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				as, err := postBatch(client, srv.base, key, b)
				if err != nil {
					t.Errorf("after the restart: %v", err)
					continue
				}
				mu.Lock()
				for _, a := range as {
					again[a.ID] = a
				}
				mu.Unlock()
			}
		}()
	}
	for _, b := range batches {
		next <- b
	}
	close(next)
	wg.Wait()

	var handledAgain, duplicates int
	var ticks []int
	for _, ev := range events {
		var head struct{ ID string }
		json.Unmarshal([]byte(ev), &head)
		ans, ok := again[head.ID]
		if !ok || ans.Status != http.StatusOK {
			t.Fatalf("event %s after the restart: %+v", head.ID, ans)
		}
		if ans.Duplicate {
			duplicates++
		} else {
			handledAgain++
		}
		if first, ok := acked[head.ID]; ok {
			first.Duplicate = true
			if diff := cmp.Diff(first, ans); diff != "" {
				t.Errorf("event %s answered before the kill is answered differently after (-before +after):\n%s", head.ID, diff)
			}
		}
		if kinds[head.ID] == "tick" && len(ans.Responses) == 1 {
			n, err := strconv.Atoi(strings.TrimPrefix(ans.Responses[0].Reply, "tick "))
			if err != nil {
				t.Errorf("!tick %s answered %q", head.ID, ans.Responses[0].Reply)
			}
			ticks = append(ticks, n)
		}
	}

	// Each event's effects, exactly once.
	count := map[string]int{}
	for _, k := range kinds {
		count[k]++
	}
	perFan := map[string][2]int64{}
	rows, err := a.pool.Query(ctx, "SELECT user_id, count(*), sum(delta) FROM points_ledger WHERE reason = 'follow' GROUP BY user_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var user string
		var n, sum int64
		rows.Scan(&user, &n, &sum)
		perFan[user] = [2]int64{n, sum}
	}
	rows.Close()
	for id, k := range kinds {
		if k == "follow" && perFan["fan-"+id] != [2]int64{1, 10} {
			t.Errorf("follow %s: %d ledger rows for %d points, want 1 for 10", id, perFan["fan-"+id][0], perFan["fan-"+id][1])
		}
	}
	if len(perFan) != count["follow"]+1 {
		t.Errorf("%d followers in the ledger, want %d", len(perFan), count["follow"]+1)
	}
	if n := countRows(t, a, "SELECT count(DISTINCT reason) FROM points_ledger WHERE reason LIKE 'given by %'"); n != count["give"] {
		t.Errorf("%d distinct !give ledger rows, want %d", n, count["give"])
	}
	if n := countRows(t, a, "SELECT count(*) FROM points_ledger WHERE reason LIKE 'given by %'"); n != count["give"] {
		t.Errorf("%d !give ledger rows, want %d", n, count["give"])
	}
	if n := countRows(t, a, "SELECT balance FROM points_balances WHERE user_id = 'bank'"); n != 10+count["give"] {
		t.Errorf("bank's balance %d, want %d (a follow and every !give once)", n, 10+count["give"])
	}
	if n := countRows(t, a, "SELECT counter FROM commands WHERE name = 'tick'"); n != count["tick"] {
		t.Errorf("!tick counter %d, want %d", n, count["tick"])
	}
	slices.Sort(ticks)
	for i, n := range ticks {
		if n != i+1 {
			t.Errorf("the !tick answers count %v…, want 1 to %d once each", ticks[max(i-2, 0):i+1], count["tick"])
			break
		}
	}
	if len(ticks) != count["tick"] {
		t.Errorf("%d !tick answers with a count, want %d", len(ticks), count["tick"])
	}
	// Chat points are paid once a minute per user, gated in Redis, which a
	// crash does not roll back: an event retried after one may earn none,
	// but none earns twice.
	if n := countRows(t, a, "SELECT count(*) FROM (SELECT user_id FROM points_ledger WHERE reason = 'chat_message' GROUP BY user_id HAVING count(*) > 1) twice"); n != 0 {
		t.Errorf("%d chatters got their chat points twice", n)
	}
	logged = executionLogByEvent(t, a)
	for id, k := range kinds {
		if k != "follow" && logged[id] != 1 {
			t.Errorf("%s %s has %d execution-log rows, want 1", k, id, logged[id])
		}
	}
	if n := countRows(t, a, "SELECT count(*) FROM processed_events WHERE result IS NULL"); n != 0 {
		t.Errorf("%d events left claimed without an answer", n)
	}
	if n := countRows(t, a, "SELECT count(*) FROM processed_events"); n != total+1 {
		t.Errorf("%d answers stored, want %d", n, total+1)
	}
	t.Logf("%d events (%d follows, %d each of !tick, !hi and !give) in batches of %d over %d connections; killed %v in with %d events answered, %d batches (%d events) in flight and %d batches unsent; restarted in %v; after it, %d events were handled, %d answered as duplicates",
		total, count["follow"], count["tick"], batchSize, conns, killedAt.Sub(streamBeg).Round(time.Millisecond), len(acked), inFlight, inFlight*batchSize, unsent,
		restart.Round(time.Millisecond), handledAgain, duplicates)
}

func crashChat(id, who string, roles []string, text string) string {
	r, _ := json.Marshal(roles)
	return fmt.Sprintf(`{"id":%q,"platform":"twitch","kind":"chat_message","server":"duckchan","channel":"c-%s","user":{"id":"%s-%s","name":"%s%s","roles":%s},"text":%q}`,
		id, id, who, id, who, id, r, text)
}

// postBatch sends a batch and returns its answers; an error when the
// server did not answer it.
func postBatch(client *http.Client, base, key string, batch []string) ([]crashAnswer, error) {
	req, err := http.NewRequest("POST", base+"/api/v1/events", strings.NewReader("["+strings.Join(batch, ",")+"]"))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var env struct {
		Data []crashAnswer `json:"data"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &env) != nil || len(env.Data) != len(batch) {
		return nil, fmt.Errorf("status %d: %s", res.StatusCode, body)
	}
	return env.Data, nil
}

// executionLogByEvent counts the execution-log rows by the event id each
// command carries as its last argument.
func executionLogByEvent(t *testing.T, a *app) map[string]int {
	t.Helper()
	rows, err := a.pool.Query(t.Context(), "SELECT args FROM command_executions")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var args string
		if err := rows.Scan(&args); err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(args)
		if len(f) > 0 {
			out[f[len(f)-1]]++
		}
	}
	return out
}

func countRows(t *testing.T, a *app, query string) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// buildWaddle builds the waddle binary for the test.
func buildWaddle(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build waddle: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "waddle")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waddleProcess is `waddle serve` running as a process of its own.
type waddleProcess struct {
	cmd  *exec.Cmd
	base string
	out  *syncBuffer
	done chan struct{}
}

// startWaddleProcess starts `waddle serve` and waits until it is healthy;
// it is killed when the test ends.
func startWaddleProcess(t *testing.T, bin string, vars map[string]string) *waddleProcess {
	t.Helper()
	p := &waddleProcess{cmd: exec.Command(bin, "serve"), out: &syncBuffer{}, done: make(chan struct{})}
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill(t) })
	deadline := time.Now().Add(30 * time.Second)
	for p.base == "" {
		sc := bufio.NewScanner(bytes.NewReader([]byte(p.out.String())))
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "waddle hub listening" {
				p.base = "http://" + rec.Addr
			}
		}
		select {
		case <-p.done:
			t.Fatalf("waddle serve exited before it listened:\n%s", p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("waddle serve did not listen within 30s:\n%s", p.out.String())
		}
	}
	waitHealthy(t, p.base, nil)
	return p
}

// kill ends the process with SIGKILL and waits for it.
func (p *waddleProcess) kill(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Errorf("kill waddle: %v", err)
	}
	<-p.done
}
