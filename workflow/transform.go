package workflow

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

func init() {
	register(&Kind{
		Type:     "data_transform",
		Category: CategoryData,
		Title:    "Transform",
		Summary:  "Reshapes its input with a short jq, JavaScript or Starlark program that has no access to the outside world.",
		New:      func() Config { return &TransformConfig{TimeoutMS: int(DefaultTransformTimeout / time.Millisecond)} },
		Run:      runTransform,
	})
}

// TransformConfig is data_transform's configuration.
//
// jq: the program runs with . as the input and $trigger, $vars and $nodes
// from the scope; one output is the result, several are an array of them.
// JavaScript: the code is a function body with input, trigger, vars and
// nodes as globals; what it returns is the result. Starlark: input,
// trigger, vars and nodes are predeclared; the result is the global named
// result.
type TransformConfig struct {
	Language  string `json:"language"`
	Code      string `json:"code"`
	TimeoutMS int    `json:"timeout_ms"`
}

// Check checks the language, the timeout and that the code compiles.
func (c *TransformConfig) Check(ch *Checker) {
	minMS, maxMS := int(MinTransformTimeout/time.Millisecond), int(MaxTransformTimeout/time.Millisecond)
	if c.TimeoutMS < minMS || c.TimeoutMS > maxMS {
		ch.Errorf("timeout_ms", "The time limit is from %d to %d milliseconds.", minMS, maxMS)
	}
	if !slices.Contains(Languages, c.Language) {
		ch.Errorf("language", "The language is one of %s.", strings.Join(Languages, ", "))
		return
	}
	switch {
	case strings.TrimSpace(c.Code) == "":
		ch.Errorf("code", "The code is required.")
	case len(c.Code) > MaxTransformCode:
		ch.Errorf("code", "The code has at most %d bytes.", MaxTransformCode)
	default:
		if _, err := compileTransform(c.Language, c.Code); err != nil {
			var ce *CodeError
			if errors.As(err, &ce) && ce.Line > 0 {
				ch.Errorf("code", "The code does not compile at line %d: %s", ce.Line, ce.Msg)
			} else {
				ch.Errorf("code", "The code does not compile: %s", err.Error())
			}
		}
	}
}

func runTransform(ctx context.Context, x *Exec, cfg Config) (Result, error) {
	c := cfg.(*TransformConfig)
	timeout := time.Duration(c.TimeoutMS) * time.Millisecond
	timeout = min(max(timeout, MinTransformTimeout), MaxTransformTimeout)
	out, err := transform(ctx, c.Language, c.Code, x.Input, x.Scope, timeout, &x.Notes)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: out}, nil
}
