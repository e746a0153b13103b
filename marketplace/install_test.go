package marketplace_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

func TestInstallResolvesOnBothInstancesAndUninstallRemovesIt(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "sign-1", echo)
	e.mustModule("trivia", marketplace.PriceFree, "sign-1", installManifest("trivia", "1.0.0", srv.URL, caps(marketplace.CapChat), "trivia:tq", "score"))

	if got := replies(e.say(e.r2, "!trivia")); got != "" {
		t.Fatalf("before install: %q", got)
	}
	in, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "trivia", Accept: caps(marketplace.CapChat)})
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != "1.0.0" || strings.Join(in.Commands, ",") != "trivia,score" {
		t.Fatalf("install = %+v", in)
	}
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "the command resolves", func() bool { return replies(e.say(r, "!trivia")) == "trivia v1.0.0" })
		if got := replies(e.say(r, "!tq")); got != "trivia v1.0.0" {
			t.Fatalf("alias: %q", got)
		}
		if got := replies(e.say(r, "!help")); !strings.Contains(got, "!trivia (module trivia 1.0.0)") {
			t.Fatalf("help: %q", got)
		}
	}
	var installs int
	e.pool.QueryRow(ctx, "SELECT active_installs FROM marketplace_modules WHERE slug = 'trivia'").Scan(&installs)
	if installs != 1 {
		t.Fatalf("active_installs = %d", installs)
	}
	if err := e.svc.Uninstall(ctx, e.admin, e.cid, "trivia"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "the command is gone", func() bool { return replies(e.say(r, "!trivia")) == "" && replies(e.say(r, "!tq")) == "" })
	}
	var n int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM commands WHERE community_id = $1", e.cid).Scan(&n)
	e.pool.QueryRow(ctx, "SELECT active_installs FROM marketplace_modules WHERE slug = 'trivia'").Scan(&installs)
	if n != 0 || installs != 0 {
		t.Fatalf("after uninstall: %d commands, %d installs", n, installs)
	}
	if err := e.svc.Uninstall(ctx, e.admin, e.cid, "trivia"); err != marketplace.ErrNotFound {
		t.Fatalf("second uninstall: %v", err)
	}
}

func TestInstallClashIsRefusedNamingItAndPrefixInstalls(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	e.mustModule("trivia", marketplace.PriceFree, "s", installManifest("trivia", "1.0.0", srv.URL, caps(marketplace.CapChat), "trivia", "score:points"))
	if _, err := e.st.CreateCommand(ctx, e.admin, e.cid, router.CommandInput{Name: "trivia", Response: "mine", Permission: router.Everyone, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "trivia", Accept: caps(marketplace.CapChat)})
	p := problem.As(err)
	if p == nil || p.Field != "prefix" || !strings.Contains(p.Message, "!trivia is already a command of this community") || !strings.Contains(p.Message, "prefix") {
		t.Fatalf("clash: %v", err)
	}
	_, err = e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "trivia", Accept: caps(marketplace.CapChat), Prefix: "Bad Prefix!"})
	if p := problem.As(err); p == nil || p.Field != "prefix" {
		t.Fatalf("bad prefix: %v", err)
	}
	var n int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM marketplace_installs").Scan(&n)
	if n != 0 {
		t.Fatalf("a refused install left %d rows", n)
	}
	in, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "trivia", Accept: caps(marketplace.CapChat), Prefix: "fun"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(in.Commands, ",") != "fun_trivia,fun_score" || in.Prefix != "fun" {
		t.Fatalf("prefixed install: %+v", in)
	}
	waitFor(t, "prefixed command", func() bool { return replies(e.say(e.r2, "!fun_trivia")) == "trivia v1.0.0" })
	if got := replies(e.say(e.r2, "!fun_points")); got != "score v1.0.0" {
		t.Fatalf("prefixed alias: %q", got)
	}
	if got := replies(e.say(e.r2, "!trivia")); got != "mine" {
		t.Fatalf("the community's own command: %q", got)
	}
}

func TestInstallClashWithBuiltinAndAnotherModule(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	e.mustModule("pts", marketplace.PriceFree, "s", installManifest("pts", "1.0.0", srv.URL, nil, "points"))
	e.mustModule("one", marketplace.PriceFree, "s", installManifest("one", "1.0.0", srv.URL, nil, "dice"))
	e.mustModule("two", marketplace.PriceFree, "s", installManifest("two", "1.0.0", srv.URL, nil, "roll:dice"))
	_, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "pts"})
	if p := problem.As(err); p == nil || !strings.Contains(p.Message, "!points is already a built-in command") {
		t.Fatalf("built-in clash: %v", err)
	}
	if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "one"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "two"})
	if p := problem.As(err); p == nil || !strings.Contains(p.Message, "!dice is already a command of the module one") {
		t.Fatalf("module clash: %v", err)
	}
}

