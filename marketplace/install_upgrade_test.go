package marketplace_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

func TestUpgradeAndDowngradeSwitchTheCommandsOnBothInstances(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	chat := caps(marketplace.CapChat)
	v1 := installManifest("game", "1.0.0", srv.URL, chat, "guess", "hint")
	v1.Config = []byte(`{"properties":{"level":{"type":"enum","enum":["easy","hard"]},"old":{"type":"string"}}}`)
	v2 := installManifest("game", "2.0.0", srv.URL, chat, "guess", "clue")
	v2.Config = []byte(`{"properties":{"level":{"type":"enum","enum":["easy","hard"]},"lives":{"type":"number"}},"required":["lives"]}`)
	id := e.mustModule("game", marketplace.PriceFree, "s", v1)
	e.mustVersion(id, v2)

	if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "game", Version: "1.0.0", Accept: chat,
		Config: map[string]any{"level": "hard", "old": "x"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "v1 on the other instance", func() bool { return replies(e.say(e.r2, "!hint")) == "hint v1.0.0" })

	// The new required field is asked for.
	_, err := e.svc.ChangeVersion(ctx, e.admin, e.cid, "game", "2.0.0", nil, nil)
	var ce marketplace.ConfigErrors
	if !asConfigErrors(err, &ce) || ce.Field("lives") != "is required" {
		t.Fatalf("upgrade without the new field: %v", err)
	}
	res, err := e.svc.ChangeVersion(ctx, e.admin, e.cid, "game", "2.0.0", nil, map[string]any{"lives": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Waiting || res.Install.Version != "2.0.0" || res.Install.Config["level"] != "hard" || res.Install.Config["lives"] != float64(3) ||
		res.Install.Config["old"] != nil {
		t.Fatalf("upgrade: %+v", res)
	}
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "v2", func() bool { return replies(e.say(r, "!guess")) == "guess v2.0.0" })
		want(t, replies(e.say(r, "!hint")) == "" && replies(e.say(r, "!clue")) == "clue v2.0.0", "v2 command set")
	}
	if _, err := e.svc.ChangeVersion(ctx, e.admin, e.cid, "game", "1.0.0", nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "back to v1", func() bool { return replies(e.say(r, "!guess")) == "guess v1.0.0" })
		want(t, replies(e.say(r, "!clue")) == "" && replies(e.say(r, "!hint")) == "hint v1.0.0", "v1 command set")
	}
	var n int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM commands WHERE community_id = $1", e.cid).Scan(&n)
	want(t, n == 2, "%d commands after the downgrade", n)
}

func TestUpgradeWaitsForNewCapabilities(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	id := e.mustModule("bank", marketplace.PriceFree, "s", installManifest("bank", "1.0.0", srv.URL, caps(marketplace.CapChat), "bank"))
	e.mustVersion(id, installManifest("bank", "1.1.0", srv.URL, caps(marketplace.CapChat, marketplace.CapPointsWrite), "bank"))
	if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "bank", Version: "1.0.0", Accept: caps(marketplace.CapChat)}); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.ChangeVersion(ctx, e.admin, e.cid, "bank", "1.1.0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Waiting || fmt.Sprint(res.Missing) != "[points:write]" || res.Install.Version != "1.0.0" ||
		res.Install.Pending == nil || res.Install.Pending.Version != "1.1.0" {
		t.Fatalf("waiting: %+v", res)
	}
	want(t, replies(e.say(e.r2, "!bank")) == "bank v1.0.0", "the old version keeps running")

	_, err = e.svc.AcceptPending(ctx, e.admin, e.cid, "bank", caps(marketplace.CapChat))
	if p := problem.As(err); p == nil || p.Field != "accept" || !strings.Contains(p.Message, "points:write") {
		t.Fatalf("accept without the capability: %v", err)
	}
	in, err := e.svc.AcceptPending(ctx, e.admin, e.cid, "bank", caps(marketplace.CapPointsWrite))
	if err != nil {
		t.Fatal(err)
	}
	want(t, in.Version == "1.1.0" && in.Pending == nil && len(in.Granted) == 2, "accepted: %+v", in)
	waitFor(t, "1.1.0 runs", func() bool { return replies(e.say(e.r2, "!bank")) == "bank v1.1.0" })
	_, err = e.svc.AcceptPending(ctx, e.admin, e.cid, "bank", nil)
	want(t, problem.Is(err, problem.Conflict), "nothing pending: %v", err)
}

