package router_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// A community module that answers with a moderation action lowers the
// reputation of the person it acts on, with the module's reason.
func TestModuleModerationLowersReputation(t *testing.T) {
	t.Parallel()
	e := newRemoteEnv(t, true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(router.RemoteAnswer{Responses: []router.Response{
			{Moderation: &router.Moderation{Action: router.ActionWarn, Reason: "no begging"}},
		}})
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := e.s.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: "guard", Kind: "webhook", URL: srv.URL, Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	res := e.say("beggar", nil, "#guard give me points")
	if len(res.Responses) != 1 || res.Responses[0].Moderation == nil {
		t.Fatalf("answer %+v", res.Responses)
	}
	rep, evs := e.reputationOf(router.Twitch, "id-beggar")
	if rep != -5 || len(evs) != 1 || evs[0].Action != "warn" || !strings.HasSuffix(evs[0].Reason, "no begging") || !strings.Contains(evs[0].Reason, "guard") {
		t.Errorf("reputation %d, history %+v; want -5 and the module's warning", rep, evs)
	}
}
