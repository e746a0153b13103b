package importer

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// slWorkbook writes an .xlsx with the given sheets (name → rows, the
// first row the header) through the spreadsheet library's stream writer,
// as Excel would save it: an excelize.Cell with a Formula is written with
// its formula and its saved value.
func slWorkbook(t testing.TB, name string, sheets map[string][][]any, order ...string) File {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, sheet := range order {
		if i == 0 {
			if err := x.SetSheetName("Sheet1", sheet); err != nil {
				t.Fatal(err)
			}
		} else if _, err := x.NewSheet(sheet); err != nil {
			t.Fatal(err)
		}
		sw, err := x.NewStreamWriter(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[sheet] {
			if row == nil {
				continue // an empty row
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := sw.SetRow(cell, row); err != nil {
				t.Fatal(err)
			}
		}
		if err := sw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := x.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return File{Name: name, Path: p}
}

func TestReadStreamlabsCurrencySheet(t *testing.T) {
	f := slWorkbook(t, "currency.xlsx", map[string][][]any{
		"Currency": {
			{"Name", "Rank", "Points", "Hours"},
			{"AnkhHeart", "Ninja Kitty", 1337, 13.5},
			{"bob_99", "", "2,500", ""},
			nil,
			{"carol", "Lion", excelize.Cell{Formula: "=1+1", Value: 150}, excelize.Cell{Formula: "=B2*2", Value: 0.25}},
			{"not a login!", "", 40, 1},
			{"@Bob_99", "", 7, 0},
			{"", "", "", ""},
		},
	}, "Currency")
	b, err := ReadStreamlabs([]File{f})
	if err != nil {
		t.Fatal(err)
	}
	want := []Balance{
		{Login: "ankhheart", Name: "AnkhHeart", Points: 1337, Seconds: 48600},
		{Login: "bob_99", Points: 2500},
		// The formula's saved value, not its result (=1+1 would be 2).
		{Login: "carol", Points: 150, Seconds: 900},
	}
	if diff := cmp.Diff(want, b.Points); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	if len(b.Skipped) != 2 || b.Skipped[0].Name != "not a login!" || !strings.Contains(b.Skipped[0].Reason, "Currency!A6") || !strings.Contains(b.Skipped[0].Reason, "40 points") {
		t.Errorf("skipped %+v", b.Skipped)
	} else if r := b.Skipped[1].Reason; !strings.Contains(r, "a second row for bob_99 (Currency!A7)") || !strings.Contains(r, "7 points") {
		t.Errorf("duplicate: %q", r)
	}
	if len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "Ranks") {
		t.Errorf("notes %q", b.Notes)
	}
}

func TestReadStreamlabsSheetColumnsByHeader(t *testing.T) {
	f := slWorkbook(t, "points.xlsx", map[string][][]any{
		"Export": {
			nil,
			{"HOURS", "points", "  name "},
			{2, 10, "dave"},
		},
	}, "Export")
	b, err := ReadStreamlabs([]File{f})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Balance{{Login: "dave", Points: 10, Seconds: 7200}}, b.Points); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
}

func TestReadStreamlabsBadSheets(t *testing.T) {
	cases := []struct {
		name     string
		sheets   map[string][][]any
		order    []string
		wantCell string
		wantMsg  []string
	}{
		{"wrong sheet", map[string][][]any{"Viewers": {{"User", "Score"}, {"bob", 1}}}, []string{"Viewers"},
			"", []string{`sheet "Viewers"`, `row 1 "User, Score"`, "no Points column"}},
		{"no name column", map[string][][]any{"Currency": {{"Login Name", "Points"}, {"bob", 1}}}, []string{"Currency"},
			"", []string{"no Name column", `"Login Name, Points"`}},
		{"bad number", map[string][][]any{"Currency": {{"Name", "Points"}, {"bob", 1}, {"eve", "lots"}}}, []string{"Currency"},
			"Currency!B3", []string{`"lots" is not a whole number`}},
		{"fraction", map[string][][]any{"Currency": {{"Name", "Points"}, {"bob", 1.5}}}, []string{"Currency"},
			"Currency!B2", []string{"has a fraction"}},
		{"empty points", map[string][][]any{"Currency": {{"Name", "Points"}, {"bob", ""}}}, []string{"Currency"},
			"Currency!B2", []string{"is empty"}},
		{"formula without value", map[string][][]any{"Currency": {{"Name", "Points"}, {"bob", excelize.Cell{Formula: "=1+1"}}}}, []string{"Currency"},
			"Currency!B2", []string{"formula"}},
		{"bad hours", map[string][][]any{"C": {{"Name", "Points", "Hours"}, {"bob", 1, "-3"}}}, []string{"C"},
			"C!C2", []string{`"-3" is not a number of hours`}},
		{"too many points", map[string][][]any{"C": {{"Name", "Points"}, {"bob", "9007199254740992"}}}, []string{"C"},
			"C!B2", []string{"out of range"}},
		{"empty workbook", map[string][][]any{"Sheet": {}}, []string{"Sheet"},
			"", []string{"no rows"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadStreamlabs([]File{slWorkbook(t, "x.xlsx", c.sheets, c.order...)})
			fe := bftFileError(t, err)
			if fe.Cell != c.wantCell {
				t.Errorf("cell %q; want %q (%v)", fe.Cell, c.wantCell, fe)
			}
			for _, w := range c.wantMsg {
				if !strings.Contains(fe.Error(), w) {
					t.Errorf("%q does not say %q", fe.Error(), w)
				}
			}
		})
	}
}

func TestReadStreamlabsQuotesSheet(t *testing.T) {
	f := slWorkbook(t, "quotes.xlsx", map[string][][]any{
		"Quotes": {
			{"ID", "Quote", "Added By", "Game", "Date"},
			{0, "I am a cat!", "AnkhHeart", "Thief", "01/02/2015"},
			{1, "Duct tape solves all problems!", "bob", "Portal 2", "23/04/2021 18:30"},
			{2, "Serial date", "", "", excelize.Cell{Value: 44309}}, // 2021-04-23 as Excel stores a date
			{3, "No date", "", "Just Chatting", ""},
			{"", "", "", "", ""},
		},
		"Other": {{"Something", "Else"}, {"a", "b"}},
	}, "Quotes", "Other")
	b, err := ReadStreamlabs([]File{f})
	if err != nil {
		t.Fatal(err)
	}
	day := func(y, m, d, h, min int) time.Time { return time.Date(y, time.Month(m), d, h, min, 0, 0, time.UTC) }
	want := []Quote{
		{Number: 1, Text: "I am a cat!", AddedBy: "AnkhHeart", Game: "Thief", Date: day(2015, 2, 1, 0, 0)},
		{Number: 2, Text: "Duct tape solves all problems!", AddedBy: "bob", Game: "Portal 2", Date: day(2021, 4, 23, 18, 30)},
		{Number: 3, Text: "Serial date", Date: day(2021, 4, 23, 0, 0)},
		{Number: 4, Text: "No date", Game: "Just Chatting"},
	}
	if diff := cmp.Diff(want, b.Quotes); diff != "" {
		t.Errorf("quotes (-want +got):\n%s", diff)
	}
	notes := strings.Join(b.Notes, "\n")
	for _, w := range []string{"read as day/month: 23/04/2021 18:30 is on line 3", "numbers quotes from 0", `Not read: x.xlsx: sheet "Other"`} {
		if !strings.Contains(strings.ReplaceAll(notes, "quotes.xlsx", "x.xlsx"), w) {
			t.Errorf("notes %q lack %q", notes, w)
		}
	}
}

func TestStreamlabsDateOrder(t *testing.T) {
	cases := []struct {
		name     string
		dates    []string
		want     []time.Time
		wantNote string
		wantErr  string
	}{
		{"month first", []string{"04/23/2021", "01/02/2020"}, []time.Time{time.Date(2021, 4, 23, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)},
			"month/day: 04/23/2021 is on line 2", ""},
		{"ambiguous", []string{"03/04/2021", "05.06.21"}, []time.Time{time.Date(2021, 3, 4, 0, 0, 0, 0, time.UTC), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)},
			"no date shows the order (03/04/2021 on line 2", ""},
		{"iso only", []string{"2021-04-23", "2020-01-02T08:05"}, []time.Time{time.Date(2021, 4, 23, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 2, 8, 5, 0, 0, time.UTC)}, "", ""},
		{"written", []string{"April 23, 2021", "3 May 2020"}, []time.Time{time.Date(2021, 4, 23, 0, 0, 0, 0, time.UTC), time.Date(2020, 5, 3, 0, 0, 0, 0, time.UTC)}, "", ""},
		{"pm", []string{"4/23/2021 7:05 PM"}, []time.Time{time.Date(2021, 4, 23, 19, 5, 0, 0, time.UTC)}, "month/day", ""},
		{"disagree", []string{"23/04/2021", "04/23/2021"}, nil, "", "Q!B3"},
		{"not a date", []string{"yesterday"}, nil, "", "Q!B2"},
		{"impossible", []string{"31/02/2021", "13/01/2021"}, nil, "", "not a real date"},
		{"bad month", []string{"2021-13-01"}, nil, "", "Q!B2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := [][]any{{"Quote", "Date"}}
			for i, d := range c.dates {
				rows = append(rows, []any{fmt.Sprintf("q%d", i), d})
			}
			b, err := ReadStreamlabs([]File{slWorkbook(t, "q.xlsx", map[string][][]any{"Q": rows}, "Q")})
			if c.wantErr != "" {
				fe := bftFileError(t, err)
				if !strings.Contains(fe.Error(), c.wantErr) {
					t.Errorf("error %q lacks %q", fe.Error(), c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Time
			for _, q := range b.Quotes {
				got = append(got, q.Date)
				if q.Number != 0 {
					t.Errorf("quote %q has number %d; without an ID column it takes the next free one (0)", q.Text, q.Number)
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("dates (-want +got):\n%s", diff)
			}
			notes := strings.Join(b.Notes, "\n")
			if (c.wantNote == "") != (notes == "") || !strings.Contains(notes, c.wantNote) {
				t.Errorf("notes %q; want %q", notes, c.wantNote)
			}
		})
	}
}

// BenchmarkReadStreamlabsCurrency100k reads a generated currency sheet of
// 100,000 viewers.
func BenchmarkReadStreamlabsCurrency100k(b *testing.B) {
	rows := make([][]any, 0, 100_001)
	rows = append(rows, []any{"Name", "Rank", "Points", "Hours"})
	for i := range 100_000 {
		rows = append(rows, []any{fmt.Sprintf("viewer_%06d", i), "Rookie", i * 7, float64(i%500) / 4})
	}
	f := slWorkbook(b, "currency.xlsx", map[string][][]any{"Currency": rows}, "Currency")
	b.ResetTimer()
	for b.Loop() {
		bundle, err := ReadStreamlabs([]File{f})
		if err != nil {
			b.Fatal(err)
		}
		if len(bundle.Points) != 100_000 || bundle.Points[99_999].Points != 99_999*7 {
			b.Fatalf("read %d viewers", len(bundle.Points))
		}
	}
}

// FuzzStreamlabsDate: no cell text panics the date reader, and a date it
// accepts resolves, in either order, to a real day or says it cannot.
func FuzzStreamlabsDate(f *testing.F) {
	for _, s := range []string{"23/04/2021", "04/23/2021 7:05 PM", "2021-04-23T08:05", "44309", "April 23, 2021", "99/99/99", "1e308", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := slParseDate(s, false)
		if !ok {
			return
		}
		for _, dayFirst := range []bool{true, false} {
			if tm, ok := d.resolve(dayFirst); ok && (tm.Year() < 1899 || tm.Year() > 9999) {
				t.Fatalf("%q read as %v", s, tm)
			}
		}
	})
}

// The files of one move, together: a command group, the currency sheet
// and the quotes sheet, in any order.
func TestReadStreamlabsAllFiles(t *testing.T) {
	currency := slWorkbook(t, "Currency.xlsx", map[string][][]any{"Currency": {{"Name", "Rank", "Points", "Hours"}, {"alice", "Rookie", 10, 1}}}, "Currency")
	quotes := slWorkbook(t, "Quotes.xlsx", map[string][][]any{"Quotes": {{"ID", "Quote", "Game", "Date"}, {5, "hi", "Chess", "2021-04-23"}}}, "Quotes")
	b, err := ReadStreamlabs([]File{quotes, bftFile(t, "general.abcomg", slGroupExport), currency})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Commands) != 4 || len(b.Points) != 1 || len(b.Quotes) != 1 {
		t.Fatalf("read %d commands, %d balances, %d quotes", len(b.Commands), len(b.Points), len(b.Quotes))
	}
	if q := b.Quotes[0]; q.Number != 5 || q.Game != "Chess" || !q.Date.Equal(time.Date(2021, 4, 23, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("quote %+v: numbers not from 0 stay as they are", q)
	}
	if p := b.Points[0]; p != (Balance{Login: "alice", Points: 10, Seconds: 3600}) {
		t.Errorf("balance %+v", p)
	}
}
