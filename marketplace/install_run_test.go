package marketplace_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/marketplace"
	"github.com/waddle/waddle/router"
)

// Each capability: a remote module answers with a part that needs it. Granted,
// the part is applied; not granted, it is dropped and the execution log
// names the capability.
func TestCapabilitiesAreEnforced(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	hooks := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks <- r.Method + " " + r.URL.Path
	}))
	t.Cleanup(hook.Close)

	type check func(t *testing.T, res router.Result)
	cases := []struct {
		cap    marketplace.Capability
		answer router.Response
		// applied checks the part was applied; dropped that it was not.
		applied, dropped check
	}{
		{marketplace.CapChat, router.Response{Reply: "hello chat"},
			func(t *testing.T, res router.Result) {
				want(t, replies(res) == "hello chat", "reply: %+v", res.Responses)
			},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 0, "reply kept: %+v", res.Responses)
			}},
		{marketplace.CapDM, router.Response{Reply: "psst", Private: true},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 1 && res.Responses[0].Private, "dm: %+v", res.Responses)
			},
			func(t *testing.T, res router.Result) { want(t, len(res.Responses) == 0, "dm kept: %+v", res.Responses) }},
		{marketplace.CapModerate, router.Response{Moderation: &router.Moderation{Action: router.ActionTimeout, Seconds: 10}},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 1 && res.Responses[0].Moderation != nil, "moderation: %+v", res.Responses)
			},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 0, "moderation kept: %+v", res.Responses)
			}},
		{marketplace.CapOverlay, router.Response{Overlay: &router.Overlay{Kind: "alert", Data: map[string]any{"text": "hi"}}},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 1 && res.Responses[0].Overlay != nil, "overlay: %+v", res.Responses)
			},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 0, "overlay kept: %+v", res.Responses)
			}},
		{marketplace.CapButtons, router.Response{Buttons: []router.Button{{ID: "!vote yes", Label: "Yes"}}},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 1 && len(res.Responses[0].Buttons) == 1, "buttons: %+v", res.Responses)
			},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Responses) == 0, "buttons kept: %+v", res.Responses)
			}},
		{marketplace.CapPointsWrite, router.Response{Points: &router.PointsGrant{Amount: 7, Reason: "won trivia"}},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Points) == 1 && res.Points[0].Delta == 7 && res.Points[0].Reason == "won trivia", "points: %+v", res.Points)
				want(t, len(res.Responses) == 0, "the points part reached the adapters: %+v", res.Responses)
			},
			func(t *testing.T, res router.Result) {
				want(t, len(res.Points) == 0, "points changed: %+v", res.Points)
			}},
		{marketplace.CapHTTP, router.Response{HTTP: &router.HTTPRequest{Method: "POST", URL: hook.URL + "/ping", Body: `{"a":1}`}},
			func(t *testing.T, res router.Result) {
				select {
				case got := <-hooks:
					want(t, got == "POST /ping", "http call: %q", got)
				case <-time.After(5 * time.Second):
					t.Fatal("the HTTP call was not made")
				}
			},
			func(t *testing.T, res router.Result) {
				want(t, !slices.ContainsFunc(res.Changes, func(c string) bool { return strings.Contains(c, "called for module") }), "http called: %v", res.Changes)
			}},
	}
	for i, c := range cases {
		answer := c.answer
		srv := newModuleServer(t, "s", func(router.RemoteRequest) router.RemoteAnswer {
			return router.RemoteAnswer{Responses: []router.Response{answer}}
		})
		for _, granted := range []bool{true, false} {
			slug, cmd := fmt.Sprintf("cap%d-no", i), fmt.Sprintf("cap%dno", i)
			var cs []marketplace.Capability
			if granted {
				slug, cmd, cs = fmt.Sprintf("cap%d-yes", i), fmt.Sprintf("cap%dyes", i), caps(c.cap)
			}
			e.mustModule(slug, marketplace.PriceFree, "s", installManifest(slug, "1.0.0", srv.URL, cs, cmd))
			if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: slug, Accept: cs}); err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprintf("%s granted %v", c.cap, granted), func(t *testing.T) {
				res := e.say(e.r2, "!"+cmd)
				if err := e.r2.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				var refused []string
				var executor string
				var versionID *int64
				if err := e.pool.QueryRow(ctx, "SELECT refused, executor, module_version_id FROM command_executions WHERE command = $1",
					cmd).Scan(&refused, &executor, &versionID); err != nil {
					t.Fatal(err)
				}
				want(t, executor == "module "+slug+"@1.0.0" && versionID != nil, "logged as %q, version %v", executor, versionID)
				if granted {
					c.applied(t, res)
					want(t, len(refused) == 0, "refused %v", refused)
					return
				}
				c.dropped(t, res)
				want(t, slices.Equal(refused, []string{string(c.cap)}), "refused %v, want %s", refused, c.cap)
			})
		}
	}
	var bal int64
	e.pool.QueryRow(ctx, "SELECT coalesce(sum(balance), 0) FROM points_balances WHERE user_id = 'viewer-1'").Scan(&bal)
	// Chat messages earn points too; the module's 7 are in the ledger under its reason.
	var moduleDelta int64
	e.pool.QueryRow(ctx, "SELECT coalesce(sum(delta), 0) FROM points_ledger WHERE reason = 'won trivia'").Scan(&moduleDelta)
	want(t, moduleDelta == 7, "module points in the ledger: %d (balance %d)", moduleDelta, bal)
}

func TestPointsReadSendsTheBalanceOnlyWhenGranted(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	e.mustModule("bal-yes", marketplace.PriceFree, "s", installManifest("bal-yes", "1.0.0", srv.URL, caps(marketplace.CapChat, marketplace.CapPointsRead), "balyes"))
	e.mustModule("bal-no", marketplace.PriceFree, "s", installManifest("bal-no", "1.0.0", srv.URL, caps(marketplace.CapChat), "balno"))
	for _, s := range []string{"bal-yes", "bal-no"} {
		m := caps(marketplace.CapChat, marketplace.CapPointsRead)
		if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: s, Accept: m}); err != nil {
			t.Fatal(err)
		}
	}
	e.say(e.r1, "!balyes")
	got := srv.last.Load()
	want(t, got != nil && got.Balance != nil && got.Command == "balyes" && got.ModuleVersion == "1.0.0", "with points:read: %+v", got)
	e.say(e.r1, "!balno")
	got = srv.last.Load()
	want(t, got != nil && got.Balance == nil && got.Command == "balno", "without points:read: %+v", got)
}

func TestConfigAndSecretsReachTheModule(t *testing.T) {
	t.Parallel()
	e := newInstallEnv(t)
	ctx := context.Background()
	srv := newModuleServer(t, "s", echo)
	m := installManifest("cfg", "1.0.0", srv.URL, caps(marketplace.CapChat), "cfg")
	m.Config = []byte(`{"properties":{"greeting":{"type":"string"},"token":{"type":"secret"}},"required":["token"]}`)
	e.mustModule("cfg", marketplace.PriceFree, "s", m)
	if _, err := e.svc.Install(ctx, e.admin, e.cid, marketplace.InstallInput{Slug: "cfg", Accept: caps(marketplace.CapChat),
		Config: map[string]any{"greeting": "hey", "token": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	e.say(e.r1, "!cfg")
	got := srv.last.Load()
	want(t, got != nil && got.Config["greeting"] == "hey" && got.Config["token"] == "s3cret", "config sent: %+v", got)
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}
