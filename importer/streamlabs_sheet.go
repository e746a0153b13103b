package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Streamlabs Chatbot's Excel exports: the currency sheet (Name, Rank,
// Points, Hours) and the quotes sheet (ID, Quote, Game, Date …). Columns
// are found by their header, in any order and case. Cells are read as
// stored: a formula gives the value Excel saved with it, never evaluated.

// slSheet is an open worksheet read row by row (excelize streams the
// sheet's XML), with the row number of the current row.
type slSheet struct {
	file, name string
	rows       *excelize.Rows
	row        int
}

func (s *slSheet) next() ([]string, bool, error) {
	if !s.rows.Next() {
		return nil, false, s.rows.Error()
	}
	s.row++
	cols, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	return cols, true, err
}

// cell names a cell of the current row ("Currency!C17").
func (s *slSheet) cell(col int) string {
	name, err := excelize.CoordinatesToCellName(col+1, s.row)
	if err != nil {
		name = fmt.Sprintf("column %d, row %d", col+1, s.row)
	}
	return s.name + "!" + name
}

func (s *slSheet) bad(col int, format string, a ...any) error {
	return &FileError{File: s.file, Cell: s.cell(col), Message: fmt.Sprintf(format, a...)}
}

// slHeader maps a header row's normalised names to their columns.
type slHeader struct {
	cols  map[string]int
	shown string
	row   int
}

func slNewHeader(cells []string, row int) slHeader {
	h := slHeader{cols: map[string]int{}, row: row}
	var shown []string
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		shown = append(shown, c)
		key := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(c))
		if _, dup := h.cols[key]; !dup {
			h.cols[key] = i
		}
	}
	h.shown = strings.Join(shown, ", ")
	return h
}

// col is the column of the first of the names present; -1 when none is.
func (h slHeader) col(names ...string) int {
	for _, n := range names {
		if i, ok := h.cols[n]; ok {
			return i
		}
	}
	return -1
}

func slCell(cells []string, col int) string {
	if col < 0 || col >= len(cells) {
		return ""
	}
	return strings.TrimSpace(cells[col])
}

// slReadWorkbook reads every sheet of an Excel export it recognises: a
// sheet with a Points column is a currency sheet, one with a Quote column
// a quotes sheet. A workbook with neither is refused, naming the sheet
// and its header row.
func slReadWorkbook(b *Bundle, f File) error {
	if err := bfCheckSize(f, MaxViewersBytes, "spreadsheet"); err != nil {
		return err
	}
	if err := slCheckZip(f); err != nil {
		return err
	}
	x, err := excelize.OpenFile(f.Path, excelize.Options{UnzipSizeLimit: MaxZipUnpacked})
	if err != nil {
		return &FileError{File: f.Name, Message: "is not a readable Excel workbook: " + bfPathless(err)}
	}
	defer x.Close()
	date1904 := false
	if props, err := x.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	var refused *FileError
	read := 0
	for _, name := range x.GetSheetList() {
		known, unknown, err := slReadSheet(b, x, f.Name, name, date1904)
		switch {
		case err != nil:
			return err
		case known:
			read++
		case unknown != nil && refused == nil:
			refused = unknown
		}
	}
	switch {
	case read == 0 && refused != nil:
		return refused
	case read == 0:
		return &FileError{File: f.Name, Message: "has no rows in any sheet"}
	case refused != nil:
		b.Notes = append(b.Notes, "Not read: "+refused.Error()+".")
	}
	return nil
}

// slCheckZip refuses a file that is not a zip (every .xlsx is one) with a
// clearer message than the spreadsheet library's.
func slCheckZip(f File) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return &FileError{File: f.Name, Message: "cannot be read: " + bfPathless(err)}
	}
	defer fh.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(fh, head); err != nil || !bytes.Equal(head, []byte("PK\x03\x04")) {
		return &FileError{File: f.Name, Message: "is not an Excel .xlsx workbook"}
	}
	return nil
}

