package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/waddle/waddle/marketplace"
)

// module runs `waddle module validate manifest.json`: a marketplace
// manifest checked offline, as publishing checks it (no database, no
// configuration). It prints "ok" and a summary, or every error with its
// JSON path, and fails when there are errors.
func module(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		return &usageError{"module needs a command: validate MANIFEST.json"}
	}
	if len(args) != 2 {
		return &usageError{"module validate takes one manifest file (- for standard input)"}
	}
	raw, err := readManifestFile(args[1])
	if err != nil {
		return err
	}
	m, errs := marketplace.ParseManifest(raw)
	if len(errs) > 0 {
		for _, e := range errs {
			path := e.Path
			if path == "" {
				path = "(manifest)"
			}
			fmt.Fprintf(stdout, "%s: %s\n", path, e.Message)
		}
		return fmt.Errorf("%s: %d error(s) in the manifest", args[1], len(errs))
	}
	var cmds []string
	for _, c := range m.Commands {
		cmds = append(cmds, c.Name)
	}
	var caps []string
	for _, c := range m.Capabilities {
		caps = append(caps, string(c))
	}
	price := m.Price.Kind
	if m.Price.Cents > 0 {
		price = fmt.Sprintf("%s %d.%02d %s", m.Price.Kind, m.Price.Cents/100, m.Price.Cents%100, strings.ToUpper(orDefault(m.Price.Currency, "usd")))
	}
	fmt.Fprintf(stdout, "ok: %s %s (%s)\n  executor: %s\n  commands: %s\n  capabilities: %s\n  price: %s\n",
		m.Slug, m.Version, m.Name, m.Executor.Kind, strings.Join(cmds, ", "), orDefault(strings.Join(caps, ", "), "none"), price)
	return nil
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func readManifestFile(path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open the manifest: %w", err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, marketplace.MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the manifest: %w", err)
	}
	if len(raw) > marketplace.MaxManifestBytes {
		return nil, errors.New("the manifest is over 256 KB")
	}
	return raw, nil
}
