package platform

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
)

func TestLeasesOneHolderAndHandOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	a := NewLeases(pool, "instance-a", 300*time.Millisecond)
	b := NewLeases(pool, "instance-b", 300*time.Millisecond)
	chans := []string{"ducks", "geese"}

	held, err := a.Sync(ctx, "twitch:channel:", chans)
	if err != nil || fmt.Sprint(held) != "[ducks geese]" {
		t.Fatalf("a holds %v, %v: want both free channels", held, err)
	}
	if held, err := b.Sync(ctx, "twitch:channel:", chans); err != nil || len(held) != 0 {
		t.Fatalf("b holds %v, %v while a's leases are live", held, err)
	}
	// Other prefixes are separate.
	shards := NewLeases(pool, "instance-b", time.Minute)
	if held, err := shards.Sync(ctx, "discord:shard:", []string{"0"}); err != nil || fmt.Sprint(held) != "[0]" {
		t.Fatalf("b holds shards %v, %v", held, err)
	}
	// a renews, and stops wanting geese: b can take geese now.
	if held, _ := a.Sync(ctx, "twitch:channel:", []string{"ducks"}); fmt.Sprint(held) != "[ducks]" {
		t.Fatalf("a renewed %v", held)
	}
	if held, _ := b.Sync(ctx, "twitch:channel:", chans); fmt.Sprint(held) != "[geese]" {
		t.Fatalf("b took %v after a released geese, want [geese]", held)
	}
	// a dies (stops renewing): its lease expires and b takes ducks over.
	deadline := time.Now().Add(5 * time.Second)
	for {
		held, err := b.Sync(ctx, "twitch:channel:", chans)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(held) == "[ducks geese]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b holds %v after a stopped renewing", held)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// a comes back: it cannot take anything b renews.
	if held, _ := a.Sync(ctx, "twitch:channel:", chans); len(held) != 0 {
		t.Errorf("a took %v from a live holder", held)
	}
	// b shuts down cleanly: a takes over at once.
	if err := b.Release(ctx, "twitch:channel:"); err != nil {
		t.Fatal(err)
	}
	if held, _ := a.Sync(ctx, "twitch:channel:", chans); fmt.Sprint(held) != "[ducks geese]" {
		t.Errorf("a holds %v after b released, want both", held)
	}
	hs, err := a.Holders(ctx, "twitch:channel:")
	if err != nil || len(hs) != 2 || hs[0].Holder != "instance-a" {
		t.Errorf("holders %+v, %v", hs, err)
	}
	if hs, _ := a.Holders(ctx, "discord:shard:"); len(hs) != 1 || hs[0].Holder != "instance-b" {
		t.Errorf("shard holders %+v: b's shard lease must be untouched by the channel release", hs)
	}
}