func TestLapsedSubscriptionAnswersOneLineAndRenewalRestores(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	id := e.mustModule("pro", marketplace.PriceMonthly, "s", installManifest("pro", "1.0.0", srv.URL, caps(marketplace.CapChat), "pro"))
	e.mustModule("free", marketplace.PriceFree, "s", installManifest("free", "1.0.0", srv.URL, caps(marketplace.CapChat), "free"))
	if _, err := e.pool.Exec(ctx, `INSERT INTO marketplace_purchases (community_id, module_id, kind, status, expires_at, provider)
		VALUES ($1, $2, 'monthly', 'active', now() + interval '1 day', 'test')`, e.cid, id); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"pro", "free"} {
		if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: s, Accept: caps(marketplace.CapChat)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "pro runs", func() bool { return replies(e.say(e.r2, "!pro")) == "pro v1.0.0" })

	// A failed renewal payment (past due) or a cancellation runs to the end of what was paid.
	for _, status := range []string{"past_due", "canceled"} {
		e.pool.Exec(ctx, "UPDATE marketplace_purchases SET status = $2 WHERE module_id = $1", id, status)
		e.st.Invalidate(ctx, e.cid)
		for _, r := range []*router.Router{e.r1, e.r2} {
			want(t, replies(e.say(r, "!pro")) == "pro v1.0.0", "a %s subscription still paid for stopped running", status)
		}
	}
	all, err := e.svc.Installed(ctx, e.cid)
	want(t, err == nil && len(all) == 2 && !all[1].Lapsed, "a cancelled but paid subscription is listed as lapsed: %+v (%v)", all, err)

	e.pool.Exec(ctx, "UPDATE marketplace_purchases SET expires_at = now() - interval '1 minute' WHERE module_id = $1", id)
	e.st.Invalidate(ctx, e.cid)
	line := "@viewer " + router.LapsedLine
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "lapsed line", func() bool {
			res := e.say(r, "!pro")
			return len(res.Responses) == 1 && res.Responses[0].Reply == line
		})
		want(t, replies(e.say(r, "!free")) == "free v1.0.0", "the rest of the community is not affected")
	}
	if err := e.r2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var lapsed int
	e.pool.QueryRow(ctx, "SELECT count(*) FROM command_executions WHERE command = 'pro' AND outcome = 'lapsed'").Scan(&lapsed)
	want(t, lapsed >= 1, "no execution logged as lapsed")
	all, err = e.svc.Installed(ctx, e.cid)
	if err != nil {
		t.Fatal(err)
	}
	want(t, len(all) == 2 && all[1].Slug == "pro" && all[1].Lapsed && !all[0].Lapsed, "installed: %+v", all)

	e.pool.Exec(ctx, "UPDATE marketplace_purchases SET status = 'active', expires_at = now() + interval '30 days' WHERE module_id = $1", id)
	e.st.Invalidate(ctx, e.cid)
	for _, r := range []*router.Router{e.r1, e.r2} {
		waitFor(t, "renewed", func() bool { return replies(e.say(r, "!pro")) == "pro v1.0.0" })
	}
}

func TestTenancyOfInstalls(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	e.mustModule("mine", marketplace.PriceFree, "s", installManifest("mine", "1.0.0", srv.URL, nil, "mine"))
	if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "mine"}); err != nil {
		t.Fatal(err)
	}
	var other int64
	e.pool.QueryRow(ctx, "INSERT INTO communities (slug, name) VALUES ('geese', 'Geese') RETURNING id").Scan(&other)
	all, err := e.svc.Installed(ctx, other)
	want(t, err == nil && len(all) == 0, "another community sees %+v (%v)", all, err)
	want(t, e.svc.Uninstall(ctx, e.admin, other, "mine") == marketplace.ErrNotFound, "uninstall from another community")
	_, err = e.svc.ChangeVersion(ctx, e.admin, other, "mine", "1.0.0", nil, nil)
	want(t, err == marketplace.ErrNotFound, "change from another community: %v", err)
	all, _ = e.svc.Installed(ctx, e.cid)
	want(t, len(all) == 1, "the install survived: %+v", all)
}

func BenchmarkInstall20Commands(b *testing.B) {
	e := newInstallEnv(b)
	ctx := context.Background()
	srv := newModuleServer(b, "s", echo)
	var cmds []string
	for i := range 20 {
		cmds = append(cmds, fmt.Sprintf("c%d:a%d", i, i))
	}
	e.mustModule("big", marketplace.PriceFree, "s", installManifest("big", "1.0.0", srv.URL, caps(marketplace.CapChat), cmds...))
	// Also measured, outside the timed install: from the install's commit
	// until the other instance's router answers one of the module's
	// commands. Run it at most 20 times (-benchtime 20x): each command is
	// asked once, within the router's per-command limits.
	var seen []time.Duration
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "big", Accept: caps(marketplace.CapChat)}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		installed := time.Now()
		// A user and a command of their own each time: the router's flood limits stay out of the figure.
		viewer := router.User{ID: fmt.Sprintf("viewer-%d", len(seen)+100), Name: "viewer"}
		cmd := fmt.Sprintf("c%d", len(seen)%20)
		for replies(e.sayAs(e.r2, viewer, "!"+cmd)) != cmd+" v1.0.0" {
			if time.Since(installed) > 10*time.Second {
				b.Fatalf("the other instance never answered the new command: %+v", e.say(e.r2, "!c0"))
			}
			time.Sleep(time.Millisecond)
		}
		seen = append(seen, time.Since(installed))
		if err := e.svc.Uninstall(ctx, e.admin, e.cid, "big"); err != nil {
			b.Fatal(err)
		}
		for i := 0; e.sayAs(e.r2, router.User{ID: fmt.Sprintf("gone-%d-%d", len(seen), i), Name: "viewer"}, "!"+cmd).Commands != nil; i++ {
			time.Sleep(time.Millisecond) // until the other instance has forgotten the command
		}
		b.StartTimer()
	}
	slices.Sort(seen)
	b.ReportMetric(float64(seen[len(seen)-1].Microseconds())/1000, "max-ms-to-other-instance")
}
