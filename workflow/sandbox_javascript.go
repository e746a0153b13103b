package workflow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// JavaScript: the code is a function body; input, trigger, vars and nodes
// are globals and the function's return value is the result. A fresh
// runtime runs each transform, so nothing one run leaves in the globals or
// the prototypes reaches another (another community's, perhaps).

const jsFile = "transform.js"

type jsProgram struct{ prog *goja.Program }

// guardString caps a String.prototype method that makes a long string in
// one step, which the interrupt cannot stop halfway: grow says how many
// characters it would make.
func guardString(r *goja.Runtime, proto *goja.Object, name string, grow func(n int, args []goja.Value) int64) error {
	f, ok := goja.AssertFunction(proto.Get(name))
	if !ok {
		return fmt.Errorf("the builtin String.prototype.%s is not a function", name)
	}
	return proto.Set(name, func(call goja.FunctionCall) goja.Value {
		n := 0
		if s, ok := call.This.ToString().(goja.String); ok {
			n = s.Length()
		}
		if size := grow(n, call.Arguments); size > maxJSString {
			msg := fmt.Sprintf("String.prototype.%s would make %d characters, more than %d", name, size, maxJSString)
			if ctor, ok := goja.AssertConstructor(r.Get("RangeError")); ok {
				if e, err := ctor(nil, r.ToValue(msg)); err == nil {
					panic(e)
				}
			}
			panic(r.NewTypeError(msg))
		}
		v, err := f(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
}

func intArg(args []goja.Value, i int) int64 {
	if i >= len(args) {
		return 0
	}
	f := args[i].ToFloat()
	if f != f || f < 0 {
		return 0
	}
	return int64(min(f, 1<<40))
}

func compileJS(code string) (*jsProgram, error) {
	// The body is wrapped on its first line, so the code's lines keep
	// their numbers.
	src := "(function () {" + code + "\n})()"
	ast, err := parser.ParseFile(nil, jsFile, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &CodeError{Line: list[0].Position.Line, Msg: "SyntaxError: " + list[0].Message}
		}
		return nil, &CodeError{Msg: err.Error()}
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			return nil, &CodeError{Line: ce.File.Position(ce.Offset).Line, Msg: "SyntaxError: " + ce.Message}
		}
		return nil, &CodeError{Msg: err.Error()}
	}
	return &jsProgram{prog: prog}, nil
}

func runJS(l *limits, p *jsProgram, in any, sc map[string]any) (any, error) {
	r := goja.New()
	r.SetMaxCallStackSize(maxJSCallStack)
	stop := context.AfterFunc(l.ctx, func() { r.Interrupt(errStopped) })
	defer stop()

	g := r.GlobalObject()
	proto := g.Get("String").ToObject(r).Get("prototype").ToObject(r)
	for name, grow := range map[string]func(int, []goja.Value) int64{
		"repeat":   func(n int, a []goja.Value) int64 { return int64(n) * intArg(a, 0) },
		"padStart": func(_ int, a []goja.Value) int64 { return intArg(a, 0) },
		"padEnd":   func(_ int, a []goja.Value) int64 { return intArg(a, 0) },
	} {
		if err := guardString(r, proto, name, grow); err != nil {
			return nil, err
		}
	}
	if err := g.Set("input", toJS(r, in)); err != nil {
		return nil, err
	}
	// trigger, vars and nodes are converted when first read.
	for _, name := range []string{"trigger", "vars", "nodes"} {
		v := sc[name]
		var cached goja.Value
		get := r.ToValue(func() goja.Value {
			if cached == nil {
				cached = toJS(r, v)
			}
			return cached
		})
		set := r.ToValue(func(nv goja.Value) { cached = nv })
		if err := g.DefineAccessorProperty(name, get, set, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return nil, err
		}
	}
	console := r.NewObject()
	logf := func(call goja.FunctionCall) goja.Value {
		var s string
		for i, a := range call.Arguments {
			if i > 0 {
				s += " "
			}
			s += a.String()
			if len(s) > maxNoteLength {
				break
			}
		}
		l.note(s)
		return goja.Undefined()
	}
	for _, name := range []string{"log", "info", "warn", "error", "debug"} {
		if err := console.Set(name, logf); err != nil {
			return nil, err
		}
	}
	if err := g.Set("console", console); err != nil {
		return nil, err
	}

	v, err := r.RunProgram(p.prog)
	if err == nil {
		var out any
		if out, err = fromJS(r, v, &budget{l: l}, 0); err == nil {
			return out, nil
		}
	}
	if l.ctx.Err() != nil {
		return nil, l.stopped()
	}
	return nil, jsError(err)
}

var errStopped = errors.New("stopped")

// jsError names a JavaScript exception and the line of the code it was
// thrown at.
func jsError(err error) error {
	var stack []goja.StackFrame
	var msg string
	var so *goja.StackOverflowError
	var ex *goja.Exception
	switch {
	case errors.As(err, &so):
		msg = "RangeError: the call stack is deeper than " + strconv.Itoa(maxJSCallStack)
		stack = so.Stack()
	case errors.As(err, &ex):
		msg = "Error"
		if v := ex.Value(); v != nil {
			msg = v.String()
		}
		stack = ex.Stack()
	default:
		return err
	}
	for _, f := range stack {
		if f.SrcName() == jsFile {
			return fmt.Errorf("JavaScript error at line %d: %s", f.Position().Line, msg)
		}
	}
	return fmt.Errorf("JavaScript error: %s", msg)
}

// toJS makes native JavaScript values of a plain value, so the code can
// change them without touching the Go values other nodes share.
func toJS(r *goja.Runtime, v any) goja.Value {
	switch v := v.(type) {
	case nil:
		return goja.Null()
	case []any:
		items := make([]any, len(v))
		for i, e := range v {
			items[i] = toJS(r, e)
		}
		return r.NewArray(items...)
	case map[string]any:
		o := r.NewObject()
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = o.Set(k, toJS(r, v[k]))
		}
		return o
	}
	return r.ToValue(v)
}

