package compat

import (
	"fmt"
	"regexp"
	"strings"
)

// ContractBaseline is the newest migration when the contract rule came in.
// Migrations numbered after it are checked by CheckContract; those up to it
// are grandfathered (they were written before rolling upgrades were promised).
const ContractBaseline = 33

// ContractMarker starts the comment that lets a migration remove or change
// something older code used: `-- contract: <why; the release whose code
// stopped using it>`, on a line above the statement (or inside it).
const ContractMarker = "-- contract:"

// Violation is a statement of a migration that may break the previous
// release's code, written without a contract marker.
type Violation struct {
	File      string
	Line      int    // where the statement starts
	Statement string // the statement, on one line, shortened
	Problem   string // what it does to older code
}

func (v Violation) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s; expand first and remove it a release later, "+
		"and mark that statement with %q <why; the release whose code stopped using it>",
		v.File, v.Line, v.Statement, v.Problem, ContractMarker)
}

var (
	dropObject    = regexp.MustCompile(`\bDROP\s+(TABLE|VIEW|MATERIALIZED\s+VIEW|FUNCTION|PROCEDURE|TYPE|DOMAIN|SEQUENCE|SCHEMA)\b`)
	alterTable    = regexp.MustCompile(`^ALTER\s+TABLE\b`)
	dropInAlter   = regexp.MustCompile(`\bDROP\s+("[^"]*"|\w+)`)
	rename        = regexp.MustCompile(`\bRENAME\b`)
	alterType     = regexp.MustCompile(`\bALTER\s+(?:COLUMN\s+)?(?:"[^"]*"|\w+)\s+(?:SET\s+DATA\s+)?TYPE\b`)
	setNotNull    = regexp.MustCompile(`\bSET\s+NOT\s+NULL\b`)
	setDefault    = regexp.MustCompile(`\bSET\s+DEFAULT\b`)
	addColumn     = regexp.MustCompile(`^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?("[^"]*"|\w+)`)
	notNull       = regexp.MustCompile(`\bNOT\s+NULL\b`)
	defaultOrGen  = regexp.MustCompile(`\b(DEFAULT|GENERATED)\b`)
	addNotColumns = map[string]bool{"CONSTRAINT": true, "PRIMARY": true, "UNIQUE": true, "CHECK": true, "FOREIGN": true, "EXCLUDE": true}
)

// CheckContract reads the Up section of one goose migration and returns
// each statement that removes or changes what older code may still use —
// DROP TABLE (or view, function, type…), DROP COLUMN, RENAME, ALTER … TYPE,
// DROP DEFAULT or DROP IDENTITY, SET NOT NULL without a default set in the
// same statement, ADD COLUMN … NOT NULL without a default — unless a
// `-- contract:` comment with a reason marks it.
func CheckContract(file string, src string) []Violation {
	var out []Violation
	for _, st := range upStatements(src) {
		if st.marked {
			continue
		}
		for _, p := range problems(st.text) {
			out = append(out, Violation{File: file, Line: st.line, Statement: shorten(st.shown), Problem: p})
		}
	}
	return out
}

func problems(s string) []string {
	var out []string
	if m := dropObject.FindStringSubmatch(s); m != nil {
		out = append(out, "drops a "+strings.ToLower(strings.Join(strings.Fields(m[1]), " ")))
	}
	if rename.MatchString(s) {
		out = append(out, "renames")
	}
	if alterType.MatchString(s) {
		out = append(out, "changes a column's type")
	}
	if !alterTable.MatchString(s) {
		return out
	}
	for _, m := range dropInAlter.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "CONSTRAINT", "NOT", "EXPRESSION":
			// Loosening a constraint or un-generating a column: older code
			// still works.
		case "DEFAULT":
			out = append(out, "drops a default that older code's inserts may rely on")
		case "IDENTITY":
			out = append(out, "drops an identity that older code's inserts rely on")
		default:
			out = append(out, "drops a column")
		}
	}
	if setNotNull.MatchString(s) && !setDefault.MatchString(s) {
		out = append(out, "sets NOT NULL without setting a default: older code's inserts may not set the column")
	}
	for _, action := range splitTopLevel(strings.TrimSpace(alterTable.ReplaceAllString(s, "")), ',') {
		action = strings.TrimSpace(action)
		if i := strings.Index(action, " ADD "); i >= 0 && !strings.HasPrefix(action, "ADD") {
			action = action[i+1:] // the first action follows the table name
		}
		m := addColumn.FindStringSubmatch(action)
		if m == nil || addNotColumns[m[1]] {
			continue
		}
		if notNull.MatchString(action) && !defaultOrGen.MatchString(action) {
			out = append(out, "adds a NOT NULL column without a default: older code's inserts do not set it")
		}
	}
	return out
}

