package workflow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Limits of templates.
const (
	MaxTemplate       = 16 << 10 // bytes of template source
	MaxTemplateOutput = 64 << 10 // bytes of rendered text; longer output is cut
)

// A template is text with expressions: {{ path.to.value | filter | filter:arg }}.
// A path is dot-separated keys over the scope (trigger, input, vars, nodes,
// item, workflow, community); a numeric key indexes an array
// (nodes.n1.items.0.name). See template_filter.go for the filters.
type template struct {
	parts []part
	err   error // the first syntax error; Render renders the bad part as text
}

// part is literal text or one expression.
type part struct {
	text string // literal text, or the expression's source when bad is set
	expr *expr
	bad  bool // a part that did not parse: rendered literally, listed missing
}

type expr struct {
	src     string   // the whole {{ … }}, for messages
	path    string   // the dotted path
	keys    []string // the path's keys
	filters []filterCall
}

type filterCall struct {
	name   string
	arg    any // string or float64
	hasArg bool
}

// Render renders {{ path.to.value | filter }} against scope; it returns the
// paths that were missing (and any part that does not parse, which renders
// as written). It never fails.
func Render(tmpl string, scope map[string]any) (string, []string) {
	t := parseCached(tmpl)
	if t == nil {
		return cutOutput(tmpl), []string{fmt.Sprintf("(template longer than %d bytes)", MaxTemplate)}
	}
	var b strings.Builder
	var missing []string
	for _, p := range t.parts {
		if b.Len() > MaxTemplateOutput {
			break
		}
		switch {
		case p.bad:
			b.WriteString(p.text)
			missing = appendOnce(missing, p.text)
		case p.expr == nil:
			b.WriteString(p.text)
		default:
			v, ok := p.expr.eval(scope)
			if !ok {
				missing = appendOnce(missing, p.expr.path)
			}
			b.WriteString(String(v))
		}
	}
	return cutOutput(b.String()), missing
}

// RenderValue renders a template; when the whole template is one expression
// ({{ path }}, with or without filters) it returns the value itself (a map,
// an array, a number) rather than its text, for JSON bodies and variables.
// A missing path gives nil.
func RenderValue(tmpl string, scope map[string]any) (any, []string) {
	t := parseCached(tmpl)
	if t != nil && len(t.parts) == 1 && t.parts[0].expr != nil {
		e := t.parts[0].expr
		v, ok := e.eval(scope)
		if !ok {
			return v, []string{e.path}
		}
		return v, nil
	}
	return Render(tmpl, scope)
}

// renderValue is RenderValue for a node execution, noting missing paths.
func renderValue(x *Exec, tmpl string) any {
	v, missing := RenderValue(tmpl, x.Scope)
	for _, m := range missing {
		x.Missing = appendOnce(x.Missing, m)
	}
	return v
}

// TemplatePaths lists the paths a template reads, or says why it does not parse.
func TemplatePaths(tmpl string) ([]string, error) {
	t := parseCached(tmpl)
	if t == nil {
		return nil, fmt.Errorf("a template has at most %d bytes", MaxTemplate)
	}
	if t.err != nil {
		return nil, t.err
	}
	var paths []string
	for _, p := range t.parts {
		if p.expr != nil {
			paths = appendOnce(paths, p.expr.path)
		}
	}
	return paths, nil
}

// singlePath reports whether the template is exactly one {{ path }} without
// filters, and its path.
func singlePath(tmpl string) (string, bool) {
	t := parseCached(tmpl)
	if t == nil || t.err != nil || len(t.parts) != 1 || t.parts[0].expr == nil || len(t.parts[0].expr.filters) > 0 {
		return "", false
	}
	return t.parts[0].expr.path, true
}

