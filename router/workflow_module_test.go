package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// TestRunModuleForAWorkflow: a workflow's module runs through the command
// path in the community's first linked server, once per event id, and the
// Observer does not hear of it (a workflow's module never starts workflows).
func TestRunModuleForAWorkflow(t *testing.T) {
	t.Parallel()
	obs := &observerLog{}
	e := newSeamEnv(t, obs, nil)
	ctx := context.Background()
	in := router.ModuleRun{EventID: "wf:1:n1", Module: "quote", Args: "add Honk"}
	res, err := e.r.RunModule(ctx, e.cid, in, router.Options{Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := replies(res); got != "Quote #1 added." || res.Duplicate {
		t.Fatalf("first run: %q (duplicate %v)", got, res.Duplicate)
	}
	again, err := e.r.RunModule(ctx, e.cid, in, router.Options{Dedup: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := replies(again); got != "Quote #1 added." || !again.Duplicate {
		t.Errorf("repeat: %q (duplicate %v)", got, again.Duplicate)
	}
	var n int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM quotes WHERE community_id = $1", e.cid).Scan(&n)
	if n != 1 {
		t.Errorf("%d quotes, want 1", n)
	}
	var platform, user string
	if err := e.pool.QueryRow(ctx, "SELECT platform, user_id FROM command_executions WHERE community_id = $1", e.cid).Scan(&platform, &user); err != nil {
		t.Fatal(err)
	}
	if platform != router.Twitch || user != router.WorkflowUser.ID {
		t.Errorf("logged on %s as %s", platform, user)
	}
	// A chat message is still observed; the workflow's module was not.
	e.say("ann", nil, "hello")
	seen := obs.all()
	if len(seen) != 1 || seen[0].Event.Text != "hello" {
		t.Errorf("the observer heard %+v", seen)
	}
}

func TestRunModuleRefusals(t *testing.T) {
	t.Parallel()
	e := newSeamEnv(t, nil, nil)
	ctx := context.Background()
	other, err := db.New(e.pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "geese", Name: "Geese"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.LinkEntity(ctx, audit.Actor{}, other.ID, router.Twitch, "GooseChan", "Geese"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		in    router.ModuleRun
		check func(error) bool
	}{
		{"not a workflow id", router.ModuleRun{EventID: "ev-1", Module: "points"}, func(err error) bool { return problem.As(err) != nil && problem.As(err).Field == "id" }},
		{"unknown module", router.ModuleRun{EventID: "wf:1:a", Module: "nosuch"}, func(err error) bool { return problem.As(err) != nil && problem.As(err).Field == "module" }},
		{"unknown remote", router.ModuleRun{EventID: "wf:1:b", Module: "#nosuch"}, func(err error) bool { return problem.As(err) != nil && problem.As(err).Field == "module" }},
		{"another community's server", router.ModuleRun{EventID: "wf:1:c", Module: "points", Platform: router.Twitch, Server: "goosechan"},
			func(err error) bool { return errors.Is(err, router.ErrNotLinked) }},
		{"below the module's level", router.ModuleRun{EventID: "wf:1:d", Module: "give", Args: "ann 5", Platform: router.Twitch, Server: "duckchan",
			User: router.User{ID: "u1", Name: "ann"}}, func(err error) bool { return problem.As(err) != nil && problem.As(err).Code == problem.Forbidden }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.r.RunModule(ctx, e.cid, tc.in, router.Options{Dedup: true}); !tc.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestRunModuleRemote: a workflow runs a #community module through the
// executor, with the workflow as the event's user; a repeat of the node is
// answered from the first call without calling the module again.
func TestRunModuleRemote(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, true)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req router.RemoteRequest
		json.NewDecoder(r.Body).Decode(&req)
		json.NewEncoder(w).Encode(router.RemoteAnswer{Reply: "weather in " + strings.Join(req.Args, " ") + " for " + req.Event.User.Name + ": sunny"})
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := e.s.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: "weather", Kind: "webhook", URL: srv.URL, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	in := router.ModuleRun{EventID: "wf:9:n1", Module: "#weather", Args: "Paris"}
	for i := range 2 {
		res, err := e.r.RunModule(ctx, e.cid, in, router.Options{Dedup: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := replies(res); got != "weather in Paris for workflow: sunny" || res.Duplicate != (i == 1) {
			t.Errorf("run %d: %q (duplicate %v)", i+1, got, res.Duplicate)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the module was called %d times, want 1", n)
	}
}