func TestInstallRefusals(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	schema := json.RawMessage(`{"type":"object","properties":{"greeting":{"type":"string","maxLength":10},
		"rounds":{"type":"number","minimum":1,"maximum":5},"mode":{"type":"enum","enum":["easy","hard"]},
		"token":{"type":"secret"}},"required":["greeting","token"]}`)
	m := installManifest("quiz", "1.0.0", srv.URL, caps(marketplace.CapChat, marketplace.CapPointsWrite), "quiz")
	m.Config = schema
	id := e.mustModule("quiz", marketplace.PriceFree, "s", m)
	y := installManifest("quiz", "1.1.0", srv.URL, caps(marketplace.CapChat), "quiz")
	y.Config = schema
	e.mustVersion(id, y)
	e.pool.Exec(ctx, "UPDATE marketplace_versions SET yanked = true, yanked_reason = 'broken' WHERE version = '1.1.0'")
	e.mustModule("gone", marketplace.PriceFree, "s", installManifest("gone", "1.0.0", srv.URL, nil, "gone"))
	e.pool.Exec(ctx, "UPDATE marketplace_modules SET listed = false WHERE slug = 'gone'")
	e.mustModule("paid", marketplace.PriceMonthly, "s", installManifest("paid", "1.0.0", srv.URL, nil, "paid"))

	all := caps(marketplace.CapChat, marketplace.CapPointsWrite)
	good := map[string]any{"greeting": "hi", "token": "t0k"}
	cases := []struct {
		name      string
		in        marketplace.InstallInput
		wantField string
		wantText  string
	}{
		{"unknown module", marketplace.InstallInput{Slug: "nope"}, "", "No such module"},
		{"unlisted", marketplace.InstallInput{Slug: "gone"}, "", "no longer listed"},
		{"yanked", marketplace.InstallInput{Slug: "quiz", Version: "1.1.0", Accept: all, Config: good}, "version", "yanked"},
		{"no such version", marketplace.InstallInput{Slug: "quiz", Version: "9.9.9", Accept: all, Config: good}, "version", "no version"},
		{"capability not accepted", marketplace.InstallInput{Slug: "quiz", Accept: caps(marketplace.CapChat), Config: good}, "accept", "points:write"},
		{"paid without purchase", marketplace.InstallInput{Slug: "paid"}, "", "buy it"},
		{"bad prefix", marketplace.InstallInput{Slug: "quiz", Accept: all, Config: good, Prefix: "a-b"}, "prefix", "prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.Install(ctx, e.admin, e.cid, c.in)
			p := problem.As(err)
			if p == nil || p.Field != c.wantField || !strings.Contains(p.Message, c.wantText) {
				t.Fatalf("got %v, want %s: …%s…", err, c.wantField, c.wantText)
			}
		})
	}
	_, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "quiz", Accept: all,
		Config: map[string]any{"greeting": "much too long a greeting", "rounds": "9", "mode": "wild", "extra": 1}})
	var ce marketplace.ConfigErrors
	if !asConfigErrors(err, &ce) {
		t.Fatalf("config errors: %v", err)
	}
	want := map[string]string{"greeting": "longer than 10", "rounds": "at most 5", "mode": "not one of", "token": "required", "extra": "not a setting"}
	for f, w := range want {
		if !strings.Contains(ce.Field(f), w) {
			t.Errorf("config.%s: %q, want …%s…", f, ce.Field(f), w)
		}
	}
	if problem.As(err) == nil {
		t.Fatal("config errors are not a problem for handlers")
	}
	var n int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM marketplace_installs").Scan(&n)
	if n != 0 {
		t.Fatalf("refused installs left %d rows", n)
	}
	in, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "quiz", Accept: all,
		Config: map[string]any{"greeting": "hi", "rounds": "3", "token": "t0k", "mode": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != "1.0.0" || in.Config["rounds"] != float64(3) || !in.HasSecrets || in.Config["token"] != nil {
		t.Fatalf("installed: %+v", in)
	}
	var raw string
	e.pool.QueryRow(ctx, "SELECT config::text || coalesce(encode(secrets_sealed, 'escape'), '') FROM marketplace_installs").Scan(&raw)
	if strings.Contains(raw, "t0k") {
		t.Fatal("the secret is stored in the clear")
	}
	_, err = e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "quiz", Accept: all, Config: good})
	if !problem.Is(err, problem.Conflict) {
		t.Fatalf("installed twice: %v", err)
	}
}

func asConfigErrors(err error, out *marketplace.ConfigErrors) bool {
	ce, ok := err.(marketplace.ConfigErrors)
	if ok {
		*out = ce
	}
	return ok
}
