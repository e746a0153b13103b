package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NeDB (Firebot's db/users.db and db/quotes.db) appends one JSON document
// per line: a later line with the same _id replaces the earlier one,
// {"$$deleted": true, "_id": …} deletes it, and {"$$indexCreated": …} or
// {"$$indexRemoved": …} lines describe indexes, not documents.

// maxNeDBLine bounds one document; Firebot's viewers are well under 64 KiB.
const maxNeDBLine = 4 << 20

// nedbMeta is what every NeDB line may carry besides the document.
type nedbMeta struct {
	ID           json.RawMessage `json:"_id"`
	Deleted      bool            `json:"$$deleted"`
	IndexCreated json.RawMessage `json:"$$indexCreated"`
	IndexRemoved json.RawMessage `json:"$$indexRemoved"`
}

func (m *nedbMeta) meta() *nedbMeta { return m }

// nedbKey is the _id as a map key and as text ("42", "abc").
func nedbKey(raw json.RawMessage) (key, text string) {
	key = string(bytes.TrimSpace(raw))
	text = key
	if strings.HasPrefix(key, `"`) {
		_ = json.Unmarshal(raw, &text)
	}
	return key, text
}

// scanNeDB reads a NeDB file line by line into a fresh doc (made by
// newDoc) and calls fn for each document or tombstone; index lines are
// skipped. A line that is not a JSON object with an _id is a *FileError
// naming the line.
func scanNeDB[D interface{ meta() *nedbMeta }](p fbPart, limit int64, newDoc func() D, fn func(line int, doc D) error) error {
	r, err := p.open()
	if err != nil {
		return fmt.Errorf("open %s: %w", p.name, err)
	}
	defer r.Close()
	lr := &fbLimitedReader{r: r, n: limit, name: p.name}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 256<<10), maxNeDBLine)
	line := 0
	for sc.Scan() {
		line++
		if lr.err != nil {
			return nedbReadError(p, lr.err, line)
		}
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(b) == 0 {
			continue
		}
		if line == 1 && bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
			return &FileError{File: p.name, Line: 1, Message: "a SQLite database, not a NeDB one; " + sqliteQuotes}
		}
		if b[0] != '{' {
			return &FileError{File: p.name, Line: line, Message: "not a NeDB document: each line must be one JSON object"}
		}
		doc := newDoc()
		if err := json.Unmarshal(b, doc); err != nil {
			return &FileError{File: p.name, Line: line, Message: "not a NeDB document: " + nedbErrorReason(err)}
		}
		m := doc.meta()
		if m.IndexCreated != nil || m.IndexRemoved != nil {
			continue
		}
		if len(m.ID) == 0 || string(m.ID) == "null" {
			return &FileError{File: p.name, Line: line, Message: "a NeDB document without an _id"}
		}
		if err := fn(line, doc); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &FileError{File: p.name, Line: line + 1, Message: fmt.Sprintf("a line longer than %d MiB; not a NeDB database", maxNeDBLine>>20)}
		}
		return nedbReadError(p, err, line+1)
	}
	return nil
}

// nedbReadError is a failed read (not bad content) at line.
func nedbReadError(p fbPart, err error, line int) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
		return &FileError{File: p.name, Line: line, Message: "cannot be read: the zip entry is damaged or unpacks to more than its header says"}
	}
	return fmt.Errorf("read %s: %w", p.name, err)
}

func nedbErrorReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d of the line (%s)", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		return fmt.Sprintf("%s should be %s, not %s", fbJSONField(typ.Field), fbJSONKind(typ.Type.Kind().String()), typ.Value)
	}
	return err.Error()
}

// fbLimitedReader fails, rather than ends, past n bytes, and keeps the
// error it read.
type fbLimitedReader struct {
	r    io.Reader
	n    int64
	name string
	err  error
}

