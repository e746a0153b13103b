package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/workflow"
)

// harness is a workflow Service on a fresh database with its job workers
// running.
type harness struct {
	pool *pgxpool.Pool
	svc  *workflow.Service
	cid  int64
	by   audit.Actor
}

func newHarness(t *testing.T, env *workflow.Env) *harness {
	t.Helper()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: "wf", Name: "Workflows"})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	w := &workflow.RunWorker{}
	river.AddWorker(workers, w)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:        map[string]river.QueueConfig{workflow.Queue: {MaxWorkers: 4}},
		Workers:       workers,
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := workflow.NewService(workflow.ServiceConfig{Pool: pool, Jobs: jobs, Env: env, Instance: 42})
	w.Service = svc
	if err := jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jobs.Stop(ctx); err != nil {
			t.Errorf("stop workers: %v", err)
		}
	})
	return &harness{pool: pool, svc: svc, cid: c.ID, by: audit.Actor{Name: "test"}}
}

// def decodes a definition written as JSON in a test.
func def(t *testing.T, s string) workflow.Definition {
	t.Helper()
	d, err := workflow.ParseDefinition([]byte(s))
	if err != nil {
		t.Fatalf("parse definition: %v", err)
	}
	return d
}

// publish creates and publishes a workflow.
func (h *harness) publish(t *testing.T, name string, d workflow.Definition) *workflow.Workflow {
	t.Helper()
	ctx := context.Background()
	w, rep, err := h.svc.Create(ctx, h.cid, h.by, workflow.Input{Name: name, Definition: d})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("definition not valid: %v", rep.Errors)
	}
	w, _, err = h.svc.Publish(ctx, h.cid, w.ID, h.by)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return w
}

// waitRun waits for a run to end and returns it.
func (h *harness) waitRun(t *testing.T, id int64) *workflow.Run {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := h.svc.GetRun(context.Background(), h.cid, id)
		if errors.Is(err, workflow.ErrRunNotFound) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // an inline run is stored after its caller has the answer
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case workflow.RunSucceeded, workflow.RunFailed, workflow.RunCancelled:
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still %s", id, r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func asJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