// slReadSheet reads one sheet: known says it was a currency or quotes
// sheet; unknown explains a sheet that is neither (an empty sheet is
// neither known nor unknown).
func slReadSheet(b *Bundle, x *excelize.File, file, name string, date1904 bool) (known bool, unknown *FileError, err error) {
	rows, err := x.Rows(name)
	if err != nil {
		return false, nil, &FileError{File: file, Message: fmt.Sprintf("sheet %q cannot be read: %v", name, err)}
	}
	defer rows.Close()
	s := &slSheet{file: file, name: name, rows: rows}
	var h slHeader
	for {
		cells, more, err := s.next()
		if err != nil {
			return false, nil, &FileError{File: file, Message: fmt.Sprintf("sheet %q, row %d cannot be read: %v", name, s.row, err)}
		}
		if !more {
			return false, nil, nil
		}
		if strings.TrimSpace(strings.Join(cells, "")) != "" {
			h = slNewHeader(cells, s.row)
			break
		}
	}
	switch {
	case h.col("points", "currency", "balance") >= 0:
		return true, nil, slReadCurrency(b, s, h)
	case h.col("quote", "text", "quotetext") >= 0:
		return true, nil, slReadQuotes(b, s, h, date1904)
	}
	return false, &FileError{File: file, Message: fmt.Sprintf(
		"sheet %q has the header row %d %q, with no Points column (a currency sheet has Name, Rank, Points, Hours) and no Quote column (a quotes sheet has ID, Quote, Game, Date)",
		name, h.row, h.shown)}, nil
}

// slReadCurrency streams a currency sheet's rows into b.Points.
func slReadCurrency(b *Bundle, s *slSheet, h slHeader) error {
	nameCol := h.col("name", "username", "user", "viewer", "login")
	pointsCol := h.col("points", "currency", "balance")
	hoursCol := h.col("hours", "time", "watchtime")
	if nameCol < 0 {
		return &FileError{File: s.file, Message: fmt.Sprintf("sheet %q has the header row %d %q, with no Name column", s.name, h.row, h.shown)}
	}
	seen := make(map[string]bool, len(b.Points))
	for _, p := range b.Points {
		seen[p.Login] = true
	}
	if h.col("rank") >= 0 {
		b.Notes = append(b.Notes, fmt.Sprintf("Ranks (sheet %q) are not imported: Waddle has no ranks.", s.name))
	}
	for {
		cells, more, err := s.next()
		if err != nil {
			return &FileError{File: s.file, Message: fmt.Sprintf("sheet %q, row %d cannot be read: %v", s.name, s.row, err)}
		}
		if !more {
			return nil
		}
		name := slCell(cells, nameCol)
		rawPoints := slCell(cells, pointsCol)
		if name == "" {
			if strings.TrimSpace(strings.Join(cells, "")) != "" {
				b.Skipped = append(b.Skipped, Skipped{Category: "points", Name: s.cell(nameCol), Reason: "the row has no name"})
			}
			continue
		}
		if rawPoints == "" {
			return s.bad(pointsCol, "is empty; %s's points need a number (a formula whose value was never saved reads as empty: open and save the file in Excel)", name)
		}
		points, err := slWhole(rawPoints)
		if err != nil {
			return s.bad(pointsCol, "%q is not a whole number of points (%s)", rawPoints, err)
		}
		var seconds int64
		if raw := slCell(cells, hoursCol); raw != "" {
			hours, err := strconv.ParseFloat(strings.ReplaceAll(raw, ",", ""), 64)
			if err != nil || hours < 0 || math.IsNaN(hours) || hours > 1e9 {
				return s.bad(hoursCol, "%q is not a number of hours", raw)
			}
			seconds = int64(math.Round(hours * 3600))
		}
		login := bfLogin(name)
		if login == "" {
			b.Skipped = append(b.Skipped, Skipped{Category: "points", Name: name,
				Reason: fmt.Sprintf("%q (%s) is not a Twitch login; %d points not imported", name, s.cell(nameCol), points)})
			continue
		}
		if seen[login] {
			b.Skipped = append(b.Skipped, Skipped{Category: "points", Name: name,
				Reason: fmt.Sprintf("a second row for %s (%s); the first row's balance is imported, not these %d points", login, s.cell(nameCol), points)})
			continue
		}
		seen[login] = true
		if len(b.Points) >= MaxViewers {
			return s.bad(nameCol, "more than %d viewers", MaxViewers)
		}
		bal := Balance{Login: login, Points: points, Seconds: seconds}
		if n := strings.TrimPrefix(name, "@"); n != login {
			bal.Name = n
		}
		b.Points = append(b.Points, bal)
	}
}

// slWhole reads a cell as a whole number within the ledger's range.
func slWhole(raw string) (int64, error) {
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, ",", ""), " ", "")
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if n > MaxPoints || n < -MaxPoints {
			return 0, errors.New("out of range")
		}
		return n, nil
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a number")
	}
	if v != math.Trunc(v) {
		return 0, errors.New("has a fraction")
	}
	if v > MaxPoints || v < -MaxPoints {
		return 0, errors.New("out of range")
	}
	return int64(v), nil
}
