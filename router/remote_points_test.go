package router_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// A community's own module may do everything, and its points changes are
// applied like an installed module's; out-of-bounds ones are skipped.
func TestRemoteModulePointsChange(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(router.RemoteAnswer{Responses: []router.Response{
			{Reply: "you won", Points: &router.PointsGrant{Amount: 25, Reason: "won a round"}},
			{Points: &router.PointsGrant{Amount: router.MaxModulePoints + 1}},
			{Points: &router.PointsGrant{Amount: 5, Platform: router.Discord}},
		}})
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := e.s.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: "game", Kind: "webhook", URL: srv.URL, Secret: "k"}); err != nil {
		t.Fatal(err)
	}
	res := e.say("alice", nil, "#game")
	var module []router.PointsChange
	for _, p := range res.Points {
		if p.Reason != "chat_message" { // what the message itself earns
			module = append(module, p)
		}
	}
	if replies(res) != "you won" || len(module) != 1 || module[0].Delta != 25 || module[0].Reason != "won a round" {
		t.Fatalf("answer %q, points %+v", replies(res), res.Points)
	}
	for _, r := range res.Responses {
		if r.Points != nil {
			t.Fatalf("a points change reached the adapters: %+v", r)
		}
	}
	if n := e.count("SELECT count(*) FROM points_ledger WHERE reason = 'won a round' AND delta = 25"); n != 1 {
		t.Fatalf("%d ledger rows", n)
	}
}