// statement is one SQL statement of a migration's Up section: its text
// with comments and string contents removed and spaces collapsed, its
// first line, and whether a contract marker with a reason
// comes before it (after the previous statement) or inside it.
type statement struct {
	text   string // upper case, for matching
	shown  string // as written, for messages
	line   int
	marked bool
}

// upStatements splits the Up section of a goose migration (the whole file
// if it has no annotations) into statements. It knows comments, quoted
// strings and identifiers, and dollar-quoted bodies, whose text it keeps so
// that a DO block's statements are checked too.
func upStatements(src string) []statement {
	up, ln := src, 1
	if i := strings.Index(up, "-- +goose Up"); i >= 0 {
		ln += strings.Count(up[:i], "\n")
		up = up[i:]
	}
	if i := strings.Index(up, "-- +goose Down"); i >= 0 {
		up = up[:i]
	}
	var out []statement
	var b strings.Builder
	cur := statement{}
	flush := func() {
		if text := strings.Join(strings.Fields(b.String()), " "); text != "" {
			cur.shown = text
			cur.text = strings.ToUpper(text)
			out = append(out, cur)
		}
		b.Reset()
		cur = statement{}
	}
	for i := 0; i < len(up); {
		c := up[i]
		switch {
		case c == '\n':
			ln++
			b.WriteByte(' ')
			i++
		case strings.HasPrefix(up[i:], "--"):
			end := strings.IndexByte(up[i:], '\n')
			if end < 0 {
				end = len(up) - i
			}
			comment := up[i : i+end]
			if reason, ok := strings.CutPrefix(comment, ContractMarker); ok && strings.TrimSpace(reason) != "" {
				cur.marked = true
			}
			i += end
		case strings.HasPrefix(up[i:], "/*"):
			end := strings.Index(up[i+2:], "*/")
			if end < 0 {
				end = len(up) - i - 2
			}
			ln += strings.Count(up[i:min(len(up), i+2+end+2)], "\n")
			b.WriteByte(' ')
			i = min(len(up), i+2+end+2)
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(up) {
				if up[j] == c {
					if j+1 < len(up) && up[j+1] == c { // '' or "" inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			ln += strings.Count(up[i:min(len(up), j+1)], "\n")
			if c == '"' {
				b.WriteString(up[i:min(len(up), j+1)]) // identifiers matter
			} else {
				b.WriteString("''") // string contents do not
			}
			i = min(len(up), j+1)
		case c == '$':
			tag := dollarTag(up[i:])
			if tag == "" {
				b.WriteByte(c)
				i++
				continue
			}
			end := strings.Index(up[i+len(tag):], tag)
			body := up[i+len(tag):]
			if end >= 0 {
				body = body[:end]
			}
			// A body (a DO block, a function) is checked as SQL too.
			for _, inner := range upStatements(body) {
				b.WriteString(" " + inner.shown + " ; ")
			}
			ln += strings.Count(body, "\n")
			i = min(len(up), i+len(tag)+len(body)+len(tag))
		case c == ';':
			flush()
			i++
		default:
			if cur.line == 0 && c != ' ' && c != '\t' && c != '\r' {
				cur.line = ln
			}
			b.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

// dollarTag returns the $tag$ that s starts with, or "" if it starts with
// none (a positional parameter like $1 is not one).
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1]
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// splitTopLevel splits s at sep outside parentheses.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func shorten(s string) string {
	const limit = 120
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
