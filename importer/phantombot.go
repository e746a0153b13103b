package importer

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // PhantomBot's database, opened read-only
)

// PhantomBot keeps its data in one SQLite file (config/phantombot.db).
// Each of its "tables" is an SQL table phantombot_<name> with the columns
// (section, variable, value), all text: phantombot_command holds
// command → reply, phantombot_points login → points, phantombot_quotes
// number → ["user", "text", time in ms, "game"], and so on. Newer
// versions write the table names in lower case, older ones in camel case
// (phantombot_commandCount); both are found.

// pbTable names the PhantomBot tables read, lower case, without the
// prefix.
const (
	pbCommand     = "command"
	pbAliases     = "aliases"
	pbPermcom     = "permcom"
	pbPricecom    = "pricecom"
	pbDisabled    = "disabledcommands"
	pbCount       = "commandcount"
	pbCooldown    = "cooldown"
	pbCooldownSet = "cooldownsettings"
	pbPoints      = "points"
	pbTime        = "time"
	pbQuotes      = "quotes"
)

// pbDefaultCooldown is PhantomBot's default global cooldown, in seconds,
// for a command without its own (cooldownSettings.defaultCooldownTime).
const pbDefaultCooldown = 5

// ReadPhantomBot reads PhantomBot's SQLite database file: its custom
// commands (with aliases, permissions, cooldowns, prices, counts and
// whether they are disabled), viewers' points and time, and quotes.
func ReadPhantomBot(files []File) (*Bundle, error) {
	if len(files) != 1 {
		return nil, errors.New("upload one file: PhantomBot's database, config/phantombot.db")
	}
	f := files[0]
	if err := bfCheckSize(f, MaxViewersBytes, "PhantomBot database"); err != nil {
		return nil, err
	}
	if err := pbCheckHeader(f); err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: f.Path, RawQuery: "mode=ro&immutable=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, &FileError{File: f.Name, Message: "cannot be opened: " + err.Error()}
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	r := &pbReader{db: db, file: f.Name, b: &Bundle{Source: PhantomBot}}
	if err := r.read(); err != nil {
		return nil, err
	}
	return r.b, nil
}

// pbCheckHeader refuses a file that is not an SQLite database.
func pbCheckHeader(f File) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		return &FileError{File: f.Name, Message: "cannot be read: " + bfPathless(err)}
	}
	defer fh.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(fh, head)
	head = head[:n]
	switch {
	case bytes.Equal(head, []byte("SQLite format 3\x00")):
		return nil
	case bytes.HasPrefix(head, []byte("H:2")) || bytes.Contains(head, []byte("-- H2")):
		return &FileError{File: f.Name, Message: "is an H2 database; Waddle reads PhantomBot's SQLite database (config/phantombot.db): switch PhantomBot's datastore to SQLite, which converts it, then upload that file"}
	}
	return &FileError{File: f.Name, Message: "is not an SQLite database; upload PhantomBot's config/phantombot.db"}
}

type pbReader struct {
	db     *sql.DB
	file   string
	b      *Bundle
	tables map[string]string // lower-case name without prefix → real name
}

func (r *pbReader) fail(format string, a ...any) error {
	return &FileError{File: r.file, Message: fmt.Sprintf(format, a...)}
}

func (r *pbReader) read() error {
	if err := r.listTables(); err != nil {
		return err
	}
	if r.tables[pbCommand] == "" && r.tables[pbPoints] == "" && r.tables[pbQuotes] == "" && r.tables[pbTime] == "" {
		return r.fail("is an SQLite database but not PhantomBot's: it has none of the tables phantombot_command, phantombot_points, phantombot_time, phantombot_quotes")
	}
	steps := []func() error{r.readCommands, r.readBalances, r.readQuotes}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (r *pbReader) listTables() error {
	rows, err := r.db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return r.fail("is damaged or not a readable SQLite database: %v", err)
	}
	defer rows.Close()
	r.tables = map[string]string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return r.fail("is damaged: %v", err)
		}
		if low := strings.ToLower(name); strings.HasPrefix(low, "phantombot_") {
			r.tables[strings.TrimPrefix(low, "phantombot_")] = name
		}
	}
	if err := rows.Err(); err != nil {
		return r.fail("is damaged: %v", err)
	}
	return nil
}

// each calls fn with every (variable, value) of a table, in the file's
// order; a missing table has none. PhantomBot's tables have the columns
// (section, variable, value) in that order; they are read by position,
// since their case has changed between versions.
func (r *pbReader) each(table string, fn func(variable, value string) error) error {
	tbl := r.tables[table]
	if tbl == "" {
		return nil
	}
	cols, err := r.columns(tbl)
	if err != nil {
		return err
	}
	q := fmt.Sprintf(`SELECT %s, %s FROM %s ORDER BY rowid`, pbQuote(cols[1]), pbQuote(cols[2]), pbQuote(tbl))
	rows, err := r.db.Query(q)
	if err != nil {
		// A WITHOUT ROWID table (none of PhantomBot's) has no rowid.
		rows, err = r.db.Query(fmt.Sprintf(`SELECT %s, %s FROM %s`, pbQuote(cols[1]), pbQuote(cols[2]), pbQuote(tbl)))
		if err != nil {
			return r.fail("table %s cannot be read: %v", tbl, err)
		}
	}
	defer rows.Close()
	for rows.Next() {
		var variable, value sql.NullString
		if err := rows.Scan(&variable, &value); err != nil {
			return r.fail("table %s is damaged: %v", tbl, err)
		}
		if !variable.Valid || !value.Valid {
			continue
		}
		if err := fn(variable.String, value.String); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return r.fail("table %s is damaged: %v", tbl, err)
	}
	return nil
}