// hasExpr reports whether the template contains {{ at all.
func hasExpr(tmpl string) bool { return strings.Contains(tmpl, "{{") }

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// cutOutput cuts rendered text to the output limit at a character boundary.
func cutOutput(s string) string {
	if len(s) <= MaxTemplateOutput {
		return s
	}
	cut := MaxTemplateOutput
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// The parse cache: Render runs on every node execution, with the same few
// templates each time.
const (
	cacheEntries = 2048
	cacheBytes   = 8 << 20
)

var tmplCache = struct {
	sync.RWMutex
	m     map[string]*template
	bytes int
}{m: map[string]*template{}}

// parseCached parses a template through the cache; nil means it is too long.
func parseCached(src string) *template {
	if len(src) > MaxTemplate {
		return nil
	}
	tmplCache.RLock()
	t, ok := tmplCache.m[src]
	tmplCache.RUnlock()
	if ok {
		return t
	}
	t = parse(src)
	tmplCache.Lock()
	defer tmplCache.Unlock()
	for k := range tmplCache.m {
		if len(tmplCache.m) < cacheEntries && tmplCache.bytes+len(src) <= cacheBytes {
			break
		}
		delete(tmplCache.m, k) // any entry: map order is unspecified
		tmplCache.bytes -= len(k)
	}
	if _, dup := tmplCache.m[src]; !dup {
		tmplCache.m[src] = t
		tmplCache.bytes += len(src)
	}
	return t
}

// parse splits a template into text and expressions. A part that does not
// parse is kept as text and recorded; the first error is the template's.
func parse(src string) *template {
	t := &template{}
	text := func(s string) {
		if s == "" {
			return
		}
		if n := len(t.parts); n > 0 && t.parts[n-1].expr == nil && !t.parts[n-1].bad {
			t.parts[n-1].text += s
			return
		}
		t.parts = append(t.parts, part{text: s})
	}
	rest := src
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			text(rest)
			return t
		}
		text(rest[:i])
		rest = rest[i:]
		end := closing(rest)
		if end < 0 {
			t.parts = append(t.parts, part{text: rest, bad: true})
			if t.err == nil {
				t.err = fmt.Errorf("unclosed \"{{\" at %s", excerpt(rest))
			}
			return t
		}
		src := rest[:end]
		rest = rest[end:]
		e, err := parseExpr(src)
		if err != nil {
			t.parts = append(t.parts, part{text: src, bad: true})
			if t.err == nil {
				t.err = fmt.Errorf("%s at %s", err.Error(), excerpt(src))
			}
			continue
		}
		t.parts = append(t.parts, part{expr: e})
	}
}

// closing returns the end (after "}}") of the expression s starts with,
// skipping quoted filter arguments, or -1.
func closing(s string) int {
	var quote byte
	for i := 2; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i + 2
		}
	}
	return -1
}

func excerpt(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// parseExpr parses one {{ … }}.
func parseExpr(src string) (*expr, error) {
	in := src[2 : len(src)-2]
	e := &expr{src: src}
	segs := splitPipes(in)
	e.path = strings.TrimSpace(segs[0])
	if e.path == "" {
		if len(segs) == 1 {
			return nil, fmt.Errorf("empty expression")
		}
		return nil, fmt.Errorf("missing path before \"|\"")
	}
	e.keys = strings.Split(e.path, ".")
	for _, k := range e.keys {
		if k == "" {
			return nil, fmt.Errorf("path %q has an empty key", e.path)
		}
		for _, r := range k {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
				return nil, fmt.Errorf("path %q has %q, which a key cannot hold", e.path, r)
			}
		}
	}
	for _, s := range segs[1:] {
		f, err := parseFilter(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		e.filters = append(e.filters, f)
	}
	return e, nil
}

// splitPipes splits on | outside quotes.
func splitPipes(s string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '|':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseArg parses a filter argument: a quoted string or a number.
func parseArg(s string) (any, error) {
	if s == "" {
		return nil, fmt.Errorf("empty argument")
	}
	if q := s[0]; q == '"' || q == '\'' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s):
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(s[i])
				}
			case c == q:
				if i != len(s)-1 {
					return nil, fmt.Errorf("unexpected text after string in %s", s)
				}
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return nil, fmt.Errorf("unterminated string %s", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("argument %s is neither a quoted string nor a number", s)
	}
	return f, nil
}

// eval resolves the path and applies the filters; ok is false when the path
// is missing.
func (e *expr) eval(scope map[string]any) (any, bool) {
	v, ok := lookup(scope, e.keys)
	for _, f := range e.filters {
		v = applyFilter(f, v, ok)
	}
	return v, ok
}
