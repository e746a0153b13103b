package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/waddle/waddle/db"
)

// writeMigrationStatus prints `waddle migrate status`: one row per migration
// (schema, version, name, state), then per schema the newest migration this
// binary knows, the one the database is at, what is pending, and whether a
// newer release has migrated the database past this binary.
func writeMigrationStatus(w io.Writer, st []db.MigrationState) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEMA\tVERSION\tNAME\tSTATE")
	for _, m := range st {
		name, state := m.Name, "pending"
		switch {
		case m.Unknown:
			name, state = "(unknown to this waddle)", "applied by a newer release"
		case m.Applied:
			state = "applied"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Source, m.Version, name, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, source := range []string{"waddle", "river"} {
		fmt.Fprintln(w)
		if err := writeSchemaSummary(w, source, st); err != nil {
			return err
		}
	}
	return nil
}

func writeSchemaSummary(w io.Writer, source string, st []db.MigrationState) error {
	title := "waddle schema"
	if source == "river" {
		title = "job queue schema (river)"
	}
	var newest, at db.MigrationState
	var pending, unknown []string
	for _, m := range st {
		if m.Source != source {
			continue
		}
		if !m.Unknown && m.Version >= newest.Version {
			newest = m
		}
		if m.Applied && m.Version >= at.Version {
			at = m
		}
		if !m.Applied {
			pending = append(pending, strconv.FormatInt(m.Version, 10))
		}
		if m.Unknown {
			unknown = append(unknown, strconv.FormatInt(m.Version, 10))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", title)
	fmt.Fprintf(&b, "  newest known:  %d (%s)\n", newest.Version, newest.Name)
	if at.Version == 0 {
		fmt.Fprintf(&b, "  database at:   nothing applied yet\n")
	} else {
		fmt.Fprintf(&b, "  database at:   %d\n", at.Version)
	}
	switch {
	case len(pending) == 0:
		fmt.Fprintf(&b, "  pending:       none\n")
	case len(unknown) > 0 && source == "waddle":
		fmt.Fprintf(&b, "  pending:       %s (not applied while the database is ahead)\n", strings.Join(pending, ", "))
	default:
		fmt.Fprintf(&b, "  pending:       %s (`waddle migrate up` or `waddle serve` applies them)\n", strings.Join(pending, ", "))
	}
	switch {
	case len(unknown) > 0 && source == "river":
		// River applies only the migrations it misses: an older binary
		// leaves a newer job queue schema as it is, and serves.
		fmt.Fprintf(&b, "  ahead:         migrations %s were applied by a newer release; this waddle leaves them as they are\n",
			strings.Join(unknown, ", "))
	case len(unknown) > 0:
		fmt.Fprintf(&b, "  AHEAD: the database schema is at migration %d but this waddle knows only up to %d: "+
			"it was upgraded by a newer release (migrations %s).\n"+
			"  This waddle will not serve or migrate it; run that release, or restore a backup taken before the upgrade.\n",
			at.Version, newest.Version, strings.Join(unknown, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
