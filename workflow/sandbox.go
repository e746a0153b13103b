package workflow

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itchyny/gojq"
)

// Transform languages.
const (
	LanguageJQ         = "jq"
	LanguageJavaScript = "javascript"
	LanguageStarlark   = "starlark"
)

// Languages lists the transform languages.
var Languages = []string{LanguageJQ, LanguageJavaScript, LanguageStarlark}

// Limits of a transform.
const (
	MaxTransformCode        = 16 << 10 // bytes of code
	MaxTransformOutput      = 1 << 20  // bytes of the result as JSON
	MaxTransformSteps       = 10_000_000
	MaxTransformOutputs     = 1000 // jq outputs
	DefaultTransformTimeout = time.Second
	MinTransformTimeout     = 10 * time.Millisecond
	MaxTransformTimeout     = 10 * time.Second

	maxTransformDepth = 1000 // nesting of the result
	maxJSCallStack    = 1000
	maxJSString       = 8 << 20 // characters repeat and pad may make
	maxTransformNotes = 20
	maxNoteLength     = 500
	transformCacheLen = 256
)

// CodeError is code that does not compile; Line is 0 when unknown.
type CodeError struct {
	Line int
	Msg  string
}

func (e *CodeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Transform runs a transform's code on an input with the scope's trigger,
// vars and nodes, within the timeout and the sandbox's limits, and returns
// its result as a JSON-like value.
func Transform(ctx context.Context, language, code string, input any, scope map[string]any, timeout time.Duration) (any, error) {
	return transform(ctx, language, code, input, scope, timeout, nil)
}

// transform is Transform collecting console.log and print lines in notes.
func transform(ctx context.Context, language, code string, input any, scope map[string]any, timeout time.Duration, notes *[]string) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("the %s transform failed inside its engine: %v", language, p)
		}
	}()
	if timeout <= 0 {
		timeout = DefaultTransformTimeout
	}
	prog, err := compileTransform(language, code)
	if err != nil {
		return nil, fmt.Errorf("the %s code does not compile: %w", language, err)
	}
	in, err := plain(input)
	if err != nil {
		return nil, fmt.Errorf("the transform's input: %w", err)
	}
	sc := make(map[string]any, 3)
	for _, k := range []string{"trigger", "vars", "nodes"} {
		if sc[k], err = plain(scope[k]); err != nil {
			return nil, fmt.Errorf("the transform's %s: %w", k, err)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	l := &limits{ctx: tctx, parent: ctx, timeout: timeout, notes: notes}
	switch p := prog.(type) {
	case *gojq.Code:
		out, err = runJQ(l, p, in, sc)
	case *jsProgram:
		out, err = runJS(l, p, in, sc)
	case *starlarkProgram:
		out, err = runStarlark(l, p, in, sc)
	}
	if err != nil {
		return nil, err
	}
	n, err := jsonSize(out)
	if err != nil {
		return nil, fmt.Errorf("the transform's output cannot be written as JSON: %w", err)
	}
	if n > MaxTransformOutput {
		return nil, fmt.Errorf("the transform's output is %d bytes, more than the 1 MiB limit", n)
	}
	return out, nil
}

// limits is one run's limits as the engines see them.
type limits struct {
	ctx     context.Context // ends at the timeout
	parent  context.Context
	timeout time.Duration
	notes   *[]string
}

// stopped says why the run was stopped: its time limit, or its caller.
func (l *limits) stopped() error {
	if l.parent.Err() != nil {
		return fmt.Errorf("the transform was stopped: %w", context.Cause(l.parent))
	}
	return fmt.Errorf("timed out after %d ms", l.timeout.Milliseconds())
}

func (l *limits) note(s string) {
	if l.notes == nil || len(*l.notes) >= maxTransformNotes {
		return
	}
	if len(s) > maxNoteLength {
		s = strings.ToValidUTF8(s[:maxNoteLength], "") + "…"
	}
	*l.notes = append(*l.notes, s)
	if len(*l.notes) == maxTransformNotes {
		*l.notes = append(*l.notes, fmt.Sprintf("(only the first %d log lines are kept)", maxTransformNotes))
	}
}

// budget counts at least the bytes a result being converted will take as
// JSON, so a result too large (a list shared 2^100 times over) is given
// up on early instead of walked; it also stops at the time limit.
type budget struct {
	l     *limits
	n     int
	calls int
	num   []byte
}

func (b *budget) add(n int) error {
	b.n += n
	if b.n > MaxTransformOutput {
		return fmt.Errorf("the transform's output is over %d bytes, more than the 1 MiB limit", b.n)
	}
	if b.calls++; b.calls%1024 == 0 && b.l.ctx.Err() != nil {
		return b.l.stopped()
	}
	return nil
}

// number counts a number as JSON writes it.
func (b *budget) number(f float64) (any, error) {
	v := jsonNumber(f)
	if f, ok := v.(float64); ok {
		b.num = strconv.AppendFloat(b.num[:0], f, 'g', -1, 64)
		return v, b.add(len(b.num))
	}
	return v, b.add(4)
}

func deeper(depth int) error {
	if depth > maxTransformDepth {
		return fmt.Errorf("the transform's output nests deeper than %d levels", maxTransformDepth)
	}
	return nil
}

// jsonNumber is a float as a JSON value: JSON has no NaN, and infinities
// become the largest numbers (as jq writes them).
func jsonNumber(f float64) any {
	switch {
	case math.IsNaN(f):
		return nil
	case math.IsInf(f, 1):
		return math.MaxFloat64
	case math.IsInf(f, -1):
		return -math.MaxFloat64
	}
	return f
}

// jsonSize is the length of v as compact JSON.
func jsonSize(v any) (int, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return 0, err
	}
	return buf.Len() - 1, nil // the newline Encode adds
}

