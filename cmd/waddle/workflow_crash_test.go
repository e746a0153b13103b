package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/community"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/workflow"
)

// TestWorkflowRunResumesAfterCrash runs `waddle serve` as a process with a
// published workflow "raid → chat message one → webhook → chat message
// two", fires a raid through the event API, and kills the process with
// SIGKILL while the webhook call is in flight (message one sent and
// checkpointed). A new process resumes the run from the webhook: message
// one is never sent again, the webhook (the node in flight) is called again
// and its trace says it may have run twice, and message two is sent once.
func TestWorkflowRunResumesAfterCrash(t *testing.T) {
	t.Parallel()
	bin := buildWaddle(t)
	irc, api := twitchtest.StartIRC(t), twitchtest.StartAPI(t)
	_, prefix := dbtest.Redis(t)
	key := make([]byte, 32)
	rand.Read(key)
	vars := setVars(testVars(t), "REDIS_URL", os.Getenv(dbtest.RedisEnv), "REDIS_PREFIX", prefix,
		"LISTEN_ADDR", "127.0.0.1:0", "LOG_FORMAT", "json", "LOG_LEVEL", "info", "API_RATE_LIMITS", "trigger=0",
		"WADDLE_ADMIN_PASSWORD", testAdminPassword, "EXECUTOR_ALLOW_PRIVATE", "true",
		"TOKEN_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key),
		"TWITCH_CLIENT_ID", twitchtest.ClientID, "TWITCH_CLIENT_SECRET", twitchtest.ClientSecret, "TWITCH_BOT_LOGIN", "duckbot",
		"TWITCH_EVENTSUB_SECRET", "a-secret-of-20-chars", "TWITCH_IRC_ADDR", irc.Addr(),
		"TWITCH_API_URL", api.HelixURL(), "TWITCH_AUTH_URL", api.AuthURL())

	// The webhook's server: the first call hangs until its caller dies;
	// later calls answer at once.
	var calls atomic.Int64
	arrived := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(arrived)
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(hook.Close)

	// A community linked to #duckchan with the bot's token, a trigger key,
	// and the workflow, published as the hub publishes it.
	mustRunWaddle(t, vars, "admin", "create", "--email", "admin@example.com", "--admin")
	a := openTestApp(t, vars)
	ctx := t.Context()
	admin := mustSignIn(t, a, "admin@example.com", testAdminPassword)
	c, err := a.comm.Create(ctx, admin, "", "ducks", community.Settings{Name: "Ducks"})
	if err != nil {
		t.Fatal(err)
	}
	settings := router.NewSettings(router.New(router.Config{Pool: a.pool}))
	if _, err := settings.LinkEntity(ctx, audit.Actor{}, c.ID, router.Twitch, "duckchan", "duckchan"); err != nil {
		t.Fatal(err)
	}
	if err := platform.NewTokens(a.pool, a.secrets).Save(ctx, router.Twitch, platform.BotSubject,
		platform.Token{Access: "bot-1", Refresh: "bot-r1", AccountID: "100", AccountLogin: "duckbot", Expires: time.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, apiKey, err := a.auth.CreateAPIKey(ctx, admin, "", "crash test", "trigger")
	if err != nil {
		t.Fatal(err)
	}
	def, err := workflow.ParseDefinition(fmt.Appendf(nil, `{"nodes": [
 {"id": "raid", "type": "trigger_event", "config": {"platforms": ["twitch"], "kinds": ["raid"]}},
 {"id": "one", "type": "action_chat_message", "config": {"target": "channel", "platform": "twitch", "server": "duckchan", "channel": "duckchan", "text": "message one"}},
 {"id": "call", "type": "action_webhook", "config": {"method": "POST", "url": %q, "timeout_ms": 30000, "retries": 0, "backoff_ms": 0}},
 {"id": "two", "type": "action_chat_message", "config": {"target": "channel", "platform": "twitch", "server": "duckchan", "channel": "duckchan", "text": "message two"}}
], "connections": [
 {"from": "raid", "from_port": "out", "to": "one", "to_port": "in"},
 {"from": "one", "from_port": "out", "to": "call", "to_port": "in"},
 {"from": "call", "from_port": "out", "to": "two", "to_port": "in"}
]}`, hook.URL+"/slow"))
	if err != nil {
		t.Fatal(err)
	}
	flows := workflow.NewService(workflow.ServiceConfig{Pool: a.pool})
	by := audit.Actor{UserID: admin.ID, Name: "admin"}
	w, rep, err := flows.Create(ctx, c.ID, by, workflow.Input{Name: "Thank raiders", Definition: def})
	if err != nil || !rep.OK() {
		t.Fatalf("create: %v %v", err, rep.Errors)
	}
	if w, _, err = flows.Publish(ctx, c.ID, w.ID, by); err != nil {
		t.Fatal(err)
	}

	first := startWaddleProcess(t, bin, vars)
	irc.WaitJoined(t, "duckchan")
	client := &http.Client{Timeout: 30 * time.Second}
	raid := `{"id":"raid-1","platform":"twitch","kind":"raid","server":"duckchan","channel":"duckchan","user":{"id":"9","name":"raider"},"data":{"viewers":42}}`
	as, err := postBatch(client, first.base, apiKey, []string{raid})
	if err != nil || as[0].Status != http.StatusOK {
		t.Fatalf("the raid: %+v, %v", as, err)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("the webhook was not called:\n%s", first.out.String())
	}
	if lines := irc.WaitLines(t, "duckchan", 1); lines[0].Text != "message one" {
		t.Fatalf("first line %q, want message one", lines[0].Text)
	}
	first.kill(t)
	if n := countWhere(t, a, "SELECT count(*) FROM workflow_runs WHERE community_id = $1 AND status = 'running'", c.ID); n != 1 {
		t.Fatalf("%d running runs after the kill, want the one in flight", n)
	}

	second := startWaddleProcess(t, bin, vars)
	var run *workflow.Run
	deadline := time.Now().Add(90 * time.Second) // the dead process's channel lease expires first
	for {
		rs, err := flows.ListRuns(ctx, c.ID, workflow.RunFilter{WorkflowID: w.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			t.Fatalf("%d runs, want the raid's one", len(rs))
		}
		if rs[0].Status == workflow.RunSucceeded || rs[0].Status == workflow.RunFailed {
			if run, err = flows.GetRun(ctx, c.ID, rs[0].ID); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run is still %s after the restart:\n%s", rs[0].Status, second.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if run.Status != workflow.RunSucceeded {
		t.Fatalf("the resumed run %s at %s: %s", run.Status, run.FailedNode, run.Error)
	}
	irc.WaitLines(t, "duckchan", 2)
	time.Sleep(time.Second) // a repeated message would arrive by now
	lines := irc.Lines("duckchan")
	var texts []string
	for _, l := range lines {
		texts = append(texts, l.Text)
	}
	if fmt.Sprint(texts) != "[message one message two]" {
		t.Errorf("chat got %q, want message one then message two, once each", texts)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the webhook was called %d times, want twice (the call in flight repeats)", n)
	}
	seen := map[string]int{}
	for _, tr := range run.Traces {
		seen[tr.Node]++
		switch tr.Node {
		case "call":
			if tr.Status == "succeeded" && !tr.Repeated {
				t.Errorf("the webhook's trace does not say it may have run twice: %+v", tr)
			}
		case "one", "two":
			if tr.Repeated {
				t.Errorf("node %s marked repeated", tr.Node)
			}
		}
	}
	if seen["one"] != 1 || seen["two"] != 1 || seen["raid"] != 1 || seen["call"] != 1 {
		t.Errorf("traces per node %v, want raid, one, call (resumed) and two once", seen)
	}
	if n := countWhere(t, a, "SELECT count(*) FROM workflow_runs WHERE community_id = $1", c.ID); n != 1 {
		t.Errorf("%d runs stored, want 1", n)
	}
}
