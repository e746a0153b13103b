package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/router"
)

// redisDump returns every key under prefix with its value, whatever its type.
func redisDump(ctx context.Context, t *testing.T, rdb *redis.Client, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result()
		case "set":
			v, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		case "none":
			continue // expired while scanning
		default:
			t.Fatalf("key %s of type %s: teach redisDump to read it", k, typ)
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("read %s: %v", k, err)
		}
		out[k] = fmt.Sprint(v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// An interaction's token opens its edits and followups for 15 minutes: it is
// kept in the memory of the instance answering it, and never written to
// Redis, while its deferred answers still reach Discord.
func TestInteractionTokenNeverReachesRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, true, func(c *Config) { c.ComponentBudget = time.Nanosecond })
	e.command("hello", "Quack, slashed!")
	if _, err := e.settings.CreateModule(ctx, audit.Actor{}, e.cid, router.ModuleInput{Name: "menu", Kind: "webhook", URL: menuModule(t), Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	// A slash command (deferred, then edited) and a slow click whose answer
	// carries a form (kept in Redis for a later click, without any token).
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("720", 2, map[string]any{"id": "1", "name": "hello", "type": 1}))
	e.gw.Dispatch("INTERACTION_CREATE", ixPayload("721", 3, map[string]any{"custom_id": "#menu form", "component_type": 2}))
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-720/messages/@original", "Quack, slashed!")
	e.waitBody("PATCH", "/webhooks/"+appID+"/tok-721/messages/@original", formPrefix)

	dump := redisDump(ctx, t, e.base.Redis, e.base.RedisPrefix)
	forms := 0
	for k, v := range dump {
		if strings.Contains(k, ":form:") {
			forms++
		}
		for _, tok := range []string{"tok-720", "tok-721"} {
			if strings.Contains(k, tok) || strings.Contains(v, tok) {
				t.Errorf("Redis key %s holds the interaction token %s: %s", k, tok, v)
			}
		}
	}
	if forms != 1 {
		t.Errorf("%d forms in Redis, want the click's one (is the dump reading the bot's keys?): %v", forms, dump)
	}
}

// An answer queued after Discord stopped accepting the interaction's token is
// not sent with it.
func TestInteractionTokenExpires(t *testing.T) {
	t.Parallel()
	arrived := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ix := newInteraction("720", appID, "tok-720", "50", guild, arrived)
	if i, err := ix.open(arrived.Add(ixTTL - time.Second)); err != nil || i.Token != "tok-720" || i.ID != "720" || i.AppID != appID {
		t.Fatalf("open within 15 minutes: %+v, %v", i, err)
	}
	if _, err := ix.open(arrived.Add(ixTTL)); !errors.Is(err, errIxExpired) {
		t.Errorf("open after 15 minutes: %v, want errIxExpired", err)
	}
	// A real id counts from Discord's creation of the interaction.
	created := arrived.Add(-10 * time.Second)
	id := fmt.Sprint((created.UnixMilli() - 1420070400000) << 22)
	if _, err := newInteraction(id, appID, "tok", "50", guild, arrived).open(created.Add(ixTTL)); !errors.Is(err, errIxExpired) {
		t.Errorf("open 15 minutes after its creation: %v, want errIxExpired", err)
	}
}