// plain returns v as values every engine takes (nil, bool, float64, int,
// string, []any, map[string]any), through JSON when it holds anything else.
func plain(v any) (any, error) {
	if isPlain(v, 0) {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("it cannot be written as JSON: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func isPlain(v any, depth int) bool {
	if depth > 10000 {
		return false
	}
	switch v := v.(type) {
	case nil, bool, string, int:
		return true
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case []any:
		for _, e := range v {
			if !isPlain(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range v {
			if !isPlain(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// The compiled programs, by language and code.
var programs = newProgramCache(transformCacheLen)

type programCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // front: most recently used
	m   map[string]*list.Element
}

type cachedProgram struct {
	key  string
	prog any
}

func newProgramCache(max int) *programCache {
	return &programCache{max: max, ll: list.New(), m: make(map[string]*list.Element)}
}

func (c *programCache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cachedProgram).prog, true
}

func (c *programCache) put(key string, prog any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.ll.MoveToFront(e)
		return
	}
	c.m[key] = c.ll.PushFront(&cachedProgram{key: key, prog: prog})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*cachedProgram).key)
	}
}

func (c *programCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// compileTransform compiles code, or takes it from the cache; a compile
// error is a *CodeError.
func compileTransform(language, code string) (any, error) {
	if len(code) > MaxTransformCode {
		return nil, &CodeError{Msg: fmt.Sprintf("it has more than %d bytes", MaxTransformCode)}
	}
	key := language + "\x00" + code
	if p, ok := programs.get(key); ok {
		return p, nil
	}
	var p any
	var err error
	switch language {
	case LanguageJQ:
		p, err = compileJQ(code)
	case LanguageJavaScript:
		p, err = compileJS(code)
	case LanguageStarlark:
		p, err = compileStarlark(code)
	default:
		return nil, fmt.Errorf("unknown language %q: it is one of %s", language, strings.Join(Languages, ", "))
	}
	if err != nil {
		return nil, err
	}
	programs.put(key, p)
	return p, nil
}

// jq: . is the input; $trigger, $vars and $nodes are the scope's.

var jqVariables = []string{"$trigger", "$vars", "$nodes"}

func compileJQ(code string) (*gojq.Code, error) {
	q, err := gojq.Parse(code)
	if err != nil {
		ce := &CodeError{Msg: err.Error()}
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			ce.Line = strings.Count(code[:min(max(pe.Offset, 0), len(code))], "\n") + 1
		}
		return nil, ce
	}
	// No module loader (import fails), no input iterator (input and inputs
	// fail) and an empty environment ($ENV and env are {}).
	c, err := gojq.Compile(q, gojq.WithVariables(jqVariables), gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, &CodeError{Msg: err.Error()}
	}
	return c, nil
}

func runJQ(l *limits, c *gojq.Code, in any, sc map[string]any) (any, error) {
	iter := c.RunWithContext(l.ctx, in, sc["trigger"], sc["vars"], sc["nodes"])
	var outs []any
	b := &budget{l: l}
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			if l.ctx.Err() != nil {
				return nil, l.stopped()
			}
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break // halt: stop without error
			}
			var ve gojq.ValueError
			if errors.As(err, &ve) {
				if msg, ok := ve.Value().(string); ok {
					return nil, fmt.Errorf("jq error: %s", msg)
				}
			}
			return nil, fmt.Errorf("jq error: %w", err)
		}
		if len(outs) == MaxTransformOutputs {
			return nil, fmt.Errorf("the jq program gave more than %d outputs", MaxTransformOutputs)
		}
		out, err := fromJQ(v, b, 0)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	switch len(outs) {
	case 0:
		return nil, nil
	case 1:
		return outs[0], nil
	}
	return outs, nil
}

// fromJQ converts a jq value into a JSON-like one: its whole numbers
// (int, *big.Int) become float64.
func fromJQ(v any, b *budget, depth int) (any, error) {
	if err := deeper(depth); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil:
		return nil, b.add(4)
	case bool:
		return v, b.add(4)
	case int:
		return b.number(float64(v))
	case float64:
		return b.number(v)
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return b.number(f)
	case string:
		return v, b.add(len(v) + 2)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = fromJQ(e, b, depth+1); err != nil {
				return nil, err
			}
			if err := b.add(1); err != nil {
				return nil, err
			}
		}
		return out, b.add(2)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if err := b.add(len(k) + 3); err != nil {
				return nil, err
			}
			c, err := fromJQ(e, b, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, b.add(2)
	}
	return nil, fmt.Errorf("the jq program gave a %T, which has no JSON form", v)
}
