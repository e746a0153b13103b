package identity_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/router"
)

// observed keeps the identity the router saw for each event.
type observed struct {
	mu  sync.Mutex
	ids []int64
}

func (o *observed) Observed(_ context.Context, h router.Handled) {
	o.mu.Lock()
	o.ids = append(o.ids, h.IdentityID)
	o.mu.Unlock()
}

func (o *observed) last() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ids) == 0 {
		return 0
	}
	return o.ids[len(o.ids)-1]
}

// A link made through one instance drops the cached identity on another,
// whose router then sees the linked person.
func TestCacheInvalidationAcrossInstances(t *testing.T) {
	e := newEnv(t)
	obs := &observed{}
	_, other := e.instance(obs)
	e.seen(bob)
	bobAlone := e.identityOf(bob)
	e.sayOn(other, bob, "hi") // the other instance caches bob's own identity
	if got := obs.last(); got != bobAlone {
		t.Fatalf("the other router saw identity %d for bob, want %d", got, bobAlone)
	}
	e.say(alice, "hi")
	if got := e.link(alice, bob); got == "" {
		t.Fatal("no answer to !verify")
	}
	linked := e.identityOf(alice)
	if e.identityOf(bob) != linked {
		t.Fatal("not linked")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.sayOn(other, bob, "still here")
		if obs.last() == linked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other router still sees identity %d for bob, want %d", obs.last(), linked)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And the unlink, the other way round.
	e.say(alice, "!identity unlink discord")
	fresh := e.identityOf(bob)
	for {
		e.sayOn(other, bob, "alone again")
		if obs.last() == fresh {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("the other router still sees identity %d for bob after the unlink, want %d", obs.last(), fresh)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
