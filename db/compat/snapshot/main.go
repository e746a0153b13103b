// Command snapshot writes the queries a release sends — read from its
// sqlc-generated Go files — as JSON, for the expand-then-contract check in
// db/compat. scripts/release-snapshot.sh runs it when a release is cut:
//
//	go run ./db/compat/snapshot -dir db -out db/compat/previous/queries.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/waddle/waddle/db/compat"
)

func main() {
	dir := flag.String("dir", "db", "directory of the sqlc-generated Go files")
	out := flag.String("out", "-", "file to write the JSON to (- for standard output)")
	flag.Parse()
	if err := run(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}
}

func run(dir, out string) error {
	qs, err := compat.Extract(os.DirFS(dir))
	if err != nil {
		return err
	}
	if len(qs) == 0 {
		return fmt.Errorf("no sqlc queries in %s", dir)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep <, > and & readable in the SQL
	enc.SetIndent("", "  ")
	if err := enc.Encode(qs); err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}