func (l *fbLimitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.err = &FileError{File: l.name, Message: "the file is larger than it may be"}
		return 0, l.err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

// fbViewerDoc is one line of db/users.db.
type fbViewerDoc struct {
	nedbMeta
	Username         string             `json:"username"`
	DisplayName      string             `json:"displayName"`
	Platform         string             `json:"platform"`
	MinutesInChannel float64            `json:"minutesInChannel"`
	Currency         map[string]float64 `json:"currency"`
}

type fbViewer struct {
	id, text string // _id as a key and as text
	doc      *fbViewerDoc
}

// fbViewers is users.db read: the last version of each viewer, in the
// order viewers first appear.
type fbViewers struct {
	file  string
	order []*fbViewer
	byID  map[string]*fbViewer
}

// readUsers reads db/users.db.
func (fr *firebotReader) readUsers(p fbPart, limit int64) error {
	// Firebot's viewers take some 300 bytes a line: size the index for it.
	guess := int(min(p.size/256, MaxViewers))
	v := &fbViewers{file: p.name, byID: make(map[string]*fbViewer, guess), order: make([]*fbViewer, 0, guess)}
	err := scanNeDB(p, limit, func() *fbViewerDoc { return new(fbViewerDoc) }, func(line int, d *fbViewerDoc) error {
		key, text := nedbKey(d.ID)
		if d.Deleted {
			delete(v.byID, key)
			return nil
		}
		if cur, ok := v.byID[key]; ok {
			cur.doc = d
			return nil
		}
		if len(v.byID) >= MaxViewers {
			return &FileError{File: p.name, Line: line, Message: fmt.Sprintf("more than %d viewers", MaxViewers)}
		}
		w := &fbViewer{id: key, text: text, doc: d}
		v.byID[key] = w
		v.order = append(v.order, w)
		return nil
	})
	if err != nil {
		return err
	}
	fr.viewers = v
	return nil
}

// balances turns the viewers into balances, one per viewer and currency
// that is not zero. Seconds (time watched) is on each of a viewer's
// balances, as the manager imports one currency of several.
func (v *fbViewers) balances(fr *firebotReader) error {
	if len(fr.currencies) == 0 {
		for _, w := range v.order {
			if v.byID[w.id] != w {
				continue
			}
			for id := range w.doc.Currency {
				if _, ok := fr.currencyBy[id]; !ok {
					fr.currency(fbCurrency{ID: id, Name: id})
				}
			}
		}
		if len(fr.currencies) > 0 {
			fr.b.Notes = append(fr.b.Notes, "No currency/currency.json came with the viewer database, so each currency is named by its Firebot id.")
		}
	}
	unknown := map[string]int{}
	fractions, youtube := 0, 0
	pts := make([]Balance, 0, len(v.byID)*max(1, len(fr.currencies)))
	for _, w := range v.order {
		if v.byID[w.id] != w {
			continue // deleted, or replaced by a later line
		}
		d := w.doc
		login := strings.ToLower(strings.TrimSpace(d.Username))
		if login == "" {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "points", Name: w.text, Reason: "the viewer has no username"})
			continue
		}
		b := Balance{Login: login, UserID: w.text}
		if platform, id, ok := strings.Cut(w.text, ":"); ok && (platform == "twitch" || platform == "youtube") {
			b.UserID = id
			if d.Platform == "" {
				d.Platform = platform
			}
		}
		if d.Platform == "youtube" {
			b.Platform = "youtube"
			youtube++
		}
		if d.DisplayName != "" && d.DisplayName != login {
			b.Name = d.DisplayName
		}
		if d.MinutesInChannel > 0 {
			b.Seconds = int64(min(d.MinutesInChannel, 1e12)) * 60
		}
		for id := range d.Currency {
			if _, ok := fr.currencyBy[id]; !ok {
				unknown[id]++
			}
		}
		for _, c := range fr.currencies {
			amount, ok := d.Currency[c.ID]
			if !ok && b.Seconds == 0 {
				continue
			}
			if amount != float64(int64(amount)) {
				fractions++
			}
			if amount > MaxPoints || amount < -MaxPoints || amount != amount {
				fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "points", Name: login, Reason: fmt.Sprintf("the balance %g %s is out of range", amount, c.Name)})
				continue
			}
			bal := b
			bal.Points = int64(amount)
			bal.Currency = c.Name
			if bal.Points == 0 && bal.Seconds == 0 {
				continue
			}
			pts = append(pts, bal)
		}
	}
	if len(fr.b.Points) == 0 {
		fr.b.Points = pts
	} else {
		fr.b.Points = append(fr.b.Points, pts...)
	}
	for id, n := range unknown {
		fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "points", Name: "currency " + id, Reason: fmt.Sprintf("%d viewers hold a currency that currency.json does not list (deleted in Firebot?)", n)})
	}
	if fractions > 0 {
		fr.b.Notes = append(fr.b.Notes, fmt.Sprintf("%d balances had a fraction; it is dropped (rounded toward zero).", fractions))
	}
	if youtube > 0 {
		fr.b.Notes = append(fr.b.Notes, fmt.Sprintf("%d viewers are YouTube viewers; their balances keep the platform youtube.", youtube))
	}
	return nil
}

