package importer_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/router"
)

// BenchmarkPreviewApply100kViewers stores, previews and applies an import
// of 100,000 viewers' balances: 90% resolved through Helix (a local table,
// in calls of 100), the rest kept pending. One op is all three.
func BenchmarkPreviewApply100kViewers(b *testing.B) {
	e := newEngine(b)
	const n = 100_000
	bundle := &importer.Bundle{Source: importer.Streamlabs}
	for i := range n {
		login := "viewer" + strconv.Itoa(i)
		bundle.Points = append(bundle.Points, importer.Balance{Login: login, Points: int64(i % 5000), Seconds: int64(i % 3600)})
		if i%10 != 0 {
			e.helix.ids[login] = strconv.Itoa(1_000_000 + i)
		}
	}
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		e.cid = e.community("bench"+strconv.Itoa(round), "")
		in := *bundle
		in.Points = append([]importer.Balance(nil), bundle.Points...)
		b.StartTimer()
		t0 := time.Now()
		im, err := e.s.Create(e.ctx, audit.Actor{}, e.cid, &in, nil)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		p, err := e.s.Preview(e.ctx, e.cid, im.ID)
		if err != nil {
			b.Fatal(err)
		}
		if p.Points.Viewers != n || p.Points.Resolved != n*9/10 {
			b.Fatalf("preview points = %+v", p.Points)
		}
		t2 := time.Now()
		im = e.apply(im.ID, importer.Choices{})
		b.ReportMetric(t1.Sub(t0).Seconds(), "create-s")
		b.ReportMetric(t2.Sub(t1).Seconds(), "preview-s")
		b.ReportMetric(time.Since(t2).Seconds(), "apply-s")
		if im.Report.PointsCredited != n*9/10 || im.Report.PointsPending != n/10 {
			b.Fatalf("report = %+v", im.Report)
		}
	}
}

// BenchmarkApply1000Commands stores, previews and applies 1,000 commands
// with an alias each; one op is all three.
func BenchmarkApply1000Commands(b *testing.B) {
	e := newEngine(b)
	bundle := &importer.Bundle{Source: importer.Nightbot}
	for i := range 1000 {
		bundle.Commands = append(bundle.Commands, importer.Command{Name: "cmd" + strconv.Itoa(i), Aliases: []string{"alias" + strconv.Itoa(i)},
			Response: "Reply {user} " + strconv.Itoa(i), Original: "Reply $(user) " + strconv.Itoa(i), Permission: router.Everyone, Enabled: true})
	}
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		e.cid = e.community("bench"+strconv.Itoa(round), "")
		in := *bundle
		in.Commands = append([]importer.Command(nil), bundle.Commands...)
		b.StartTimer()
		im, err := e.s.Create(e.ctx, audit.Actor{}, e.cid, &in, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.s.Preview(e.ctx, e.cid, im.ID); err != nil {
			b.Fatal(err)
		}
		im = e.apply(im.ID, importer.Choices{})
		if im.Report.Commands != 1000 || im.Report.Aliases != 1000 {
			b.Fatalf("report = %+v", im.Report)
		}
	}
}
