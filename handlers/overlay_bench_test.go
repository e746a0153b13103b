package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/overlay"
)

// BenchmarkOverlaySSE connects 1,000 Server-Sent Events clients to one browser
// source over real HTTP and measures, for each published update, the time
// until the last client has read it. It reports the p99 of that time and the
// server's heap per idle connection.
func BenchmarkOverlaySSE(b *testing.B) {
	const clients = 1000
	e := newEnv(b)
	ctx := context.Background()
	root := e.user("bench@example.com", true)
	c := e.community(root, "bench", nil)
	src, token, err := e.ov.Create(ctx, audit.Actor{}, c.ID, overlay.Ticker, "Ticker")
	if err != nil {
		b.Fatal(err)
	}
	url := e.srv.URL + "/overlay/" + token + "/events"

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	received := make(chan int64, clients*4)
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, clients)
	var connMu sync.Mutex
	dialer := &net.Dialer{}
	transport := &http.Transport{
		MaxIdleConnsPerHost: clients,
		MaxConnsPerHost:     0,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				connMu.Lock()
				conns = append(conns, conn)
				connMu.Unlock()
			}
			return conn, err
		},
	}
	client := &http.Client{Transport: transport}
	ready := make(chan struct{}, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Get(url)
			if err != nil {
				b.Error(err)
				ready <- struct{}{}
				return
			}
			defer res.Body.Close()
			ready <- struct{}{}
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				line := sc.Text()
				if id, ok := strings.CutPrefix(line, "id: "); ok {
					var n int64
					fmt.Sscan(id, &n)
					received <- n
				}
			}
		}()
	}
	for range clients {
		<-ready
	}
	// Wait until every stream is subscribed: a probe update reaches all of them.
	probe, err := e.ov.Publish(ctx, src.ID, overlay.Update{Type: "ticker", Message: "probe"})
	if err != nil {
		b.Fatal(err)
	}
	waitAll(b, received, probe.ID, clients)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / clients

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		u, err := e.ov.Publish(ctx, src.ID, overlay.Update{Type: "ticker", Message: fmt.Sprint("update ", i)})
		if err != nil {
			b.Fatal(err)
		}
		waitAll(b, received, u.ID, clients)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(perConn, "heap-B/conn")
	connMu.Lock()
	for _, c := range conns {
		c.Close()
	}
	connMu.Unlock()
	wg.Wait()
}

// waitAll reads ids until n clients have received id (older ids are skipped).
func waitAll(b *testing.B, received chan int64, id int64, n int) {
	b.Helper()
	got := 0
	timeout := time.After(30 * time.Second)
	for got < n {
		select {
		case x := <-received:
			if x == id {
				got++
			}
		case <-timeout:
			b.Fatalf("only %d of %d clients received update %d", got, n, id)
		}
	}
}
