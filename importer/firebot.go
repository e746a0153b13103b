package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Firebot (v5) keeps each profile in a folder of JSON files and NeDB
// databases. The files this importer reads, by their path in the profile:
//
//	chat/commands.json             {"customCommands": {id: command}, "systemCommandOverrides": …}
//	timers.json                    {id: timer}
//	currency/currency.json         {id: currency}
//	counters/counters.json         {id: counter}
//	db/users.db                    NeDB: one viewer per line
//	db/quotes.db                   NeDB: one quote per line
//	chat/moderation/banned-words.json                {"words": [{"text": …}]}
//	chat/moderation/banned-regular-expressions.json  {"regularExpressions": [{"text": …}]}
//
// and a .firebotsetup file: {"components": {"commands": [...], "counters":
// [...], "currencies": [...], "timers": [...], …}}.

// firebotKind is what a Firebot file holds.
type firebotKind string

const (
	fbCommands   firebotKind = "custom commands"
	fbTimers     firebotKind = "timers"
	fbCurrencies firebotKind = "currencies"
	fbCounters   firebotKind = "counters"
	fbUsers      firebotKind = "viewer database"
	fbQuotes     firebotKind = "quotes database"
	fbWords      firebotKind = "banned words"
	fbRegexes    firebotKind = "banned regular expressions"
	fbSetup      firebotKind = "setup"
	// Firebot's development line moved quotes to SQLite (databases/quotes.db),
	// renaming the NeDB file to db/quotes.db.migrated; the SQLite file is
	// listed as not read.
	fbQuotesSQLite firebotKind = "SQLite quotes database"
)

// firebotOrder is the order files are read in: currencies and counters
// first, as commands and viewers refer to them.
var firebotOrder = []firebotKind{fbCurrencies, fbCounters, fbSetup, fbCommands, fbTimers, fbWords, fbRegexes, fbQuotes, fbQuotesSQLite, fbUsers}

// firebotPaths maps the end of a path in a profile folder to its kind.
var firebotPaths = []struct {
	suffix string
	kind   firebotKind
}{
	{"chat/commands.json", fbCommands},
	{"currency/currency.json", fbCurrencies},
	{"counters/counters.json", fbCounters},
	{"db/users.db", fbUsers},
	{"db/quotes.db", fbQuotes},
	{"db/quotes.db.migrated", fbQuotes},
	{"databases/quotes.db", fbQuotesSQLite},
	{"moderation/banned-words.json", fbWords},
	{"moderation/banned-regular-expressions.json", fbRegexes},
	{"timers.json", fbTimers},
}

// fbPart is one file to read: an upload or an entry of a zip.
type fbPart struct {
	name string
	size int64
	open func() (io.ReadCloser, error)
}

// ReadFirebot reads Firebot files: a zip of a profile folder, single files
// from one (see above), or a .firebotsetup file.
func ReadFirebot(files []File) (*Bundle, error) {
	fr := &firebotReader{b: &Bundle{Source: Firebot}, parts: map[firebotKind][]fbPart{}}
	var zips []*Zip
	defer func() {
		for _, z := range zips {
			z.Close()
		}
	}()
	for _, f := range files {
		if fbIsZip(f) {
			z, err := OpenZip(f)
			if err != nil {
				return nil, err
			}
			zips = append(zips, z)
			if err := fr.addZip(z); err != nil {
				return nil, err
			}
			continue
		}
		p := fbPart{name: f.Name, size: f.Size, open: func() (io.ReadCloser, error) { return os.Open(f.Path) }}
		kind, err := firebotKindOf(p, true)
		if err != nil {
			return nil, err
		}
		if kind == "" {
			fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "file", Name: f.Name, Reason: "not a Firebot file this importer reads (commands, timers, currency, counters, users.db, quotes.db, banned words, .firebotsetup or a zip of the profile folder)"})
			continue
		}
		if err := fr.add(kind, p); err != nil {
			return nil, err
		}
	}
	if len(fr.parts) == 0 {
		return nil, &FileError{File: fbFileNames(files), Message: "no Firebot file found"}
	}
	if err := fr.read(); err != nil {
		return nil, err
	}
	return fr.b, nil
}

func fbFileNames(files []File) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	if len(names) == 0 {
		return "(no files)"
	}
	return strings.Join(names, ", ")
}

