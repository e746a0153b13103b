package views

import (
	"testing"
	"time"
)

func TestNewUsageChart(t *testing.T) {
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	days := make([]UsageDayRow, 30)
	for i := range days {
		days[i].Day = day.AddDate(0, 0, i)
	}
	days[3] = UsageDayRow{Day: days[3].Day, Runs: 100, Errors: 25, Refused: 10}
	days[10] = UsageDayRow{Day: days[10].Day, Runs: 50, Errors: 50, Refused: 50} // more failures than the bar holds
	c := NewUsageChart("u", "Runs per day", days)

	if len(c.Bars) != 30 {
		t.Fatalf("%d bars", len(c.Bars))
	}
	peak := c.Bars[3]
	if peak.RunH != usagePlotH || peak.RunY != c.PlotTop || peak.ErrH != usagePlotH/4 || peak.ErrY+peak.ErrH != c.PlotBottom {
		t.Errorf("the busiest day: %+v", peak)
	}
	if peak.RefH != usagePlotH/10 || peak.RefY+peak.RefH != peak.ErrY {
		t.Errorf("refusals are not stacked on the errors: %+v", peak)
	}
	capped := c.Bars[10]
	if capped.ErrH+capped.RefH > capped.RunH {
		t.Errorf("errors and refusals overflow their bar: %+v", capped)
	}
	if idle := c.Bars[0]; idle.RunH != 1 || idle.ErrH != 0 || idle.RefH != 0 {
		t.Errorf("a day without runs is not a hairline: %+v", idle)
	}
	for i := 1; i < len(c.Bars); i++ {
		if c.Bars[i].X <= c.Bars[i-1].X+c.Bars[i-1].W-1 {
			t.Fatalf("bars %d and %d overlap", i-1, i)
		}
	}
	if last := c.Bars[29]; last.X+last.W > c.Width {
		t.Errorf("the last bar ends at %d, past the width %d", last.X+last.W, c.Width)
	}
	if len(c.YTicks) != 3 || c.YTicks[2].Label != "100" || c.YTicks[1].Label != "50" {
		t.Errorf("y ticks %+v", c.YTicks)
	}
	if len(c.XTicks) != 6 || c.XTicks[0].Label != "1 Nov" || c.XTicks[5].Label != "30 Nov" {
		t.Errorf("x ticks %+v", c.XTicks)
	}
	if want := "150 runs in 30 days, 75 errors, 60 refused for want of a capability; the most, 100, on 4 Nov."; c.Desc != want {
		t.Errorf("desc %q, want %q", c.Desc, want)
	}

	empty := NewUsageChart("e", "Runs per day", days[:0])
	if len(empty.Bars) != 0 || empty.Width <= 0 || len(empty.YTicks) != 1 {
		t.Errorf("an empty chart: %+v", empty)
	}
}
