package importer

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// slQuoteRow is a quotes sheet's row before its date is settled.
type slQuoteRow struct {
	q       Quote
	rawDate string
	cell    string // the date's cell
	date    slDate
}

// slDate is a date as written in text, its order not yet known.
type slDate struct {
	text       bool // written as text (a/b/y); false: a real Excel date or ISO
	a, b, year int
	clock      time.Duration
	fixed      time.Time // known without inference
}

// slReadQuotes reads a quotes sheet. Dates written as text (23/04/2021)
// are read as day/month or month/day by looking at the whole column.
func slReadQuotes(b *Bundle, s *slSheet, h slHeader, date1904 bool) error {
	idCol := h.col("id", "#", "number", "no", "quoteid")
	textCol := h.col("quote", "text", "quotetext")
	gameCol := h.col("game", "category")
	dateCol := h.col("date", "added", "addedon", "time", "timestamp")
	byCol := h.col("addedby", "user", "author", "by", "username")
	var rows []slQuoteRow
	for {
		cells, more, err := s.next()
		if err != nil {
			return &FileError{File: s.file, Message: fmt.Sprintf("sheet %q, row %d cannot be read: %v", s.name, s.row, err)}
		}
		if !more {
			break
		}
		text := slCell(cells, textCol)
		if text == "" {
			if strings.TrimSpace(strings.Join(cells, "")) != "" {
				b.Skipped = append(b.Skipped, Skipped{Category: "quote", Name: s.cell(textCol), Reason: "the row has no quote text"})
			}
			continue
		}
		if len(b.Quotes)+len(rows) >= MaxQuotes {
			return s.bad(textCol, "more than %d quotes", MaxQuotes)
		}
		r := slQuoteRow{q: Quote{Number: -1, Text: text, Game: slCell(cells, gameCol), AddedBy: slCell(cells, byCol)}}
		if raw := slCell(cells, idCol); raw != "" {
			n, err := strconv.Atoi(strings.TrimSuffix(raw, ".0"))
			if err != nil || n < 0 || n > 10_000_000 {
				return s.bad(idCol, "%q is not a quote number", raw)
			}
			r.q.Number = n
		}
		if raw := slCell(cells, dateCol); raw != "" {
			d, ok := slParseDate(raw, date1904)
			if !ok {
				return s.bad(dateCol, "%q is not a date Waddle can read (write it as 23/04/2021 or 2021-04-23)", raw)
			}
			r.rawDate, r.cell, r.date = raw, s.cell(dateCol), d
		}
		rows = append(rows, r)
	}
	dayFirst, note, err := slDateOrder(s, rows)
	if err != nil {
		return err
	}
	if note != "" {
		b.Notes = append(b.Notes, note)
	}
	for _, r := range rows {
		if r.rawDate != "" {
			t, ok := r.date.resolve(dayFirst)
			if !ok {
				return &FileError{File: s.file, Cell: r.cell, Message: fmt.Sprintf("%q is not a real date when read as %s", r.rawDate, slOrderName(dayFirst))}
			}
			r.q.Date = t
		}
		b.Quotes = append(b.Quotes, r.q)
	}
	return nil
}

var slDateRe = regexp.MustCompile(`^(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$`)

// slParseDate reads a date cell: an Excel serial date (a number), or
// text: ISO (2021-04-23), a/b/year with either order, or a written month.
func slParseDate(raw string, date1904 bool) (slDate, bool) {
	if v, err := strconv.ParseFloat(raw, 64); err == nil {
		if !(v >= 1 && v <= 2958465) { // 1900-01-01 to 9999-12-31; also NaN
			return slDate{}, false
		}
		t, err := excelize.ExcelDateToTime(v, date1904)
		if err != nil {
			return slDate{}, false
		}
		return slDate{fixed: t.UTC()}, true
	}
	if m := slDateRe.FindStringSubmatch(raw); m != nil {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		var clock time.Duration
		if m[4] != "" {
			hour := n(4)
			if ampm := strings.ToLower(m[7]); ampm != "" {
				if hour < 1 || hour > 12 {
					return slDate{}, false
				}
				hour %= 12
				if ampm == "pm" {
					hour += 12
				}
			}
			if hour > 23 || n(5) > 59 || n(6) > 59 {
				return slDate{}, false
			}
			clock = time.Duration(hour)*time.Hour + time.Duration(n(5))*time.Minute + time.Duration(n(6))*time.Second
		}
		if len(m[1]) == 4 { // year first: ISO order
			t, ok := slMakeDate(n(1), n(2), n(3))
			return slDate{fixed: t.Add(clock)}, ok
		}
		year := n(3)
		switch {
		case len(m[3]) <= 2:
			year += 2000
		case len(m[3]) != 4:
			return slDate{}, false
		}
		return slDate{text: true, a: n(1), b: n(2), year: year, clock: clock}, true
	}
	for _, layout := range []string{"January 2, 2006", "Jan 2, 2006", "2 January 2006", "2 Jan 2006", "Monday, January 2, 2006"} {
		if t, err := time.Parse(layout, raw); err == nil {
			return slDate{fixed: t}, t.Year() >= 1900
		}
	}
	return slDate{}, false
}

func slMakeDate(year, month, day int) (time.Time, bool) {
	if month < 1 || month > 12 || day < 1 || day > 31 || year < 1900 || year > 9999 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t, t.Day() == day
}

func (d slDate) resolve(dayFirst bool) (time.Time, bool) {
	if !d.text {
		return d.fixed, true
	}
	day, month := d.b, d.a
	if dayFirst {
		day, month = d.a, d.b
	}
	t, ok := slMakeDate(d.year, month, day)
	return t.Add(d.clock), ok
}

func slOrderName(dayFirst bool) string {
	if dayFirst {
		return "day/month"
	}
	return "month/day"
}

// slDateOrder infers the column's order from every text date in it: a
// first field over 12 means day/month, a second field over 12 means
// month/day; both is an error naming the two cells; neither is read as
// month/day (Streamlabs Chatbot's default format) with a note.
func slDateOrder(s *slSheet, rows []slQuoteRow) (dayFirst bool, note string, err error) {
	var dm, md, any *slQuoteRow
	for i := range rows {
		r := &rows[i]
		if r.rawDate == "" || !r.date.text {
			continue
		}
		if any == nil {
			any = r
		}
		if dm == nil && r.date.a > 12 {
			dm = r
		}
		if md == nil && r.date.b > 12 {
			md = r
		}
	}
	switch {
	case any == nil:
		return false, "", nil
	case dm != nil && md != nil:
		return false, "", &FileError{File: s.file, Cell: md.cell, Message: fmt.Sprintf(
			"the dates disagree: %q (%s) can only be day/month but %q (%s) can only be month/day", dm.rawDate, dm.cell, md.rawDate, md.cell)}
	case dm != nil:
		return true, fmt.Sprintf("Quote dates in sheet %q are read as day/month: %s is on line %s.", s.name, dm.rawDate, slRowOf(dm.cell)), nil
	case md != nil:
		return false, fmt.Sprintf("Quote dates in sheet %q are read as month/day: %s is on line %s.", s.name, md.rawDate, slRowOf(md.cell)), nil
	}
	return false, fmt.Sprintf("Quote dates in sheet %q are read as month/day, but no date shows the order (%s on line %s could be either way): check them in the preview.", s.name, any.rawDate, slRowOf(any.cell)), nil
}

// slRowOf is the row number of a cell name ("Quotes!D7" → "7").
func slRowOf(cell string) string {
	i := strings.LastIndexAny(cell, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if i < 0 {
		return cell
	}
	return cell[i+1:]
}
