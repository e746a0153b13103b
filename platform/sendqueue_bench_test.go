package platform

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// benchChannels is how many channels the messages are spread over.
const benchChannels = 5000

// BenchmarkSendQueue pushes messages for 5,000 channels through one send queue with
// no budgets and a send that only counts: the queue's own cost per message,
// which bounds how fast a bot can hand replies to its platform.
func BenchmarkSendQueue(b *testing.B) {
	o := NewSendQueue(SendQueueConfig{Platform: "bench", Capacity: 1 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx)
	}()
	var wg sync.WaitGroup
	wg.Add(b.N)
	send := func(context.Context) error { wg.Done(); return nil }
	channels := make([]string, benchChannels)
	for i := range channels {
		channels[i] = fmt.Sprintf("#chan%d", i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := o.Send(channels[i%len(channels)], High, send); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	cancel()
	<-done
}