// fbIsZip reports whether f is a zip, by its name or its first bytes.
func fbIsZip(f File) bool {
	if strings.HasSuffix(strings.ToLower(f.Name), ".zip") {
		return true
	}
	h, err := os.Open(f.Path)
	if err != nil {
		return false
	}
	defer h.Close()
	var magic [4]byte
	_, err = io.ReadFull(h, magic[:])
	return err == nil && string(magic[:]) == "PK\x03\x04"
}

type firebotReader struct {
	b     *Bundle
	parts map[firebotKind][]fbPart

	currencies []fbCurrency      // in the order read
	currencyBy map[string]string // id → name
	names      map[string]string // command names and aliases taken → the trigger that took them
	viewers    *fbViewers
}

func (fr *firebotReader) add(kind firebotKind, p fbPart) error {
	if prev := fr.parts[kind]; len(prev) > 0 && kind != fbSetup {
		return &FileError{File: p.name, Message: fmt.Sprintf("a second %s file (the first is %s); give one profile's files", kind, prev[0].name)}
	}
	fr.parts[kind] = append(fr.parts[kind], p)
	return nil
}

// addZip adds a profile zip's entries that this importer reads. A zip of
// the whole Firebot folder, with several profiles, is refused.
func (fr *firebotReader) addZip(z *Zip) error {
	found := false
	for _, e := range z.Entries {
		base := path.Base(e.Name)
		if strings.HasPrefix(e.Name, "backups/") || strings.Contains(e.Name, "/backups/") {
			continue
		}
		var kind firebotKind
		for _, fp := range firebotPaths {
			if e.Name == fp.suffix || strings.HasSuffix(e.Name, "/"+fp.suffix) {
				kind = fp.kind
				break
			}
		}
		if kind == "" && strings.HasSuffix(strings.ToLower(base), ".firebotsetup") {
			kind = fbSetup
		}
		if kind == "" {
			continue
		}
		e := e
		p := fbPart{name: z.Name + ": " + e.Name, size: e.Size, open: e.Open}
		if prev := fr.parts[kind]; len(prev) > 0 && kind != fbSetup {
			return &FileError{File: z.Name, Message: fmt.Sprintf("the zip holds several profiles (%s and %s); zip one profile folder", strings.TrimPrefix(prev[0].name, z.Name+": "), e.Name)}
		}
		fr.parts[kind] = append(fr.parts[kind], p)
		found = true
	}
	if !found {
		return &FileError{File: z.Name, Message: "the zip holds no Firebot profile files (chat/commands.json, db/users.db, …); zip the profile folder itself"}
	}
	return nil
}

// firebotKindOf tells what an uploaded file holds: by its name, else (for
// a name the user changed) by its first bytes.
func firebotKindOf(p fbPart, sniff bool) (firebotKind, error) {
	name := strings.ToLower(strings.ReplaceAll(p.name, "\\", "/"))
	base := path.Base(name)
	if strings.HasSuffix(base, ".firebotsetup") {
		return fbSetup, nil
	}
	for _, fp := range firebotPaths {
		if base == path.Base(fp.suffix) {
			return fp.kind, nil
		}
	}
	if !sniff {
		return "", nil
	}
	r, err := p.open()
	if err != nil {
		return "", fmt.Errorf("open %s: %w", p.name, err)
	}
	defer r.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(r, head)
	return sniffFirebot(head[:n]), nil
}