// fbQuoteDoc is one line of db/quotes.db.
type fbQuoteDoc struct {
	nedbMeta
	Text       string `json:"text"`
	Originator string `json:"originator"`
	Creator    string `json:"creator"`
	Game       string `json:"game"`
	CreatedAt  any    `json:"createdAt"`
}

// readQuotes reads db/quotes.db. The originator (who said it) is kept in
// the text, after a dash; the creator (who added it) is AddedBy.
func (fr *firebotReader) readQuotes(p fbPart) error {
	type entry struct {
		key string
		q   Quote
	}
	var order []*entry
	byID := map[string]*entry{}
	originators := false
	err := scanNeDB(p, MaxCommandsBytes, func() *fbQuoteDoc { return new(fbQuoteDoc) }, func(line int, d *fbQuoteDoc) error {
		key, text := nedbKey(d.ID)
		if text == "__autoid__" {
			return nil // the next-number counter
		}
		if d.Deleted {
			delete(byID, key)
			return nil
		}
		q := Quote{Text: strings.TrimSpace(d.Text), Game: d.Game, AddedBy: d.Creator, Date: fbTime(d.CreatedAt)}
		if o := strings.TrimSpace(d.Originator); o != "" {
			q.Text += " — " + o
			originators = true
		}
		if n, err := strconv.Atoi(text); err == nil && n > 0 {
			q.Number = n
		}
		if e, ok := byID[key]; ok {
			e.q = q
			return nil
		}
		if len(byID) >= MaxQuotes {
			return &FileError{File: p.name, Line: line, Message: fmt.Sprintf("more than %d quotes", MaxQuotes)}
		}
		e := &entry{key: key, q: q}
		byID[key] = e
		order = append(order, e)
		return nil
	})
	if err != nil {
		return err
	}
	start := len(fr.b.Quotes)
	for _, e := range order {
		if byID[e.key] != e {
			continue
		}
		if e.q.Text == "" {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "quote", Name: e.key, Reason: "the quote has no text"})
			continue
		}
		fr.b.Quotes = append(fr.b.Quotes, e.q)
	}
	fbSortQuotes(fr.b.Quotes[start:])
	if originators {
		fr.b.Notes = append(fr.b.Notes, "Waddle's quotes have no author field: who said each quote follows its text after a dash (\"text — name\").")
	}
	return nil
}

// fbTime reads a quote's createdAt: an ISO 8601 string (what Firebot
// writes) or milliseconds since 1970. Anything else is an unknown date.
func fbTime(v any) time.Time {
	switch t := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
			if d, err := time.Parse(layout, t); err == nil {
				return d.UTC()
			}
		}
	case float64:
		if t > 0 && t < 1e15 {
			return time.UnixMilli(int64(t)).UTC()
		}
	}
	return time.Time{}
}

// fbSortQuotes orders quotes by their number; unnumbered ones keep their
// order, last.
func fbSortQuotes(qs []Quote) {
	sort.SliceStable(qs, func(i, j int) bool {
		a, b := qs[i].Number, qs[j].Number
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}
