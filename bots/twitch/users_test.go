package twitch

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/waddle/waddle/bots/twitch/twitchtest"
	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/platform"
	"github.com/waddle/waddle/ratelimit"
	"github.com/waddle/waddle/router"
	"github.com/waddle/waddle/secret"
)

// TwitchIDs resolves 250 logins in three Get Users calls of at most 100
// (the local Helix refuses more), lower-cases and de-duplicates them, and
// leaves out logins Twitch does not know and names that cannot be logins.
func TestTwitchIDsInBatches(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.Pool(t)
	rdb, prefix := dbtest.Redis(t)
	logger := testLoggerTB(t)
	rt := router.New(router.Config{Modules: modules.All(), Pool: pool, Redis: rdb, RedisPrefix: prefix, Limiter: ratelimit.New(rdb, prefix, logger), Logger: logger})
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.New(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	api := twitchtest.StartAPI(t)
	var logins []string
	for i := range 250 {
		login := fmt.Sprintf("viewer%03d", i)
		if i%50 != 7 { // five of them Twitch does not know
			api.AddUser(fmt.Sprint(9000+i), login)
		}
		logins = append(logins, login)
	}
	logins = append(logins, "VIEWER001", "@viewer002", "not a login", "")
	bot, err := New(Config{Router: rt, Tokens: platform.NewTokens(pool, box), Links: platform.NewLinks(pool),
		Leases: platform.NewLeases(pool, "test", time.Hour), Status: platform.NewStatus(Platform),
		OAuth:  &OAuth{ClientID: twitchtest.ClientID, ClientSecret: twitchtest.ClientSecret, AuthURL: api.AuthURL(), APIURL: api.HelixURL()},
		Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := bot.TwitchIDs(ctx, logins)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 245 {
		t.Errorf("%d logins resolved, want 245", len(ids))
	}
	if ids["viewer001"] != "9001" || ids["viewer249"] != "9249" {
		t.Errorf("viewer001 → %q, viewer249 → %q", ids["viewer001"], ids["viewer249"])
	}
	if _, ok := ids["viewer007"]; ok {
		t.Error("a login Twitch does not know was resolved")
	}
}