// sniffFirebot guesses a file's kind from its start.
func sniffFirebot(head []byte) firebotKind {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ""
	}
	// NeDB: a complete JSON object on the first line.
	if line, _, ok := bytes.Cut(trimmed, []byte("\n")); ok || len(trimmed) < len(head) {
		var doc map[string]json.RawMessage
		if json.Unmarshal(bytes.TrimSpace(line), &doc) == nil {
			if _, ok := doc["_id"]; ok {
				switch {
				case fbHas(doc, "username", "minutesInChannel", "currency"):
					return fbUsers
				case fbHas(doc, "text", "originator", "seq"):
					return fbQuotes
				}
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil {
		return ""
	}
	if dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		switch key {
		case "customCommands", "systemCommandOverrides":
			return fbCommands
		case "components":
			return fbSetup
		case "words":
			return fbWords
		case "regularExpressions":
			return fbRegexes
		}
		var item map[string]json.RawMessage
		if err := dec.Decode(&item); err != nil {
			return ""
		}
		switch {
		case fbHas(item, "requiredChatLines", "onlyWhenLive"):
			return fbTimers
		case fbHas(item, "payout", "offline", "limit"):
			return fbCurrencies
		case fbHas(item, "value") && fbHas(item, "name"):
			return fbCounters
		}
		return ""
	}
	return ""
}

func fbHas(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// read reads every part, in firebotOrder, into the bundle.
func (fr *firebotReader) read() error {
	fr.currencyBy = map[string]string{}
	for _, kind := range firebotOrder {
		for _, p := range fr.parts[kind] {
			if err := fr.readPart(kind, p); err != nil {
				return err
			}
		}
	}
	if fr.viewers != nil {
		if err := fr.viewers.balances(fr); err != nil {
			return err
		}
	}
	for _, c := range fr.currencies {
		fr.b.Currencies = append(fr.b.Currencies, c.Name)
	}
	return nil
}

func (fr *firebotReader) readPart(kind firebotKind, p fbPart) error {
	limit := int64(MaxCommandsBytes)
	if kind == fbUsers {
		limit = MaxViewersBytes
	}
	if p.size > limit {
		return &FileError{File: p.name, Message: fmt.Sprintf("the file is %d MiB; at most %d MiB are read", p.size>>20, limit>>20)}
	}
	switch kind {
	case fbCurrencies:
		return fr.readCurrencies(p)
	case fbCounters:
		return fr.readCounters(p)
	case fbSetup:
		return fr.readSetup(p)
	case fbCommands:
		return fr.readCommands(p)
	case fbTimers:
		return fr.readTimers(p)
	case fbWords, fbRegexes:
		return fr.readFilters(kind, p)
	case fbQuotes:
		return fr.readQuotes(p)
	case fbQuotesSQLite:
		fr.b.Skipped = append(fr.b.Skipped, Skipped{Category: "file", Name: p.name, Reason: sqliteQuotes})
	case fbUsers:
		return fr.readUsers(p, limit)
	}
	return nil
}

const sqliteQuotes = "Firebot's newer SQLite quotes database is not read; the quotes it had when it moved off NeDB are in db/quotes.db.migrated, which this importer reads"

// fbDecodeJSON decodes the part's one JSON document into v, refusing what
// follows it. A malformed document is a *FileError with its line.
func fbDecodeJSON(p fbPart, v any) error {
	r, err := p.open()
	if err != nil {
		return fmt.Errorf("open %s: %w", p.name, err)
	}
	defer r.Close()
	br := bufio.NewReaderSize(io.LimitReader(r, MaxCommandsBytes+1), 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	dec := json.NewDecoder(br)
	if err := dec.Decode(v); err != nil {
		return fbJSONError(p, err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return fbJSONError(p, fmt.Errorf("more data after the JSON document"), dec.InputOffset())
	}
	return nil
}

// fbJSONError names the line a JSON error is on, reading the part again
// up to the error's offset.
func fbJSONError(p fbPart, err error, at int64) error {
	msg := "not valid JSON: " + err.Error()
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		at = syn.Offset
	case errors.As(err, &typ):
		at = typ.Offset
		msg = fmt.Sprintf("%s should be %s, not %s", fbJSONField(typ.Field), fbJSONKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum):
		return &FileError{File: p.name, Message: "cannot be read: the zip entry is damaged or unpacks to more than its header says"}
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		msg = "the JSON ends early (the file is cut short)"
		at = -1
	}
	return &FileError{File: p.name, Line: fbLineAt(p, at), Message: msg}
}

func fbJSONField(f string) string {
	if f == "" {
		return "a value"
	}
	return "the field " + f
}

func fbJSONKind(k string) string {
	switch k {
	case "string":
		return "text"
	case "slice":
		return "a list"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// fbLineAt is the 1-based line of byte offset at in the part; at < 0 means
// its last line.
func fbLineAt(p fbPart, at int64) int {
	r, err := p.open()
	if err != nil {
		return 0
	}
	defer r.Close()
	var src io.Reader = io.LimitReader(r, MaxViewersBytes)
	if at >= 0 {
		src = io.LimitReader(r, at)
	}
	line := 1
	buf := make([]byte, 32<<10)
	last := byte('\n')
	for {
		n, err := src.Read(buf)
		line += bytes.Count(buf[:n], []byte("\n"))
		if n > 0 {
			last = buf[n-1]
		}
		if err != nil {
			break
		}
	}
	if at < 0 && last == '\n' && line > 1 {
		line--
	}
	return line
}
