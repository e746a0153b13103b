package invalidation_test

import (
	"context"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/invalidation"
)

// A follower drops everything when it subscribes, then hears each message
// published on its channel (and none published on another), and returns
// when its context ends.
func TestFollow(t *testing.T) {
	rdb, prefix := dbtest.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	resets := make(chan struct{}, 4)
	heard := make(chan string, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		invalidation.Follow(ctx, rdb, prefix+"news", func() { resets <- struct{}{} }, func(p string) { heard <- p })
	}()
	select {
	case <-resets:
	case <-time.After(10 * time.Second):
		t.Fatal("no reset on subscribing")
	}
	if err := rdb.Publish(ctx, prefix+"other", "elsewhere").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, prefix+"news", "42").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-heard:
		if p != "42" {
			t.Errorf("heard %q, want 42 (and nothing from another channel)", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message was not heard")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return when its context ended")
	}
}