func (r *pbReader) columns(table string) ([]string, error) {
	rows, err := r.db.Query(fmt.Sprintf(`SELECT name FROM pragma_table_info(%s)`, pbString(table)))
	if err != nil {
		return nil, r.fail("table %s cannot be read: %v", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, r.fail("table %s is damaged: %v", table, err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, r.fail("table %s is damaged: %v", table, err)
	}
	if len(cols) < 3 {
		return nil, r.fail("table %s has %d columns, not PhantomBot's three (section, variable, value)", table, len(cols))
	}
	return cols, nil
}

// pbQuote quotes an SQL identifier read from the file.
func pbQuote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// pbString quotes an SQL string literal.
func pbString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// mapOf reads a whole small table into a map keyed by lower-case variable.
func (r *pbReader) mapOf(table string) (map[string]string, error) {
	m := map[string]string{}
	err := r.each(table, func(variable, value string) error {
		m[strings.ToLower(strings.TrimSpace(variable))] = value
		return nil
	})
	return m, err
}

// pbWhole reads a stored number; PhantomBot writes integers, sometimes
// as "12.0".
func pbWhole(raw string) (int64, bool) {
	raw = strings.TrimSpace(raw)
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return n, n <= MaxPoints && n >= -MaxPoints
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || v != math.Trunc(v) || v > MaxPoints || v < -MaxPoints {
		return 0, false
	}
	return int64(v), true
}

// readBalances reads phantombot_points and phantombot_time into one
// balance per viewer, in the order the points table lists them.
func (r *pbReader) readBalances() error {
	at := map[string]int{}
	add := func(table, variable, value string, set func(*Balance, int64)) error {
		n, ok := pbWhole(value)
		if !ok {
			return r.fail("table %s, viewer %q: %q is not a whole number", r.tables[table], variable, value)
		}
		login := bfLogin(variable)
		if login == "" {
			if table == pbPoints {
				r.b.Skipped = append(r.b.Skipped, Skipped{Category: "points", Name: variable, Reason: fmt.Sprintf("%q is not a Twitch login; %d points not imported", variable, n)})
			}
			return nil
		}
		i, ok := at[login]
		if !ok {
			if len(r.b.Points) >= MaxViewers {
				return r.fail("has more than %d viewers", MaxViewers)
			}
			i = len(r.b.Points)
			at[login] = i
			r.b.Points = append(r.b.Points, Balance{Login: login})
		}
		set(&r.b.Points[i], n)
		return nil
	}
	err := r.each(pbPoints, func(variable, value string) error {
		return add(pbPoints, variable, value, func(b *Balance, n int64) { b.Points += n })
	})
	if err != nil {
		return err
	}
	return r.each(pbTime, func(variable, value string) error {
		return add(pbTime, variable, value, func(b *Balance, n int64) {
			if n > 0 {
				b.Seconds += n
			}
		})
	})
}

// readQuotes reads phantombot_quotes: number → JSON [user, text, time in
// ms, game].
func (r *pbReader) readQuotes() error {
	err := r.each(pbQuotes, func(variable, value string) error {
		n, err := strconv.Atoi(strings.TrimSpace(variable))
		if err != nil || n < 0 {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "quote", Name: variable, Reason: "the quote's number is not a number"})
			return nil
		}
		var parts []any
		d := json.NewDecoder(strings.NewReader(value))
		d.UseNumber()
		if err := d.Decode(&parts); err != nil || len(parts) < 2 {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "quote", Name: "#" + variable, Reason: "not PhantomBot's quote form [user, text, time, game]"})
			return nil
		}
		str := func(i int) string {
			if i >= len(parts) || parts[i] == nil {
				return ""
			}
			return strings.TrimSpace(fmt.Sprint(parts[i]))
		}
		q := Quote{Number: n, AddedBy: str(0), Text: str(1), Game: str(3)}
		if q.Text == "" {
			r.b.Skipped = append(r.b.Skipped, Skipped{Category: "quote", Name: "#" + variable, Reason: "the quote has no text"})
			return nil
		}
		if ms, err := strconv.ParseInt(str(2), 10, 64); err == nil && ms > 0 && ms < 253402300800000 {
			q.Date = time.UnixMilli(ms).UTC()
		}
		if len(r.b.Quotes) >= MaxQuotes {
			return r.fail("has more than %d quotes", MaxQuotes)
		}
		r.b.Quotes = append(r.b.Quotes, q)
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(r.b.Quotes, func(i, j int) bool { return r.b.Quotes[i].Number < r.b.Quotes[j].Number })
	if len(r.b.Quotes) > 0 {
		bfQuoteNumbers(r.b, "PhantomBot")
	}
	return nil
}
