package workflow

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/dbtest"
)

func mustCreateCommunity(ctx context.Context, t *testing.T, pool *pgxpool.Pool, slug string) int64 {
	t.Helper()
	c, err := db.New(pool).CommunityCreate(ctx, db.CommunityCreateParams{Slug: slug, Name: slug})
	if err != nil {
		t.Fatalf("create community %s: %v", slug, err)
	}
	return c.ID
}

func TestStoredVariables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	ducks := mustCreateCommunity(ctx, t, pool, "ducks")
	geese := mustCreateCommunity(ctx, t, pool, "geese")
	env := &Env{Pool: pool}
	exec := func(community, workflow int64, dry bool) *Exec {
		return &Exec{Run: RunInfo{CommunityID: community, WorkflowID: workflow, DryRun: dry}, Env: env, Scope: testScope()}
	}
	set := func(x *Exec, raw string) Result {
		t.Helper()
		res, err := runNode(t, "data_variable_set", raw, x)
		if err != nil {
			t.Fatalf("set %s: %v", raw, err)
		}
		return res
	}
	get := func(x *Exec, raw string) any {
		t.Helper()
		res, err := runNode(t, "data_variable_get", raw, x)
		if err != nil {
			t.Fatalf("get %s: %v", raw, err)
		}
		return res.Output
	}

	// Workflow scope: this workflow's runs see it, another workflow does not.
	res := set(exec(ducks, 7, false), `{"name":"raids","value":"{{ trigger.viewers }}","scope":"workflow"}`)
	if want := map[string]any{"name": "raids", "value": float64(25), "scope": "workflow"}; !reflect.DeepEqual(res.Output, want) {
		t.Errorf("set output %#v", res.Output)
	}
	if got := get(exec(ducks, 7, false), `{"name":"raids","scope":"workflow"}`); got != float64(25) {
		t.Errorf("same workflow read %#v", got)
	}
	if got := get(exec(ducks, 8, false), `{"name":"raids","scope":"workflow","default":0}`); got != float64(0) {
		t.Errorf("another workflow read %#v, want the default", got)
	}
	// Upsert replaces.
	set(exec(ducks, 7, false), `{"name":"raids","value":"{{ trigger.tags }}","scope":"workflow"}`)
	if got := get(exec(ducks, 7, false), `{"name":"raids","scope":"workflow"}`); !reflect.DeepEqual(got, []any{"duck", "pond", "bread"}) {
		t.Errorf("after a second set: %#v", got)
	}

	// Community scope: every workflow of the community, no other community.
	set(exec(ducks, 7, false), `{"name":"motto","value":"quack","scope":"community"}`)
	if got := get(exec(ducks, 9, false), `{"name":"motto","scope":"community"}`); got != "quack" {
		t.Errorf("another workflow of the community read %#v", got)
	}
	if got := get(exec(ducks, 7, false), `{"name":"motto","scope":"workflow"}`); got != nil {
		t.Errorf("the community's variable read as the workflow's: %#v", got)
	}
	x := exec(geese, 7, false)
	if got := get(x, `{"name":"motto","scope":"community"}`); got != nil || len(x.Notes) != 1 {
		t.Errorf("another community read %#v (notes %q)", got, x.Notes)
	}
	if got := get(exec(geese, 7, false), `{"name":"raids","scope":"workflow"}`); got != nil {
		t.Errorf("another community with the same workflow id read %#v", got)
	}

	// A dry run stores nothing.
	x = exec(ducks, 7, true)
	set(x, `{"name":"motto","value":"honk","scope":"community"}`)
	set(x, `{"name":"dry","value":"1","scope":"workflow"}`)
	if len(x.Notes) != 2 {
		t.Errorf("dry run notes %q", x.Notes)
	}
	if got := get(exec(ducks, 7, false), `{"name":"motto","scope":"community"}`); got != "quack" {
		t.Errorf("a dry run changed the variable to %#v", got)
	}

	// The lists.
	q := db.New(pool)
	vars, err := ListVariables(ctx, q, ducks, 7)
	if err != nil || len(vars) != 1 || vars[0].Name != "raids" || vars[0].UpdatedAt.IsZero() {
		t.Errorf("workflow variables %+v, %v", vars, err)
	}
	vars, err = ListVariables(ctx, q, ducks, 0)
	if err != nil || len(vars) != 1 || vars[0].Name != "motto" || vars[0].Value != "quack" {
		t.Errorf("community variables %+v, %v", vars, err)
	}
	if vars, err := ListVariables(ctx, q, geese, 0); err != nil || len(vars) != 0 {
		t.Errorf("another community's variables %+v, %v", vars, err)
	}

	// A workflow variable needs a stored workflow.
	if _, err := runNode(t, "data_variable_set", `{"name":"a","value":"1","scope":"workflow"}`, exec(ducks, 0, false)); err == nil {
		t.Error("a workflow variable was stored without a workflow")
	}
}