// fromJS converts a JavaScript value as JSON.stringify would: undefined
// and functions are left out of objects and are null in arrays, objects
// with toJSON (dates) give its value.
func fromJS(r *goja.Runtime, v goja.Value, b *budget, depth int) (any, error) {
	if err := deeper(depth); err != nil {
		return nil, err
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, b.add(4)
	}
	o, ok := v.(*goja.Object)
	if !ok {
		switch e := v.Export().(type) {
		case bool:
			return e, b.add(4)
		case int64:
			return b.number(float64(e))
		case float64:
			return b.number(e)
		case string:
			return e, b.add(len(e) + 2)
		case *big.Int:
			return nil, errors.New("the result holds a BigInt, which has no JSON form")
		}
		return nil, b.add(4) // a symbol
	}
	if toJSON, ok := goja.AssertFunction(o.Get("toJSON")); ok {
		j, err := toJSON(o)
		if err != nil {
			return nil, err
		}
		if j2, ok := j.(*goja.Object); !ok || j2 != o {
			return fromJS(r, j, b, depth+1)
		}
	}
	if _, ok := goja.AssertFunction(o); ok {
		return nil, b.add(4)
	}
	if o.ClassName() == "Array" {
		n := o.Get("length").ToInteger()
		if n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("the result holds an array of %d items", n)
		}
		out := make([]any, 0, min(n, 1024))
		for i := int64(0); i < n; i++ {
			e := o.Get(strconv.FormatInt(i, 10))
			if _, fn := goja.AssertFunction(e); fn {
				e = goja.Null()
			}
			c, err := fromJS(r, e, b, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			if err := b.add(1); err != nil {
				return nil, err
			}
		}
		return out, b.add(2)
	}
	out := map[string]any{}
	for _, k := range o.Keys() {
		e := o.Get(k)
		if e == nil || goja.IsUndefined(e) {
			continue
		}
		if _, fn := goja.AssertFunction(e); fn {
			continue
		}
		if err := b.add(len(k) + 3); err != nil {
			return nil, err
		}
		c, err := fromJS(r, e, b, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, b.add(2)
}
