package overlay_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waddle/waddle/dbtest"
	"github.com/waddle/waddle/overlay"
)

// BenchmarkFanout measures one source watched by 1,000 pages, 500 on each of
// two instances sharing Redis: the time from Publish on one instance to the
// last page receiving the update (p99 over b.N publishes), and the heap an
// idle subscription costs.
func BenchmarkFanout(b *testing.B) {
	const perInstance = 500
	ctx := context.Background()
	pool := dbtest.Pool(b)
	rdb, prefix := dbtest.Redis(b)
	a := startService(b, pool, rdb, prefix)
	c := startService(b, pool, rdb, prefix)
	cid := mustCreateCommunity(ctx, b, pool, "bench")
	src, _ := mustCreateSource(ctx, b, a, cid, overlay.Alerts, "Alerts")

	var chans []<-chan overlay.Update
	var cancels []func()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, svc := range []*overlay.Service{a, c} {
		for range perInstance {
			ch, cancel := svc.Subscribe(src.ID)
			chans = append(chans, ch)
			cancels = append(cancels, cancel)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	total := len(chans)
	heapPerSub := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(total)

	// One goroutine per page, as the SSE handler has; the last to receive
	// an update reports when it did.
	var got atomic.Int64
	last := make(chan time.Time, 1)
	var readers sync.WaitGroup
	for _, ch := range chans {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range ch {
				if got.Add(1) == int64(total) {
					last <- time.Now()
				}
			}
		}()
	}
	b.Cleanup(func() {
		for _, cancel := range cancels {
			cancel()
		}
		readers.Wait()
	})
	lat := make([]time.Duration, 0, b.N)
	u := overlay.Update{Type: "alert", Message: "Ann just followed!", User: "Ann", Seconds: 5}

	b.ResetTimer()
	for range b.N {
		got.Store(0)
		start := time.Now()
		if _, err := a.Publish(ctx, src.ID, u); err != nil {
			b.Fatal(err)
		}
		select {
		case end := <-last:
			lat = append(lat, end.Sub(start))
		case <-time.After(wait):
			b.Fatalf("only %d of %d pages received the update", got.Load(), total)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(heapPerSub, "heap-B/subscriber") // after ResetTimer, which drops metrics
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}
