package compat

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Extract reads the sqlc-generated Go files (*.go, not tests) at the top of
// fsys and returns every query they send: each `const x = "-- name: X :kind…"`
// and, for :copyfrom queries, the table and columns of each CopyFrom call.
// It reads the files as source, so it works on an older release's checkout.
func Extract(fsys fs.FS) ([]Query, error) {
	names, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var out []Query
	seen := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		qs, err := extractFile(name, f)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			if prev, dup := seen[q.Name]; dup {
				return nil, fmt.Errorf("query %s is in both %s and %s", q.Name, prev, q.File)
			}
			seen[q.Name] = q.File
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b Query) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func extractFile(file string, f *ast.File) ([]Query, error) {
	var out []Query
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				for _, v := range spec.(*ast.ValueSpec).Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil || !strings.HasPrefix(s, "-- name: ") {
						continue
					}
					head, _, _ := strings.Cut(s, "\n")
					fields := strings.Fields(strings.TrimPrefix(head, "-- name: "))
					if len(fields) < 2 || !strings.HasPrefix(fields[1], ":") {
						return nil, fmt.Errorf("%s: query header %q is not `-- name: Name :kind`", file, head)
					}
					out = append(out, Query{Name: fields[0], Kind: fields[1], File: file, SQL: s})
				}
			}
		case *ast.FuncDecl:
			if q, ok := copyFromQuery(file, d); ok {
				out = append(out, q)
			}
		}
	}
	return out, nil
}

// copyFromQuery recognises sqlc's
// `return q.db.CopyFrom(ctx, []string{"table"}, []string{"col", …}, …)`
// and turns it into INSERT INTO table (col, …) VALUES ($1, …).
func copyFromQuery(file string, fn *ast.FuncDecl) (Query, bool) {
	if fn.Body == nil || len(fn.Body.List) != 1 {
		return Query{}, false
	}
	ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return Query{}, false
	}
	call, ok := ret.Results[0].(*ast.CallExpr)
	if !ok || len(call.Args) != 4 {
		return Query{}, false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "CopyFrom" {
		return Query{}, false
	}
	table, ok1 := stringList(call.Args[1])
	cols, ok2 := stringList(call.Args[2])
	if !ok1 || !ok2 || len(table) == 0 || len(cols) == 0 {
		return Query{}, false
	}
	params := make([]string, len(cols))
	for i := range cols {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	sql := fmt.Sprintf("-- name: %s :copyfrom\nINSERT INTO %s (%s) VALUES (%s)\n",
		fn.Name.Name, strings.Join(table, "."), strings.Join(cols, ", "), strings.Join(params, ", "))
	return Query{Name: fn.Name.Name, Kind: ":copyfrom", File: file, SQL: sql}, true
}

// stringList reads a []string{"a", "b"} literal.
func stringList(e ast.Expr) ([]string, bool) {
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, false
	}
	var out []string
	for _, el := range lit.Elts {
		b, ok := el.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return nil, false
		}
		s, err := strconv.Unquote(b.Value)
		if err != nil {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
