package labels_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waddle/waddle/bots/twitch"
	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/labels"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// The test channel: duckchan (200) on the Twitch fake.
const (
	channel     = "duckchan"
	broadcaster = "200"
)

// withTwitch links duckchan, stores its owner's token with scopes, and
// lets the real Twitch bot's VIP giver give VIP through the Helix fake.
func (e *groupsEnv) withTwitch(t *testing.T, scopes ...string) *twitchtest.API {
	t.Helper()
	ctx := context.Background()
	if _, err := db.New(e.pool).EntityAdd(ctx, db.EntityAddParams{CommunityID: e.cid, Platform: router.Twitch, Server: channel, Name: channel}); err != nil {
		t.Fatal(err)
	}
	api := twitchtest.StartAPI(t)
	api.SetScopes("caster-1", scopes...)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	tokens := platform.NewTokens(e.pool, box)
	if err := tokens.Save(ctx, router.Twitch, channel, platform.Token{Access: "caster-1", AccountID: broadcaster, AccountLogin: channel,
		Scopes: scopes, Expires: time.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rt := router.New(router.Config{Pool: e.pool})
	bot, err := twitch.New(twitch.Config{Router: rt, Tokens: tokens, Links: platform.NewLinks(e.pool), Leases: platform.NewLeases(e.pool, "vip-test", 0),
		Status: platform.NewStatus(router.Twitch), OAuth: &twitch.OAuth{ClientID: twitchtest.ClientID, ClientSecret: twitchtest.ClientSecret,
			AuthURL: api.AuthURL(), APIURL: api.HelixURL()}, APIURL: api.HelixURL(), ViewersEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	e.groups.SetGiver(router.Twitch, bot.VIPs())
	return api
}

var vipScopes = append(slices.Clone(twitchtest.BroadcasterScopes), twitchtest.VIPScope)

// TestVIPGivenAndTakenThroughTwitch: the label makes a viewer VIP with the
// owner's token, and taking it removes VIP; Twitch's 429 and 5xx are
// retried.
func TestVIPGivenAndTakenThroughTwitch(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	api := e.withTwitch(t, vipScopes...)
	api.AddUser("301", "duckling")
	vip := e.label(t, "VIP")
	e.mapTo(t, vip, router.Twitch, channel, twitch.VIPGroup)
	duck := e.person(t, map[string]string{router.Twitch: "301"})

	api.FailVIPs(429, 503)
	e.setLabel(t, duck, vip, true)
	a := assignment(t, e.settled(t, vip), "301")
	if a.State != labels.StateDone || a.Attempts != 3 || !slices.Equal(api.VIPs(broadcaster), []string{"301"}) {
		t.Fatalf("assignment %+v, VIPs %v; want done after 3 attempts, 301 VIP", a, api.VIPs(broadcaster))
	}
	e.setLabel(t, duck, vip, false)
	if a := assignment(t, e.settled(t, vip), "301"); a.State != labels.StateDone || len(api.VIPs(broadcaster)) != 0 {
		t.Fatalf("after taking: %+v, VIPs %v", a, api.VIPs(broadcaster))
	}
	// Taking VIP from someone who lost it by hand is already done.
	e.setLabel(t, duck, vip, true)
	e.settled(t, vip)
	api.SetVIPs(broadcaster)
	e.setLabel(t, duck, vip, false)
	if a := assignment(t, e.settled(t, vip), "301"); a.State != labels.StateDone {
		t.Fatalf("taking a VIP gone by hand: %+v", a)
	}
}

// TestVIPRefusals: Twitch's permanent refusals fail with its reason.
func TestVIPRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(api *twitchtest.API)
		want  string
	}{
		{"moderator", func(api *twitchtest.API) { api.SetModerators(broadcaster, "301") }, "(422): The user in user_id is a moderator"},
		{"no slots", func(api *twitchtest.API) { api.SetVIPSlots(broadcaster, 0) }, "(409): The broadcaster doesn't have available VIP slots."},
		{"not ready", func(api *twitchtest.API) { api.SetVIPsNotReady(broadcaster) }, "(425): The broadcaster must complete the Build a Community requirement"},
		{"unknown user", func(*twitchtest.API) {}, "(404): The ID in user_id was not found."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newGroupsEnv(t)
			api := e.withTwitch(t, vipScopes...)
			if c.name != "unknown user" {
				api.AddUser("301", "duckling")
			}
			c.setup(api)
			vip := e.label(t, "VIP")
			e.mapTo(t, vip, router.Twitch, channel, twitch.VIPGroup)
			duck := e.person(t, map[string]string{router.Twitch: "301"})
			e.setLabel(t, duck, vip, true)
			a := assignment(t, e.settled(t, vip), "301")
			if a.State != labels.StateFailed || a.Attempts != 1 || !strings.Contains(a.Detail, c.want) {
				t.Fatalf("assignment %+v, want failed once with %q", a, c.want)
			}
		})
	}
}

// TestVIPNeedsTheScope: without channel:manage:vips in the owner's token,
// VIP is offered as refused and cannot be mapped.
func TestVIPNeedsTheScope(t *testing.T) {
	t.Parallel()
	e := newGroupsEnv(t)
	e.withTwitch(t, twitchtest.BroadcasterScopes...)
	vip := e.label(t, "VIP")
	_, err := e.groups.Map(context.Background(), moderator, e.cid, vip, router.Twitch, channel, twitch.VIPGroup)
	if p := problem.As(err); p == nil || !strings.Contains(p.Message, "lacks the channel:manage:vips scope") {
		t.Fatalf("map without the scope: %v", err)
	}
}
