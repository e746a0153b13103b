package views

import (
	"fmt"
	"strconv"
	"time"
)

// UsageDayRow is one day of a module's usage as the chart and its table show it.
type UsageDayRow struct {
	Day                   time.Time // midnight UTC
	Runs, Errors, Refused int64
	P50Ms, P95Ms          float64
	Communities           int64
}

// UsageChart is a server-rendered SVG bar chart of runs per day with each
// day's errors and capability refusals stacked from the bar's foot;
// NewUsageChart lays it out.
type UsageChart struct {
	ID, Title, Desc string
	Width, Height   int // the viewBox
	PlotLeft        int // the x where the bars start
	PlotTop         int
	PlotBottom      int // the y of the baseline
	Bars            []UsageBar
	YTicks          []ChartTick // run counts up the left axis
	XTicks          []ChartTick // dates under the bars
}

// UsageBar is one day's bar: the runs, and the errors and refusals drawn
// over its foot.
type UsageBar struct {
	UsageDayRow
	Label                  string // "20 Nov"
	X, W                   int
	RunY, RunH             int
	ErrY, ErrH, RefY, RefH int
}

// ChartTick is an axis label at a position along its axis.
type ChartTick struct {
	Pos   int
	Label string
}

const (
	usagePlotH   = 120
	usageBarW    = 12
	usageBarGap  = 4
	usageLeft    = 40 // room for the run counts
	usageTop     = 8
	usageBottomH = 18 // room for the dates
)

// NewUsageChart lays out days (oldest first) as bars scaled to the busiest
// day; a day with no runs gets a hairline so it still shows.
func NewUsageChart(id, title string, days []UsageDayRow) UsageChart {
	c := UsageChart{ID: id, Title: title, PlotLeft: usageLeft, PlotTop: usageTop, PlotBottom: usageTop + usagePlotH}
	c.Width = usageLeft + max(len(days), 1)*(usageBarW+usageBarGap) + usageBarGap
	c.Height = usageTop + usagePlotH + usageBottomH
	var peak, runs, errs, refused int64
	peakAt := ""
	for _, d := range days {
		runs, errs, refused = runs+d.Runs, errs+d.Errors, refused+d.Refused
		if d.Runs > peak {
			peak, peakAt = d.Runs, d.Day.Format("2 Jan")
		}
	}
	scale := func(v int64) int {
		if peak == 0 || v <= 0 {
			return 0
		}
		return max(1, int(v*usagePlotH/peak))
	}
	for i, d := range days {
		b := UsageBar{UsageDayRow: d, Label: d.Day.Format("2 Jan"), X: usageLeft + usageBarGap + i*(usageBarW+usageBarGap), W: usageBarW}
		b.RunH = max(scale(d.Runs), 1)
		b.RunY = c.PlotBottom - b.RunH
		b.ErrH = min(scale(d.Errors), b.RunH)
		b.ErrY = c.PlotBottom - b.ErrH
		b.RefH = min(scale(d.Refused), b.RunH-b.ErrH)
		b.RefY = b.ErrY - b.RefH
		c.Bars = append(c.Bars, b)
		if i%7 == 0 || i == len(days)-1 {
			c.XTicks = append(c.XTicks, ChartTick{Pos: b.X + usageBarW/2, Label: b.Label})
		}
	}
	c.YTicks = []ChartTick{{Pos: c.PlotBottom, Label: "0"}}
	if peak > 0 {
		if peak >= 2 {
			c.YTicks = append(c.YTicks, ChartTick{Pos: c.PlotBottom - scale(peak/2), Label: strconv.FormatInt(peak/2, 10)})
		}
		c.YTicks = append(c.YTicks, ChartTick{Pos: c.PlotTop, Label: strconv.FormatInt(peak, 10)})
	}
	c.Desc = fmt.Sprintf("%d runs in %d days, %d errors, %d refused for want of a capability", runs, len(days), errs, refused)
	if peak > 0 {
		c.Desc += fmt.Sprintf("; the most, %d, on %s", peak, peakAt)
	}
	c.Desc += "."
	return c
}

// ms formats a latency in milliseconds.
func ms(v float64) string {
	if v == 0 {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}
