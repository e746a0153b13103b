package identity_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/router"
)

// Points awarded through the real router while the link happens are
// neither lost nor counted twice: the final balance is what each had plus
// every award, and each identity's ledger sums to its balance.
func TestMergeWithConcurrentAwards(t *testing.T) {
	e := newEnv(t)
	e.say(alice, "hi")
	e.seen(bob)
	e.say(alice, "!identity link discord bob")
	code := e.box.code(t)
	before := e.balance(alice) + e.balance(bob)

	// Follows on Twitch earn 10 and reactions on Discord 2, every time.
	award := func(p person, kind router.Kind) int64 {
		ev := router.Event{ID: fmt.Sprintf("ev-%d", seq.Add(1)), Platform: p.platform, Kind: kind, Server: server(p.platform),
			Channel: "50", User: router.User{ID: p.id, Name: p.name}, Time: time.Now()}
		res, err := e.r.Handle(t.Context(), ev, router.Options{})
		if err != nil {
			t.Errorf("award: %v", err)
			return 0
		}
		var n int64
		for _, pc := range res.Points {
			n += pc.Delta
		}
		return n
	}
	var awarded atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 25 {
				if w%2 == 0 {
					awarded.Add(award(alice, router.Follow))
				} else {
					awarded.Add(award(bob, router.Reaction))
				}
			}
		}()
	}
	close(start)
	got := e.say(bob, "!verify "+code)
	wg.Wait()
	if !strings.Contains(got, "linked:") {
		t.Fatalf("verify answered %q", got)
	}
	if awarded.Load() != 8*25*10+8*25*2 {
		t.Fatalf("the router awarded %d points, want every award made", awarded.Load())
	}
	want := before + awarded.Load()
	if a, b := e.balance(alice), e.balance(bob); a != want || b != want {
		t.Errorf("balances %d (alice) and %d (bob), want one balance of %d", a, b, want)
	}
	// Every identity's ledger sums to its balance (the absorbed one's to 0).
	rows, err := e.pool.Query(t.Context(), `
		SELECT l.identity_id, sum(l.delta), coalesce((SELECT b.balance FROM points_balances b WHERE b.community_id = l.community_id AND b.identity_id = l.identity_id), 0)
		FROM points_ledger l WHERE l.community_id = $1 GROUP BY l.community_id, l.identity_id`, e.cid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, sum, bal int64
		if err := rows.Scan(&id, &sum, &bal); err != nil {
			t.Fatal(err)
		}
		n++
		if sum != bal {
			t.Errorf("identity %d: ledger sums to %d, balance %d", id, sum, bal)
		}
	}
	if n != 2 {
		t.Errorf("%d identities in the ledger, want the survivor and the absorbed one", n)
	}
}
