package workflow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"

	starlarkmath "go.starlark.net/lib/math"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Starlark: the code runs as a module with input, trigger, vars, nodes
// and the math module predeclared; the result is its global named result.
// load is refused.

const starlarkFile = "transform.star"

type starlarkProgram struct{ prog *starlark.Program }

var starlarkOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

var starlarkNames = map[string]bool{"input": true, "trigger": true, "vars": true, "nodes": true, "math": true}

func compileStarlark(code string) (*starlarkProgram, error) {
	_, prog, err := starlark.SourceProgramOptions(starlarkOptions, starlarkFile, code, func(name string) bool { return starlarkNames[name] })
	if err != nil {
		var se syntax.Error
		if errors.As(err, &se) {
			return nil, &CodeError{Line: int(se.Pos.Line), Msg: se.Msg}
		}
		var list resolve.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &CodeError{Line: int(list[0].Pos.Line), Msg: list[0].Msg}
		}
		return nil, &CodeError{Msg: err.Error()}
	}
	if prog.NumLoads() > 0 {
		_, pos := prog.Load(0)
		return nil, &CodeError{Line: int(pos.Line), Msg: "load is not available in a transform"}
	}
	return &starlarkProgram{prog: prog}, nil
}

func runStarlark(l *limits, p *starlarkProgram, in any, sc map[string]any) (any, error) {
	steps := false
	th := &starlark.Thread{
		Name:  "transform",
		Print: func(_ *starlark.Thread, msg string) { l.note(msg) },
		OnMaxSteps: func(th *starlark.Thread) {
			steps = true
			th.Cancel("steps")
		},
	}
	th.SetMaxExecutionSteps(MaxTransformSteps)
	stop := context.AfterFunc(l.ctx, func() { th.Cancel("time") })
	defer stop()
	pre := starlark.StringDict{"input": toStarlark(in), "math": starlarkmath.Module}
	for _, k := range []string{"trigger", "vars", "nodes"} {
		pre[k] = toStarlark(sc[k])
	}
	globals, err := p.prog.Init(th, pre)
	if err != nil {
		switch {
		case steps:
			return nil, fmt.Errorf("exceeded %d steps", MaxTransformSteps)
		case l.ctx.Err() != nil:
			return nil, l.stopped()
		}
		var ee *starlark.EvalError
		if errors.As(err, &ee) {
			line := 0
			for i := len(ee.CallStack) - 1; i >= 0; i-- {
				if pos := ee.CallStack[i].Pos; pos.Filename() == starlarkFile {
					line = int(pos.Line)
					break
				}
			}
			if line > 0 {
				return nil, fmt.Errorf("starlark error at line %d: %s", line, ee.Msg)
			}
			return nil, fmt.Errorf("starlark error: %s", ee.Msg)
		}
		return nil, fmt.Errorf("starlark error: %w", err)
	}
	result, ok := globals["result"]
	if !ok {
		return nil, errors.New("the Starlark code sets no global named result")
	}
	return fromStarlark(result, &budget{l: l}, 0)
}

func toStarlark(v any) starlark.Value {
	switch v := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(v)
	case int:
		return starlark.MakeInt(v)
	case float64:
		// A whole number is an int, so it can index and count.
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return starlark.MakeInt64(int64(v))
		}
		return starlark.Float(v)
	case string:
		return starlark.String(v)
	case []any:
		items := make([]starlark.Value, len(v))
		for i, e := range v {
			items[i] = toStarlark(e)
		}
		return starlark.NewList(items)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(v))
		for _, k := range keys {
			_ = d.SetKey(starlark.String(k), toStarlark(v[k]))
		}
		return d
	}
	return starlark.None
}

func fromStarlark(v starlark.Value, b *budget, depth int) (any, error) {
	if err := deeper(depth); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, b.add(4)
	case starlark.Bool:
		return bool(v), b.add(4)
	case starlark.Int:
		f, _ := new(big.Float).SetInt(v.BigInt()).Float64()
		return b.number(f)
	case starlark.Float:
		return b.number(float64(v))
	case starlark.String:
		return string(v), b.add(len(v) + 2)
	case starlark.Indexable: // list, tuple
		if _, isStr := v.(starlark.Bytes); isStr {
			break
		}
		out := make([]any, 0, min(v.Len(), 1024))
		for i := range v.Len() {
			c, err := fromStarlark(v.Index(i), b, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			if err := b.add(1); err != nil {
				return nil, err
			}
		}
		return out, b.add(2)
	case *starlark.Dict:
		out := make(map[string]any, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("the result has a dict key %s, which is not a string", kv[0].Type())
			}
			if err := b.add(len(k) + 3); err != nil {
				return nil, err
			}
			c, err := fromStarlark(kv[1], b, depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = c
		}
		return out, b.add(2)
	}
	return nil, fmt.Errorf("the result holds a %s, which has no JSON form", v.Type())
}
