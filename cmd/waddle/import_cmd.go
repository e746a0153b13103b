package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waddle/waddle/audit"
	"github.com/waddle/waddle/db"
	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/modules"
	"github.com/waddle/waddle/problem"
	"github.com/waddle/waddle/router"
)

// newImporter is the import engine as serve and `waddle import` build it.
// Logins are matched to the accounts Waddle knows; the others wait, pending,
// for their first chat (no Helix lookup is wired yet).
func newImporter(a *app, commands *router.Settings, logger *slog.Logger) *importer.Service {
	return importer.New(importer.Config{Pool: a.pool, Jobs: a.jobs, Commands: commands, Logger: logger})
}

// importArgs is `waddle import`'s command line.
type importArgs struct {
	community, source, conflicts, currency, others string
	apply                                          bool
	files                                          []string
}

// parseImportArgs reads flags and files in any order (flag stops at the
// first file name, so the rest is parsed again).
func parseImportArgs(args []string) (importArgs, error) {
	var in importArgs
	fs := newFlagSet("import")
	fs.StringVar(&in.community, "community", "", "community short name")
	fs.StringVar(&in.source, "source", "", "nightbot, streamelements, streamlabs, firebot or phantombot")
	fs.BoolVar(&in.apply, "apply", false, "apply the import after the preview")
	fs.StringVar(&in.conflicts, "conflicts", importer.ConflictSkip, "commands that exist already: skip, rename or overwrite")
	fs.StringVar(&in.currency, "currency", "", "the currency that becomes the points, when the source has several")
	fs.StringVar(&in.others, "other-currencies", importer.OtherSkip, "the other currencies: skip, or counter (a named counter each)")
	for {
		if err := fs.Parse(args); err != nil {
			return in, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		in.files = append(in.files, args[0])
		args = args[1:]
	}
	switch {
	case in.community == "":
		return in, &usageError{"--community is required"}
	case in.source == "":
		return in, &usageError{"--source is required"}
	}
	if _, err := parseImportSource(in.source); err != nil {
		return in, &usageError{err.Error()}
	}
	switch in.conflicts {
	case importer.ConflictSkip, importer.ConflictRename, importer.ConflictOverwrite:
	default:
		return in, &usageError{fmt.Sprintf("--conflicts is %q: want skip, rename or overwrite", in.conflicts)}
	}
	switch in.others {
	case importer.OtherSkip, importer.OtherCounter:
	default:
		return in, &usageError{fmt.Sprintf("--other-currencies is %q: want skip or counter", in.others)}
	}
	if in.source == string(importer.StreamElements) {
		if len(in.files) > 0 {
			return in, &usageError{"streamelements is read through its API: give no files; the JWT token is read from standard input"}
		}
	} else if len(in.files) == 0 {
		return in, &usageError{"name at least one file to import"}
	}
	return in, nil
}

func parseImportSource(s string) (importer.Source, error) {
	for _, x := range importer.Sources {
		if string(x) == s {
			return x, nil
		}
	}
	names := make([]string, len(importer.Sources))
	for i, x := range importer.Sources {
		names[i] = string(x)
	}
	return "", fmt.Errorf("unknown source %q: use one of %s", s, strings.Join(names, ", "))
}

// importFiles checks the files on the command line: each exists and is
// within its kind's limit (viewer databases up to 200 MiB here).
func importFiles(paths []string) ([]importer.File, error) {
	var files []importer.File
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", p)
		}
		name := filepath.Base(p)
		limit := int64(importer.MaxViewersBytes)
		switch strings.ToLower(filepath.Ext(name)) {
		case ".json", ".abcom", ".abcomg", ".txt", ".csv":
			limit = importer.MaxCommandsBytes
		}
		if st.Size() > limit {
			return nil, fmt.Errorf("%s: the file is %d MiB; this kind of file may hold at most %d MiB", p, st.Size()>>20, limit>>20)
		}
		files = append(files, importer.File{Name: name, Path: p, Size: st.Size()})
	}
	return files, nil
}

func readImportSource(ctx context.Context, cfg config, src importer.Source, files []importer.File, stdin io.Reader) (*importer.Bundle, error) {
	switch src {
	case importer.Nightbot:
		return importer.ReadNightbot(files)
	case importer.Streamlabs:
		return importer.ReadStreamlabs(files)
	case importer.Firebot:
		return importer.ReadFirebot(files)
	case importer.PhantomBot:
		return importer.ReadPhantomBot(files)
	}
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 8<<10), 8<<10)
	if !in.Scan() || strings.TrimSpace(in.Text()) == "" {
		return nil, errors.New("paste the StreamElements JWT token on standard input")
	}
	return cfg.Imports.streamElementsAPI().Fetch(ctx, strings.TrimSpace(in.Text()))
}

