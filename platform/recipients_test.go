package platform

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/problem"
)

func spentText(limit int, until time.Time) string {
	return fmt.Sprintf("%d people a day; try again after %s UTC", limit, until.UTC().Format("15:04"))
}

// TestRecipientBudgetCountsDifferentPeople: 40 different recipients a day
// per sending account, the same recipient again for free, the 41st refused
// with a sentence naming when a slot frees up, and every instance (each its
// own RecipientBudget) spending the same budget.
func TestRecipientBudgetCountsDifferentPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	now := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := NewRecipientBudget(pool, "twitch", 40, 24*time.Hour)
	b := NewRecipientBudget(pool, "twitch", 40, 24*time.Hour) // another instance
	a.SetClock(clock)
	b.SetClock(clock)

	first := now
	for i := range 40 {
		bud := a
		if i%2 == 1 {
			bud = b
		}
		if err := bud.Spend(ctx, "100", fmt.Sprint(1000+i), spentText); err != nil {
			t.Fatalf("recipient %d: %v", i+1, err)
		}
		now = now.Add(time.Minute)
	}
	if err := b.Spend(ctx, "100", "1000", spentText); err != nil {
		t.Errorf("a recipient reached today again: %v", err)
	}
	err := b.Spend(ctx, "100", "2000", spentText)
	var spent *BudgetSpent
	if !errors.As(err, &spent) || !problem.Is(err, problem.TooMany) {
		t.Fatalf("the 41st recipient: %v, want a spent budget", err)
	}
	if !spent.Until.Equal(first.Add(24*time.Hour)) || err.Error() != "40 people a day; try again after 09:30 UTC" {
		t.Errorf("spent until %v: %q", spent.Until, err)
	}
	if p := problem.As(err); p.RetryAfter != spent.Until.Sub(now) {
		t.Errorf("retry after %v, want until the first slot frees", p.RetryAfter)
	}
	if err := a.Spend(ctx, "555", "2000", spentText); err != nil {
		t.Errorf("another sending account has its own budget: %v", err)
	}

	// A day after the first whisper its slot is free again, and only that one.
	now = first.Add(24*time.Hour + time.Second)
	if err := a.Spend(ctx, "100", "2000", spentText); err != nil {
		t.Errorf("after a day: %v", err)
	}
	if err := a.Spend(ctx, "100", "2001", spentText); !errors.As(err, &spent) {
		t.Errorf("a second new recipient after one slot freed: %v, want refused", err)
	}
	// Whispering the first recipient again now costs a slot (its day is over).
	if err := a.Spend(ctx, "100", "1000", spentText); !errors.As(err, &spent) {
		t.Errorf("the first recipient after its day: %v, want a new slot needed", err)
	}
}

// TestRecipientBudgetHoldsUnderConcurrency: 60 different recipients at
// once get exactly 40 slots.
func TestRecipientBudgetHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	budgets := []*RecipientBudget{NewRecipientBudget(pool, "twitch", 40, 24*time.Hour), NewRecipientBudget(pool, "twitch", 40, 24*time.Hour)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 60 {
		wg.Go(func() {
			err := budgets[i%2].Spend(ctx, "100", fmt.Sprint(3000+i), spentText)
			mu.Lock()
			defer mu.Unlock()
			var spent *BudgetSpent
			switch {
			case err == nil:
				ok++
			case errors.As(err, &spent):
				refused++
			default:
				t.Errorf("recipient %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 40 || refused != 20 {
		t.Errorf("%d sent, %d refused; want 40 and 20", ok, refused)
	}
}

func TestRecipientBudgetRefusesBadInput(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	bud := NewRecipientBudget(pool, "twitch", 40, 24*time.Hour)
	for _, c := range [][2]string{{"", "1"}, {"1", ""}, {string(make([]byte, 101)), "1"}, {"1", string(make([]byte, 101))}} {
		if err := bud.Spend(context.Background(), c[0], c[1], spentText); !problem.Is(err, problem.Invalid) {
			t.Errorf("sender %q recipient %q: %v, want invalid", c[0], c[1], err)
		}
	}
}