// importCmd is `waddle import`: read the files, print the preview, and with
// --apply apply it here, with a progress line, without the hub.
func importCmd(ctx context.Context, cfg config, logger *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	in, err := parseImportArgs(args)
	if err != nil {
		return err
	}
	src, _ := parseImportSource(in.source)
	files, err := importFiles(in.files)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	c, err := db.New(a.pool).CommunityGetBySlug(ctx, in.community)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no community with the short name %q", in.community)
	}
	if err != nil {
		return err
	}
	b, err := readImportSource(ctx, cfg, src, files, stdin)
	if err != nil {
		return cliError(err)
	}
	// The router's settings say which names are built in and drop the
	// cached commands of every instance once the import wrote its own.
	rt := router.New(router.Config{Modules: modules.All(), Pool: a.pool, Redis: a.redis, RedisPrefix: cfg.RedisPrefix, Limiter: a.limiter, Logger: logger})
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	rdone := make(chan error, 1)
	go func() { rdone <- rt.Run(rctx) }()
	defer func() { stop(); <-rdone }()
	svc := newImporter(a, router.NewSettings(rt), logger)
	by := audit.Actor{Email: "waddle import (terminal)"}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	imp, err := svc.Create(ctx, by, c.ID, b, names)
	if err != nil {
		return cliError(err)
	}
	p, err := svc.Preview(ctx, c.ID, imp.ID)
	if err != nil {
		return cliError(err)
	}
	printPreview(stdout, c.Name, p)
	if !in.apply {
		fmt.Fprintf(stdout, "Nothing written. Apply it with --apply, or in the hub: %s/c/%d/imports/%d\n", cfg.BaseURL, c.ID, imp.ID)
		return nil
	}
	ch := importer.Choices{AllConflicts: in.conflicts, Currency: in.currency, OtherCurrencies: in.others}
	if err := svc.Apply(ctx, by, c.ID, imp.ID, ch); err != nil {
		return cliError(err)
	}
	return applyHere(ctx, svc, c.ID, imp.ID, stdout)
}

// applyHere works the queued apply job in this process (a `waddle serve`
// that picks it up meanwhile finds it done or resumes it), printing its
// progress on one line.
func applyHere(ctx context.Context, svc *importer.Service, cid, id int64, stdout io.Writer) error {
	done := make(chan error, 1)
	go func() {
		w := &importer.ApplyWorker{Service: svc}
		done <- w.Work(ctx, &river.Job[importer.ApplyArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 1},
			Args: importer.ApplyArgs{CommunityID: cid, ImportID: id}})
	}()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	var werr error
	for running := true; running; {
		select {
		case werr = <-done:
			running = false
		case <-tick.C:
		}
		if p, err := svc.Progress(ctx, cid, id); err == nil {
			fmt.Fprintf(stdout, "\rApplying: %s", progressLine(p))
		}
	}
	fmt.Fprintln(stdout)
	if werr != nil {
		return cliError(werr)
	}
	imp, err := svc.Get(ctx, cid, id)
	if err != nil {
		return err
	}
	r := imp.Report
	fmt.Fprintf(stdout, "Applied: %d commands, %d aliases, %d timers, %d quotes, %d counters, %d filters; %d viewers credited, %d waiting for their first chat.\n",
		r.Commands, r.Aliases, r.Timers, r.Quotes, r.Counters, r.Filters, r.PointsCredited, r.PointsPending)
	for _, x := range r.Renamed {
		fmt.Fprintf(stdout, "  renamed !%s to !%s\n", x.From, x.To)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(stdout, "  "+n)
	}
	fmt.Fprintf(stdout, "Undo it within 7 days from the hub's import page (import #%d).\n", id)
	return nil
}

func progressLine(p importer.Progress) string {
	units := p.PointsTotal + 1
	done := p.PointsDone
	if p.ItemsDone {
		done++
	}
	pct := min(100, done*100/units)
	if p.State == importer.StateApplied {
		pct = 100
	}
	return fmt.Sprintf("%3d %%  items %s, balances %d/%d", pct, map[bool]string{true: "done", false: "…"}[p.ItemsDone], p.PointsDone, p.PointsTotal)
}

// cliError shows a user's mistake (a bad file, a refused token) without
// the problem wrapper's code.
func cliError(err error) error {
	var fe *importer.FileError
	if errors.As(err, &fe) {
		return fe
	}
	if p := problem.As(err); p != nil {
		return errors.New(p.Message)
	}
	return err
}

func printPreview(w io.Writer, community string, p importer.Preview) {
	fmt.Fprintf(w, "Import #%d from %s into %s (nothing written yet):\n", p.Import.ID, p.Import.Source.Title(), community)
	for _, s := range p.Summary {
		fmt.Fprintf(w, "  %-9s %6d as they are, %6d adapted, %6d conflicts, %6d cannot be imported\n", s.Category, s.Create, s.Adapted, s.Conflicts, s.Skipped)
	}
	if pp := p.Points; pp.Viewers > 0 {
		fmt.Fprintf(w, "  viewers   %d in all: %d matched, %d pending (bound when they first chat); %d points\n", pp.Viewers, pp.Resolved, pp.Unresolved, pp.Points)
		if len(pp.Currencies) > 1 {
			for _, c := range pp.Currencies {
				fmt.Fprintf(w, "  currency  %q: %d viewers, %d points\n", c.Currency, c.Viewers, c.Points)
			}
			fmt.Fprintln(w, "  choose one with --currency NAME")
		}
	}
	for _, c := range p.Commands {
		for _, a := range c.Attention {
			fmt.Fprintf(w, "  needs attention: !%s: %s\n", c.Name, a)
		}
		if len(c.Conflicts) > 0 {
			fmt.Fprintf(w, "  conflict: !%s: %s\n", c.Name, strings.Join(c.Conflicts, "; "))
		}
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "  cannot import %s %s: %s\n", s.Category, s.Name, s.Reason)
	}
	for _, n := range p.Notes {
		fmt.Fprintln(w, "  note: "+n)
	}
}
